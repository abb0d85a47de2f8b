// What gemm_bf16.cc needs from the per-ISA micro-kernels: one register tile of C from a block of
// bf16 rows of x and one packed panel of bf16 columns of w.
//
// Layouts (uint16_t holds a bf16):
//   a      rows of x, lda bf16 apart, each 2·pairs long (an odd K is padded with a zero)
//   b      one panel of kBf16Cols columns of w: for each pair p along K, for each column j,
//          w[j][2p] then w[j][2p+1] (64 bf16 per pair: one 512-bit register of pairs)
//   bias   kBf16Cols floats (zero past the last column) or null
//   c      mr rows, ldc floats apart; only the first nc ≤ kBf16Cols columns are written
#pragma once

#include <cstdint>

namespace focus::cpu {

constexpr int kBf16Rows = 12;  // rows of a register tile: 12 × 2 accumulators + 2 operands
constexpr int kBf16Cols = 32;  // columns of a tile and of a packed panel

using Bf16Tile = void (*)(const uint16_t* a, int64_t lda, int mr, const uint16_t* b, int64_t pairs,
                          const float* bias, float* c, int64_t ldc, int nc);

// out[i] = to_bf16(x[i]) for i < n (gemm_bf16.h's rounding).
using Bf16Convert = void (*)(const float* x, int64_t n, uint16_t* out);

void bf16_convert_portable(const float* x, int64_t n, uint16_t* out);
void bf16_tile_portable(const uint16_t* a, int64_t lda, int mr, const uint16_t* b, int64_t pairs,
                        const float* bias, float* c, int64_t ldc, int nc);
#if defined(__x86_64__)
#define FOCUS_BF16_X86 1
void bf16_convert_avx512(const float* x, int64_t n, uint16_t* out);
void bf16_tile_avx512(const uint16_t* a, int64_t lda, int mr, const uint16_t* b, int64_t pairs,
                      const float* bias, float* c, int64_t ldc, int nc);
#endif

}  // namespace focus::cpu
