#include "ops/cpu/elementwise.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "ops/cpu/strided.h"
#include "ops/cpu/vmath.h"

namespace focus::cpu {
namespace {

constexpr int64_t kChunk = 1 << 14;  // elements per parallel work item
constexpr float kSqrt1_2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;
constexpr float kSqrt2OverPi = 0.79788456080286536f;
constexpr float kGeluC = 0.044715f;

// Splits [0, n) into chunks run on the OpenMP pool; static, so the split depends only on n.
template <typename F>
void parallel_chunks(int64_t n, F&& f) {
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) f(c * kChunk, std::min(n, (c + 1) * kChunk));
}

template <typename F>
void binary_rows(F f, const float* a, const Shape& sa_in, const float* b, const Shape& sb_in,
                 float* out, const Shape& shape_in) {
  Shape shape = shape_in;
  Shape st[3] = {sa_in, sb_in, contiguous_strides(shape_in)};
  collapse(shape, st);
  const int last = shape.rank() - 1;
  const int64_t n = shape[last], sa = st[0][last], sb = st[1][last];
  const int64_t rows = shape.numel() / std::max<int64_t>(n, 1);
  const int64_t per_row = std::max<int64_t>(1, (n + kChunk - 1) / kChunk);
#pragma omp parallel for schedule(static) if (rows * n > kChunk)
  for (int64_t w = 0; w < rows * per_row; ++w) {
    const int64_t r = w / per_row, j0 = (w % per_row) * kChunk, j1 = std::min(n, j0 + kChunk);
    const float* pa = a + row_offset(r, shape, st[0]);
    const float* pb = b + row_offset(r, shape, st[1]);
    float* po = out + r * n;
    if (sa == 1 && sb == 1) {
#pragma omp simd
      for (int64_t j = j0; j < j1; ++j) po[j] = f(pa[j], pb[j]);
    } else if (sa == 1 && sb == 0) {
      const float vb = pb[0];
#pragma omp simd
      for (int64_t j = j0; j < j1; ++j) po[j] = f(pa[j], vb);
    } else if (sa == 0 && sb == 1) {
      const float va = pa[0];
#pragma omp simd
      for (int64_t j = j0; j < j1; ++j) po[j] = f(va, pb[j]);
    } else {
      for (int64_t j = j0; j < j1; ++j) po[j] = f(pa[j * sa], pb[j * sb]);
    }
  }
}

}  // namespace

void binary(BinaryOp op, const float* a, const Shape& sa, const float* b, const Shape& sb,
            float* out, const Shape& shape) {
  if (shape.numel() == 0) return;
  switch (op) {
    case BinaryOp::add:
      return binary_rows([](float x, float y) { return x + y; }, a, sa, b, sb, out, shape);
    case BinaryOp::sub:
      return binary_rows([](float x, float y) { return x - y; }, a, sa, b, sb, out, shape);
    case BinaryOp::mul:
      return binary_rows([](float x, float y) { return x * y; }, a, sa, b, sb, out, shape);
    case BinaryOp::div:
      return binary_rows([](float x, float y) { return x / y; }, a, sa, b, sb, out, shape);
  }
}

