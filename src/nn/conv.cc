// Conv1d and Conv2d as im2col + one GEMM: the patches are gathered with strided slices (views), so
// autograd needs no convolution-specific backward.
#include <cmath>

#include "focus/nn.h"

namespace focus::nn {
namespace {

// Zero padding of `pad` on both sides of `axis`.
Tensor pad_axis(const Tensor& x, int axis, int64_t pad) {
  if (pad == 0) return x;
  Shape s = x.shape();
  s[axis] = pad;
  Tensor z = Tensor::zeros(s);
  return concat({z, x, z}, axis);
}

Tensor conv_weight(const Shape& shape, Generator& gen) {
  Tensor w = Tensor::zeros(shape);
  init::kaiming_uniform_(w, std::sqrt(5.0f), init::Mode::fan_in, gen);  // torch's default
  return w;
}

Tensor conv_bias(int64_t out, int64_t fan_in, Generator& gen) {
  const float bound = 1.0f / std::sqrt(float(fan_in));
  return Tensor::uniform({out}, -bound, bound, gen);
}

}  // namespace

Conv1d::Conv1d(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding,
               Generator& gen)
    : weight(register_parameter("weight", conv_weight({out, in, kernel}, gen))),
      bias(register_parameter("bias", conv_bias(out, in * kernel, gen))),
      kernel_(kernel),
      stride_(stride),
      padding_(padding) {
  FOCUS_CHECK(kernel >= 1 && stride >= 1 && padding >= 0, "conv1d: kernel ", kernel, ", stride ",
              stride, ", padding ", padding, " must be positive (padding >= 0)");
}

Tensor Conv1d::operator()(const Tensor& x) const {
  const int64_t cin = weight.size(1), cout = weight.size(0);
  FOCUS_CHECK(x.dim() == 3 && x.size(1) == cin, "conv1d: expected x [B,", cin, ",L], got ",
              x.shape());
  Tensor xp = pad_axis(x, 2, padding_);
  const int64_t l = xp.size(2);
  FOCUS_CHECK(l >= kernel_, "conv1d: input length ", x.size(2), " (+2·", padding_,
              " padding) is shorter than the kernel ", kernel_);
  const int64_t lout = (l - kernel_) / stride_ + 1;
  std::vector<Tensor> taps;  // each [B,Cin,Lout,1]
  for (int64_t k = 0; k < kernel_; ++k)
    taps.push_back(xp.slice(2, k, k + (lout - 1) * stride_ + 1, stride_).unsqueeze(3));
  Tensor cols = concat(taps, 3)             // [B,Cin,Lout,K]
                    .permute({0, 2, 1, 3})  // [B,Lout,Cin,K]
                    .reshape({x.size(0), lout, cin * kernel_});
  Tensor y = linear(cols, weight.reshape({cout, cin * kernel_}), bias);  // [B,Lout,Cout]
  return y.permute({0, 2, 1});                                           // [B,Cout,Lout]
}

Conv2d::Conv2d(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding,
               Generator& gen)
    : weight(register_parameter("weight", conv_weight({out, in, kernel, kernel}, gen))),
      bias(register_parameter("bias", conv_bias(out, in * kernel * kernel, gen))),
      kernel_(kernel),
      stride_(stride),
      padding_(padding) {
  FOCUS_CHECK(kernel >= 1 && stride >= 1 && padding >= 0, "conv2d: kernel ", kernel, ", stride ",
              stride, ", padding ", padding, " must be positive (padding >= 0)");
}

Tensor Conv2d::operator()(const Tensor& x) const {
  const int64_t cin = weight.size(1), cout = weight.size(0), k = kernel_, s = stride_;
  FOCUS_CHECK(x.dim() == 4 && x.size(1) == cin, "conv2d: expected x [B,", cin, ",H,W], got ",
              x.shape());
  Tensor xp = pad_axis(pad_axis(x, 2, padding_), 3, padding_);
  FOCUS_CHECK(xp.size(2) >= k && xp.size(3) >= k, "conv2d: input ", x.shape(), " (+2·", padding_,
              " padding) is smaller than the kernel ", k);
  const int64_t hout = (xp.size(2) - k) / s + 1, wout = (xp.size(3) - k) / s + 1;
  std::vector<Tensor> taps;  // each [B,Cin,Hout,Wout,1]
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < k; ++j)
      taps.push_back(xp.slice(2, i, i + (hout - 1) * s + 1, s)
                         .slice(3, j, j + (wout - 1) * s + 1, s)
                         .unsqueeze(4));
  Tensor cols = concat(taps, 4)                // [B,Cin,Hout,Wout,K·K]
                    .permute({0, 2, 3, 1, 4})  // [B,Hout,Wout,Cin,K·K]
                    .reshape({x.size(0), hout * wout, cin * k * k});
  Tensor y = linear(cols, weight.reshape({cout, cin * k * k}), bias);  // [B,Hout·Wout,Cout]
  return y.permute({0, 2, 1}).reshape({x.size(0), cout, hout, wout});
}

}  // namespace focus::nn
