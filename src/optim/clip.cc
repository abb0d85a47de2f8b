// Gradient norm and clipping, as torch.nn.utils.clip_grad_norm_ (L2).
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "focus/autograd.h"
#include "focus/optim.h"

namespace focus::optim {
namespace {

constexpr int64_t kChunk = 1 << 14;  // elements per partial sum

// Σx² in double over fixed chunks, the partials added in chunk order: the same bits on any
// thread count.
double sum_squares(const float* x, int64_t n) {
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> partial(static_cast<size_t>(chunks), 0.0);
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t end = std::min(n, (c + 1) * kChunk);
    double s = 0.0;
#pragma omp simd reduction(+ : s)
    for (int64_t i = c * kChunk; i < end; ++i) s += static_cast<double>(x[i]) * x[i];
    partial[static_cast<size_t>(c)] = s;
  }
  double total = 0.0;
  for (double s : partial) total += s;
  return total;
}

// The gradients that exist (parameters without one are skipped), contiguous, with their names.
std::vector<std::pair<const std::string*, Tensor>> grads_of(const NamedTensors& params) {
  std::vector<std::pair<const std::string*, Tensor>> out;
  for (const auto& [name, p] : params) {
    if (!p.defined()) continue;
    Tensor g = p.grad();
    if (!g.defined()) continue;
    FOCUS_CHECK(g.dtype() == DType::f32, "clip_grad_norm: gradient of '", name, "' is ",
                dtype_name(g.dtype()), ", expected f32");
    out.emplace_back(&name, g.contiguous());
  }
  return out;
}

}  // namespace

float grad_norm(const NamedTensors& params) {
  autograd::NoGradGuard no_grad;
  double total = 0.0;
  for (const auto& [name, g] : grads_of(params)) total += sum_squares(g.data(), g.numel());
  return static_cast<float>(std::sqrt(total));
}

float clip_grad_norm(const NamedTensors& params, float max_norm) {
  FOCUS_CHECK(std::isfinite(max_norm) && max_norm > 0.0f,
              "clip_grad_norm: max_norm must be finite and > 0, got ", max_norm);
  autograd::NoGradGuard no_grad;
  double total = 0.0;
  for (const auto& [name, g] : grads_of(params)) {
    const double s = sum_squares(g.data(), g.numel());
    FOCUS_CHECK(std::isfinite(s), "clip_grad_norm: the gradient of '", *name, "' ", g.shape(),
                " holds NaN or Inf; refusing to scale (check the loss and learning rate)");
    total += s;
  }
  const double norm = std::sqrt(total);
  // torch multiplies by min(1, max_norm/(norm + 1e-6)); a factor of 1 changes nothing, so only
  // the scaling case touches memory.
  const double coef = static_cast<double>(max_norm) / (norm + 1e-6);
  if (coef < 1.0) {
    const float c = static_cast<float>(coef);
    for (const auto& [name, p] : params) {
      if (!p.defined() || !p.grad().defined()) continue;
      Tensor g = p.grad();
      if (!g.is_contiguous()) {  // scale a contiguous copy and make it the gradient
        Tensor t = p;
        t.set_grad(g.contiguous());
        g = t.grad();
      }
      float* d = g.data();
      const int64_t n = g.numel();
#pragma omp parallel for simd schedule(static) if (n >= (1 << 15))
      for (int64_t i = 0; i < n; ++i) d[i] *= c;
    }
  }
  return static_cast<float>(norm);
}

}  // namespace focus::optim