void unary(UnaryOp op, const float* x, float* y, int64_t n, float p, float q) {
  parallel_chunks(n, [&](int64_t i0, int64_t i1) {
    switch (op) {
      case UnaryOp::neg:
#pragma omp simd
        for (int64_t i = i0; i < i1; ++i) y[i] = -x[i];
        break;
      case UnaryOp::affine:
#pragma omp simd
        for (int64_t i = i0; i < i1; ++i) y[i] = x[i] * p + q;
        break;
      case UnaryOp::exp:
#pragma omp simd
        for (int64_t i = i0; i < i1; ++i) y[i] = vexp(x[i]);
        break;
      case UnaryOp::log:
        for (int64_t i = i0; i < i1; ++i) y[i] = std::log(x[i]);
        break;
      case UnaryOp::sqrt:
#pragma omp simd
        for (int64_t i = i0; i < i1; ++i) y[i] = std::sqrt(x[i]);
        break;
      case UnaryOp::pow:
        if (p == 2.0f) {
#pragma omp simd
          for (int64_t i = i0; i < i1; ++i) y[i] = x[i] * x[i];
        } else {
          for (int64_t i = i0; i < i1; ++i) y[i] = std::pow(x[i], p);
        }
        break;
      case UnaryOp::tanh:
#pragma omp simd
        for (int64_t i = i0; i < i1; ++i) y[i] = vtanh(x[i]);
        break;
      case UnaryOp::sigmoid:
#pragma omp simd
        for (int64_t i = i0; i < i1; ++i) y[i] = vsigmoid(x[i]);
        break;
      case UnaryOp::relu:
#pragma omp simd
        for (int64_t i = i0; i < i1; ++i) y[i] = x[i] > 0.0f ? x[i] : (x[i] != x[i] ? x[i] : 0.0f);
        break;
      case UnaryOp::gelu_erf:
#pragma omp simd
        for (int64_t i = i0; i < i1; ++i) y[i] = 0.5f * x[i] * (1.0f + verf(x[i] * kSqrt1_2));
        break;
      case UnaryOp::gelu_tanh:
        // 0.5·x·(1 + tanh(u)) = x·sigmoid(2u): no cancellation for negative x.
#pragma omp simd
        for (int64_t i = i0; i < i1; ++i) {
          const float u = kSqrt2OverPi * (x[i] + kGeluC * x[i] * x[i] * x[i]);
          y[i] = x[i] * vsigmoid(2.0f * u);
        }
        break;
    }
  });
}

void unary_backward(UnaryOp op, const float* g, const float* x, const float* y, float* gx,
                    int64_t n, float p) {
  parallel_chunks(n, [&](int64_t i0, int64_t i1) {
    switch (op) {
      case UnaryOp::neg:
#pragma omp simd
        for (int64_t i = i0; i < i1; ++i) gx[i] = -g[i];
        break;
      case UnaryOp::affine:
#pragma omp simd
        for (int64_t i = i0; i < i1; ++i) gx[i] = g[i] * p;
        break;
      case UnaryOp::exp:
#pragma omp simd
        for (int64_t i = i0; i < i1; ++i) gx[i] = g[i] * y[i];
        break;
      case UnaryOp::log:
#pragma omp simd
        for (int64_t i = i0; i < i1; ++i) gx[i] = g[i] / x[i];
        break;
      case UnaryOp::sqrt:
#pragma omp simd
        for (int64_t i = i0; i < i1; ++i) gx[i] = g[i] * 0.5f / y[i];
        break;
      case UnaryOp::pow:
        // d/dx x^0 = 0 everywhere, also at x = 0 where p·x^(p−1) would be 0·inf = NaN.
        if (p == 0.0f) {
          for (int64_t i = i0; i < i1; ++i) gx[i] = 0.0f;
        } else {
          for (int64_t i = i0; i < i1; ++i) gx[i] = g[i] * p * std::pow(x[i], p - 1.0f);
        }
        break;
      case UnaryOp::tanh:
#pragma omp simd
        for (int64_t i = i0; i < i1; ++i) gx[i] = g[i] * (1.0f - y[i] * y[i]);
        break;
      case UnaryOp::sigmoid:
#pragma omp simd
        for (int64_t i = i0; i < i1; ++i) gx[i] = g[i] * y[i] * (1.0f - y[i]);
        break;
      case UnaryOp::relu:
#pragma omp simd
        for (int64_t i = i0; i < i1; ++i) gx[i] = x[i] > 0.0f ? g[i] : 0.0f;
        break;
      case UnaryOp::gelu_erf:
        // d/dx x·Φ(x) = Φ(x) + x·φ(x)
#pragma omp simd
        for (int64_t i = i0; i < i1; ++i) {
          const float cdf = 0.5f * (1.0f + verf(x[i] * kSqrt1_2));
          const float pdf = kInvSqrt2Pi * vexp(-0.5f * x[i] * x[i]);
          gx[i] = g[i] * (cdf + x[i] * pdf);
        }
        break;
      case UnaryOp::gelu_tanh:
#pragma omp simd
        for (int64_t i = i0; i < i1; ++i) {
          const float x2 = x[i] * x[i];
          const float u = kSqrt2OverPi * (x[i] + kGeluC * x2 * x[i]);
          const float t = vtanh(u);
          const float du = kSqrt2OverPi * (1.0f + 3.0f * kGeluC * x2);
          gx[i] = g[i] * (0.5f * (1.0f + t) + 0.5f * x[i] * (1.0f - t * t) * du);
        }
        break;
    }
  });
}

}  // namespace focus::cpu
