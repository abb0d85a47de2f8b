// Adam and AdamW, step for step as torch.optim.Adam / AdamW (1.13, single-tensor path, amsgrad
// off): the same operations in the same order and rounding, each parameter with its own step
// count (a parameter without a gradient is not stepped, so its bias correction lags, as in torch).
#include <cmath>

#include "focus/autograd.h"
#include "focus/optim.h"
#include "optim/update.h"

namespace focus::optim {

using detail::fmadd;

namespace {

struct AdamScalars {
  float b1, one_minus_b1, b2, one_minus_b2, eps, l2, decay, neg_step, bias2_sqrt;
};

// One Adam/AdamW update, in torch's order: p *= decay (AdamW); g += l2·p (Adam); m = β1·m +
// (1−β1)·g; v = β2·v + (1−β2)·g·g; p += −step·m / (√v / √bias2 + eps).
template <bool kL2, bool kDecay>
void adam_update(int64_t n, float* __restrict p, const float* __restrict g, float* __restrict m,
                 float* __restrict v, const AdamScalars& s) {
  const AdamScalars c = s;  // locals: loop-invariant for the vectoriser
#pragma omp parallel for simd schedule(static) if (n >= detail::kParallelMin)
  for (int64_t j = 0; j < n; ++j) {
    const float pj = kDecay ? p[j] * c.decay : p[j];
    const float gj = kL2 ? fmadd(pj, c.l2, g[j]) : g[j];
    const float mj = fmadd(gj, c.one_minus_b1, m[j] * c.b1);
    const float vj = fmadd(c.one_minus_b2 * gj, gj, v[j] * c.b2);
    m[j] = mj;
    v[j] = vj;
    p[j] = detail::add_rounded(pj, c.neg_step * mj / (std::sqrt(vj) / c.bias2_sqrt + c.eps));
  }
}

}  // namespace

Adam::Adam(NamedTensors params, const AdamOptions& opt, bool decoupled)
    : Optimizer(decoupled ? "AdamW" : "Adam", std::move(params), opt.lr,
                {{"exp_avg"}, {"exp_avg_sq"}, {"step", true}}),
      opt_(opt),
      decoupled_(decoupled) {
  FOCUS_CHECK(opt.beta1 >= 0.0f && opt.beta1 < 1.0f && opt.beta2 >= 0.0f && opt.beta2 < 1.0f, kind_,
              ": betas must be in [0, 1), got (", opt.beta1, ", ", opt.beta2, ")");
  FOCUS_CHECK(std::isfinite(opt.eps) && opt.eps >= 0.0f, kind_,
              ": eps must be finite and >= 0, got ", opt.eps);
  FOCUS_CHECK(std::isfinite(opt.weight_decay) && opt.weight_decay >= 0.0f, kind_,
              ": weight_decay must be finite and >= 0, got ", opt.weight_decay);
}

void Adam::step() {
  autograd::NoGradGuard no_grad;
  // torch computes these scalars in double (Python floats) and rounds each to f32 for its kernels.
  const double lr = lr_, beta1 = opt_.beta1, beta2 = opt_.beta2;
  AdamScalars s{.b1 = opt_.beta1,
                .one_minus_b1 = static_cast<float>(1.0 - beta1),
                .b2 = opt_.beta2,
                .one_minus_b2 = static_cast<float>(1.0 - beta2),
                .eps = opt_.eps,
                .l2 = decoupled_ ? 0.0f : opt_.weight_decay,
                .decay = static_cast<float>(1.0 - lr * static_cast<double>(opt_.weight_decay)),
                .neg_step = 0,
                .bias2_sqrt = 0};
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor grad = grad_of(i);
    if (!grad.defined()) continue;
    Tensor& param = params_[i].second;
    float* m = slot(i, "exp_avg").data();
    float* v = slot(i, "exp_avg_sq").data();
    const int32_t t = ++*slot(i, "step").data_i32();
    const double bias1 = 1.0 - std::pow(beta1, static_cast<double>(t));
    const double bias2 = 1.0 - std::pow(beta2, static_cast<double>(t));
    s.neg_step = static_cast<float>(-(lr / bias1));
    s.bias2_sqrt = static_cast<float>(std::sqrt(bias2));
    // Decoupled decay skips parameters of rank < 2 (norm scales, biases) unless asked: shrinking
    // them toward 0 fights the normalisation and offsets they implement.
    const bool decay = decoupled_ && opt_.weight_decay != 0.0f &&
                       (param.dim() >= 2 || opt_.decay_norms_and_biases);
    detail::with_flags(
        [&](auto l2, auto dec) {
          adam_update<decltype(l2)::value, decltype(dec)::value>(grad.numel(), param.data(),
                                                                 grad.data(), m, v, s);
        },
        s.l2 != 0.0f, decay);
  }
  ++steps_;
}

}  // namespace focus::optim
