// The fused attention kernel's AVX-512 path: flash_kernel.inl over 16-wide __m512 vectors,
// micro-tiles of 32 rows × 12 columns (24 accumulators + 2 operands + 1 broadcast of the 32 zmm
// registers). Compiled for AVX-512 by target pragma whatever the build flags; flash.cc calls it
// only when __builtin_cpu_supports says the CPU has AVX-512 F, BW, VL and DQ.
#include "attention/cpu/flash_isa.h"

#ifdef FOCUS_FLASH_X86
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,fma")
// GCC 12 warns inside its own avx512fintrin.h (_mm512_undefined_ps initialises itself).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace focus::attention::cpu {
namespace avx512 {

struct Vec {
  static constexpr int W = 16, NV = 2, NJ = 12;
  using R = __m512;
  static R zero() { return _mm512_setzero_ps(); }
  static R set1(float x) { return _mm512_set1_ps(x); }
  static R load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, R x) { _mm512_storeu_ps(p, x); }
  static R bcast(const float* p) { return _mm512_set1_ps(*p); }
  static R fma(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }
  static R add(R a, R b) { return _mm512_add_ps(a, b); }
  static R sub(R a, R b) { return _mm512_sub_ps(a, b); }
  static R mul(R a, R b) { return _mm512_mul_ps(a, b); }
  static R max(R a, R b) { return _mm512_max_ps(a, b); }
  // dst[c·ldd + r] = src[r·lds + c]·scale for an 8×8 tile (AVX2 shuffles; AVX-512 implies them).
  static void transpose8(const float* s, int64_t lds, float* d, int64_t ldd, float scale) {
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
    const R ninf = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, ninf, _CMP_NEQ_UQ), x);
  }
  // exp as the AVX2 path (Cephes' polynomial), the 2^n step by vscalefps.
  static R exp(R x) {
    const R lo = _mm512_set1_ps(-87.33654f);
    const R xc = _mm512_min_ps(_mm512_max_ps(x, lo), _mm512_set1_ps(88.376f));
    const R n = _mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    R r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), xc);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), r);
    R p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    const R y = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, lo, _CMP_GE_OQ), _mm512_scalef_ps(y, n));
  }
};

#include "attention/cpu/flash_kernel.inl"

}  // namespace avx512
}  // namespace focus::attention::cpu

#pragma GCC diagnostic pop
#pragma GCC pop_options

namespace focus::attention::cpu {

const FlashKernels& flash_kernels_avx512() {
  static const FlashKernels k{"avx512",
                              96,
                              96,
                              32,
                              avx512::forward_workspace,
                              avx512::backward_workspace,
                              avx512::forward_block,
                              avx512::backward_head};
  return k;
}

}  // namespace focus::attention::cpu

#endif  // FOCUS_FLASH_X86
