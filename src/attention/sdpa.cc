// Scaled dot-product attention: checks, the math path, the fused path and the dispatcher.
#include <cmath>
#include <limits>

#include "attention/cpu/flash.h"
#include "focus/attention.h"
#include "focus/autograd.h"
#include "focus/ops.h"
#include "ops/common.h"

namespace focus::attention {
namespace {

constexpr const char* kOp = "scaled_dot_product_attention";

struct Dims {
  int64_t b, h, nq, nk, d;
};

void check_options(const Dims& d, const SdpaOptions& opt);

Dims check_inputs(const Tensor& q, const Tensor& k, const Tensor& v, const SdpaOptions& opt) {
  ops::check_f32(kOp, "q", q);
  ops::check_f32(kOp, "k", k);
  ops::check_f32(kOp, "v", v);
  FOCUS_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4, kOp,
              ": expected q [B,H,Nq,D], k and v [B,H,Nk,D]; got q ", q.shape(), ", k ", k.shape(),
              ", v ", v.shape());
  const Dims d{q.shape()[0], q.shape()[1], q.shape()[2], k.shape()[2], q.shape()[3]};
  FOCUS_CHECK(k.shape() == Shape({d.b, d.h, d.nk, d.d}) && v.shape() == k.shape(), kOp, ": q ",
              q.shape(), ", k ", k.shape(), " and v ", v.shape(), " disagree: expected k and v [",
              d.b, ",", d.h, ",Nk,", d.d, "] with equal Nk");
  FOCUS_CHECK(d.nq >= 1 && d.nk >= 1 && d.d >= 1, kOp, ": empty sequence or head size: q ",
              q.shape(), ", k ", k.shape());
  check_options(d, opt);
  return d;
}

void check_options(const Dims& d, const SdpaOptions& opt) {
  if (opt.key_lengths.defined()) {
    ops::check_i32(kOp, "key_lengths", opt.key_lengths);
    FOCUS_CHECK(opt.key_lengths.shape() == Shape({d.b}), kOp, ": key_lengths ",
                opt.key_lengths.shape(), " must be [B] = [", d.b, "]");
    Tensor kl = opt.key_lengths.contiguous();
    for (int64_t i = 0; i < d.b; ++i)
      FOCUS_CHECK(kl.data_i32()[i] >= 0 && kl.data_i32()[i] <= d.nk, kOp, ": key_lengths[", i,
                  "] = ", kl.data_i32()[i], " is outside [0, Nk = ", d.nk, "]");
  }
  if (opt.bias.defined()) {
    ops::check_f32(kOp, "bias", opt.bias);
    const Shape full{d.b, d.h, d.nq, d.nk};
    bool fits = opt.bias.dim() <= 4;
    for (int i = 1; fits && i <= opt.bias.dim(); ++i) {
      const int64_t e = opt.bias.shape()[opt.bias.dim() - i];
      fits = e == 1 || e == full[4 - i];
    }
    FOCUS_CHECK(fits, kOp, ": bias ", opt.bias.shape(),
                " does not broadcast to [B,H,Nq,Nk] = ", full);
  }
  FOCUS_CHECK(opt.dropout >= 0.0f && opt.dropout < 1.0f, kOp, ": dropout must be in [0, 1), got ",
              opt.dropout);
  FOCUS_CHECK(opt.scale >= 0.0f && std::isfinite(opt.scale), kOp,
              ": scale must be finite and >= 0 (0 means 1/sqrt(D)), got ", opt.scale);
}

float scale_of(const SdpaOptions& opt, int64_t d) {
  return opt.scale > 0.0f ? opt.scale : 1.0f / std::sqrt(static_cast<float>(d));
}

// 1 where a (query, key) pair is masked by causality or key padding: [B,1,Nq,Nk], or undefined.
Tensor structural_mask(const Dims& d, const SdpaOptions& opt) {
  if (!opt.causal && !opt.key_lengths.defined()) return Tensor();
  Tensor m = Tensor::zeros({d.b, 1, d.nq, d.nk});
  Tensor kl = opt.key_lengths.defined() ? opt.key_lengths.contiguous() : Tensor();
  float* pm = m.data();
  for (int64_t b = 0; b < d.b; ++b) {
    const int64_t len = kl.defined() ? kl.data_i32()[b] : d.nk;
    for (int64_t i = 0; i < d.nq; ++i)
      for (int64_t j = 0; j < d.nk; ++j)
        pm[(b * d.nq + i) * d.nk + j] = (j >= len || (opt.causal && j > i)) ? 1.0f : 0.0f;
  }
  return m;
}

Attended math_path(const Tensor& q, const Tensor& k, const Tensor& v, const SdpaOptions& opt,
                   const Dims& d) {
  Tensor scores = matmul(q, k.transpose(-1, -2)) * scale_of(opt, d.d);  // [B,H,Nq,Nk]
  if (opt.bias.defined()) scores = scores + opt.bias;
  Tensor mask = structural_mask(d, opt);
  if (mask.defined()) scores = masked_fill(scores, mask, -std::numeric_limits<float>::infinity());
  Tensor probs = softmax(scores, -1);  // a row with every key masked is all zeros
  Tensor p = probs;
  if (opt.dropout > 0.0f)
    p = dropout(probs, opt.dropout, true, opt.generator ? *opt.generator : default_generator());
  return {matmul(p, v), probs};
}

// The fused kernel's parameters for these sizes and options, and the tensors they point into
// (which the backward closure keeps alive).
struct Fused {
  cpu::FlashParams p;
  Tensor lengths, bias;
  cpu::FlashParams bound() const {
    cpu::FlashParams b = p;
    b.key_lengths = lengths.defined() ? lengths.data_i32() : nullptr;
    b.bias = bias.defined() ? bias.data() : nullptr;
    return b;
  }
};

Fused fused_setup(const SdpaOptions& opt, const Dims& d) {
  Fused f;
  cpu::FlashParams& p = f.p;
  p.batch = d.b, p.heads = d.h, p.nq = d.nq, p.nk = d.nk, p.d = d.d;
  p.scale = scale_of(opt, d.d);
  p.causal = opt.causal;
  if (opt.key_lengths.defined()) f.lengths = opt.key_lengths.contiguous();
  if (opt.bias.defined()) {
    f.bias = opt.bias.detach().expand({d.b, d.h, d.nq, d.nk});
    for (int i = 0; i < 4; ++i) p.bias_strides[i] = f.bias.strides()[i];
  }
  if (opt.dropout > 0.0f) {
    // Consume the same counters as the math path's dropout, so both paths drop the same pairs.
    Generator& gen = opt.generator ? *opt.generator : default_generator();
    p.dropout_p = opt.dropout;
    p.seed = gen.seed();
    p.offset = gen.advance(static_cast<uint64_t>(d.b * d.h * d.nq * d.nk));
  }
  return f;
}

Tensor fused_path(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in,
                  const SdpaOptions& opt, const Dims& d) {
  Tensor q = q_in.detach().contiguous(), k = k_in.detach().contiguous();
  Tensor v = v_in.detach().contiguous();
  Fused f = fused_setup(opt, d);
  f.p.bf16 = ops::bf16_linear({q_in, k_in, v_in, opt.bias});
  Tensor out = make_tensor(q.shape());
  Tensor lse = make_tensor({d.b, d.h, d.nq});
  cpu::flash_forward(f.bound(), q.data(), k.data(), v.data(), out.data(), lse.data());
  ops::check_output(kOp, out);
  Tensor od = out.detach();
  autograd::record(kOp, out, {q_in, k_in, v_in},
                   [f, q, k, v, od, lse](const Tensor& g_in, const autograd::Needs&) {
                     Tensor g = g_in.contiguous();
                     Tensor dq = make_tensor(q.shape()), dk = make_tensor(k.shape());
                     Tensor dv = make_tensor(v.shape());
                     cpu::flash_backward(f.bound(), q.data(), k.data(), v.data(), od.data(),
                                         lse.data(), g.data(), dq.data(), dk.data(), dv.data());
                     return std::vector<Tensor>{dq, dk, dv};
                   });
  return out;
}

// The fused path on q, k, v read in place from a packed [B,N,3,H,D] projection, the output
// written as [B,N,H,D], and the gradient as one packed [B,N,3,H,D] tensor.
Tensor fused_packed(const Tensor& qkv_in, const SdpaOptions& opt, const Dims& d) {
  Tensor qkv = qkv_in.detach().contiguous();  // [B,N,3E]
  const int64_t e = d.h * d.d, row = 3 * e;
  Fused f = fused_setup(opt, d);
  f.p.bf16 = ops::bf16_linear({qkv_in, opt.bias});
  f.p.q_rows = f.p.k_rows = f.p.v_rows = {d.nq * row, d.d, row};
  f.p.out_rows = {d.nq * e, d.d, e};
  Tensor out = make_tensor({d.b, d.nq, e});
  Tensor lse = make_tensor({d.b, d.h, d.nq});
  const float* base = qkv.data();
  cpu::flash_forward(f.bound(), base, base + e, base + 2 * e, out.data(), lse.data());
  ops::check_output(kOp, out);
  Tensor od = out.detach();
  autograd::record(kOp, out, {qkv_in},
                   [f, qkv, od, lse, e](const Tensor& g_in, const autograd::Needs&) {
                     Tensor g = g_in.contiguous();
                     Tensor dqkv = make_tensor(qkv.shape());
                     const float* x = qkv.data();
                     float* dx = dqkv.data();
                     cpu::flash_backward(f.bound(), x, x + e, x + 2 * e, od.data(), lse.data(),
                                         g.data(), dx, dx + e, dx + 2 * e);
                     return std::vector<Tensor>{dqkv};
                   });
  return out;
}

// The fused path cannot differentiate an additive bias, so a trainable one takes the math path.
bool bias_needs_grad(const SdpaOptions& opt) {
  return opt.bias.defined() && autograd::grad_enabled() &&
         (opt.bias.requires_grad() || opt.bias.grad_fn() != nullptr);
}

}  // namespace

