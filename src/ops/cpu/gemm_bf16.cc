// gemm_bf16: for each block of K, packs B into panels of bf16 column pairs (n·k conversions
// against m·n·k products), packs A a register tile of rows at a time into a per-thread block (its
// rows converted in place, or paired when K is A's slow axis), and
// runs the micro-kernel of this CPU (gemm_bf16_isa.h) over every panel for those rows. A tile's
// block stays in L1 while the block's packed B (≤ 512 KB) streams from L2. Blocks of K after the
// first add to the f32 outputs of the one before, so the sums run in one order whatever the
// blocking.
#include "ops/cpu/gemm_bf16.h"

#include <omp.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "focus/runtime.h"
#include "ops/cpu/gemm_bf16_isa.h"

namespace focus::cpu {

uint16_t to_bf16(float f) {
  const uint32_t u = std::bit_cast<uint32_t>(f);
  const uint32_t exponent = u & 0x7f800000u;
  if (exponent == 0) return uint16_t((u >> 16) & 0x8000u);  // zero or subnormal: signed zero
  if (exponent == 0x7f800000u) {                            // inf stays inf, NaN stays NaN
    const uint16_t h = uint16_t(u >> 16);
    return (u & 0x007fffffu) ? uint16_t(h | 0x0040u) : h;
  }
  return uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

float from_bf16(uint16_t h) { return std::bit_cast<float>(uint32_t(h) << 16); }

// The reference for the micro-kernels: per output, bias (or c) then, for each pair along K, the
// odd product then the even one, each added with one rounding. A product of two bf16 is exact in
// f32, so each step is an fma. vdpbf16ps does the same (and flushes subnormal sums to zero).
void bf16_tile_portable(const uint16_t* a, int64_t a_row, int64_t a_pair, int mr, const uint16_t* b,
                        int64_t pairs, const float* bias, bool accumulate, float* c, int64_t ldc,
                        int nc) {
  for (int r = 0; r < mr; ++r) {
    float acc[kBf16Cols];
    for (int j = 0; j < kBf16Cols; ++j)
      acc[j] = accumulate ? (j < nc ? c[r * ldc + j] : 0.0f) : bias ? bias[j] : 0.0f;
    for (int64_t p = 0; p < pairs; ++p) {
      const uint16_t* pair = a + r * a_row + p * a_pair;
      const float even = from_bf16(pair[0]), odd = from_bf16(pair[1]);
      const uint16_t* w = b + p * 2 * kBf16Cols;
      for (int j = 0; j < kBf16Cols; ++j) {
        acc[j] = std::fma(odd, from_bf16(w[2 * j + 1]), acc[j]);
        acc[j] = std::fma(even, from_bf16(w[2 * j]), acc[j]);
      }
    }
    for (int j = 0; j < nc; ++j) c[r * ldc + j] = acc[j];
  }
}

void bf16_convert_portable(const float* x, int64_t n, uint16_t* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = to_bf16(x[i]);
}

void bf16_pack_pairs_portable(const float* base, int64_t stride, int64_t k_left, int64_t np, int n,
                              int width, uint16_t* dst) {
  for (int64_t p = 0; p < np; ++p) {
    const float* r0 = base + 2 * p * stride;
    uint16_t* d = dst + p * 2 * width;
    for (int j = 0; j < width; ++j) {
      d[2 * j] = j < n ? to_bf16(r0[j]) : 0;
      d[2 * j + 1] = j < n && 2 * p + 1 < k_left ? to_bf16(r0[stride + j]) : 0;
    }
  }
}

namespace {

bool cpu_has_bf16() {
#ifdef FOCUS_BF16_X86
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}

const bool kNative = cpu_has_bf16();
#ifdef FOCUS_BF16_X86
const Bf16Tile kTile = kNative ? bf16_tile_avx512 : bf16_tile_portable;
const Bf16Convert kConvert = kNative ? bf16_convert_avx512 : bf16_convert_portable;
const Bf16PackPairs kPackPairs = kNative ? bf16_pack_pairs_avx512 : bf16_pack_pairs_portable;
#else
const Bf16Tile kTile = bf16_tile_portable;
const Bf16Convert kConvert = bf16_convert_portable;
const Bf16PackPairs kPackPairs = bf16_pack_pairs_portable;
#endif

// Pairs along K per block: the packed B of one block (every panel) stays within about 512 KB of
// L2 and a row tile's packed A (2·kBf16Rows bf16 a pair) within L1.
int64_t block_pairs(int64_t panels, int64_t pairs) {
  const int64_t fit = (int64_t(512) << 10) / (panels * kBf16Cols * 2 * int64_t(sizeof(uint16_t)));
  return std::max<int64_t>(1, std::min(pairs, std::clamp<int64_t>(fit, 64, 512)));
}

// Packs `count` ≤ `width` rows of v from row i0, pairs [p0, p0 + np) along K, pair-major: the pair
// p of row r at dst + (p·width + r)·2 (a panel of B: width kBf16Cols; a block of A whose K is its
// slow axis: width kBf16Rows). Rows from count to width are zero. `row` is scratch of 2·np bf16,
// used when K is v's contiguous axis.
// Row i of v, whose K is contiguous, pairs [p0, p0 + np) along K, to 2·np bf16 at dst (the pair
// past an odd K padded with a zero).
void convert_row(const Bf16Operand& v, int64_t i, int64_t k, int64_t p0, int64_t np,
                 uint16_t* dst) {
  const int64_t len = std::min(2 * np, k - 2 * p0);
  kConvert(v.data + i * v.rs + 2 * p0, len, dst);
  if (len < 2 * np) dst[len] = 0;
}

void pack_pairs(const Bf16Operand& v, int64_t i0, int count, int width, int64_t k, int64_t p0,
                int64_t np, uint16_t* dst, uint16_t* row) {
  if (v.cs == 1) {  // K contiguous in each row: convert a row, then deal out its pairs
    std::fill(dst, dst + np * 2 * width, uint16_t(0));
    for (int r = 0; r < count; ++r) {
      convert_row(v, i0 + r, k, p0, np, row);
      for (int64_t p = 0; p < np; ++p) std::memcpy(dst + (p * width + r) * 2, row + 2 * p, 4);
    }
  } else if (v.rs == 1) {  // rows contiguous along each K: pair two K-rows at a time
    kPackPairs(v.data + i0 + 2 * p0 * v.cs, v.cs, k - 2 * p0, np, count, width, dst);
  } else {
    for (int64_t p = 0; p < np; ++p)
      for (int r = 0; r < width; ++r)
        for (int e = 0; e < 2; ++e) {
          const int64_t kk = 2 * (p0 + p) + e;
          dst[(p * width + r) * 2 + e] =
              r < count && kk < k ? to_bf16(v.data[(i0 + r) * v.rs + kk * v.cs]) : 0;
        }
  }
}

// A block of `mr` rows of A for the micro-kernel: each row converted in place when K is A's
// contiguous axis (row-major: no dealing out of pairs), pair-major otherwise. Returns the layout's
// {a_row, a_pair} (gemm_bf16_isa.h).
std::pair<int64_t, int64_t> pack_a(const Bf16Operand& a, int64_t i0, int mr, int64_t k, int64_t p0,
                                   int64_t np, uint16_t* dst) {
  if (a.cs != 1) {
    pack_pairs(a, i0, mr, kBf16Rows, k, p0, np, dst, nullptr);  // no row scratch: K not contiguous
    return {2, 2 * kBf16Rows};
  }
  for (int r = 0; r < mr; ++r) convert_row(a, i0 + r, k, p0, np, dst + r * 2 * np);
  return {2 * np, 2};
}

}  // namespace

bool bf16_native() { return kNative; }

void gemm_bf16(Bf16Operand a, int64_t m, int64_t k, Bf16Operand b, int64_t n, const float* bias,
               float* out) {
  if (m <= 0 || n <= 0) return;
  const int64_t pairs = (k + 1) / 2;
  const int64_t panels = (n + kBf16Cols - 1) / kBf16Cols;
  const int64_t kc = block_pairs(panels, pairs);
  const int64_t blocks = std::max<int64_t>(1, (pairs + kc - 1) / kc);
  const int64_t panel_size = kc * 2 * kBf16Cols;
  const int64_t tiles = (m + kBf16Rows - 1) / kBf16Rows;
  const bool big = m * n * std::max<int64_t>(k, 1) > (int64_t(1) << 18);

  std::vector<uint16_t> packed(size_t(panels * panel_size));
  std::vector<float> bias_padded;
  if (bias) {
    bias_padded.assign(size_t(panels * kBf16Cols), 0.0f);
    std::copy(bias, bias + n, bias_padded.begin());
  }
  // Each block of K: every thread packs panels of B, then row tiles of A and their products. A
  // tile's outputs take the same sums in the same order whichever thread runs it.
#pragma omp parallel if (big)
  {
    std::vector<uint16_t> block(size_t(kc * 2 * kBf16Rows)), row(size_t(2 * kc));
    for (int64_t blk = 0; blk < blocks; ++blk) {
      const int64_t p0 = blk * kc, np = std::min(kc, pairs - p0);
#pragma omp for schedule(static)
      for (int64_t q = 0; q < panels; ++q) {
        const int nc = int(std::min<int64_t>(kBf16Cols, n - q * kBf16Cols));
        pack_pairs(b, q * kBf16Cols, nc, kBf16Cols, k, p0, np, packed.data() + q * panel_size,
                   row.data());
      }
#pragma omp for schedule(static)
      for (int64_t t = 0; t < tiles; ++t) {
        const int64_t r0 = t * kBf16Rows;
        const int mr = int(std::min<int64_t>(kBf16Rows, m - r0));
        const auto [a_row, a_pair] = pack_a(a, r0, mr, k, p0, np, block.data());
        for (int64_t q = 0; q < panels; ++q) {
          const int nc = int(std::min<int64_t>(kBf16Cols, n - q * kBf16Cols));
          kTile(block.data(), a_row, a_pair, mr, packed.data() + q * panel_size, np,
                bias ? bias_padded.data() + q * kBf16Cols : nullptr, blk > 0,
                out + r0 * n + q * kBf16Cols, n, nc);
        }
      }
    }
  }
}

void linear_bf16(const float* x, int64_t rows, int64_t k, const float* w, int64_t n,
                 const float* bias, float* out) {
  gemm_bf16({x, k, 1}, rows, k, {w, k, 1}, n, bias, out);
}

}  // namespace focus::cpu
