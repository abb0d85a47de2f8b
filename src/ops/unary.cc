// Unary elementwise ops; each backward is one fused pass over g and the saved x or y.
#include "ops/common.h"
#include "ops/cpu/elementwise.h"

namespace focus {
namespace {

using cpu::UnaryOp;

// Which saved tensor each backward reads: x (input), y (output) or neither.
bool needs_x(UnaryOp op) {
  return op == UnaryOp::log || op == UnaryOp::pow || op == UnaryOp::relu ||
         op == UnaryOp::gelu_erf || op == UnaryOp::gelu_tanh;
}
bool needs_y(UnaryOp op) {
  return op == UnaryOp::exp || op == UnaryOp::sqrt || op == UnaryOp::tanh || op == UnaryOp::sigmoid;
}

Tensor unary(const char* name, UnaryOp op, const Tensor& x_in, float p = 0, float q = 0) {
  ops::check_f32(name, "x", x_in);
  Tensor x = x_in.contiguous();
  Tensor y = make_tensor(x.shape());
  cpu::unary(op, x.data(), y.data(), x.numel(), p, q);
  ops::check_output(name, y);
  Tensor xs = needs_x(op) ? x.detach() : Tensor();
  Tensor ys = needs_y(op) ? y.detach() : Tensor();
  autograd::record(name, y, {x}, [op, xs, ys, p](const Tensor& g_in, const autograd::Needs&) {
    Tensor g = g_in.contiguous();
    Tensor gx = make_tensor(g.shape());
    cpu::unary_backward(op, g.data(), xs.defined() ? xs.data() : nullptr,
                        ys.defined() ? ys.data() : nullptr, gx.data(), g.numel(), p);
    return std::vector<Tensor>{gx};
  });
  return y;
}

}  // namespace

Tensor neg(const Tensor& x) { return unary("neg", UnaryOp::neg, x); }
Tensor exp(const Tensor& x) { return unary("exp", UnaryOp::exp, x); }
Tensor log(const Tensor& x) { return unary("log", UnaryOp::log, x); }
Tensor sqrt(const Tensor& x) { return unary("sqrt", UnaryOp::sqrt, x); }
Tensor pow(const Tensor& x, float exponent) { return unary("pow", UnaryOp::pow, x, exponent); }
Tensor tanh(const Tensor& x) { return unary("tanh", UnaryOp::tanh, x); }
Tensor sigmoid(const Tensor& x) { return unary("sigmoid", UnaryOp::sigmoid, x); }
Tensor relu(const Tensor& x) { return unary("relu", UnaryOp::relu, x); }
Tensor add(const Tensor& a, float s) { return unary("add", UnaryOp::affine, a, 1.0f, s); }
Tensor mul(const Tensor& a, float s) { return unary("mul", UnaryOp::affine, a, s, 0.0f); }

Tensor gelu(const Tensor& x, GeluApprox approx) {
  return approx == GeluApprox::tanh ? unary("gelu", UnaryOp::gelu_tanh, x)
                                    : unary("gelu", UnaryOp::gelu_erf, x);
}

}  // namespace focus
