// Class weights in the training loss (train.class_weights): parsing, and their effect: a class
// with weight 0 contributes nothing, so a model trained with weights [0, 1] predicts class 1 for
// everything, and [1, 0] class 0. Example weights (FitOptions::example_weights, which spam's
// data.group_weights sets) multiply into them, by dataset index.
#include <gtest/gtest.h>

#include "focus/config.h"
#include "focus/models.h"
#include "focus/trainer.h"
#include "test_util.h"

using namespace focus;

TEST(ClassWeights, Parsing) {
  auto parse = [](const nlohmann::json& j) {
    config::Reader r(j, "train");
    train::FitOptions o = train::fit_options(r);
    r.finish();
    return o;
  };
  EXPECT_TRUE(parse({}).class_weights.empty());
  EXPECT_FALSE(parse({}).balanced_weights);
  EXPECT_TRUE(parse({{"class_weights", "balanced"}}).balanced_weights);
  EXPECT_EQ(parse({{"class_weights", "1,3.5"}}).class_weights, (std::vector<float>{1.0f, 3.5f}));
  EXPECT_THROW(parse({{"class_weights", "1,x"}}), config::ConfigError);
  EXPECT_THROW(parse({{"class_weights", "-1,2"}}), config::ConfigError);
  EXPECT_THROW(parse({{"class_weights", "1,,2"}}), config::ConfigError);
}

namespace {

// Predictions of a small model trained on random ids with random balanced labels, under weights.
// Class weights, or, when by_class_of_example, the same weights given per example instead.
train::Evaluation trained(const std::vector<float>& weights, bool by_class_of_example = false) {
  Generator gen(4);
  const int64_t len = 6;
  auto data = test::random_token_dataset(128, len, 20, 2, gen);
  models::SequenceClassifier model(
      {.vocab = 20, .max_len = len, .classes = 2, .dim = 16, .depth = 1, .heads = 2}, gen);
  train::FitOptions opt;
  opt.epochs = 2;
  opt.batch = 32;
  opt.lr = 0.01f;
  opt.progress = false;
  if (by_class_of_example)
    for (int64_t i = 0; i < data->size(); ++i)
      opt.example_weights.push_back(weights.at(size_t(data->get(i).label)));
  else
    opt.class_weights = weights;
  train::fit(model, data, data, opt);
  model.eval();
  return train::evaluate(model, data);
}

std::vector<int64_t> trained_confusion(const std::vector<float>& weights) {
  return trained(weights).confusion;
}

}  // namespace

TEST(ClassWeights, ZeroWeightClassIsNeverPredicted) {
  const auto only1 = trained_confusion({0.0f, 1.0f});  // [true][predicted]
  EXPECT_EQ(only1[0] + only1[2], 0);                   // nothing predicted as class 0
  const auto only0 = trained_confusion({1.0f, 0.0f});
  EXPECT_EQ(only0[1] + only0[3], 0);  // nothing predicted as class 1
}

TEST(ClassWeights, WrongCountIsAnError) {
  EXPECT_THROW(trained_confusion({1.0f, 1.0f, 1.0f}), Error);
}

TEST(ExampleWeights, PerExampleWeightsEqualToTheClassWeightsTrainTheSameModel) {
  const train::Evaluation by_class = trained({0.3f, 2.0f});
  const train::Evaluation by_example = trained({0.3f, 2.0f}, true);
  EXPECT_EQ(by_class.probabilities, by_example.probabilities);  // bit for bit
  EXPECT_NE(by_class.probabilities, trained({1.0f, 1.0f}).probabilities);
}

TEST(ExampleWeights, ZeroWeightExamplesAreNotLearned) {
  const auto only1 = trained({0.0f, 1.0f}, true).confusion;
  EXPECT_EQ(only1[0] + only1[2], 0);
}

TEST(ExampleWeights, WrongCountIsAnError) {
  Generator gen(4);
  auto data = test::random_token_dataset(64, 6, 20, 2, gen);
  models::SequenceClassifier model(
      {.vocab = 20, .max_len = 6, .classes = 2, .dim = 16, .depth = 1, .heads = 2}, gen);
  train::FitOptions opt;
  opt.epochs = 1;
  opt.progress = false;
  opt.example_weights.assign(63, 1.0f);
  EXPECT_THROW(train::fit(model, data, data, opt), Error);
}