Path choose_path(int64_t nq, int64_t nk, int64_t d) {
  // The fused kernel does a head's products, softmax and output in one pass in cache, with no
  // per-head BLAS call and no [B,H,Nq,Nk] tensors: measured faster than the math path from
  // 16×16 scores per head on (`attention_bench --crossover`, docs/attention.md); below that, at
  // D = 64, forward+backward was 0-15% slower.
  constexpr int64_t kFusedFrom = 16 * 16;
  return d <= 256 && nq * nk >= kFusedFrom ? Path::fused : Path::math;
}

Attended attention_with_probs(const Tensor& q, const Tensor& k, const Tensor& v,
                              const SdpaOptions& opt) {
  const Dims d = check_inputs(q, k, v, opt);
  return math_path(q, k, v, opt, d);
}

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const SdpaOptions& opt) {
  const Dims d = check_inputs(q, k, v, opt);
  Path path = opt.path == Path::automatic ? choose_path(d.nq, d.nk, d.d) : opt.path;
  if (path == Path::fused && bias_needs_grad(opt)) {
    FOCUS_CHECK(opt.path != Path::fused, kOp,
                ": the fused path has no gradient for bias; use Path::math or detach the bias");
    path = Path::math;
  }
  if (path == Path::fused) {
    FOCUS_CHECK(d.d <= 256, kOp, ": the fused path supports head sizes up to 256, got D = ", d.d);
    return fused_path(q, k, v, opt, d);
  }
  return math_path(q, k, v, opt, d).output;
}

