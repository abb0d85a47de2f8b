// layer_norm over the last axis, fused: one pass forward (saving mean and rstd), one backward.
#include "ops/cpu/layer_norm.h"
#include "ops/common.h"

namespace focus {

Tensor layer_norm(const Tensor& x_in, const Tensor& weight, const Tensor& bias, float eps) {
  ops::check_f32("layer_norm", "x", x_in);
  FOCUS_CHECK(x_in.dim() >= 1, "layer_norm: expected x of rank >= 1, got a scalar");
  const int64_t d = x_in.shape()[x_in.dim() - 1];
  FOCUS_CHECK(d > 0, "layer_norm: the normalised axis of x ", x_in.shape(), " is empty");
  FOCUS_CHECK(eps >= 0, "layer_norm: eps must be >= 0, got ", eps);
  for (const auto& [t, what] : {std::pair{&weight, "weight"}, std::pair{&bias, "bias"}}) {
    if (!t->defined()) continue;
    ops::check_f32("layer_norm", what, *t);
    FOCUS_CHECK(t->dim() == 1 && t->shape()[0] == d, "layer_norm: ", what, " ", t->shape(),
                " does not match x ", x_in.shape(), ": expected [", d, "]");
  }
  const int64_t rows = x_in.numel() / d;
  Tensor x = x_in.detach().contiguous();
  Tensor w = weight.defined() ? weight.detach().contiguous() : Tensor();
  Tensor b = bias.defined() ? bias.detach().contiguous() : Tensor();
  Tensor y = make_tensor(x.shape());
  Tensor mean = make_tensor(Shape{rows}), rstd = make_tensor(Shape{rows});
  cpu::layer_norm(x.data(), w.defined() ? w.data() : nullptr, b.defined() ? b.data() : nullptr,
                  y.data(), mean.data(), rstd.data(), rows, d, eps);
  ops::check_output("layer_norm", y);
  autograd::record("layer_norm", y, {x_in, weight, bias},
                   [x, w, mean, rstd, rows, d](const Tensor& g_in, const autograd::Needs& needs) {
                     Tensor g = g_in.contiguous();
                     Tensor gx = needs[0] ? make_tensor(x.shape()) : Tensor();
                     Tensor gw = needs[1] ? make_tensor(Shape{d}) : Tensor();
                     Tensor gb = needs[2] ? make_tensor(Shape{d}) : Tensor();
                     cpu::layer_norm_backward(g.data(), x.data(), w.defined() ? w.data() : nullptr,
                                              mean.data(), rstd.data(),
                                              gx.defined() ? gx.data() : nullptr,
                                              gw.defined() ? gw.data() : nullptr,
                                              gb.defined() ? gb.data() : nullptr, rows, d);
                     return std::vector<Tensor>{gx, gw, gb};
                   });
  return y;
}

}  // namespace focus
