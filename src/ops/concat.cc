// concat along one axis; backward hands each input its slice of the gradient.
#include <algorithm>

#include "ops/common.h"
#include "ops/cpu/strided.h"

namespace focus {

Tensor concat(const std::vector<Tensor>& xs, int axis) {
  FOCUS_CHECK(!xs.empty(), "concat: no tensors given");
  for (size_t i = 0; i < xs.size(); ++i) ops::check_f32("concat", "an input", xs[i]);
  const Tensor& first = xs[0];
  const int a = normalize_axis(axis, first.dim(), "concat");
  Shape shape = first.shape();
  shape[a] = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const Tensor& x = xs[i];
    bool same = x.dim() == first.dim();
    for (int k = 0; same && k < x.dim(); ++k) same = k == a || x.shape()[k] == first.shape()[k];
    FOCUS_CHECK(same, "concat: input ", i, " has shape ", x.shape(), " but input 0 has ",
                first.shape(), "; expected equal extents except on axis ", axis);
    shape[a] += x.shape()[a];
  }
  // An autograd node has at most 8 inputs: join longer lists in groups of 8, then the groups.
  constexpr size_t kGroup = autograd::Needs().size();
  if (xs.size() > kGroup && autograd::needs_grad(xs)) {
    std::vector<Tensor> groups;
    for (size_t i = 0; i < xs.size(); i += kGroup)
      groups.push_back(concat({xs.begin() + i, xs.begin() + std::min(xs.size(), i + kGroup)}, a));
    return concat(groups, a);
  }
  Tensor out = make_tensor(shape);
  std::vector<int64_t> starts;
  int64_t at = 0;
  for (const Tensor& x : xs) {
    starts.push_back(at);
    Tensor src = x.detach().contiguous();
    Tensor dst = out.slice(a, at, at + x.shape()[a]);
    if (src.numel() > 0)
      cpu::copy_to_strided(reinterpret_cast<const uint32_t*>(src.data()), dst.shape(),
                           dst.strides(), reinterpret_cast<uint32_t*>(dst.data()));
    at += x.shape()[a];
  }
  std::vector<int64_t> sizes;
  for (const Tensor& x : xs) sizes.push_back(x.shape()[a]);
  autograd::record("concat", out, xs,
                   [a, starts, sizes](const Tensor& g, const autograd::Needs& needs) {
                     std::vector<Tensor> grads(starts.size());
                     for (size_t i = 0; i < starts.size(); ++i)
                       if (needs[i])
                         grads[i] = g.slice(a, starts[i], starts[i] + sizes[i]).contiguous();
                     return grads;
                   });
  return out;
}

}  // namespace focus
