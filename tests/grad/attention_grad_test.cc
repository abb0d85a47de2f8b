// Finite-difference gradients of the attention family at small sizes.
#include "focus/attention.h"
#include "test_util.h"

namespace focus {
namespace {

using attention::Path;
using test::check_gradients;
using test::random_tensor;

TEST(GradAttention, ScaledDotProductBothPaths) {
  for (Path path : {Path::math, Path::fused}) {
    for (bool causal : {false, true}) {
      SCOPED_TRACE(testing::Message() << "fused=" << (path == Path::fused) << " causal=" << causal);
      FOCUS_EXPECT_GRADIENTS(
          [path, causal](const auto& in) {
            return attention::scaled_dot_product_attention(
                in[0], in[1], in[2],
                {.causal = causal, .key_lengths = Tensor::from_indices({5, 3}, {2}), .path = path});
          },
          {random_tensor({2, 2, 4, 6}, 1), random_tensor({2, 2, 5, 6}, 2),
           random_tensor({2, 2, 5, 6}, 3)});
    }
  }
}

TEST(GradAttention, BiasOnTheMathPath) {
  FOCUS_EXPECT_GRADIENTS(
      [](const auto& in) {
        return attention::scaled_dot_product_attention(in[0], in[1], in[2], {.bias = in[3]});
      },
      {random_tensor({1, 2, 3, 4}, 4), random_tensor({1, 2, 5, 4}, 5),
       random_tensor({1, 2, 5, 4}, 6), random_tensor({3, 5}, 7)});
}

TEST(GradAttention, SoftAttentionAllForms) {
  for (auto score : {attention::Score::additive, attention::Score::linear})
    for (auto fusion : {attention::Fusion::pooling, attention::Fusion::gating}) {
      attention::SoftAttention soft({.dim = 4, .hidden = 3, .score = score, .fusion = fusion});
      const Tensor mask = Tensor::from_indices({1, 1, 1, 0, 1, 1, 1, 1}, {2, 4});
      const bool additive = score == attention::Score::additive;
      std::vector<Tensor> inputs = {random_tensor({2, 4, 4}, 8), soft.w.detach(), soft.b.detach()};
      if (additive) inputs.push_back(soft.v.detach());
      FOCUS_EXPECT_GRADIENTS(
          [&soft, &mask, additive](const auto& in) {
            attention::SoftAttention s = soft;
            s.w = in[1], s.b = in[2];
            if (additive) s.v = in[3];
            return s(in[0], mask).output;
          },
          inputs);
    }
}

TEST(GradAttention, MultiHeadSelfAndCross) {
  attention::MultiHeadAttention self({.dim = 8, .heads = 2});
  FOCUS_EXPECT_GRADIENTS(
      [&self](const auto& in) {
        attention::MultiHeadAttention m = self;
        m.w_qkv = in[1], m.w_out = in[2];
        return m(in[0], Tensor(), {.causal = true});
      },
      {random_tensor({2, 3, 8}, 9), self.w_qkv.detach(), self.w_out.detach()});
  attention::MultiHeadAttention cross({.dim = 8, .heads = 2, .cross = true, .kv_dim = 6});
  FOCUS_EXPECT_GRADIENTS(
      [&cross](const auto& in) {
        attention::MultiHeadAttention m = cross;
        m.w_q = in[2], m.w_kv = in[3];
        return m(in[0], in[1]);
      },
      {random_tensor({2, 3, 8}, 10), random_tensor({2, 5, 6}, 11), cross.w_q.detach(),
       cross.w_kv.detach()});
}

}  // namespace
}  // namespace focus
