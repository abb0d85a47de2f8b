// add, sub, mul, div with numpy broadcasting.
#include "ops/common.h"
#include "ops/cpu/elementwise.h"

namespace focus {
namespace {

const char* name_of(cpu::BinaryOp op) {
  switch (op) {
    case cpu::BinaryOp::add:
      return "add";
    case cpu::BinaryOp::sub:
      return "sub";
    case cpu::BinaryOp::mul:
      return "mul";
    case cpu::BinaryOp::div:
      return "div";
  }
  return "?";
}

// Strides that read `t` as if expanded to `shape` (0 on broadcast axes).
Shape broadcast_strides(const Tensor& t, const Shape& shape) {
  Shape st;
  const int lead = shape.rank() - t.dim();
  for (int i = 0; i < shape.rank(); ++i) {
    const int j = i - lead;
    st.push_back(j < 0 || t.shape()[j] == 1 ? 0 : t.strides()[j]);
  }
  return st;
}

Tensor binary_raw(cpu::BinaryOp op, const Tensor& a, const Tensor& b) {
  const char* name = name_of(op);
  ops::check_f32(name, "a", a);
  ops::check_f32(name, "b", b);
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = make_tensor(shape);
  cpu::binary(op, a.data(), broadcast_strides(a, shape), b.data(), broadcast_strides(b, shape),
              out.data(), shape);
  return out;
}

Tensor binary(cpu::BinaryOp op, const Tensor& a, const Tensor& b) {
  Tensor out = binary_raw(op, a, b);
  ops::check_output(name_of(op), out);
  Tensor ad = a.detach(), bd = b.detach();
  const Shape sa = a.shape(), sb = b.shape();
  autograd::record(name_of(op), out, {a, b},
                   [op, ad, bd, sa, sb](const Tensor& g, const autograd::Needs& needs) {
                     Tensor ga, gb;
                     switch (op) {
                       case cpu::BinaryOp::add:
                         if (needs[0]) ga = sum_to(g, sa);
                         if (needs[1]) gb = sum_to(g, sb);
                         break;
                       case cpu::BinaryOp::sub:
                         if (needs[0]) ga = sum_to(g, sa);
                         if (needs[1]) gb = neg(sum_to(g, sb));
                         break;
                       case cpu::BinaryOp::mul:
                         if (needs[0]) ga = sum_to(mul(g, bd), sa);
                         if (needs[1]) gb = sum_to(mul(g, ad), sb);
                         break;
                       case cpu::BinaryOp::div:
                         if (needs[0]) ga = sum_to(div(g, bd), sa);
                         if (needs[1]) gb = neg(sum_to(div(mul(g, ad), mul(bd, bd)), sb));
                         break;
                     }
                     return std::vector<Tensor>{ga, gb};
                   });
  return out;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return binary(cpu::BinaryOp::add, a, b); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary(cpu::BinaryOp::sub, a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(cpu::BinaryOp::mul, a, b); }
Tensor div(const Tensor& a, const Tensor& b) { return binary(cpu::BinaryOp::div, a, b); }

}  // namespace focus
