// Soft attention, the textbook form: a score per position, softmax over positions, weighted fusion.
#include <cmath>
#include <limits>

#include "focus/attention.h"
#include "focus/autograd.h"
#include "focus/ops.h"
#include "ops/common.h"

namespace focus::attention {
namespace {

constexpr const char* kOp = "soft_attention";

Tensor xavier_uniform(int64_t out, int64_t in, Generator& gen) {
  const float bound = std::sqrt(6.0f / static_cast<float>(in + out));
  return Tensor::uniform({out, in}, -bound, bound, gen).requires_grad_();
}

// 1 where mask (f32 or i32, nonzero = attend) says "do not attend".
Tensor inverted(const Tensor& mask) {
  Tensor m = mask.contiguous();
  Tensor inv = make_tensor(m.shape());
  for (int64_t i = 0; i < m.numel(); ++i)
    inv.data()[i] =
        (m.dtype() == DType::i32 ? m.data_i32()[i] != 0 : m.data()[i] != 0.0f) ? 0.0f : 1.0f;
  return inv;
}

}  // namespace

SoftAttention::SoftAttention(const SoftAttentionOptions& opt, Generator& gen) : opt_(opt) {
  FOCUS_CHECK(opt.dim >= 1, kOp, ": dim must be >= 1, got ", opt.dim);
  FOCUS_CHECK(opt.hidden >= 0, kOp, ": hidden must be >= 0, got ", opt.hidden);
  if (opt_.score == Score::additive) {
    const int64_t a = opt_.hidden > 0 ? opt_.hidden : opt_.dim;
    opt_.hidden = a;
    w = xavier_uniform(a, opt_.dim, gen);
    b = Tensor::zeros({a}).requires_grad_();
    v = xavier_uniform(1, a, gen).reshape({a}).detach().requires_grad_();
  } else {
    w = xavier_uniform(1, opt_.dim, gen);
    b = Tensor::zeros({1}).requires_grad_();
  }
}

SoftAttentionResult SoftAttention::operator()(const Tensor& x, const Tensor& mask) const {
  ops::check_f32(kOp, "x", x);
  FOCUS_CHECK(x.dim() == 3 && x.shape()[2] == opt_.dim, kOp, ": expected x [B,N,", opt_.dim,
              "], got ", x.shape());
  const int64_t batch = x.shape()[0], n = x.shape()[1];
  FOCUS_CHECK(n >= 1, kOp, ": x ", x.shape(), " has no positions");
  Tensor scores;  // [B,N]
  if (opt_.score == Score::additive)
    scores = matmul(tanh(linear(x, w, b)), v);  // [B,N,A]·[A] -> [B,N]
  else
    scores = linear(x, w, b).reshape({batch, n});
  if (mask.defined()) {
    FOCUS_CHECK(mask.dtype() == DType::f32 || mask.dtype() == DType::i32, kOp,
                ": mask must be f32 or i32, got ", dtype_name(mask.dtype()));
    FOCUS_CHECK(mask.shape() == Shape({batch, n}), kOp, ": mask ", mask.shape(),
                " does not match x ", x.shape(), ": expected [", batch, ",", n, "]");
    scores = masked_fill(scores, inverted(mask), -std::numeric_limits<float>::infinity());
  }
  Tensor weights = softmax(scores, -1);  // a fully masked row is all zeros
  if (Capture* capture = Capture::active()) {
    autograd::NoGradGuard no_grad;
    capture->add(kOp, weights.detach().reshape({batch, 1, 1, n}));
  }
  Tensor output = opt_.fusion == Fusion::pooling
                      ? matmul(weights.unsqueeze(1), x).squeeze(1)  // [B,1,N]·[B,N,D] -> [B,D]
                      : x * weights.unsqueeze(-1);                  // [B,N,D]
  return {output, weights};
}

std::vector<std::pair<std::string, Tensor>> SoftAttention::named_parameters() const {
  if (opt_.score == Score::additive) return {{"w", w}, {"b", b}, {"v", v}};
  return {{"w", w}, {"b", b}};
}

}  // namespace focus::attention
