#include "ops/cpu/softmax.h"

#include <cmath>
#include <limits>

#include "ops/cpu/vmath.h"

namespace focus::cpu {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// One contiguous row of n elements (inner == 1), the hot case.
inline void softmax_row(const float* x, float* y, int64_t n, bool log) {
  float mx = kNegInf;
#pragma omp simd reduction(max : mx)
  for (int64_t j = 0; j < n; ++j) mx = x[j] > mx ? x[j] : mx;
  if (mx == kNegInf) {  // fully masked
    for (int64_t j = 0; j < n; ++j) y[j] = log ? kNegInf : 0.0f;
    return;
  }
  float s = 0.0f;
  if (log) {
#pragma omp simd reduction(+ : s)
    for (int64_t j = 0; j < n; ++j) s += vexp(x[j] - mx);
    const float shift = mx + std::log(s);
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) y[j] = x[j] - shift;
  } else {
#pragma omp simd reduction(+ : s)
    for (int64_t j = 0; j < n; ++j) {
      y[j] = vexp(x[j] - mx);
      s += y[j];
    }
    const float inv = 1.0f / s;
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) y[j] *= inv;
  }
}

inline void softmax_row_backward(const float* g, const float* y, float* gx, int64_t n, bool log) {
  float s = 0.0f;
  if (log) {
#pragma omp simd reduction(+ : s)
    for (int64_t j = 0; j < n; ++j) s += g[j];
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) gx[j] = g[j] - vexp(y[j]) * s;
  } else {
#pragma omp simd reduction(+ : s)
    for (int64_t j = 0; j < n; ++j) s += g[j] * y[j];
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) gx[j] = y[j] * (g[j] - s);
  }
}

}  // namespace

void softmax(const float* x, float* y, int64_t outer, int64_t n, int64_t inner, bool log) {
  if (inner == 1) {
#pragma omp parallel for schedule(static) if (outer * n > (1 << 14))
    for (int64_t o = 0; o < outer; ++o) softmax_row(x + o * n, y + o * n, n, log);
    return;
  }
#pragma omp parallel for schedule(static) if (outer * n * inner > (1 << 14))
  for (int64_t w = 0; w < outer * inner; ++w) {
    const int64_t o = w / inner, i = w % inner;
    const float* px = x + o * n * inner + i;
    float* py = y + o * n * inner + i;
    float mx = kNegInf;
    for (int64_t j = 0; j < n; ++j) mx = px[j * inner] > mx ? px[j * inner] : mx;
    if (mx == kNegInf) {
      for (int64_t j = 0; j < n; ++j) py[j * inner] = log ? kNegInf : 0.0f;
      continue;
    }
    float s = 0.0f;
    for (int64_t j = 0; j < n; ++j) s += vexp(px[j * inner] - mx);
    const float shift = mx + std::log(s), inv = 1.0f / s;
    for (int64_t j = 0; j < n; ++j)
      py[j * inner] = log ? px[j * inner] - shift : vexp(px[j * inner] - mx) * inv;
  }
}

void softmax_backward(const float* g, const float* y, float* gx, int64_t outer, int64_t n,
                      int64_t inner, bool log) {
  if (inner == 1) {
#pragma omp parallel for schedule(static) if (outer * n > (1 << 14))
    for (int64_t o = 0; o < outer; ++o)
      softmax_row_backward(g + o * n, y + o * n, gx + o * n, n, log);
    return;
  }
#pragma omp parallel for schedule(static) if (outer * n * inner > (1 << 14))
  for (int64_t w = 0; w < outer * inner; ++w) {
    const int64_t o = w / inner, i = w % inner, base = o * n * inner + i;
    float s = 0.0f;
    for (int64_t j = 0; j < n; ++j)
      s += log ? g[base + j * inner] : g[base + j * inner] * y[base + j * inner];
    for (int64_t j = 0; j < n; ++j) {
      const int64_t k = base + j * inner;
      gx[k] = log ? g[k] - vexp(y[k]) * s : y[k] * (g[k] - s);
    }
  }
}

}  // namespace focus::cpu
