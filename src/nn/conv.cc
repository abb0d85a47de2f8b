// Conv1d and Conv2d as im2col + one GEMM: the patches are gathered in one pass (im2col, with its
// scatter-add backward; row_windows for channels-last rows), then `linear` multiplies them by the
// kernel as a matrix.
#include <algorithm>
#include <cmath>

#include "focus/nn.h"
#include "ops/common.h"

namespace focus::nn {
namespace {

// A window over the two spatial axes: kernel, stride and zero padding per axis (a 1-D
// convolution is the 2-D one over [B,C,1,L] with a 1×K window).
struct Window {
  int64_t kh, kw, sh, sw, ph, pw;
};

// Where output column ow's window lies along W: taps j in [j0, j1) read x[x0 + j], the others
// fall in the zero padding.
struct Span {
  int64_t x0, j0, j1;
};
Span span(const Window& k, int64_t w, int64_t ow) {
  const int64_t x0 = ow * k.sw - k.pw;
  return {x0, std::clamp<int64_t>(-x0, 0, k.kw), std::clamp<int64_t>(w - x0, 0, k.kw)};
}

// The patches of a convolution, zero padding included: x [B,C,H,W] -> cols
// [B,Ho·Wo,C·kh·kw], column (c, i, j) of row (oh, ow) holding x[c, oh·sh + i − ph, ow·sw + j − pw].
// One gather pass forward and one scatter-add pass backward, each image on one thread (so the
// backward needs no atomics and its sums have a fixed order); the version built from strided
// slices and concat moved every element through ~5 copies (a third of a soft_frames training
// step went to those copies).
Tensor im2col(const Tensor& x_in, const Window& k, int64_t ho, int64_t wo) {
  const Tensor x = x_in.detach().contiguous();
  const int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const int64_t cols = c * k.kh * k.kw, rows = ho * wo;
  Tensor out = make_tensor({b, rows, cols});
  const float* px = x.data();
  float* po = out.data();
#pragma omp parallel for schedule(static) if (b * rows * cols > (1 << 15))
  for (int64_t n = 0; n < b; ++n)
    for (int64_t oh = 0; oh < ho; ++oh)
      for (int64_t ow = 0; ow < wo; ++ow) {
        float* row = po + (n * rows + oh * wo + ow) * cols;
        const Span sp = span(k, w, ow);
        for (int64_t ci = 0; ci < c; ++ci) {
          const float* img = px + (n * c + ci) * h * w;
          for (int64_t i = 0; i < k.kh; ++i) {
            float* dst = row + (ci * k.kh + i) * k.kw;
            const int64_t y = oh * k.sh + i - k.ph;
            if (y < 0 || y >= h) {
              std::fill(dst, dst + k.kw, 0.0f);
              continue;
            }
            const float* src = img + y * w + sp.x0;
            for (int64_t j = 0; j < sp.j0; ++j) dst[j] = 0.0f;
            for (int64_t j = sp.j0; j < sp.j1; ++j) dst[j] = src[j];
            for (int64_t j = sp.j1; j < k.kw; ++j) dst[j] = 0.0f;
          }
        }
      }
  autograd::record("im2col", out, {x_in},
                   [b, c, h, w, k, ho, wo](const Tensor& g_in, const autograd::Needs&) {
                     const Tensor g = g_in.contiguous();
                     const int64_t cols = c * k.kh * k.kw, rows = ho * wo;
                     Tensor gx = Tensor::zeros({b, c, h, w});
                     const float* pg = g.data();
                     float* pgx = gx.data();
#pragma omp parallel for schedule(static) if (b * rows * cols > (1 << 15))
                     for (int64_t n = 0; n < b; ++n)
                       for (int64_t oh = 0; oh < ho; ++oh)
                         for (int64_t ow = 0; ow < wo; ++ow) {
                           const float* row = pg + (n * rows + oh * wo + ow) * cols;
                           const Span sp = span(k, w, ow);
                           for (int64_t ci = 0; ci < c; ++ci) {
                             float* img = pgx + (n * c + ci) * h * w;
                             for (int64_t i = 0; i < k.kh; ++i) {
                               const int64_t y = oh * k.sh + i - k.ph;
                               if (y < 0 || y >= h) continue;
                               const float* src = row + (ci * k.kh + i) * k.kw;
                               float* dst = img + y * w + sp.x0;
                               for (int64_t j = sp.j0; j < sp.j1; ++j) dst[j] += src[j];
                             }
                           }
                         }
                     return std::vector<Tensor>{gx};
                   });
  return out;
}

// The windows of a 1-D convolution over channels-last rows: x [B,L,C] -> cols [B,Lout,K·C], row
// o holding the K rows x[o·s + j − p, :] (tap-major; zeros where they fall in the padding). Each
// tap is one contiguous row of x, so the gather is K copies of C floats per output row; the
// backward scatter-adds them back, each sequence on one thread, in a fixed order.
Tensor row_windows(const Tensor& x_in, int64_t k, int64_t s, int64_t p, int64_t lout) {
  const Tensor x = x_in.detach().contiguous();
  const int64_t b = x.size(0), l = x.size(1), c = x.size(2);
  Tensor out = make_tensor({b, lout, k * c});
  const float* px = x.data();
  float* po = out.data();
#pragma omp parallel for schedule(static) if (b * lout * k * c > (1 << 15))
  for (int64_t n = 0; n < b; ++n)
    for (int64_t o = 0; o < lout; ++o)
      for (int64_t j = 0; j < k; ++j) {
        float* dst = po + ((n * lout + o) * k + j) * c;
        const int64_t r = o * s + j - p;
        if (r < 0 || r >= l)
          std::fill(dst, dst + c, 0.0f);
        else
          std::copy(px + (n * l + r) * c, px + (n * l + r + 1) * c, dst);
      }
  autograd::record("row_windows", out, {x_in},
                   [b, l, c, k, s, p, lout](const Tensor& g_in, const autograd::Needs&) {
                     const Tensor g = g_in.contiguous();
                     Tensor gx = Tensor::zeros({b, l, c});
                     const float* pg = g.data();
                     float* pgx = gx.data();
#pragma omp parallel for schedule(static) if (b * lout * k * c > (1 << 15))
                     for (int64_t n = 0; n < b; ++n)
                       for (int64_t o = 0; o < lout; ++o)
                         for (int64_t j = 0; j < k; ++j) {
                           const int64_t r = o * s + j - p;
                           if (r < 0 || r >= l) continue;
                           const float* src = pg + ((n * lout + o) * k + j) * c;
                           float* dst = pgx + (n * l + r) * c;
                           for (int64_t i = 0; i < c; ++i) dst[i] += src[i];
                         }
                     return std::vector<Tensor>{gx};
                   });
  return out;
}

// Output length of a 1-D convolution over `length` steps of x (either layout), after the checks
// both layouts share.
int64_t conv1d_out_length(const Tensor& x, int64_t length, int64_t k, int64_t s, int64_t p) {
  ops::check_f32("conv1d", "x", x);
  FOCUS_CHECK(length + 2 * p >= k, "conv1d: input length ", length, " (+2·", p,
              " padding) is shorter than the kernel ", k);
  return (length + 2 * p - k) / s + 1;
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
  const int64_t cin = weight.size(1), cout = weight.size(0), k = kernel_, s = stride_;
  FOCUS_CHECK(x.dim() == 3 && x.size(1) == cin, "conv1d: expected x [B,", cin, ",L], got ",
              x.shape());
  const int64_t lout = conv1d_out_length(x, x.size(2), k, s, padding_);
  Tensor cols = im2col(x.unsqueeze(2), {1, k, 1, s, 0, padding_}, 1, lout);  // [B,Lout,Cin·K]
  Tensor y = linear(cols, weight.reshape({cout, cin * k}), bias);            // [B,Lout,Cout]
  return y.permute({0, 2, 1});                                               // [B,Cout,Lout]
}

Tensor Conv1d::over_rows(const Tensor& x) const {
  const int64_t cin = weight.size(1), cout = weight.size(0), k = kernel_, s = stride_;
  FOCUS_CHECK(x.dim() == 3 && x.size(2) == cin, "conv1d: expected rows x [B,L,", cin, "], got ",
              x.shape());
  const int64_t lout = conv1d_out_length(x, x.size(1), k, s, padding_);
  const Tensor cols = row_windows(x, k, s, padding_, lout);             // [B,Lout,K·Cin]
  const Tensor w = weight.permute({0, 2, 1}).reshape({cout, k * cin});  // tap-major, as cols
  return linear(cols, w, bias);                                         // [B,Lout,Cout]
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
  Tensor cols = im2col(x, {k, k, s, s, padding_, padding_}, hout, wout);  // [B,Hout·Wout,Cin·K·K]
  Tensor y = linear(cols, weight.reshape({cout, cin * k * k}), bias);     // [B,Hout·Wout,Cout]
  return y.permute({0, 2, 1}).reshape({x.size(0), cout, hout, wout});
}

}  // namespace focus::nn
