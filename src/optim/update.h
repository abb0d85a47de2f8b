// Helpers shared by the optimisers' update kernels.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

namespace focus::optim::detail {

// Below this many elements an update runs on one thread: the OpenMP fork costs more than it saves.
constexpr int64_t kParallelMin = 1 << 15;

// a·b + c with one rounding where the machine has FMA, as torch's vectorised CPU kernels compute
// add(x, y, alpha) and addcmul; with it Focus reproduces torch.optim to the bit. Without FMA
// hardware std::fma would be a slow library call, so it falls back to two roundings (as torch's
// default-ISA kernels do).
inline float fmadd(float a, float b, float c) {
#ifdef FP_FAST_FMAF
  return std::fma(a, b, c);
#else
  return a * b + c;
#endif
}

// a + b, with a already rounded. GCC contracts (-ffp-contract=fast) a product feeding an addition
// into one fma; torch computes such a product in a separate kernel, rounded. An explicit fma by 1
// keeps the two roundings.
inline float add_rounded(float a, float b) { return fmadd(a, 1.0f, b); }

// Calls f(std::bool_constant<b>...) for the runtime flags b...: kernels take their options as
// template arguments, so their loops carry no branches and vectorise.
template <typename F>
void with_flags(F&& f) {
  f();
}
template <typename F, typename... Rest>
void with_flags(F&& f, bool b, Rest... rest) {
  if (b)
    with_flags([&](auto... c) { f(std::true_type{}, c...); }, rest...);
  else
    with_flags([&](auto... c) { f(std::false_type{}, c...); }, rest...);
}

}  // namespace focus::optim::detail
