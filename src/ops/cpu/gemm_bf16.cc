// linear_bf16: packs w into panels of bf16 column pairs once per call (n·k conversions against
// rows·n·k products), converts x a register tile of rows at a time into a per-thread buffer, and
// runs the micro-kernel of this CPU (gemm_bf16_isa.h) over every panel for those rows. A tile's
// rows stay in L1 while the packed w (≤ 1 MB for the models here) streams from L2.
#include "ops/cpu/gemm_bf16.h"

#include <omp.h>

#include <algorithm>
#include <bit>
#include <cmath>
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

// The reference for the micro-kernels: per output, bias then, for each pair along K, the odd
// product then the even one, each added with one rounding. A product of two bf16 is exact in f32,
// so each step is an fma. vdpbf16ps does the same (and flushes subnormal sums to zero).
void bf16_tile_portable(const uint16_t* a, int64_t lda, int mr, const uint16_t* b, int64_t pairs,
                        const float* bias, float* c, int64_t ldc, int nc) {
  for (int r = 0; r < mr; ++r) {
    float acc[kBf16Cols];
    for (int j = 0; j < kBf16Cols; ++j) acc[j] = bias ? bias[j] : 0.0f;
    const uint16_t* row = a + r * lda;
    for (int64_t p = 0; p < pairs; ++p) {
      const float even = from_bf16(row[2 * p]), odd = from_bf16(row[2 * p + 1]);
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
#else
const Bf16Tile kTile = bf16_tile_portable;
const Bf16Convert kConvert = bf16_convert_portable;
#endif

}  // namespace

bool bf16_native() { return kNative; }

void linear_bf16(const float* x, int64_t rows, int64_t k, const float* w, int64_t n,
                 const float* bias, float* out) {
  if (rows <= 0 || n <= 0) return;
  const int64_t pairs = (k + 1) / 2, kp = 2 * pairs;
  const int64_t panels = (n + kBf16Cols - 1) / kBf16Cols;
  const int64_t panel_size = pairs * 2 * kBf16Cols;
  const bool big = rows * n * std::max<int64_t>(k, 1) > (int64_t(1) << 18);

  std::vector<uint16_t> packed(size_t(panels * panel_size));
#pragma omp parallel for schedule(static) if (big)
  for (int64_t q = 0; q < panels; ++q) {
    uint16_t* dst = packed.data() + q * panel_size;
    for (int64_t p = 0; p < pairs; ++p)
      for (int64_t j = 0; j < kBf16Cols; ++j)
        for (int64_t e = 0; e < 2; ++e) {
          const int64_t col = q * kBf16Cols + j, kk = 2 * p + e;
          dst[(p * kBf16Cols + j) * 2 + e] = col < n && kk < k ? to_bf16(w[col * k + kk]) : 0;
        }
  }
  std::vector<float> bias_padded;
  if (bias) {
    bias_padded.assign(size_t(panels * kBf16Cols), 0.0f);
    std::copy(bias, bias + n, bias_padded.begin());
  }

  const int64_t tiles = (rows + kBf16Rows - 1) / kBf16Rows;
#pragma omp parallel if (big && tiles > 1)
  {
    std::vector<uint16_t> block(size_t(kBf16Rows * kp));
#pragma omp for schedule(static)
    for (int64_t t = 0; t < tiles; ++t) {
      const int64_t r0 = t * kBf16Rows;
      const int mr = int(std::min<int64_t>(kBf16Rows, rows - r0));
      for (int r = 0; r < mr; ++r) {
        uint16_t* dst = block.data() + r * kp;
        kConvert(x + (r0 + r) * k, k, dst);
        if (kp > k) dst[k] = 0;
      }
      for (int64_t q = 0; q < panels; ++q) {
        const int nc = int(std::min<int64_t>(kBf16Cols, n - q * kBf16Cols));
        kTile(block.data(), kp, mr, packed.data() + q * panel_size, pairs,
              bias ? bias_padded.data() + q * kBf16Cols : nullptr, out + r0 * n + q * kBf16Cols, n,
              nc);
      }
    }
  }
}

}  // namespace focus::cpu
