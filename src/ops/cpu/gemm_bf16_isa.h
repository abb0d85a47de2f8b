// What gemm_bf16.cc needs from the per-ISA micro-kernels: one register tile of C from a packed
// block of bf16 rows of A and one packed panel of bf16 columns of B.
//
// Layouts (uint16_t holds a bf16):
//   a      a block of mr rows of A, the pair p of row r (A[r][2p] then A[r][2p+1]) at
//          a + r·a_row + p·a_pair (bf16 elements): row-major (a_row = the row's length, a_pair 2)
//          when A came with K contiguous, pair-major (a_row 2, a_pair 2·kBf16Rows) when K was
//          its slow axis
//   b      one panel of kBf16Cols columns of B: for each pair p along K, for each column j,
//          B[j][2p] then B[j][2p+1] (64 bf16 per pair: one 512-bit register of pairs)
//   (an odd K is padded with a zero in both)
//   bias   kBf16Cols floats (zero past the last column) or null
//   c      mr rows, ldc floats apart; only the first nc ≤ kBf16Cols columns are read and written.
//          With accumulate the sums start from c (a later block of K), else from bias or zero.
#pragma once

#include <cstdint>

namespace focus::cpu {

constexpr int kBf16Rows = 12;  // rows of a register tile: 12 × 2 accumulators + 2 operands
constexpr int kBf16Cols = 32;  // columns of a tile and of a packed panel

using Bf16Tile = void (*)(const uint16_t* a, int64_t a_row, int64_t a_pair, int mr,
                          const uint16_t* b, int64_t pairs, const float* bias, bool accumulate,
                          float* c, int64_t ldc, int nc);

// out[i] = to_bf16(x[i]) for i < n (gemm_bf16.h's rounding).
using Bf16Convert = void (*)(const float* x, int64_t n, uint16_t* out);

// Packs np pairs along K of an operand whose K is its slow axis (row k at base + k·stride, n ≤ 32
// floats of it wanted): for pair p, dst[p·2·width + 2j] = to_bf16(row 2p [j]) and the next one
// row 2p+1's (zero from k = k_left on: the padding of an odd K), then zeros up to 2·width.
using Bf16PackPairs = void (*)(const float* base, int64_t stride, int64_t k_left, int64_t np, int n,
                               int width, uint16_t* dst);

void bf16_convert_portable(const float* x, int64_t n, uint16_t* out);
void bf16_pack_pairs_portable(const float* base, int64_t stride, int64_t k_left, int64_t np, int n,
                              int width, uint16_t* dst);
void bf16_tile_portable(const uint16_t* a, int64_t a_row, int64_t a_pair, int mr, const uint16_t* b,
                        int64_t pairs, const float* bias, bool accumulate, float* c, int64_t ldc,
                        int nc);
#if defined(__x86_64__)
#define FOCUS_BF16_X86 1
void bf16_convert_avx512(const float* x, int64_t n, uint16_t* out);
void bf16_pack_pairs_avx512(const float* base, int64_t stride, int64_t k_left, int64_t np, int n,
                            int width, uint16_t* dst);
void bf16_tile_avx512(const uint16_t* a, int64_t a_row, int64_t a_pair, int mr, const uint16_t* b,
                      int64_t pairs, const float* bias, bool accumulate, float* c, int64_t ldc,
                      int nc);
#endif

}  // namespace focus::cpu
