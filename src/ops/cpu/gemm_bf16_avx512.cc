// The bf16 micro-kernel on AVX512-BF16: each vdpbf16ps adds 16 columns × one pair along K of
// products to f32 accumulators. A tile is 12 rows × 32 columns: 24 accumulators, the two
// registers of the panel's pair, and x's pair broadcast from memory. Compiled for these
// instructions by target pragma whatever the build flags; gemm_bf16.cc calls it only when
// __builtin_cpu_supports says the CPU has them. Also the conversion of x's rows to bf16
// (vcvtne2ps2bf16: the rounding of gemm_bf16.h's to_bf16, 32 floats an instruction).
#include <cstdint>
#include <cstring>

#include "ops/cpu/gemm_bf16_isa.h"

#ifdef FOCUS_BF16_X86
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace focus::cpu {
namespace {

inline __m512bh broadcast_pair(const uint16_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return (__m512bh)_mm512_set1_epi32(v);
}

template <int MR>
void tile(const uint16_t* a, int64_t lda, const uint16_t* b, int64_t pairs, const float* bias,
          float* c, int64_t ldc, int nc) {
  __m512 acc0[MR], acc1[MR];
  const __m512 init0 = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
  const __m512 init1 = bias ? _mm512_loadu_ps(bias + 16) : _mm512_setzero_ps();
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r) acc0[r] = init0, acc1[r] = init1;
  for (int64_t p = 0; p < pairs; ++p) {
    const __m512bh w0 = (__m512bh)_mm512_loadu_si512(b + p * 64);
    const __m512bh w1 = (__m512bh)_mm512_loadu_si512(b + p * 64 + 32);
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
      const __m512bh x = broadcast_pair(a + r * lda + 2 * p);
      acc0[r] = _mm512_dpbf16_ps(acc0[r], x, w0);
      acc1[r] = _mm512_dpbf16_ps(acc1[r], x, w1);
    }
  }
  const __mmask16 m0 = nc >= 16 ? __mmask16(0xffff) : __mmask16((1u << nc) - 1);
  const __mmask16 m1 = nc >= 32  ? __mmask16(0xffff)
                       : nc > 16 ? __mmask16((1u << (nc - 16)) - 1)
                                 : __mmask16(0);
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r) {
    _mm512_mask_storeu_ps(c + r * ldc, m0, acc0[r]);
    _mm512_mask_storeu_ps(c + r * ldc + 16, m1, acc1[r]);
  }
}

}  // namespace

void bf16_convert_avx512(const float* x, int64_t n, uint16_t* out) {
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512bh h = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(x + i));
    _mm512_storeu_si512(out + i, (__m512i)h);
  }
  if (i < n) {
    const int64_t left = n - i;
    const __mmask16 lo = left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1);
    const __mmask16 hi = left > 16 ? __mmask16((1u << (left - 16)) - 1) : __mmask16(0);
    const __m512bh h = _mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, x + i + 16),
                                           _mm512_maskz_loadu_ps(lo, x + i));
    _mm512_mask_storeu_epi16(out + i, __mmask32((uint64_t(1) << left) - 1), (__m512i)h);
  }
}

void bf16_tile_avx512(const uint16_t* a, int64_t lda, int mr, const uint16_t* b, int64_t pairs,
                      const float* bias, float* c, int64_t ldc, int nc) {
  using Tile = void (*)(const uint16_t*, int64_t, const uint16_t*, int64_t, const float*, float*,
                        int64_t, int);
  static constexpr Tile kByRows[kBf16Rows] = {tile<1>, tile<2>,  tile<3>,  tile<4>,
                                              tile<5>, tile<6>,  tile<7>,  tile<8>,
                                              tile<9>, tile<10>, tile<11>, tile<12>};
  kByRows[mr - 1](a, lda, b, pairs, bias, c, ldc, nc);
}

}  // namespace focus::cpu

#pragma GCC diagnostic pop
#pragma GCC pop_options
#endif
