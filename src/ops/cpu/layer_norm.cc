#include "ops/cpu/layer_norm.h"

#include <algorithm>
#include <cmath>
#include <memory>

namespace focus::cpu {

void layer_norm(const float* x, const float* w, const float* b, float* y, float* mean, float* rstd,
                int64_t rows, int64_t d, float eps) {
#pragma omp parallel for schedule(static) if (rows * d > (1 << 14))
  for (int64_t r = 0; r < rows; ++r) {
    const float* px = x + r * d;
    float* py = y + r * d;
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int64_t j = 0; j < d; ++j) s += px[j];
    const float mu = s / static_cast<float>(d);
    float v = 0.0f;  // two passes: no cancellation when |mean| >> std
#pragma omp simd reduction(+ : v)
    for (int64_t j = 0; j < d; ++j) v += (px[j] - mu) * (px[j] - mu);
    const float rs = 1.0f / std::sqrt(v / static_cast<float>(d) + eps);
    mean[r] = mu;
    rstd[r] = rs;
    if (w && b) {
#pragma omp simd
      for (int64_t j = 0; j < d; ++j) py[j] = (px[j] - mu) * rs * w[j] + b[j];
    } else if (w) {
#pragma omp simd
      for (int64_t j = 0; j < d; ++j) py[j] = (px[j] - mu) * rs * w[j];
    } else {
#pragma omp simd
      for (int64_t j = 0; j < d; ++j) py[j] = (px[j] - mu) * rs + (b ? b[j] : 0.0f);
    }
  }
}

void layer_norm_backward(const float* g, const float* x, const float* w, const float* mean,
                         const float* rstd, float* gx, float* gw, float* gb, int64_t rows,
                         int64_t d) {
  // gw and gb: a fixed number of row blocks (whatever the thread count) each sum their rows in
  // order into a partial [2, D], then the partials are added in block order.
  constexpr int64_t kBlocks = 32;
  const int64_t blocks = std::clamp<int64_t>(rows, 1, kBlocks);
  const int64_t per_block = (rows + blocks - 1) / blocks;
  const bool params = gw || gb;
  std::unique_ptr<float[]> partials(params ? new float[2 * blocks * d] : nullptr);
  const float inv_d = 1.0f / static_cast<float>(d);
#pragma omp parallel for schedule(static) if (rows * d > (1 << 14))
  for (int64_t k = 0; k < blocks; ++k) {
    float* pw = params ? partials.get() + 2 * k * d : nullptr;
    float* pb = params ? pw + d : nullptr;
    if (params) std::fill(pw, pw + 2 * d, 0.0f);
    for (int64_t r = k * per_block; r < std::min(rows, (k + 1) * per_block); ++r) {
      const float* pg = g + r * d;
      const float* px = x + r * d;
      const float mu = mean[r], rs = rstd[r];
      if (gx) {
        // gx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) with ĝ = g·w, x̂ = (x − mean)·rstd
        float s1 = 0.0f, s2 = 0.0f;
#pragma omp simd reduction(+ : s1, s2)
        for (int64_t j = 0; j < d; ++j) {
          const float gh = w ? pg[j] * w[j] : pg[j];
          s1 += gh;
          s2 += gh * (px[j] - mu);
        }
        const float a = rs * s1 * inv_d, b = rs * rs * rs * s2 * inv_d;
        float* pgx = gx + r * d;
#pragma omp simd
        for (int64_t j = 0; j < d; ++j) {
          const float gh = w ? pg[j] * w[j] : pg[j];
          pgx[j] = rs * gh - a - (px[j] - mu) * b;
        }
      }
      if (params) {
#pragma omp simd
        for (int64_t j = 0; j < d; ++j) {
          pw[j] += pg[j] * (px[j] - mu) * rs;
          pb[j] += pg[j];
        }
      }
    }
  }
  if (!params) return;
  for (int64_t k = 0; k < blocks; ++k) {
    const float* pw = partials.get() + 2 * k * d;
    const float* pb = pw + d;
    if (gw) {
#pragma omp simd
      for (int64_t j = 0; j < d; ++j) gw[j] = (k ? gw[j] : 0.0f) + pw[j];
    }
    if (gb) {
#pragma omp simd
      for (int64_t j = 0; j < d; ++j) gb[j] = (k ? gb[j] : 0.0f) + pb[j];
    }
  }
}

}  // namespace focus::cpu
