#include "ops/cpu/layer_norm.h"

#include <algorithm>
#include <cmath>
#include <vector>

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
  // Fixed blocks of rows; each block's partial gw/gb row, then the partials summed in order.
  const int64_t block = std::max<int64_t>(16, (rows + 255) / 256);
  const int64_t blocks = (rows + block - 1) / block;
  const bool params = gw || gb;
  std::vector<float> pw(params ? blocks * d : 0), pb(params ? blocks * d : 0);
  const float inv_d = 1.0f / static_cast<float>(d);
#pragma omp parallel for schedule(static) if (rows * d > (1 << 14))
  for (int64_t k = 0; k < blocks; ++k) {
    float* bw = params ? pw.data() + k * d : nullptr;
    float* bb = params ? pb.data() + k * d : nullptr;
    if (params)
      for (int64_t j = 0; j < d; ++j) bw[j] = bb[j] = 0.0f;
    for (int64_t r = k * block; r < std::min(rows, (k + 1) * block); ++r) {
      const float* pg = g + r * d;
      const float* px = x + r * d;
      const float mu = mean[r], rs = rstd[r];
      if (params) {
#pragma omp simd
        for (int64_t j = 0; j < d; ++j) {
          bw[j] += pg[j] * (px[j] - mu) * rs;
          bb[j] += pg[j];
        }
      }
      if (!gx) continue;
      // gx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) with ĝ = g·w, x̂ = (x − mean)·rstd
      float s1 = 0.0f, s2 = 0.0f;
#pragma omp simd reduction(+ : s1, s2)
      for (int64_t j = 0; j < d; ++j) {
        const float gh = w ? pg[j] * w[j] : pg[j];
        s1 += gh;
        s2 += gh * (px[j] - mu) * rs;
      }
      s1 *= inv_d;
      s2 *= inv_d;
      float* pgx = gx + r * d;
#pragma omp simd
      for (int64_t j = 0; j < d; ++j) {
        const float gh = w ? pg[j] * w[j] : pg[j];
        pgx[j] = rs * (gh - s1 - (px[j] - mu) * rs * s2);
      }
    }
  }
  if (!params) return;
#pragma omp parallel for schedule(static) if (blocks * d > (1 << 14))
  for (int64_t j = 0; j < d; ++j) {
    float sw = 0.0f, sb = 0.0f;
    for (int64_t k = 0; k < blocks; ++k) sw += pw[k * d + j], sb += pb[k * d + j];
    if (gw) gw[j] = sw;
    if (gb) gb[j] = sb;
  }
}

}  // namespace focus::cpu
