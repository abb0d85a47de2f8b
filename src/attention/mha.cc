// Multi-head attention: fused QKV projection (self) or Q and KV projections (cross), scaled
// dot-product attention per head through the dispatcher, output projection.
#include <cmath>

#include "focus/attention.h"
#include "focus/autograd.h"
#include "focus/ops.h"
#include "ops/common.h"

namespace focus::attention {
namespace {

constexpr const char* kOp = "multi_head_attention";

Tensor param_uniform(int64_t out, int64_t in, float bound, Generator& gen) {
  return Tensor::uniform({out, in}, -bound, bound, gen).requires_grad_();
}

// [B,N,E] -> [B,H,N,E/H]
Tensor split_heads(const Tensor& x, int64_t heads) {
  const int64_t b = x.shape()[0], n = x.shape()[1], e = x.shape()[2];
  return x.reshape({b, n, heads, e / heads}).permute({0, 2, 1, 3});
}

}  // namespace

MultiHeadAttention::MultiHeadAttention(const MultiHeadAttentionOptions& opt, Generator& gen)
    : opt_(opt) {
  FOCUS_CHECK(opt.dim >= 1 && opt.heads >= 1 && opt.dim % opt.heads == 0, kOp, ": dim ", opt.dim,
              " must be a positive multiple of heads ", opt.heads);
  FOCUS_CHECK(opt.dropout >= 0.0f && opt.dropout < 1.0f, kOp, ": dropout must be in [0, 1), got ",
              opt.dropout);
  const int64_t e = opt.dim;
  if (opt_.kv_dim == 0) opt_.kv_dim = e;
  // As torch.nn.MultiheadAttention: Xavier-uniform input projections, output projection
  // U(±1/√E), zero biases.
  if (!opt.cross) {
    w_qkv = param_uniform(3 * e, e, std::sqrt(6.0f / float(4 * e)), gen);
    if (opt.bias) b_qkv = Tensor::zeros({3 * e}).requires_grad_();
  } else {
    w_q = param_uniform(e, e, std::sqrt(6.0f / float(2 * e)), gen);
    w_kv = param_uniform(2 * e, opt_.kv_dim, std::sqrt(6.0f / float(e + opt_.kv_dim)), gen);
    if (opt.bias) {
      b_q = Tensor::zeros({e}).requires_grad_();
      b_kv = Tensor::zeros({2 * e}).requires_grad_();
    }
  }
  w_out = param_uniform(e, e, 1.0f / std::sqrt(float(e)), gen);
  if (opt.bias) b_out = Tensor::zeros({e}).requires_grad_();
}

Tensor MultiHeadAttention::operator()(const Tensor& x, const Tensor& context,
                                      const MultiHeadCall& call) const {
  const int64_t e = opt_.dim, h = opt_.heads;
  ops::check_f32(kOp, "x", x);
  FOCUS_CHECK(x.dim() == 3 && x.shape()[2] == e, kOp, ": expected x [B,N,", e, "], got ",
              x.shape());
  const int64_t batch = x.shape()[0], nq = x.shape()[1];
  SdpaOptions sdpa;
  sdpa.causal = call.causal;
  sdpa.key_lengths = call.key_lengths;
  sdpa.bias = call.bias;
  sdpa.dropout = call.training ? opt_.dropout : 0.0f;
  Capture* capture = Capture::active();
  if (!opt_.cross && !capture) {
    FOCUS_CHECK(!context.defined(), kOp, ": a self-attention layer takes no context; build it ",
                "with cross = true for cross-attention");
    // The heads are read in place from the projection (no split, no merge copies).
    return linear(packed_self_attention(linear(x, w_qkv, b_qkv), h, sdpa), w_out, b_out);
  }
  Tensor q, k, v;  // [B,H,N,E/H]
  if (!opt_.cross) {
    FOCUS_CHECK(!context.defined(), kOp, ": a self-attention layer takes no context; build it ",
                "with cross = true for cross-attention");
    Tensor qkv = linear(x, w_qkv, b_qkv).reshape({batch, nq, 3, h, e / h});  // [B,N,3,H,Dh]
    Tensor heads = qkv.permute({2, 0, 3, 1, 4});                             // [3,B,H,N,Dh]
    q = heads.slice(0, 0, 1).squeeze(0);
    k = heads.slice(0, 1, 2).squeeze(0);
    v = heads.slice(0, 2, 3).squeeze(0);
  } else {
    FOCUS_CHECK(context.defined(), kOp, ": cross-attention needs a context [B,Nk,", opt_.kv_dim,
                "]");
    ops::check_f32(kOp, "context", context);
    FOCUS_CHECK(
        context.dim() == 3 && context.shape()[0] == batch && context.shape()[2] == opt_.kv_dim, kOp,
        ": context ", context.shape(), " does not match x ", x.shape(), ": expected [", batch,
        ",Nk,", opt_.kv_dim, "]");
    const int64_t nk = context.shape()[1];
    q = split_heads(linear(x, w_q, b_q), h);
    Tensor kv = linear(context, w_kv, b_kv).reshape({batch, nk, 2, h, e / h});
    Tensor heads = kv.permute({2, 0, 3, 1, 4});  // [2,B,H,Nk,Dh]
    k = heads.slice(0, 0, 1).squeeze(0);
    v = heads.slice(0, 1, 2).squeeze(0);
  }
  if (capture) {
    autograd::NoGradGuard no_grad;
    SdpaOptions plain = sdpa;
    plain.dropout = 0.0f;
    capture->add(opt_.name, attention_with_probs(q.detach(), k.detach(), v.detach(), plain).probs);
  }
  Tensor o = scaled_dot_product_attention(q, k, v, sdpa);  // [B,H,Nq,Dh]
  return linear(o.permute({0, 2, 1, 3}).reshape({batch, nq, e}), w_out, b_out);
}

std::vector<std::pair<std::string, Tensor>> MultiHeadAttention::named_parameters() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& [name, t] : {std::pair<const char*, const Tensor*>{"w_qkv", &w_qkv},
                                {"b_qkv", &b_qkv},
                                {"w_q", &w_q},
                                {"b_q", &b_q},
                                {"w_kv", &w_kv},
                                {"b_kv", &b_kv},
                                {"w_out", &w_out},
                                {"b_out", &b_out}})
    if (t->defined()) out.emplace_back(name, *t);
  return out;
}

}  // namespace focus::attention
