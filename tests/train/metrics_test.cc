// Evaluation figures from probabilities: hand-worked cases, ROC-AUC against its definition by
// pairs, ensembles, and evaluate()'s probabilities against its own figures.
#include <cmath>

#include "focus/data.h"
#include "focus/metrics.h"
#include "focus/models.h"
#include "test_util.h"

namespace focus::train {
namespace {

TEST(Metrics, EvaluationFromProbabilitiesByHand) {
  // Three classes; the second example ties classes 1 and 2 and must go to the first of them.
  const Evaluation ev = evaluation_from({0.7f, 0.2f, 0.1f,  //
                                         0.2f, 0.4f, 0.4f,  //
                                         0.1f, 0.1f, 0.8f,  //
                                         0.5f, 0.3f, 0.2f},
                                        {0, 2, 2, 1}, 3);
  EXPECT_EQ(ev.examples, 4);
  EXPECT_FLOAT_EQ(ev.accuracy, 0.5f);
  EXPECT_EQ(ev.confusion, (std::vector<int64_t>{1, 0, 0, 1, 0, 0, 0, 1, 1}));
  EXPECT_NEAR(ev.loss, -(std::log(0.7) + std::log(0.4) + std::log(0.8) + std::log(0.3)) / 4, 1e-6);
  test::expect_error(
      [] {
        evaluation_from({0.5f, 0.5f}, {0, 1}, 2);
      },
      {"evaluation_from", "[2]", "[2, 2]"});
  test::expect_error([] { evaluation_from({0.5f, 0.5f}, {3}, 2); }, {"label 3"});
}

TEST(Metrics, BinaryMetricsByHandAndAucByPairs) {
  // Positives 1, scores p(1); 0.5 itself is not a positive prediction.
  const std::vector<float> p1 = {0.9f, 0.8f, 0.3f, 0.6f, 0.2f, 0.5f, 0.6f, 0.1f};
  const std::vector<int32_t> y = {1, 1, 1, 0, 0, 1, 0, 0};
  std::vector<float> probs;
  for (float p : p1) probs.push_back(1.0f - p), probs.push_back(p);
  const BinaryMetrics m = binary_metrics(evaluation_from(probs, y, 2));
  EXPECT_EQ(m.true_positive, 2);   // 0.9, 0.8
  EXPECT_EQ(m.false_negative, 2);  // 0.3, 0.5
  EXPECT_EQ(m.false_positive, 2);  // 0.6, 0.6
  EXPECT_EQ(m.true_negative, 2);
  EXPECT_DOUBLE_EQ(m.precision, 0.5);
  EXPECT_DOUBLE_EQ(m.recall, 0.5);
  EXPECT_DOUBLE_EQ(m.f1, 0.5);
  EXPECT_DOUBLE_EQ(m.accuracy, 0.5);
  // The definition: over every (positive, negative) pair, 1 when the positive scores higher,
  // 1/2 on a tie.
  double wins = 0, pairs = 0;
  for (size_t i = 0; i < y.size(); ++i)
    for (size_t j = 0; j < y.size(); ++j)
      if (y[i] == 1 && y[j] == 0) {
        pairs += 1;
        wins += p1[i] > p1[j] ? 1.0 : p1[i] == p1[j] ? 0.5 : 0.0;
      }
  EXPECT_DOUBLE_EQ(m.roc_auc, wins / pairs);
  test::expect_error(
      [] {
        binary_metrics(evaluation_from({1, 0, 0}, {0}, 3));
      },
      {"binary_metrics", "2 classes, got 3"});
}

TEST(Metrics, EnsembleAveragesProbabilities) {
  const Evaluation a = evaluation_from({0.9f, 0.1f, 0.4f, 0.6f}, {0, 0}, 2);
  const Evaluation b = evaluation_from({0.3f, 0.7f, 0.8f, 0.2f}, {0, 0}, 2);
  EXPECT_FLOAT_EQ(a.accuracy, 0.5f);
  EXPECT_FLOAT_EQ(b.accuracy, 0.5f);
  const Evaluation e = average({a, b});
  ASSERT_EQ(e.probabilities.size(), 4u);
  EXPECT_FLOAT_EQ(e.probabilities[0], 0.6f);
  EXPECT_FLOAT_EQ(e.probabilities[2], 0.6f);
  EXPECT_FLOAT_EQ(e.accuracy, 1.0f);  // each member is wrong once, the average never
  test::expect_error(
      [&] {
        average({a, evaluation_from({0.5f, 0.5f, 0.5f, 0.5f}, {0, 1}, 2)});
      },
      {"member 1 labels the examples differently"});
  test::expect_error(
      [&] {
        average({a, evaluation_from({0.5f, 0.5f}, {0}, 2)});
      },
      {"member 1 has 1 examples of 2 classes, member 0 2 of 2"});
}

TEST(Metrics, EvaluateKeepsProbabilitiesThatGiveItsFigures) {
  Generator gen(5);
  const int64_t len = 6;
  auto data = test::random_token_dataset(50, len, 20, 4, gen);
  const std::vector<int32_t>& y = data->labels();
  models::SequenceClassifier model(
      {.vocab = 20, .max_len = len, .classes = 4, .dim = 16, .depth = 1, .heads = 2}, gen);
  const Evaluation ev = evaluate(model, data, 16);  // four batches, the last one short
  ASSERT_EQ(ev.probabilities.size(), 200u);
  EXPECT_EQ(ev.labels, y);
  const Evaluation again = evaluation_from(ev.probabilities, ev.labels, 4);
  EXPECT_EQ(again.confusion, ev.confusion);
  EXPECT_FLOAT_EQ(again.accuracy, ev.accuracy);
  EXPECT_NEAR(again.loss, ev.loss, 1e-5);
  for (size_t i = 0; i < 50; ++i) {
    double row = 0;
    for (size_t c = 0; c < 4; ++c) row += ev.probabilities[i * 4 + c];
    EXPECT_NEAR(row, 1.0, 1e-5);
  }
}

}  // namespace
}  // namespace focus::train
