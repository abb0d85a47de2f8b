// SGD with momentum, dampening, Nesterov and L2 weight decay, step for step as torch.optim.SGD
// (1.13, single-tensor path): the same operations in the same order and rounding.
#include <cmath>

#include "focus/autograd.h"
#include "focus/optim.h"
#include "optim/update.h"

namespace focus::optim {

using detail::fmadd;

namespace {

// d = g (+ wd·p); through the momentum buffer when there is one; p −= lr·d.
template <bool kDecay, bool kMomentum, bool kFirst, bool kNesterov>
void sgd_update(int64_t n, float* __restrict p, const float* __restrict g, float* __restrict buf,
                float wd, float mu, float keep, float neg_lr) {
#pragma omp parallel for simd schedule(static) if (n >= detail::kParallelMin)
  for (int64_t j = 0; j < n; ++j) {
    float d = g[j];
    if constexpr (kDecay) d = fmadd(p[j], wd, d);
    if constexpr (kMomentum) {
      const float b = kFirst ? d : fmadd(d, keep, buf[j] * mu);
      buf[j] = b;
      d = kNesterov ? fmadd(b, mu, d) : b;
    }
    p[j] = fmadd(d, neg_lr, p[j]);
  }
}

}  // namespace

Sgd::Sgd(NamedTensors params, const SgdOptions& opt)
    : Optimizer("Sgd", std::move(params), opt.lr, {{"momentum"}}), opt_(opt) {
  FOCUS_CHECK(std::isfinite(opt.momentum) && opt.momentum >= 0.0f,
              "Sgd: momentum must be finite and >= 0, got ", opt.momentum);
  FOCUS_CHECK(std::isfinite(opt.dampening), "Sgd: dampening must be finite, got ", opt.dampening);
  FOCUS_CHECK(std::isfinite(opt.weight_decay) && opt.weight_decay >= 0.0f,
              "Sgd: weight_decay must be finite and >= 0, got ", opt.weight_decay);
  FOCUS_CHECK(!opt.nesterov || (opt.momentum > 0.0f && opt.dampening == 0.0f),
              "Sgd: Nesterov momentum needs momentum > 0 and dampening 0, got momentum ",
              opt.momentum, " and dampening ", opt.dampening);
}

void Sgd::step() {
  autograd::NoGradGuard no_grad;
  // torch takes the hyperparameters as doubles and rounds each scalar to f32 for its kernels.
  const float keep = static_cast<float>(1.0 - static_cast<double>(opt_.dampening));
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor grad = grad_of(i);
    if (!grad.defined()) continue;
    const bool momentum = opt_.momentum != 0.0f;
    // The first step copies the gradient into the buffer: no momentum or dampening yet.
    const bool first = momentum && find_slot(i, "momentum") == nullptr;
    float* buf = momentum ? slot(i, "momentum").data() : nullptr;
    detail::with_flags(
        [&](auto decay, auto mom, auto init, auto nesterov) {
          sgd_update<decltype(decay)::value, decltype(mom)::value, decltype(init)::value,
                     decltype(nesterov)::value>(grad.numel(), params_[i].second.data(), grad.data(),
                                                buf, opt_.weight_decay, opt_.momentum, keep, -lr_);
        },
        opt_.weight_decay != 0.0f, momentum, first, opt_.nesterov);
  }
  ++steps_;
}

}  // namespace focus::optim
