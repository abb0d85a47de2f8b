// The fused attention kernel's AVX2 + FMA path: flash_kernel.inl over 8-wide __m256 vectors,
// micro-tiles of 16 rows × 6 columns (12 accumulators + 2 operands + 1 broadcast = 15 of the 16
// ymm registers). Compiled for AVX2 by target pragma whatever the build flags; flash.cc calls it
// only when __builtin_cpu_supports says the CPU has AVX2 and FMA.
#include "attention/cpu/flash_isa.h"

#ifdef FOCUS_FLASH_X86
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx2,fma")

namespace focus::attention::cpu {
namespace avx2 {

#define FLASH_ISA_INLINE inline __attribute__((always_inline))

struct Vec {
  static constexpr int W = 8, NV = 2, NJ = 6;
  using R = __m256;
  static R zero() { return _mm256_setzero_ps(); }
  static R set1(float x) { return _mm256_set1_ps(x); }
  static R load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, R x) { _mm256_storeu_ps(p, x); }
  static R bcast(const float* p) { return _mm256_broadcast_ss(p); }
  static R fma(R a, R b, R c) { return _mm256_fmadd_ps(a, b, c); }
  static R add(R a, R b) { return _mm256_add_ps(a, b); }
  static R sub(R a, R b) { return _mm256_sub_ps(a, b); }
  static R mul(R a, R b) { return _mm256_mul_ps(a, b); }
  static R max(R a, R b) { return _mm256_max_ps(a, b); }
  // dst[c·ldd + r] = src[r·lds + c]·scale for an 8×8 tile.
  static FLASH_ISA_INLINE void transpose8(const float* s, int64_t lds, float* d, int64_t ldd,
                                          float scale) {
    const __m256 f = _mm256_set1_ps(scale);
    __m256 r[8], t[8];
    for (int i = 0; i < 8; ++i) r[i] = _mm256_mul_ps(_mm256_loadu_ps(s + i * lds), f);
    for (int i = 0; i < 8; i += 2) {
      t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);  // a0 b0 a1 b1 | a4 b4 a5 b5
      t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
      r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);  // a0 b0 c0 d0 | a4 b4 c4 d4
      r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
      r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
      r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int i = 0; i < 4; ++i) {
      _mm256_storeu_ps(d + i * ldd, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
      _mm256_storeu_ps(d + (i + 4) * ldd, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
    }
  }
  static R neg_inf_to_zero(R x) {
    const R ninf = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
    return _mm256_andnot_ps(_mm256_cmp_ps(x, ninf, _CMP_EQ_OQ), x);
  }
  // exp(x) = 2^n·e^r, n = round(x·log2 e), r = x − n·ln 2 in two parts (Cody-Waite), e^r by
  // Cephes' polynomial in Horner form (1 + r·(1 + r·P(r))). x is clamped to [−88, 88]: at −88,
  // n = −127 makes the 2^n factor's bit pattern 0, so −inf, NaN and everything below about
  // ln FLT_MIN give exactly 0 with no compare and mask (the softmax needs exp(−inf) = 0).
  static FLASH_ISA_INLINE R exp(R x) {
    const R xc = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-88.0f)), _mm256_set1_ps(88.0f));
    const R n = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.44269504088896341f)),
                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    R r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), xc);
    r = _mm256_fmadd_ps(n, _mm256_set1_ps(2.12194440e-4f), r);
    R p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    const R y = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    const __m256i e =
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
  }
};

#include "attention/cpu/flash_kernel.inl"

#undef FLASH_ISA_INLINE

}  // namespace avx2
}  // namespace focus::attention::cpu

#pragma GCC pop_options

namespace focus::attention::cpu {

const FlashKernels& flash_kernels_avx2() {
  static const FlashKernels k{"avx2",
                              96,
                              96,
                              16,
                              avx2::forward_workspace,
                              avx2::backward_workspace,
                              avx2::forward_block,
                              avx2::backward_head,
                              nullptr,
                              nullptr,
                              nullptr,
                              nullptr};
  return k;
}

}  // namespace focus::attention::cpu

#endif  // FOCUS_FLASH_X86
