// The bf16 micro-kernel on AVX512-BF16: each vdpbf16ps adds 16 columns × one pair along K of
// products to f32 accumulators. A tile is 12 rows × 32 columns: 24 accumulators, the two
// registers of the panel's pair, and A's pair broadcast from the packed block. Compiled for these
// instructions by target pragma whatever the build flags; gemm_bf16.cc calls it only when
// __builtin_cpu_supports says the CPU has them. Also the conversion of x's rows to bf16
// (vcvtne2ps2bf16: the rounding of gemm_bf16.h's to_bf16, 32 floats an instruction) and the
// pairing of two rows for the packing of an operand whose K is its slow axis.
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

inline __mmask16 low_mask(int n) {  // the first n of 16 lanes
  return n >= 16 ? __mmask16(0xffff) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1);
}

template <int MR>
void tile(const uint16_t* a, int64_t a_row, int64_t a_pair, const uint16_t* b, int64_t pairs,
          const float* bias, bool accumulate, float* c, int64_t ldc, int nc) {
  __m512 acc0[MR], acc1[MR];
  const __mmask16 m0 = low_mask(nc), m1 = low_mask(nc - 16);
  if (accumulate) {
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
      acc0[r] = _mm512_maskz_loadu_ps(m0, c + r * ldc);
      acc1[r] = _mm512_maskz_loadu_ps(m1, c + r * ldc + 16);
    }
  } else {
    const __m512 init0 = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
    const __m512 init1 = bias ? _mm512_loadu_ps(bias + 16) : _mm512_setzero_ps();
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) acc0[r] = init0, acc1[r] = init1;
  }
  for (int64_t p = 0; p < pairs; ++p) {
    const __m512bh w0 = (__m512bh)_mm512_loadu_si512(b + p * 64);
    const __m512bh w1 = (__m512bh)_mm512_loadu_si512(b + p * 64 + 32);
    const uint16_t* ap = a + p * a_pair;
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
      const __m512bh x = broadcast_pair(ap + r * a_row);
      acc0[r] = _mm512_dpbf16_ps(acc0[r], x, w0);
      acc1[r] = _mm512_dpbf16_ps(acc1[r], x, w1);
    }
  }
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

void bf16_pack_pairs_avx512(const float* base, int64_t stride, int64_t k_left, int64_t np, int n,
                            int width, uint16_t* dst) {
  // vpermt2w index: even lanes from row 2p's bf16 (0-31), odd lanes from row 2p+1's (32-63).
  alignas(64) static constexpr uint16_t kLow[32] = {0,  32, 1,  33, 2,  34, 3,  35, 4,  36, 5,
                                                    37, 6,  38, 7,  39, 8,  40, 9,  41, 10, 42,
                                                    11, 43, 12, 44, 13, 45, 14, 46, 15, 47};
  alignas(64) static constexpr uint16_t kHigh[32] = {16, 48, 17, 49, 18, 50, 19, 51, 20, 52, 21,
                                                     53, 22, 54, 23, 55, 24, 56, 25, 57, 26, 58,
                                                     27, 59, 28, 60, 29, 61, 30, 62, 31, 63};
  const __m512i low = _mm512_load_si512(kLow), high = _mm512_load_si512(kHigh);
  const __mmask16 lo = low_mask(n), hi = low_mask(n - 16);
  const auto mask32 = [](int k) {
    return k >= 32 ? __mmask32(0xffffffffu) : k <= 0 ? __mmask32(0) : __mmask32((1u << k) - 1);
  };
  // Whole 2·width lanes are stored (the zeros past 2n included).
  const __mmask32 s0 = mask32(2 * width), s1 = mask32(2 * width - 32);
  for (int64_t p = 0; p < np; ++p) {
    const float* r0 = base + 2 * p * stride;
    const __m512i x0 = (__m512i)_mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, r0 + 16),
                                                    _mm512_maskz_loadu_ps(lo, r0));
    __m512i x1 = _mm512_setzero_si512();
    if (2 * p + 1 < k_left) {
      const float* r1 = r0 + stride;
      x1 = (__m512i)_mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, r1 + 16),
                                        _mm512_maskz_loadu_ps(lo, r1));
    }
    uint16_t* d = dst + p * 2 * width;
    _mm512_mask_storeu_epi16(d, s0, _mm512_permutex2var_epi16(x0, low, x1));
    _mm512_mask_storeu_epi16(d + 32, s1, _mm512_permutex2var_epi16(x0, high, x1));
  }
}

void bf16_tile_avx512(const uint16_t* a, int64_t a_row, int64_t a_pair, int mr, const uint16_t* b,
                      int64_t pairs, const float* bias, bool accumulate, float* c, int64_t ldc,
                      int nc) {
  using Tile = void (*)(const uint16_t*, int64_t, int64_t, const uint16_t*, int64_t, const float*,
                        bool, float*, int64_t, int);
  static constexpr Tile kByRows[kBf16Rows] = {tile<1>, tile<2>,  tile<3>,  tile<4>,
                                              tile<5>, tile<6>,  tile<7>,  tile<8>,
                                              tile<9>, tile<10>, tile<11>, tile<12>};
  kByRows[mr - 1](a, a_row, a_pair, b, pairs, bias, accumulate, c, ldc, nc);
}

}  // namespace focus::cpu

#pragma GCC diagnostic pop
#pragma GCC pop_options
#endif
