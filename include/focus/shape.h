// Shape: up to kMaxRank extents, stored inline (no heap), printed as [2,3,4].
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>
#include <vector>

namespace focus {

constexpr int kMaxRank = 6;

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  explicit Shape(const std::vector<int64_t>& dims);

  int rank() const { return rank_; }
  int64_t operator[](int i) const { return dims_[i]; }
  int64_t& operator[](int i) { return dims_[i]; }
  // Python-style index: -1 is the last axis. Throws naming `op` when out of range.
  int64_t at(int axis, const char* op = "shape") const;
  int64_t numel() const;
  const int64_t* begin() const { return dims_.data(); }
  const int64_t* end() const { return dims_.data() + rank_; }
  std::vector<int64_t> vec() const { return {begin(), end()}; }
  void push_back(int64_t d);
  std::string str() const;

  bool operator==(const Shape& o) const;
  bool operator!=(const Shape& o) const { return !(*this == o); }

 private:
  std::array<int64_t, kMaxRank> dims_{};
  int rank_ = 0;
};

std::ostream& operator<<(std::ostream& os, const Shape& s);

// Normalises a possibly negative axis for a tensor of `rank`; throws naming `op` if out of range.
int normalize_axis(int axis, int rank, const char* op);
// Numpy broadcasting of two shapes; throws naming `op` and both shapes when they do not broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// Row-major contiguous strides of a shape.
Shape contiguous_strides(const Shape& s);

}  // namespace focus
