// Masked-token pretraining (train::pretrain_masked) and the encoder output it trains
// (SequenceClassifier::encode): padding changes no row's states; a language whose tokens follow
// from their neighbours is learnt far above chance; runs are bit-identical by seed; the
// classification head is left alone; bad options are errors naming the op.
#include <gtest/gtest.h>

#include <vector>

#include "focus/autograd.h"
#include "focus/config.h"
#include "focus/models.h"
#include "focus/pretrain.h"
#include "focus/trainer.h"

using namespace focus;

namespace {

constexpr int32_t kPad = 0, kMask = 1;

// Rows of a language of repeated words: each row is one word of 2..vocab-1 said over and over,
// random lengths in [len/2, len], right-padded with 0. A hidden token is any other token of its
// row, so a model that reads context predicts it; one that does not is right 1 in 38.
std::shared_ptr<data::TensorDataset> repeated(int64_t rows, int64_t len, int32_t vocab,
                                              uint64_t seed) {
  Generator gen(seed);
  std::vector<int32_t> ids;
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t n = len / 2 + int64_t(gen.bits(uint64_t(2 * i)) % uint64_t(len / 2 + 1));
    const int32_t t = 2 + int32_t(gen.bits(uint64_t(2 * i + 1)) % uint64_t(vocab - 2));
    for (int64_t j = 0; j < len; ++j) ids.push_back(j < n ? t : kPad);
  }
  return std::make_shared<data::TensorDataset>(Tensor::from_indices(ids, {rows, len}),
                                               std::vector<int32_t>(size_t(rows), 0));
}

models::SequenceClassifierOptions small(const char* pool = "soft") {
  return {.vocab = 40,
          .max_len = 16,
          .classes = 2,
          .dim = 32,
          .depth = 2,
          .heads = 2,
          .mlp_ratio = 2,
          .pool = pool,
          .pad_id = kPad};
}

train::MaskedLmOptions quick(int64_t epochs) {
  return {.epochs = epochs, .batch = 32, .mask_id = kMask, .lr = 3e-3f, .progress = false};
}

}  // namespace

TEST(Pretrain, EncodeGivesEachRowTheStatesItHasAlone) {
  for (const char* pool : {"cls", "mean", "soft"}) {
    Generator gen(3);
    models::SequenceClassifier model(small(pool), gen);
    model.eval();
    autograd::NoGradGuard no_grad;
    const std::vector<std::vector<int32_t>> rs = {{5, 9, 13}, {7, 3, 22, 31, 8, 2, 30}};
    std::vector<int32_t> ids;
    for (const auto& r : rs) {
      ids.insert(ids.end(), r.begin(), r.end());
      ids.insert(ids.end(), 16 - r.size(), kPad);
    }
    const Tensor batch = model.encode(Tensor::from_indices(ids, {2, 16})).contiguous();
    ASSERT_EQ(batch.shape(), Shape({2, 7, 32})) << pool << ": cut to the longest row";
    for (size_t i = 0; i < rs.size(); ++i) {
      const int64_t n = int64_t(rs[i].size());
      const Tensor alone = model.encode(Tensor::from_indices(rs[i], {1, n})).contiguous();
      ASSERT_EQ(alone.shape(), Shape({1, n, 32})) << pool;
      for (int64_t k = 0; k < n * 32; ++k)
        ASSERT_NEAR(batch.data()[int64_t(i) * 7 * 32 + k], alone.data()[k], 2e-5f)
            << pool << " row " << i << " element " << k;
    }
  }
}

TEST(Pretrain, LearnsToFillInAPredictableLanguage) {
  auto train_set = repeated(256, 16, 40, 1), val = repeated(128, 16, 40, 2);
  Generator gen(7);
  models::SequenceClassifier model(small(), gen);
  manual_seed(7);
  const train::MaskedLmResult r = train::pretrain_masked(model, train_set, val, quick(6));
  EXPECT_EQ(r.steps, 6 * 8);
  // Before any step the decoder is random: loss near ln 40 = 3.7 and accuracy near 1/40.
  EXPECT_GT(r.first_val_loss, 3.0f);
  EXPECT_LT(r.val_loss, 0.6f * r.first_val_loss);
  EXPECT_GT(r.val_accuracy, 0.5f) << "masked tokens of held-out rows predicted from context";
  RecordProperty("val_accuracy", std::to_string(r.val_accuracy));
}

TEST(Pretrain, SameSeedSameWeightsAndTheHeadIsLeftAlone) {
  auto data = repeated(96, 16, 40, 5);
  auto run = [&](uint64_t seed) {
    Generator gen(9);
    models::SequenceClassifier model(small(), gen);
    manual_seed(9);
    train::MaskedLmOptions o = quick(2);
    o.seed = seed;
    const auto head = model.state_dict().at("head.weight").to_vector();
    const auto embed = model.state_dict().at("embed.weight").to_vector();
    train::pretrain_masked(model, data, nullptr, o);
    const auto after = model.state_dict();
    EXPECT_EQ(after.at("head.weight").to_vector(), head);
    EXPECT_NE(after.at("embed.weight").to_vector(), embed);
    return after;
  };
  const auto a = run(1), b = run(1), c = run(2);
  for (const auto& [name, t] : a) EXPECT_EQ(t.to_vector(), b.at(name).to_vector()) << name;
  EXPECT_NE(a.at("embed.weight").to_vector(), c.at("embed.weight").to_vector())
      << "another seed hides other tokens";
}

TEST(Pretrain, BadOptionsAreErrorsNamingTheOp) {
  auto data = repeated(64, 16, 40, 5);
  Generator gen(1);
  models::SequenceClassifier model(small(), gen);
  auto fails = [&](train::MaskedLmOptions o, const std::string& what) {
    try {
      train::pretrain_masked(model, data, nullptr, o);
      ADD_FAILURE() << "no error for " << what;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("pretrain_masked"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  train::MaskedLmOptions o = quick(1);
  o.mask_id = kPad;
  fails(o, "padding id");
  o.mask_id = 40;
  fails(o, "[0, 40)");
  o.mask_id = data->get(0).x.contiguous().data_i32()[0];  // a word of the language
  fails(o, "occurs in training example");
  o = quick(1);
  o.mask = 0.0f;
  fails(o, "mask fraction");
  EXPECT_THROW(train::pretrain_masked(model,
                                      std::make_shared<data::TensorDataset>(
                                          Tensor::zeros({4, 16}), std::vector<int32_t>(4, 0)),
                                      nullptr, quick(1)),
               Error)
      << "f32 examples are not token ids";
}

TEST(Pretrain, ConfigKeys) {
  auto parse = [](const nlohmann::json& j) {
    config::Reader r(j, "train");
    train::FitOptions o = train::fit_options(r);
    r.finish();
    return o;
  };
  EXPECT_EQ(parse({}).pretrain_epochs, 0);
  EXPECT_FLOAT_EQ(parse({}).pretrain_mask, 0.15f);
  EXPECT_EQ(parse({{"pretrain_epochs", 3}, {"pretrain_mask", 0.2}}).pretrain_epochs, 3);
  EXPECT_THROW(parse({{"pretrain_epochs", -1}}), config::ConfigError);
  EXPECT_THROW(parse({{"pretrain_mask", 1.0}}), config::ConfigError);
}
