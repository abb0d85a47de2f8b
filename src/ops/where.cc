// where(cond, a, b) and masked_fill; the condition carries no gradient.
#include "ops/common.h"

namespace focus {
namespace {

// cond as a contiguous f32 0/1 mask of `shape` (cond may be f32 or i32, broadcastable).
Tensor mask_of(const char* op, const Tensor& cond, const Shape& shape) {
  FOCUS_CHECK(cond.defined(), op, ": the condition is an undefined tensor");
  FOCUS_CHECK(cond.dtype() == DType::f32 || cond.dtype() == DType::i32, op,
              ": the condition must be f32 or i32, got ", dtype_name(cond.dtype()));
  Tensor c = cond.detach().expand(shape).contiguous();
  Tensor m = make_tensor(shape);
  const int64_t n = m.numel();
  float* pm = m.data();
  if (c.dtype() == DType::i32) {
    const int32_t* pc = c.data_i32();
    for (int64_t i = 0; i < n; ++i) pm[i] = pc[i] != 0 ? 1.0f : 0.0f;
  } else {
    const float* pc = c.data();
    for (int64_t i = 0; i < n; ++i) pm[i] = pc[i] != 0.0f ? 1.0f : 0.0f;
  }
  return m;
}

}  // namespace

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  ops::check_f32("where", "a", a);
  ops::check_f32("where", "b", b);
  FOCUS_CHECK(cond.defined(), "where: the condition is an undefined tensor");
  const Shape shape =
      broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor m = mask_of("where", cond, shape);
  Tensor ae = a.detach().expand(shape).contiguous(), be = b.detach().expand(shape).contiguous();
  Tensor out = make_tensor(shape);
  const float *pm = m.data(), *pa = ae.data(), *pb = be.data();
  float* po = out.data();
  const int64_t n = out.numel();
#pragma omp parallel for simd schedule(static) if (n > (1 << 15))
  for (int64_t i = 0; i < n; ++i) po[i] = pm[i] != 0.0f ? pa[i] : pb[i];
  ops::check_output("where", out);
  const Shape sa = a.shape(), sb = b.shape();
  autograd::record("where", out, {a, b},
                   [m, sa, sb](const Tensor& g, const autograd::Needs& needs) {
                     Tensor ga, gb;
                     if (needs[0]) ga = sum_to(mul(g, m), sa);
                     if (needs[1]) gb = sum_to(sub(g, mul(g, m)), sb);
                     return std::vector<Tensor>{ga, gb};
                   });
  return out;
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, float value) {
  ops::check_f32("masked_fill", "x", x);
  FOCUS_CHECK(mask.defined(), "masked_fill: the mask is an undefined tensor");
  const Shape shape = broadcast_shapes(x.shape(), mask.shape(), "masked_fill");
  FOCUS_CHECK(shape == x.shape(), "masked_fill: mask ", mask.shape(), " must broadcast to x ",
              x.shape(), " without growing it");
  Tensor m = mask_of("masked_fill", mask, shape);
  Tensor xc = x.detach().contiguous();
  Tensor out = make_tensor(shape);
  const float *pm = m.data(), *px = xc.data();
  float* po = out.data();
  const int64_t n = out.numel();
#pragma omp parallel for simd schedule(static) if (n > (1 << 15))
  for (int64_t i = 0; i < n; ++i) po[i] = pm[i] != 0.0f ? value : px[i];
  autograd::record("masked_fill", out, {x}, [m](const Tensor& g, const autograd::Needs&) {
    return std::vector<Tensor>{sub(g, mul(g, m))};
  });
  return out;
}

}  // namespace focus
