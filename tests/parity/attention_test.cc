// Attention against PyTorch fixtures (scripts/gen_attention_fixtures.py): soft attention, scaled
// dot-product attention on both paths with every mask kind and odd sizes, multi-head attention
// with torch.nn.MultiheadAttention's weights. Outputs and every gradient.
#include <cmath>

#include "focus/attention.h"
#include "test_util.h"

namespace focus {
namespace {

using io::load_safetensors;
using io::TensorFile;

// Tolerance: products and softmax reductions in f32 against a float64 reference.
constexpr float kRtol = 1e-4f, kAtol = 1e-5f;

std::vector<std::string> cases_of(const TensorFile& f) {
  std::vector<std::string> cases;
  for (const auto& [name, t] : f.tensors) {
    const std::string suffix = ".out";
    if (name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      cases.push_back(name.substr(0, name.size() - suffix.size()));
  }
  return cases;
}

Tensor leaf(const TensorFile& f, const std::string& name) {
  return f.at(name).detach().clone().requires_grad_();
}

bool meta_true(const TensorFile& f, const std::string& key) {
  auto it = f.metadata.find(key);
  return it != f.metadata.end() && it->second == "true";
}

TEST(AttentionParity, SoftAttention) {
  const TensorFile f = load_safetensors(test::fixture("attention/soft.safetensors"));
  const auto cases = cases_of(f);
  ASSERT_EQ(cases.size(), 8u);
  for (const std::string& c : cases) {
    SCOPED_TRACE(c);
    const bool additive = f.metadata.at(c + ".score") == "\"additive\"";
    const bool pooling = f.metadata.at(c + ".fusion") == "\"pooling\"";
    Tensor x = leaf(f, c + ".x");
    attention::SoftAttention soft(
        {.dim = x.size(2),
         .hidden = additive ? f.at(c + ".w").size(0) : 0,
         .score = additive ? attention::Score::additive : attention::Score::linear,
         .fusion = pooling ? attention::Fusion::pooling : attention::Fusion::gating});
    soft.w = leaf(f, c + ".w");
    soft.b = leaf(f, c + ".b");
    if (additive) soft.v = leaf(f, c + ".v");
    const bool masked = f.tensors.count(c + ".mask") > 0;
    auto result = soft(x, masked ? f.at(c + ".mask") : Tensor());
    result.output.backward(f.at(c + ".gout"));
    FOCUS_EXPECT_CLOSE(result.output, f.at(c + ".out"), kRtol, kAtol);
    FOCUS_EXPECT_CLOSE(x.grad(), f.at(c + ".grad.x"), kRtol, kAtol);
    FOCUS_EXPECT_CLOSE(soft.w.grad(), f.at(c + ".grad.w"), kRtol, kAtol);
    FOCUS_EXPECT_CLOSE(soft.b.grad(), f.at(c + ".grad.b"), kRtol, kAtol);
    if (additive) FOCUS_EXPECT_CLOSE(soft.v.grad(), f.at(c + ".grad.v"), kRtol, kAtol);
    // Weights: each row sums to 1, or is all zeros when every position is masked.
    Tensor rows = sum(result.weights, {1});
    for (int64_t b = 0; b < rows.numel(); ++b) {
      const float s = rows.to_vector()[b];
      EXPECT_TRUE(std::fabs(s - 1.0f) < 1e-5f || s == 0.0f) << "row " << b << " sums to " << s;
    }
  }
}

TEST(AttentionParity, ScaledDotProductBothPaths) {
  const TensorFile f = load_safetensors(test::fixture("attention/sdpa.safetensors"));
  const auto cases = cases_of(f);
  ASSERT_GE(cases.size(), 15u);
  for (const std::string& c : cases) {
    for (auto path : {attention::Path::math, attention::Path::fused}) {
      SCOPED_TRACE(c + (path == attention::Path::math ? " (math)" : " (fused)"));
      Tensor q = leaf(f, c + ".q"), k = leaf(f, c + ".k"), v = leaf(f, c + ".v");
      attention::SdpaOptions opt;
      opt.causal = meta_true(f, c + ".causal");
      opt.scale = std::stof(f.metadata.at(c + ".scale"));
      opt.path = path;
      if (f.tensors.count(c + ".lengths")) opt.key_lengths = f.at(c + ".lengths");
      const bool has_bias = f.tensors.count(c + ".bias") > 0;
      // The fused path has no bias gradient, so only the math path trains the bias.
      if (has_bias)
        opt.bias = path == attention::Path::math ? leaf(f, c + ".bias") : f.at(c + ".bias");
      Tensor out = attention::scaled_dot_product_attention(q, k, v, opt);
      out.backward(f.at(c + ".gout"));
      FOCUS_EXPECT_CLOSE(out, f.at(c + ".out"), kRtol, kAtol);
      // With scores of order ±1e4 the softmax is one-hot and dS = P·(dP − Δ) cancels: its f32
      // rounding (~1e-7·|dP|) is multiplied by |k|·scale ≈ 10, so q and k gradients that are 0
      // in float64 come out at ~2e-5. Relative to the gradients' scale (~30) that is 1e-6.
      const float grad_atol = c == "large_logits" ? 1e-4f : kAtol;
      FOCUS_EXPECT_CLOSE(q.grad(), f.at(c + ".grad.q"), kRtol, grad_atol);
      FOCUS_EXPECT_CLOSE(k.grad(), f.at(c + ".grad.k"), kRtol, grad_atol);
      FOCUS_EXPECT_CLOSE(v.grad(), f.at(c + ".grad.v"), kRtol, kAtol);
      if (has_bias && path == attention::Path::math)
        FOCUS_EXPECT_CLOSE(opt.bias.grad(), f.at(c + ".grad.bias"), kRtol, kAtol);
    }
  }
}

TEST(AttentionParity, MultiHeadSelfAndCross) {
  const TensorFile f = load_safetensors(test::fixture("attention/mha.safetensors"));
  const int64_t e = std::stoll(f.metadata.at("meta.E")), h = std::stoll(f.metadata.at("meta.H"));
  for (const std::string c : {"self", "self_causal_padded", "cross"}) {
    SCOPED_TRACE(c);
    const bool cross = c == "cross";
    attention::MultiHeadAttention mha({.dim = e,
                                       .heads = h,
                                       .cross = cross,
                                       .kv_dim = cross ? f.at("cross.context").size(2) : 0});
    std::vector<std::string> names =
        cross ? std::vector<std::string>{"w_q", "b_q", "w_kv", "b_kv", "w_out", "b_out"}
              : std::vector<std::string>{"w_qkv", "b_qkv", "w_out", "b_out"};
    std::map<std::string, Tensor*> slots = {
        {"w_qkv", &mha.w_qkv}, {"b_qkv", &mha.b_qkv}, {"w_q", &mha.w_q},     {"b_q", &mha.b_q},
        {"w_kv", &mha.w_kv},   {"b_kv", &mha.b_kv},   {"w_out", &mha.w_out}, {"b_out", &mha.b_out}};
    for (const std::string& n : names) *slots[n] = leaf(f, c + "." + n);
    Tensor x = leaf(f, c + ".x");
    Tensor context = cross ? leaf(f, "cross.context") : Tensor();
    attention::MultiHeadCall call;
    call.causal = meta_true(f, c + ".causal");
    if (f.tensors.count(c + ".lengths")) call.key_lengths = f.at(c + ".lengths");
    Tensor out = mha(x, context, call);
    out.backward(f.at(c + ".gout"));
    FOCUS_EXPECT_CLOSE(out, f.at(c + ".out"), kRtol, kAtol);
    FOCUS_EXPECT_CLOSE(x.grad(), f.at(c + ".grad.x"), kRtol, kAtol);
    if (cross) FOCUS_EXPECT_CLOSE(context.grad(), f.at("cross.grad.context"), kRtol, kAtol);
    for (const std::string& n : names) {
      SCOPED_TRACE(n);
      FOCUS_EXPECT_CLOSE(slots[n]->grad(), f.at(c + ".grad." + n), kRtol, kAtol);
    }
  }
}

}  // namespace
}  // namespace focus
