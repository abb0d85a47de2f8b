// Conv1d and Conv2d as im2col + one GEMM: the patches are gathered with strided slices (views), so
// autograd needs no convolution-specific backward.
#include <cmath>

#include "focus/nn.h"
#include "ops/common.h"

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

// The patches of a 2-D convolution, zero padding included: x [B,C,H,W] -> cols
// [B,Ho·Wo,C·K·K], column (c, i, j) of row (oh, ow) holding x[c, oh·s + i − p, ow·s + j − p].
// One gather pass forward and one scatter-add pass backward, each image on one thread (so the
// backward needs no atomics and its sums have a fixed order); the version built from strided
// slices and concat moved every element through ~5 copies.
Tensor im2col(const Tensor& x_in, int64_t k, int64_t s, int64_t p, int64_t ho, int64_t wo) {
  const Tensor x = x_in.detach().contiguous();
  const int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const int64_t cols = c * k * k, rows = ho * wo;
  Tensor out = make_tensor({b, rows, cols});
  const float* px = x.data();
  float* po = out.data();
#pragma omp parallel for schedule(static) if (b * rows * cols > (1 << 15))
  for (int64_t n = 0; n < b; ++n)
    for (int64_t oh = 0; oh < ho; ++oh)
      for (int64_t ow = 0; ow < wo; ++ow) {
        float* row = po + (n * rows + oh * wo + ow) * cols;
        for (int64_t ci = 0; ci < c; ++ci) {
          const float* img = px + (n * c + ci) * h * w;
          for (int64_t i = 0; i < k; ++i) {
            const int64_t y = oh * s + i - p;
            for (int64_t j = 0; j < k; ++j) {
              const int64_t xx = ow * s + j - p;
              row[(ci * k + i) * k + j] =
                  (y >= 0 && y < h && xx >= 0 && xx < w) ? img[y * w + xx] : 0.0f;
            }
          }
        }
      }
  autograd::record("im2col", out, {x_in},
                   [b, c, h, w, k, s, p, ho, wo](const Tensor& g_in, const autograd::Needs&) {
                     const Tensor g = g_in.contiguous();
                     const int64_t cols = c * k * k, rows = ho * wo;
                     Tensor gx = Tensor::zeros({b, c, h, w});
                     const float* pg = g.data();
                     float* pgx = gx.data();
#pragma omp parallel for schedule(static) if (b * rows * cols > (1 << 15))
                     for (int64_t n = 0; n < b; ++n)
                       for (int64_t oh = 0; oh < ho; ++oh)
                         for (int64_t ow = 0; ow < wo; ++ow) {
                           const float* row = pg + (n * rows + oh * wo + ow) * cols;
                           for (int64_t ci = 0; ci < c; ++ci) {
                             float* img = pgx + (n * c + ci) * h * w;
                             for (int64_t i = 0; i < k; ++i) {
                               const int64_t y = oh * s + i - p;
                               if (y < 0 || y >= h) continue;
                               for (int64_t j = 0; j < k; ++j) {
                                 const int64_t xx = ow * s + j - p;
                                 if (xx >= 0 && xx < w)
                                   img[y * w + xx] += row[(ci * k + i) * k + j];
                               }
                             }
                           }
                         }
                     return std::vector<Tensor>{gx};
                   });
  return out;
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
  ops::check_f32("conv2d", "x", x);
  const int64_t hp = x.size(2) + 2 * padding_, wp = x.size(3) + 2 * padding_;
  FOCUS_CHECK(hp >= k && wp >= k, "conv2d: input ", x.shape(), " (+2·", padding_,
              " padding) is smaller than the kernel ", k);
  const int64_t hout = (hp - k) / s + 1, wout = (wp - k) / s + 1;
  Tensor cols = im2col(x, k, s, padding_, hout, wout);                 // [B,Hout·Wout,Cin·K·K]
  Tensor y = linear(cols, weight.reshape({cout, cin * k * k}), bias);  // [B,Hout·Wout,Cout]
  return y.permute({0, 2, 1}).reshape({x.size(0), cout, hout, wout});
}

}  // namespace focus::nn
