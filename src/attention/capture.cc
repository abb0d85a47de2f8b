// Capture of attention probabilities, and measures of focus computed from them.
#include <cmath>

#include "focus/attention.h"
#include "focus/autograd.h"
#include "focus/ops.h"
#include "ops/common.h"

namespace focus::attention {
namespace {
thread_local Capture* g_active = nullptr;
}  // namespace

Capture::Capture() : outer_(g_active) { g_active = this; }
Capture::~Capture() { g_active = outer_; }
Capture* Capture::active() { return g_active; }

void Capture::add(const std::string& layer, const Tensor& probs) {
  int calls = 0;
  for (const CapturedMap& m : maps_) calls += m.layer.rfind(layer + "#", 0) == 0;
  maps_.push_back({layer + "#" + std::to_string(calls), probs.detach().contiguous()});
}

Tensor entropy(const Tensor& probs_in) {
  ops::check_f32("entropy", "probs", probs_in);
  FOCUS_CHECK(probs_in.dim() >= 1 && probs_in.shape()[probs_in.dim() - 1] >= 1,
              "entropy: expected probabilities [..,Nk] with Nk >= 1, got ", probs_in.shape());
  Tensor p = probs_in.contiguous();
  const int64_t nk = p.shape()[p.dim() - 1], rows = p.numel() / nk;
  Shape out_shape;
  for (int i = 0; i < p.dim() - 1; ++i) out_shape.push_back(p.shape()[i]);
  Tensor out = make_tensor(out_shape);
  const float* pp = p.data();
  float* po = out.data();
#pragma omp parallel for schedule(static) if (rows * nk > (1 << 15))
  for (int64_t r = 0; r < rows; ++r) {
    double h = 0;  // 0·log 0 = 0
    for (int64_t j = 0; j < nk; ++j) {
      const double x = pp[r * nk + j];
      if (x > 0) h -= x * std::log(x);
    }
    po[r] = static_cast<float>(h);
  }
  return out;
}

Tensor head_entropy(const Tensor& probs) {
  FOCUS_CHECK(probs.defined() && probs.dim() == 4, "head_entropy: expected probs [B,H,Nq,Nk], got ",
              probs.defined() ? probs.shape().str() : "undefined");
  autograd::NoGradGuard no_grad;
  return mean(entropy(probs), {0, 2});
}

Tensor rollout(const std::vector<Tensor>& maps) {
  FOCUS_CHECK(!maps.empty(), "rollout: no attention maps given");
  autograd::NoGradGuard no_grad;
  Tensor result;
  for (size_t l = 0; l < maps.size(); ++l) {
    const Tensor& m = maps[l];
    ops::check_f32("rollout", "a map", m);
    FOCUS_CHECK(m.dim() == 4 && m.shape()[2] == m.shape()[3], "rollout: map ", l, " has shape ",
                m.shape(), "; expected self-attention [B,H,N,N]");
    if (result.defined())
      FOCUS_CHECK(m.shape()[0] == result.shape()[0] && m.shape()[2] == result.shape()[1],
                  "rollout: map ", l, " ", m.shape(),
                  " does not match the earlier layers' [B,N,N] ", result.shape());
    const int64_t n = m.shape()[2];
    Tensor eye = Tensor::zeros({n, n});
    for (int64_t i = 0; i < n; ++i) eye.data()[i * n + i] = 1.0f;
    Tensor a = mean(m, {1}) * 0.5f + eye * 0.5f;  // [B,N,N]: residual path as identity
    a = a / sum(a, {-1}, true);
    result = result.defined() ? matmul(a, result) : a;
  }
  return result;
}

}  // namespace focus::attention
