// sum, mean, max over a set of axes; sum_to (the backward of broadcasting).
#include <algorithm>
#include <numeric>

#include "ops/common.h"
#include "ops/cpu/reduce.h"

namespace focus {
namespace {

struct Plan {
  std::vector<bool> reduced;  // per axis of x
  Shape keep_shape;           // x's shape with reduced axes set to 1
  Shape out_shape;            // keep_shape without those axes unless keepdim
  int64_t count = 1;          // elements reduced into each output
};

Plan plan(const char* op, const Tensor& x, const std::vector<int>& axes, bool keepdim) {
  Plan p;
  p.reduced.assign(x.dim(), axes.empty());
  for (int a : axes) {
    int n = normalize_axis(a, x.dim(), op);
    FOCUS_CHECK(!p.reduced[n] || axes.empty(), op, ": axis ", a, " repeated for shape ", x.shape());
    p.reduced[n] = true;
  }
  for (int i = 0; i < x.dim(); ++i) {
    p.keep_shape.push_back(p.reduced[i] ? 1 : x.shape()[i]);
    if (p.reduced[i]) p.count *= x.shape()[i];
    if (!p.reduced[i] || keepdim) p.out_shape.push_back(p.keep_shape[i]);
  }
  return p;
}

// Lays x out as contiguous [outer, r, inner] with the reduced axes in the middle: a view when
// they are adjacent, else a permuted copy with the reduced axes moved last.
Tensor as_mid(const Tensor& x, const Plan& p, int64_t& outer, int64_t& r, int64_t& inner) {
  int first = -1, last = -1;
  for (int i = 0; i < x.dim(); ++i)
    if (p.reduced[i]) {
      if (first < 0) first = i;
      last = i;
    }
  bool adjacent = true;
  for (int i = first; i >= 0 && i <= last; ++i) adjacent = adjacent && p.reduced[i];
  outer = r = inner = 1;
  if (first < 0) return x.contiguous();
  if (adjacent) {
    for (int i = 0; i < x.dim(); ++i) (i < first ? outer : i <= last ? r : inner) *= x.shape()[i];
    return x.contiguous();
  }
  std::vector<int> order;
  for (int i = 0; i < x.dim(); ++i)
    if (!p.reduced[i]) order.push_back(i), outer *= x.shape()[i];
  for (int i = 0; i < x.dim(); ++i)
    if (p.reduced[i]) order.push_back(i), r *= x.shape()[i];
  autograd::NoGradGuard no_grad;  // the caller records the op as a whole
  return x.permute(order).contiguous();
}

Tensor sum_impl(const char* op, const Tensor& x, const std::vector<int>& axes, bool keepdim,
                float scale) {
  ops::check_f32(op, "x", x);
  const Plan p = plan(op, x, axes, keepdim);
  int64_t outer, r, inner;
  Tensor xm = as_mid(x.detach(), p, outer, r, inner);
  Tensor out = make_tensor(p.out_shape);
  if (out.numel() > 0) {
    if (r == 0)
      std::fill(out.data(), out.data() + out.numel(), 0.0f);
    else
      cpu::sum_mid(xm.data(), out.data(), outer, r, inner);
    if (scale != 1.0f)
      for (int64_t i = 0; i < out.numel(); ++i) out.data()[i] *= scale;
  }
  ops::check_output(op, out);
  const Shape keep = p.keep_shape, in_shape = x.shape();
  autograd::record(op, out, {x}, [keep, in_shape, scale](const Tensor& g, const autograd::Needs&) {
    Tensor gk = g.reshape(keep);
    if (scale != 1.0f) gk = mul(gk, scale);
    return std::vector<Tensor>{gk.expand(in_shape)};
  });
  return out;
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int>& axes, bool keepdim) {
  return sum_impl("sum", x, axes, keepdim, 1.0f);
}

Tensor mean(const Tensor& x, const std::vector<int>& axes, bool keepdim) {
  ops::check_f32("mean", "x", x);
  const Plan p = plan("mean", x, axes, keepdim);
  FOCUS_CHECK(p.count > 0, "mean: reducing ", x.shape(), " over axes with no elements; the mean ",
              "of nothing is undefined");
  return sum_impl("mean", x, axes, keepdim, 1.0f / static_cast<float>(p.count));
}

Tensor max(const Tensor& x, const std::vector<int>& axes, bool keepdim) {
  ops::check_f32("max", "x", x);
  const Plan p = plan("max", x, axes, keepdim);
  FOCUS_CHECK(p.count > 0, "max: reducing ", x.shape(), " over axes with no elements; the max ",
              "of nothing is undefined");
  int64_t outer, r, inner;
  Tensor xm = as_mid(x.detach(), p, outer, r, inner);
  Tensor out = make_tensor(p.out_shape);
  Tensor arg = make_tensor(p.out_shape, DType::i32);
  if (out.numel() > 0) cpu::max_mid(xm.data(), out.data(), arg.data_i32(), outer, r, inner);
  ops::check_output("max", out);
  // Backward scatters g into a zero [outer, r, inner] buffer at the argmax, then undoes the layout.
  std::vector<int> order;
  bool permuted = false;
  {
    int last_reduced = -1;
    for (int i = 0; i < x.dim(); ++i)
      if (p.reduced[i]) {
        permuted = permuted || (last_reduced >= 0 && last_reduced != i - 1);
        last_reduced = i;
      }
    for (int i = 0; i < x.dim(); ++i)
      if (!p.reduced[i]) order.push_back(i);
    for (int i = 0; i < x.dim(); ++i)
      if (p.reduced[i]) order.push_back(i);
  }
  const Shape in_shape = x.shape();
  autograd::record(
      "max", out, {x},
      [arg, outer, r, inner, permuted, order, in_shape](const Tensor& g_in,
                                                        const autograd::Needs&) {
        Tensor g = g_in.contiguous();
        Tensor gm = Tensor::zeros(Shape{outer, r, inner});
        const int32_t* a = arg.data_i32();
        for (int64_t o = 0; o < outer; ++o)
          for (int64_t i = 0; i < inner; ++i)
            gm.data()[(o * r + a[o * inner + i]) * inner + i] = g.data()[o * inner + i];
        if (!permuted) return std::vector<Tensor>{gm.reshape(in_shape)};
        std::vector<int64_t> perm_shape;
        for (int i : order) perm_shape.push_back(in_shape[i]);
        std::vector<int> inverse(order.size());
        for (size_t i = 0; i < order.size(); ++i) inverse[order[i]] = int(i);
        return std::vector<Tensor>{gm.reshape(Shape(perm_shape)).permute(inverse).contiguous()};
      });
  return out;
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  FOCUS_CHECK(shape.rank() <= x.dim(), "sum_to: cannot sum ", x.shape(), " to higher rank ", shape);
  std::vector<int> axes;
  const int lead = x.dim() - shape.rank();
  for (int i = 0; i < x.dim(); ++i) {
    if (i < lead) {
      axes.push_back(i);
      continue;
    }
    const int64_t d = shape[i - lead];
    FOCUS_CHECK(d == x.shape()[i] || d == 1, "sum_to: shape ", shape, " is not a broadcast source",
                " of ", x.shape());
    if (d == 1 && x.shape()[i] != 1) axes.push_back(i);
  }
  if (axes.empty()) return x.reshape(shape);
  return sum(x, axes, true).reshape(shape);
}

}  // namespace focus
