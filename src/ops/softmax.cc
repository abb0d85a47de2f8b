// softmax and log_softmax over one axis.
#include "ops/cpu/softmax.h"
#include "ops/common.h"

namespace focus {
namespace {

Tensor softmax_impl(const char* op, const Tensor& x_in, int axis, bool log) {
  ops::check_f32(op, "x", x_in);
  FOCUS_CHECK(x_in.dim() >= 1, op, ": expected rank >= 1, got a scalar");
  const int a = normalize_axis(axis, x_in.dim(), op);
  const int64_t n = x_in.shape()[a];
  FOCUS_CHECK(n > 0, op, ": axis ", axis, " of ", x_in.shape(),
              " is empty; a softmax over no elements is undefined");
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < a; ++i) outer *= x_in.shape()[i];
  for (int i = a + 1; i < x_in.dim(); ++i) inner *= x_in.shape()[i];
  Tensor x = x_in.contiguous();
  Tensor y = make_tensor(x.shape());
  if (y.numel() > 0) cpu::softmax(x.data(), y.data(), outer, n, inner, log);
  ops::check_output(op, y);
  Tensor ys = y.detach();
  autograd::record(op, y, {x},
                   [ys, outer, n, inner, log](const Tensor& g_in, const autograd::Needs&) {
                     Tensor g = g_in.contiguous();
                     Tensor gx = make_tensor(g.shape());
                     if (gx.numel() > 0)
                       cpu::softmax_backward(g.data(), ys.data(), gx.data(), outer, n, inner, log);
                     return std::vector<Tensor>{gx};
                   });
  return y;
}

}  // namespace

Tensor softmax(const Tensor& x, int axis) { return softmax_impl("softmax", x, axis, false); }
Tensor log_softmax(const Tensor& x, int axis) { return softmax_impl("log_softmax", x, axis, true); }

}  // namespace focus