Tensor packed_self_attention(const Tensor& qkv, int64_t heads, const SdpaOptions& opt) {
  ops::check_f32(kOp, "qkv", qkv);
  FOCUS_CHECK(heads >= 1 && qkv.dim() == 3 && qkv.shape()[2] % (3 * heads) == 0 &&
                  qkv.shape()[1] >= 1 && qkv.shape()[2] >= 1,
              kOp, ": expected a packed projection qkv [B,N,3·H·D] with H = ", heads,
              " heads; got ", qkv.shape());
  const int64_t b = qkv.shape()[0], n = qkv.shape()[1], e = qkv.shape()[2] / 3;
  const Dims d{b, heads, n, n, e / heads};
  check_options(d, opt);
  Path path = opt.path == Path::automatic ? choose_path(n, n, d.d) : opt.path;
  if (path == Path::fused && d.d <= 256 && !bias_needs_grad(opt)) return fused_packed(qkv, opt, d);
  // Otherwise split the heads and take the general route (which reports what it cannot do).
  Tensor x = qkv.reshape({b, n, 3, heads, d.d}).permute({2, 0, 3, 1, 4});  // [3,B,H,N,D]
  Tensor q = x.slice(0, 0, 1).squeeze(0), k = x.slice(0, 1, 2).squeeze(0);
  Tensor v = x.slice(0, 2, 3).squeeze(0);
  return scaled_dot_product_attention(q, k, v, opt).permute({0, 2, 1, 3}).reshape({b, n, e});
}

}  // namespace focus::attention
