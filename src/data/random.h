// Seed mixing and integer draws shared by the loader, the split and the transforms.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "focus/rng.h"

namespace focus::data::detail {

// SplitMix64's finaliser: nearby inputs (epochs 0, 1, 2...) give unrelated seeds.
inline uint64_t mix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Uniform in [0, n) from 64 random bits by multiply-high (Lemire): no division, bias < n/2^64.
inline uint64_t below(uint64_t bits, uint64_t n) {
  return uint64_t((static_cast<unsigned __int128>(bits) * n) >> 64);
}

// Fisher–Yates with counter i drawing the partner of position i: the permutation is a pure
// function of the generator's seed.
inline void shuffle(std::vector<int64_t>& v, const Generator& gen) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(gen.bits(i - 1), i)]);
}

}  // namespace focus::data::detail
