#include "focus/shape.h"

#include <sstream>

#include "focus/error.h"

namespace focus {

Shape::Shape(std::initializer_list<int64_t> dims) : Shape(std::vector<int64_t>(dims)) {}

Shape::Shape(const std::vector<int64_t>& dims) {
  FOCUS_CHECK(dims.size() <= kMaxRank, "shape: rank ", dims.size(), " exceeds the maximum ",
              kMaxRank);
  for (int64_t d : dims) push_back(d);
}

void Shape::push_back(int64_t d) {
  FOCUS_CHECK(rank_ < kMaxRank, "shape: rank exceeds the maximum ", kMaxRank);
  FOCUS_CHECK(d >= 0, "shape: negative extent ", d);
  dims_[rank_++] = d;
}

int64_t Shape::at(int axis, const char* op) const { return dims_[normalize_axis(axis, rank_, op)]; }

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < rank_; ++i) n *= dims_[i];
  return n;
}

std::string Shape::str() const {
  std::ostringstream os;
  os << *this;
  return os.str();
}

bool Shape::operator==(const Shape& o) const {
  if (rank_ != o.rank_) return false;
  for (int i = 0; i < rank_; ++i)
    if (dims_[i] != o.dims_[i]) return false;
  return true;
}

std::ostream& operator<<(std::ostream& os, const Shape& s) {
  os << '[';
  for (int i = 0; i < s.rank(); ++i) os << (i ? "," : "") << s[i];
  return os << ']';
}

int normalize_axis(int axis, int rank, const char* op) {
  int a = axis < 0 ? axis + rank : axis;
  FOCUS_CHECK(a >= 0 && a < rank, op, ": axis ", axis, " is out of range for rank ", rank,
              " (expected -", rank, " <= axis < ", rank, ")");
  return a;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  int r = std::max(a.rank(), b.rank());
  std::vector<int64_t> out(r);
  for (int i = 0; i < r; ++i) {
    int ia = a.rank() - r + i, ib = b.rank() - r + i;
    int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    FOCUS_CHECK(da == db || da == 1 || db == 1, op, ": shapes ", a, " and ", b,
                " do not broadcast (axis ", i - r, ": ", da, " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return Shape(out);
}

Shape contiguous_strides(const Shape& s) {
  Shape st = s;
  int64_t acc = 1;
  for (int i = s.rank() - 1; i >= 0; --i) {
    st[i] = acc;
    acc *= std::max<int64_t>(s[i], 1);
  }
  return st;
}

}  // namespace focus
