// Draws from a Generator one at a time: uniforms, integers, normals and noise colours.
#pragma once

#include <cmath>
#include <cstdint>

#include "data/random.h"
#include "focus/rng.h"

namespace focus::speech::detail {

struct Draw {
  Generator& gen;
  double uniform() { return double(gen.bits(gen.advance(1)) >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  int64_t below(int64_t n) {
    return int64_t(data::detail::below(gen.bits(gen.advance(1)), uint64_t(n)));
  }
  bool chance(double p) { return uniform() < p; }
  double normal() {  // Box–Muller
    const double u = 1.0 - uniform(), v = uniform();
    return std::sqrt(-2.0 * std::log(u)) * std::cos(6.283185307179586 * v);
  }
};

}  // namespace focus::speech::detail
