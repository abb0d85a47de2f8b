// Finite-difference checks of softmax, log_softmax, layer_norm, dropout, embedding and
// cross_entropy. Tolerance: the default 2e-2 with eps 1e-2 (see elementwise_grad_test.cc); these
// functions are smooth with O(1) third derivatives on inputs in [-2, 2], so truncation stays ~1e-4.
#include "test_util.h"

namespace focus {
namespace {

using test::check_gradients;
using test::random_tensor;

TEST(GradSoftmax, LastAndMiddleAxes) {
  const Tensor x = random_tensor({2, 4, 3}, 101, -2.0f, 2.0f);
  for (int axis : {-1, 2, 1, 0}) {
    SCOPED_TRACE(axis);
    FOCUS_EXPECT_GRADIENTS([axis](const auto& in) { return softmax(in[0], axis); }, {x});
    FOCUS_EXPECT_GRADIENTS([axis](const auto& in) { return log_softmax(in[0], axis); }, {x});
  }
}

TEST(GradSoftmax, OfNonContiguousInput) {
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return softmax(in[0].transpose(0, 1), -1); },
                         {random_tensor({5, 3}, 102, -2.0f, 2.0f)});
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return log_softmax(in[0].slice(1, 0, 6, 2), 1); },
                         {random_tensor({3, 6}, 103, -2.0f, 2.0f)});
}

TEST(GradLayerNorm, WeightAndBiasCombinations) {
  const Tensor x = random_tensor({3, 6}, 111, -2.0f, 2.0f);
  const Tensor w = random_tensor({6}, 112, 0.5f, 1.5f), b = random_tensor({6}, 113);
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return layer_norm(in[0], in[1], in[2]); }, {x, w, b});
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return layer_norm(in[0], in[1], Tensor()); }, {x, w});
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return layer_norm(in[0], Tensor(), in[1]); }, {x, b});
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return layer_norm(in[0], Tensor(), Tensor()); }, {x});
}

TEST(GradLayerNorm, RankThreeAndStrided) {
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return layer_norm(in[0], in[1], in[2]); },
                         {random_tensor({2, 3, 5}, 114, -2.0f, 2.0f),
                          random_tensor({5}, 115, 0.5f, 1.5f), random_tensor({5}, 116)});
  FOCUS_EXPECT_GRADIENTS(
      [](const auto& in) { return layer_norm(in[0].transpose(0, 1), in[1], in[2]); },
      {random_tensor({4, 3}, 117, -2.0f, 2.0f), random_tensor({4}, 118, 0.5f, 1.5f),
       random_tensor({4}, 119)});
}

TEST(GradLayerNorm, LargeEps) {
  // eps comparable to the variance: the eps term must be inside the derivative of rstd.
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return layer_norm(in[0], Tensor(), Tensor(), 0.5f); },
                         {random_tensor({3, 4}, 120)});
}

TEST(GradDropout, FixedMask) {
  // A fresh generator with the same seed for every evaluation, so the mask is identical.
  const Tensor x = random_tensor({4, 6}, 121);
  for (float p : {0.3f, 0.5f}) {
    SCOPED_TRACE(p);
    FOCUS_EXPECT_GRADIENTS(
        [p](const auto& in) {
          Generator gen(1234);
          return dropout(in[0], p, true, gen);
        },
        {x});
  }
  // Eval mode is the identity; chain an op so something is recorded.
  FOCUS_EXPECT_GRADIENTS(
      [](const auto& in) {
        Generator gen(1234);
        return dropout(mul(in[0], 2.0f), 0.5f, false, gen);
      },
      {x});
}

TEST(GradEmbedding, RepeatedIds) {
  const Tensor ids = Tensor::from_indices({1, 3, 1, 0, 1, 4}, {2, 3});
  FOCUS_EXPECT_GRADIENTS([&](const auto& in) { return embedding(in[0], ids); },
                         {random_tensor({5, 3}, 131)});
  const Tensor flat = Tensor::from_indices({2, 2, 2, 0}, {4});
  FOCUS_EXPECT_GRADIENTS([&](const auto& in) { return embedding(in[0], flat); },
                         {random_tensor({3, 2}, 132)});
}

TEST(GradCrossEntropy, SmoothingAndReductions) {
  const Tensor logits = random_tensor({4, 5}, 141, -2.0f, 2.0f);
  const Tensor targets = Tensor::from_indices({0, 3, 4, 3}, {4});
  for (float smoothing : {0.0f, 0.1f})
    for (Reduction r : {Reduction::mean, Reduction::sum, Reduction::none}) {
      SCOPED_TRACE(testing::Message() << "smoothing " << smoothing << " reduction " << int(r));
      CrossEntropyOptions opt{.label_smoothing = smoothing, .reduction = r};
      FOCUS_EXPECT_GRADIENTS([&](const auto& in) { return cross_entropy(in[0], targets, opt); },
                             {logits});
    }
}

TEST(GradCrossEntropy, IgnoreIndex) {
  const Tensor logits = random_tensor({5, 4}, 142, -2.0f, 2.0f);
  // The default ignore_index (-100) and a custom one that is also a valid class (2).
  const Tensor t1 = Tensor::from_indices({1, -100, 3, -100, 0}, {5});
  const Tensor t2 = Tensor::from_indices({2, 1, 2, 3, 0}, {5});
  for (Reduction r : {Reduction::mean, Reduction::sum, Reduction::none})
    for (float smoothing : {0.0f, 0.1f}) {
      SCOPED_TRACE(testing::Message() << "smoothing " << smoothing << " reduction " << int(r));
      FOCUS_EXPECT_GRADIENTS(
          [&](const auto& in) {
            return cross_entropy(in[0], t1, {.label_smoothing = smoothing, .reduction = r});
          },
          {logits});
      FOCUS_EXPECT_GRADIENTS(
          [&](const auto& in) {
            return cross_entropy(in[0], t2,
                                 {.label_smoothing = smoothing, .ignore_index = 2, .reduction = r});
          },
          {logits});
    }
}

TEST(GradCrossEntropy, RankThreeLogits) {
  const Tensor targets = Tensor::from_indices({0, 2, 1, 3, 3, 0}, {2, 3});
  FOCUS_EXPECT_GRADIENTS(
      [&](const auto& in) { return cross_entropy(in[0], targets, {.label_smoothing = 0.1f}); },
      {random_tensor({2, 3, 4}, 143, -2.0f, 2.0f)});
  FOCUS_EXPECT_GRADIENTS(
      [&](const auto& in) { return cross_entropy(in[0], targets, {.reduction = Reduction::none}); },
      {random_tensor({2, 3, 4}, 144, -2.0f, 2.0f)});
}

}  // namespace
}  // namespace focus
