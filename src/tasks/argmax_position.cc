#include <algorithm>
#include <numeric>
#include <vector>

#include "focus/tasks.h"

namespace focus::tasks {

ArgmaxPosition::ArgmaxPosition(int64_t n, int64_t length, int64_t vocab, uint64_t seed)
    : n_(n), length_(length), vocab_(vocab), seed_(seed) {
  FOCUS_CHECK(n >= 1 && length >= 2 && vocab >= length, "argmax_position: expected n >= 1, ",
              "length >= 2 and vocab >= length (tokens are distinct), got n ", n, ", length ",
              length, ", vocab ", vocab);
}

data::Example ArgmaxPosition::get(int64_t index) const {
  FOCUS_CHECK(index >= 0 && index < n_, "argmax_position: index ", index, " outside [0, ", n_, ")");
  // Each example from its own counters: (seed, index) alone decides it.
  Generator gen(seed_ * 0x9E3779B97F4A7C15ull + uint64_t(index));
  std::vector<int32_t> pool(vocab_);
  std::iota(pool.begin(), pool.end(), 0);
  for (int64_t i = 0; i < length_; ++i) {  // partial Fisher-Yates: `length` distinct tokens
    const int64_t j = i + int64_t(gen.bits(gen.advance(1)) % uint64_t(vocab_ - i));
    std::swap(pool[i], pool[j]);
  }
  std::vector<int32_t> ids(pool.begin(), pool.begin() + length_);
  const int32_t label = int32_t(std::max_element(ids.begin(), ids.end()) - ids.begin());
  return {Tensor::from_indices(ids, {length_}), label};
}

}  // namespace focus::tasks
