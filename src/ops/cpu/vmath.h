// Branch-free float math that GCC vectorises inside `#pragma omp simd` loops (the libm calls do
// not). Accuracy: a few ulp over the float range; checked against libm in tests/unit/vmath_test.cc.
// Vectorising needs -fno-trapping-math (CMakeLists.txt; under GCC's default a `?:` between results
// of arithmetic keeps a loop scalar) and no floorf/fminf/fmaxf (libm calls). Ranges are handled by
// a select on the result, never by clamping the input: GCC would fold the clamped cases into extra
// selects (vexp 30% slower). Out-of-range lanes compute garbage that the select replaces; NaN
// propagates through the arithmetic.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace focus::cpu {

// exp(x) = 2^n · exp(r) with n = round(x·log2 e) and |r| <= ln2/2 (Cody-Waite split of ln 2),
// exp(r) by Cephes' degree-6 polynomial. 0 below ln(FLT_MIN) (no denormals), +inf above 88.376.
// n is rounded by adding 1.5·2²³, whose float then holds n in its low mantissa bits.
#pragma omp declare simd
inline float vexp(float x) {
  const float lo = -87.33654f, hi = 88.376f, shifter = 12582912.0f;  // 0x4b400000
  const float v = x * 1.44269504088896341f + shifter;
  const float n = v - shifter;
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * r * r + r + 1.0f;
  const float scale = std::bit_cast<float>((std::bit_cast<uint32_t>(v) - 0x4b400000u + 127u) << 23);
  const float out = x < lo ? 0.0f : y * scale;
  return x > hi ? std::numeric_limits<float>::infinity() : out;  // NaN stays NaN
}

// tanh as a 13/6 rational function on [-7.9, 7.9] (Eigen's generic_fast_tanh_float), ±1 outside;
// exact enough (a few ulp) everywhere, and odd by construction.
#pragma omp declare simd
inline float vtanh(float x) {
  const float x2 = x * x;
  float p = -2.76076847742355e-16f;
  p = p * x2 + 2.00018790482477e-13f;
  p = p * x2 + -8.60467152213735e-11f;
  p = p * x2 + 5.12229709037114e-08f;
  p = p * x2 + 1.48572235717979e-05f;
  p = p * x2 + 6.37261928875436e-04f;
  p = p * x2 + 4.89352455891786e-03f;
  p = p * x;
  float q = 1.19825839466702e-06f;
  q = q * x2 + 1.18534705686654e-04f;
  q = q * x2 + 2.26843463243900e-03f;
  q = q * x2 + 4.89352518554385e-03f;
  const float t = std::fabs(x) > 7.90531110763549805f ? std::copysign(1.0f, x) : p / q;
  return std::fabs(x) < 0.0004f ? x : t;
}

// erf as a 13/8 rational function on [-4, 4] (Eigen's generic_fast_erf_float); ±1 outside.
#pragma omp declare simd
inline float verf(float x) {
  const float x2 = x * x;
  float p = -2.72614225801306e-10f;
  p = p * x2 + 2.77068142495902e-08f;
  p = p * x2 + -2.10102402082508e-06f;
  p = p * x2 + -5.69250639462346e-05f;
  p = p * x2 + -7.34990630326855e-04f;
  p = p * x2 + -2.95459980854025e-03f;
  p = p * x2 + -1.60960333262415e-02f;
  p = p * x;
  float q = -1.45660718464996e-05f;
  q = q * x2 + -2.13374055278905e-04f;
  q = q * x2 + -1.68282697438203e-03f;
  q = q * x2 + -7.37332916720468e-03f;
  q = q * x2 + -1.42647390514189e-02f;
  return std::fabs(x) > 4.0f ? std::copysign(1.0f, x) : p / q;
}

#pragma omp declare simd
inline float vsigmoid(float x) { return 1.0f / (1.0f + vexp(-x)); }

}  // namespace focus::cpu
