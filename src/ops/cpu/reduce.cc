#include "ops/cpu/reduce.h"

#include <algorithm>
#include <vector>

namespace focus::cpu {
namespace {

constexpr int64_t kBlock = 4096;

// Σ x[0..n) in 8 float lanes; callers keep n <= kBlock so lane sums stay accurate.
inline float block_sum(const float* x, int64_t n) {
  float lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
#pragma omp simd
    for (int k = 0; k < 8; ++k) lanes[k] += x[i + k];
  float s = 0;
  for (; i < n; ++i) s += x[i];
  return s + ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) +
         ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
}

}  // namespace

void sum_mid(const float* x, float* out, int64_t outer, int64_t r, int64_t inner) {
  if (inner == 1) {
    if (outer == 1 && r > kBlock) {
      // One long row: fixed blocks in parallel, then their partial sums in order (in double).
      const int64_t blocks = (r + kBlock - 1) / kBlock;
      std::vector<float> partial(blocks);
#pragma omp parallel for schedule(static)
      for (int64_t b = 0; b < blocks; ++b)
        partial[b] = block_sum(x + b * kBlock, std::min(kBlock, r - b * kBlock));
      double s = 0;
      for (float p : partial) s += p;
      out[0] = static_cast<float>(s);
      return;
    }
#pragma omp parallel for schedule(static) if (outer * r > (1 << 15))
    for (int64_t o = 0; o < outer; ++o) {
      const float* row = x + o * r;
      double s = 0;
      for (int64_t b = 0; b < r; b += kBlock) s += block_sum(row + b, std::min(kBlock, r - b));
      out[o] = static_cast<float>(s);
    }
    return;
  }
  // inner > 1: accumulate rows of `inner` elements, vectorised along inner, 64 columns at a time
  // in registers (a bias gradient: outer 1, r = B·N rows, inner 512); each output element is
  // owned by one thread and summed in j order, so the bits depend on neither the split nor the
  // thread count.
  constexpr int64_t kCols = 64;
  const int64_t per = (inner + kCols - 1) / kCols;
#pragma omp parallel for schedule(static) if (outer * r * inner > (1 << 15))
  for (int64_t w = 0; w < outer * per; ++w) {
    const int64_t o = w / per, i0 = (w % per) * kCols, i1 = std::min(inner, i0 + kCols);
    const float* px = x + o * r * inner + i0;
    float* po = out + o * inner + i0;
    if (i1 - i0 == kCols) {
      float acc[kCols] = {};
      for (int64_t j = 0; j < r; ++j) {
        const float* row = px + j * inner;
#pragma omp simd
        for (int64_t i = 0; i < kCols; ++i) acc[i] += row[i];
      }
      for (int64_t i = 0; i < kCols; ++i) po[i] = acc[i];
    } else {
      for (int64_t i = 0; i < i1 - i0; ++i) po[i] = 0.0f;
      for (int64_t j = 0; j < r; ++j) {
        const float* row = px + j * inner;
#pragma omp simd
        for (int64_t i = 0; i < i1 - i0; ++i) po[i] += row[i];
      }
    }
  }
}

void max_mid(const float* x, float* out, int32_t* arg, int64_t outer, int64_t r, int64_t inner) {
#pragma omp parallel for schedule(static) if (outer * r * inner > (1 << 15))
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const float* px = x + o * r * inner + i;
      float best = px[0];
      int32_t at = 0;
      for (int64_t j = 1; j < r && best == best; ++j) {
        const float v = px[j * inner];
        if (v > best || v != v) best = v, at = static_cast<int32_t>(j);
      }
      out[o * inner + i] = best;
      arg[o * inner + i] = at;
    }
  }
}

}  // namespace focus::cpu
