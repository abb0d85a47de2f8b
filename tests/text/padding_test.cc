// Key-padding masks in the sequence transformer: a padded batch gives each row the logits it gets
// alone, for every pooling, for the soft-attention baseline (depth 0) and with a convolution over
// neighbouring pieces (model.conv), and padding gets no attention and no gradient.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "focus/autograd.h"
#include "focus/config.h"
#include "focus/models.h"

using namespace focus;

namespace {

std::vector<std::vector<int32_t>> rows() {
  return {{5, 9, 13}, {7, 3, 22, 41, 8, 2, 30}, {11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 44}};
}

Tensor padded(const std::vector<std::vector<int32_t>>& rs, int64_t n) {
  std::vector<int32_t> ids;
  for (const auto& r : rs) {
    ids.insert(ids.end(), r.begin(), r.end());
    ids.insert(ids.end(), size_t(n) - r.size(), 0);
  }
  return Tensor::from_indices(ids, {int64_t(rs.size()), n});
}

struct Variant {
  const char* pool;
  int64_t depth;
  int64_t conv = 0;
};

class Padding : public ::testing::TestWithParam<Variant> {};

}  // namespace

TEST_P(Padding, BatchEqualsEachRowAlone) {
  Generator gen(11);
  models::SequenceClassifier model({.vocab = 50,
                                    .max_len = 16,
                                    .classes = 3,
                                    .dim = 32,
                                    .depth = GetParam().depth,
                                    .heads = 4,
                                    .conv = GetParam().conv,
                                    .pool = GetParam().pool,
                                    .pad_id = 0},
                                   gen);
  model.eval();
  autograd::NoGradGuard no_grad;
  const auto rs = rows();
  const Tensor batch = model(padded(rs, 16)).contiguous();  // [3,3]
  for (size_t i = 0; i < rs.size(); ++i) {
    const Tensor alone =
        model(Tensor::from_indices(rs[i], {1, int64_t(rs[i].size())})).contiguous();
    const Tensor alone_padded = model(padded({rs[i]}, 16)).contiguous();
    for (int64_t c = 0; c < 3; ++c) {
      EXPECT_NEAR(batch.data()[int64_t(i) * 3 + c], alone.data()[c], 2e-5f) << "row " << i;
      EXPECT_NEAR(alone_padded.data()[c], alone.data()[c], 2e-5f) << "row " << i;
    }
  }
}

TEST_P(Padding, PaddingGetsNoAttentionAndNoGradient) {
  Generator gen(5);
  models::SequenceClassifier model({.vocab = 50,
                                    .max_len = 16,
                                    .classes = 2,
                                    .dim = 16,
                                    .depth = GetParam().depth,
                                    .heads = 2,
                                    .conv = GetParam().conv,
                                    .pool = GetParam().pool,
                                    .pad_id = 0},
                                   gen);
  model.eval();
  const auto rs = rows();
  const Tensor ids = padded(rs, 16);
  const Tensor w = model.token_attention(ids).contiguous();  // [3,16]
  for (size_t i = 0; i < rs.size(); ++i) {
    double total = 0;
    for (int64_t j = 0; j < 16; ++j) {
      const float a = w.data()[int64_t(i) * 16 + j];
      if (j >= int64_t(rs[i].size()))
        EXPECT_EQ(a, 0.0f);
      else
        EXPECT_GE(a, 0.0f);
      total += a;
    }
    EXPECT_NEAR(total, 1.0, 1e-5);
  }
  // The pad token's embedding row is never used, so it gets no gradient.
  Tensor loss = sum(model(ids));
  loss.backward();
  for (const auto& [name, p] : model.named_parameters()) {
    if (name != "embed.weight") continue;
    ASSERT_TRUE(p.grad().defined());
    const Tensor g = p.grad().contiguous();
    for (int64_t d = 0; d < 16; ++d) EXPECT_EQ(g.data()[d], 0.0f);  // row 0: <pad>
  }
}

INSTANTIATE_TEST_SUITE_P(
    Pools, Padding,
    ::testing::Values(Variant{"cls", 2}, Variant{"mean", 2}, Variant{"soft", 2}, Variant{"soft", 0},
                      Variant{"soft", 0, 3}, Variant{"cls", 2, 5}, Variant{"mean", 1, 3}),
    [](const auto& info) {
      return std::string(info.param.pool) + "_depth" + std::to_string(info.param.depth) +
             (info.param.conv ? "_conv" + std::to_string(info.param.conv) : "");
    });

// Depth 0 has no encoder block: a class token would pool only itself, and mean pooling would
// leave the attention view nothing to show, so only soft pooling is accepted.
TEST(SequenceTransformerConfig, DepthZeroNeedsSoftPooling) {
  Generator gen(1);
  const nlohmann::json input = {{"vocab", 50}, {"length", 16}, {"classes", 2}, {"pad", 0}};
  EXPECT_NO_THROW(models::build({{"depth", 0}, {"pool", "soft"}}, input, gen));
  for (const char* pool : {"cls", "mean"}) {
    try {
      models::build({{"depth", 0}, {"pool", pool}}, input, gen);
      ADD_FAILURE() << "depth 0 with pool " << pool << " was accepted";
    } catch (const config::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("model.depth 0"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(models::build({{"depth", -1}, {"pool", "soft"}}, input, gen), config::ConfigError);
}

TEST(Padding, AllPaddingRowGivesFiniteLogits) {
  Generator gen(2);
  models::SequenceClassifier model({.vocab = 20,
                                    .max_len = 8,
                                    .classes = 2,
                                    .dim = 16,
                                    .depth = 1,
                                    .heads = 2,
                                    .pool = "mean",
                                    .pad_id = 0},
                                   gen);
  model.eval();
  autograd::NoGradGuard no_grad;
  const Tensor out = model(padded({{}, {3, 4}}, 8)).contiguous();
  for (int64_t i = 0; i < 4; ++i) EXPECT_TRUE(std::isfinite(out.data()[i]));
}
