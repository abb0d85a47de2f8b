// A counter-based random generator: element i of a draw is a pure function of (seed, offset + i),
// so results do not depend on the thread count and any slice can be produced in parallel.
#pragma once

#include <cstdint>

namespace focus {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0x5eed) : seed_(seed) {}
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  void set_state(uint64_t seed, uint64_t offset) { seed_ = seed, offset_ = offset; }
  // Reserves `n` counters and returns the first; callers draw bits(first + i) for i < n.
  uint64_t advance(uint64_t n) {
    uint64_t first = offset_;
    offset_ += n;
    return first;
  }
  // 64 random bits for counter `c` (SplitMix64 finaliser over the seeded counter).
  uint64_t bits(uint64_t c) const {
    uint64_t z = seed_ * 0xD1B54A32D192ED03ull + (c + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1) with 24 random bits.
  float uniform(uint64_t c) const { return static_cast<float>(bits(c) >> 40) * 0x1.0p-24f; }

 private:
  uint64_t seed_;
  uint64_t offset_ = 0;
};

// The process-wide generator used when an op is not given one.
Generator& default_generator();
void manual_seed(uint64_t seed);

}  // namespace focus
