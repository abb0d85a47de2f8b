// Bad input: every op family throws focus::Error with a one-line message naming the op and the
// offending shapes (expect_error checks both).
#include <cmath>
#include <limits>

#include "test_util.h"

namespace focus {
namespace {

using test::expect_error;

Tensor f32(const Shape& s) { return Tensor::zeros(s); }
Tensor i32(const Shape& s) { return Tensor::from_indices(std::vector<int32_t>(s.numel(), 0), s); }

// Turns check-finite mode on for one scope and restores the previous setting.
struct CheckFiniteScope {
  bool prev = check_finite_enabled();
  CheckFiniteScope() { set_check_finite(true); }
  ~CheckFiniteScope() { set_check_finite(prev); }
};

// ---- shapes ------------------------------------------------------------------------------------

TEST(Errors, MatmulInnerMismatchNamesBothShapes) {
  expect_error([] { matmul(f32({2, 3}), f32({4, 5})); }, {"matmul", "[2,3]", "[4,5]"});
  expect_error([] { matmul(f32({2, 2, 3}), f32({2, 4, 5})); }, {"matmul", "[2,2,3]", "[2,4,5]"});
  expect_error([] { matmul(f32({3}), f32({4, 5})); }, {"matmul"});
  expect_error([] { matmul(f32({}), f32({4, 5})); }, {"matmul", "rank"});
}

TEST(Errors, MatmulBatchMismatchNamesBothShapes) {
  expect_error([] { matmul(f32({2, 3, 4}), f32({3, 4, 5})); }, {"matmul", "[2,3,4]", "[3,4,5]"});
}

TEST(Errors, BroadcastFailures) {
  expect_error([] { add(f32({2, 3}), f32({4})); }, {"add", "[2,3]", "[4]", "broadcast"});
  expect_error([] { sub(f32({2, 3}), f32({3, 3})); }, {"sub", "[2,3]", "[3,3]"});
  expect_error([] { mul(f32({2, 1, 4}), f32({3, 5})); }, {"mul", "[2,1,4]", "[3,5]"});
  expect_error([] { div(f32({5}), f32({2, 4})); }, {"div", "[5]", "[2,4]"});
  // The condition and a broadcast first; the message names that result and b.
  expect_error([] { where(f32({2, 3}), f32({3}), f32({4})); }, {"where", "[2,3]", "[4]"});
  expect_error([] { where(f32({2}), f32({3}), f32({3})); }, {"where", "[2]", "[3]"});
  expect_error([] { masked_fill(f32({2, 3}), f32({2}), 0.0f); }, {"masked_fill", "[2,3]", "[2]"});
  // A mask that would grow x.
  expect_error([] { masked_fill(f32({3}), f32({2, 3}), 0.0f); }, {"masked_fill", "[3]", "[2,3]"});
}

TEST(Errors, Linear) {
  expect_error([] { linear(f32({2, 3}), f32({4, 5})); }, {"linear", "[2,3]", "[4,5]"});
  expect_error([] { linear(f32({2, 3}), f32({3})); }, {"linear", "weight", "[3]"});
  expect_error(
      [] {
        linear(f32({2, 3}), f32({4, 3}), f32({5}));
      },
      {"linear", "bias", "[5]", "[4,3]"});
  expect_error([] { linear(f32({2, 3}), f32({4, 3}), f32({1, 4})); }, {"linear", "bias", "[1,4]"});
}

TEST(Errors, LayerNorm) {
  expect_error(
      [] {
        layer_norm(f32({2, 3}), f32({4}), Tensor());
      },
      {"layer_norm", "weight", "[4]", "[2,3]"});
  expect_error(
      [] {
        layer_norm(f32({2, 3}), Tensor(), f32({2}));
      },
      {"layer_norm", "bias", "[2]", "[2,3]"});
  expect_error(
      [] {
        layer_norm(f32({2, 3}), f32({1, 3}), Tensor());
      },
      {"layer_norm", "weight", "[1,3]"});
  expect_error([] { layer_norm(f32({}), Tensor(), Tensor()); }, {"layer_norm", "scalar"});
}

TEST(Errors, CrossEntropyTargets) {
  expect_error(
      [] {
        cross_entropy(f32({4, 3}), i32({3}));
      },
      {"cross_entropy", "targets", "[3]", "[4,3]"});
  expect_error(
      [] {
        cross_entropy(f32({2, 4, 3}), i32({2, 3}));
      },
      {"cross_entropy", "[2,3]", "[2,4,3]"});
  const Tensor logits = f32({3, 4});
  expect_error(
      [&] {
        cross_entropy(logits, Tensor::from_indices({0, 4, 1}, {3}));
      },
      {"cross_entropy", "target 4", "position 1", "[0, 4)"});
  expect_error(
      [&] {
        cross_entropy(logits, Tensor::from_indices({0, 1, -1}, {3}));
      },
      {"cross_entropy", "target -1", "position 2"});
  // A target equal to ignore_index is fine, another negative value is not.
  EXPECT_NO_THROW(cross_entropy(logits, Tensor::from_indices({0, -100, 1}, {3})));
  expect_error(
      [&] {
        cross_entropy(logits, Tensor::from_indices({0, -100, 1}, {3}), {.ignore_index = -1});
      },
      {"cross_entropy", "target -100"});
  expect_error([&] { cross_entropy(logits, i32({3}), {.label_smoothing = 1.5f}); },
               {"cross_entropy", "label_smoothing", "1.5"});
}

TEST(Errors, CrossEntropyNonFiniteLogits) {
  const Tensor t = Tensor::from_indices({0, 1}, {2});
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  expect_error(
      [&] {
        cross_entropy(Tensor::from_vector({0, 1, nan, 2}, {2, 2}), t);
      },
      {"cross_entropy", "nan", "[2,2]", "index 2"});
  expect_error(
      [&] {
        cross_entropy(Tensor::from_vector({0, inf, 1, 2}, {2, 2}), t);
      },
      {"cross_entropy", "inf", "index 1"});
  expect_error(
      [&] {
        cross_entropy(Tensor::from_vector({0, 1, 2, -inf}, {2, 2}), t);
      },
      {"cross_entropy", "-inf", "index 3"});
}

TEST(Errors, Embedding) {
  const Tensor w = f32({5, 3});
  expect_error(
      [&] {
        embedding(w, Tensor::from_indices({1, 5, 2}, {3}));
      },
      {"embedding", "id 5", "position 1", "[0, 5)", "[5,3]"});
  expect_error([&] { embedding(w, Tensor::from_indices({-1}, {1})); }, {"embedding", "id -1"});
  expect_error([&] { embedding(f32({5}), i32({2})); }, {"embedding", "weight", "[5]"});
}

TEST(Errors, Concat) {
  expect_error([] { concat({f32({2, 3}), f32({3, 4})}, 0); }, {"concat", "[3,4]", "[2,3]"});
  expect_error([] { concat({f32({2, 3}), f32({2, 3, 1})}, 0); }, {"concat", "[2,3,1]", "[2,3]"});
  expect_error([] { concat({}, 0); }, {"concat", "no tensors"});
  expect_error([] { concat({f32({2, 3}), f32({2, 3})}, 2); }, {"concat", "axis 2"});
}

TEST(Errors, ViewsAndShapes) {
  const Tensor x = f32({2, 3});
  expect_error([&] { permute(x, {0, 0}); }, {"permute", "repeated", "[2,3]"});
  expect_error([&] { x.permute({0}); }, {"permute", "[2,3]"});
  expect_error([&] { x.permute({0, 2}); }, {"permute", "axis 2"});
  expect_error([&] { x.reshape({4}); }, {"reshape", "[2,3]", "[4]", "6", "4"});
  expect_error([&] { x.expand({4, 3}); }, {"expand", "[2,3]", "[4,3]"});
  expect_error([&] { x.expand({3}); }, {"expand", "[2,3]", "[3]"});
  expect_error([&] { x.squeeze(0); }, {"squeeze", "[2,3]"});
  expect_error([&] { x.unsqueeze(3); }, {"unsqueeze", "axis 3"});
  expect_error([&] { x.flatten(1, 0); }, {"flatten"});
  expect_error([&] { x.slice(0, 0, 2, 0); }, {"slice", "step"});
  expect_error([&] { Tensor::from_vector({1, 2, 3}, {2, 2}); }, {"from_vector", "[2,2]"});
  expect_error([&] { Tensor::zeros({2, -1}); }, {"shape", "-1"});
  expect_error([&] { Tensor::zeros({1, 1, 1, 1, 1, 1, 1}); }, {"shape", "rank"});
  expect_error([&] { x.item(); }, {"item", "[2,3]"});
  expect_error([&] { sum_to(x, {3, 3}); }, {"sum_to", "[3,3]", "[2,3]"});
  expect_error([&] { sum_to(x, {1, 2, 3}); }, {"sum_to", "[1,2,3]", "[2,3]"});
}

TEST(Errors, AxisOutOfRange) {
  const Tensor x = f32({2, 3});
  expect_error([&] { sum(x, {2}); }, {"sum", "axis 2", "rank 2"});
  expect_error([&] { mean(x, {-3}); }, {"mean", "axis -3", "rank 2"});
  expect_error([&] { max(x, {5}); }, {"max", "axis 5"});
  expect_error([&] { sum(x, {1, 1}); }, {"sum", "repeated", "[2,3]"});
  expect_error([&] { softmax(x, 2); }, {"softmax", "axis 2"});
  expect_error([&] { log_softmax(x, -3); }, {"log_softmax", "axis -3"});
  expect_error([&] { x.slice(2, 0, 1); }, {"slice", "axis 2"});
  expect_error([&] { x.transpose(0, 2); }, {"transpose", "axis 2"});
  expect_error([&] { x.size(2); }, {"axis 2"});
  expect_error([&] { softmax(f32({}), 0); }, {"softmax", "scalar"});
}

// ---- empty tensors -----------------------------------------------------------------------------

TEST(Errors, EmptyReductions) {
  expect_error([] { max(f32({2, 0}), {1}); }, {"max", "[2,0]"});
  expect_error([] { mean(f32({2, 0}), {1}); }, {"mean", "[2,0]"});
  expect_error([] { max(f32({0})); }, {"max", "[0]"});
  expect_error([] { mean(f32({0, 3})); }, {"mean", "[0,3]"});
  // Reducing a non-empty axis of an empty tensor is fine: the result is empty too.
  EXPECT_EQ(max(f32({0, 3}), {1}).shape(), Shape({0}));
  // The sum of nothing is 0.
  EXPECT_EQ(sum(f32({2, 0}), {1}).to_vector(), std::vector<float>({0, 0}));
}

TEST(Errors, EmptySoftmaxAxis) {
  expect_error([] { softmax(f32({2, 0}), -1); }, {"softmax", "[2,0]", "empty"});
  expect_error([] { log_softmax(f32({0, 3}), 0); }, {"log_softmax", "[0,3]", "empty"});
  // An empty batch over a non-empty axis is fine.
  EXPECT_EQ(softmax(f32({0, 3}), -1).shape(), Shape({0, 3}));
}

TEST(Errors, EmptyLayerNormAndCrossEntropy) {
  expect_error([] { layer_norm(f32({2, 0}), Tensor(), Tensor()); }, {"layer_norm", "[2,0]"});
  expect_error([] { cross_entropy(f32({2, 0}), i32({2})); }, {"cross_entropy", "[2,0]", "classes"});
}

// ---- dtypes ------------------------------------------------------------------------------------

TEST(Errors, I32WhereF32Expected) {
  const Tensor ids = i32({2, 3}), x = f32({2, 3});
  expect_error([&] { add(ids, x); }, {"add", "f32", "i32", "[2,3]"});
  expect_error([&] { mul(x, ids); }, {"mul", "b", "i32"});
  expect_error([&] { exp(ids); }, {"exp", "i32"});
  expect_error([&] { sum(ids); }, {"sum", "i32"});
  expect_error([&] { max(ids, {0}); }, {"max", "i32"});
  expect_error([&] { matmul(ids, f32({3, 2})); }, {"matmul", "i32"});
  expect_error([&] { linear(x, i32({4, 3})); }, {"linear", "weight", "i32"});
  expect_error([&] { softmax(ids); }, {"softmax", "i32"});
  expect_error([&] { layer_norm(ids, Tensor(), Tensor()); }, {"layer_norm", "i32"});
  expect_error([&] { dropout(ids, 0.5f); }, {"dropout", "i32"});
  expect_error([&] { embedding(ids, i32({2})); }, {"embedding", "weight", "i32"});
  expect_error([&] { cross_entropy(ids, i32({2})); }, {"cross_entropy", "logits", "i32"});
  expect_error([&] { concat({x, ids}, 0); }, {"concat", "i32"});
  expect_error([&] { where(f32({3}), ids, x); }, {"where", "i32"});
  expect_error([&] { masked_fill(ids, f32({3}), 0.0f); }, {"masked_fill", "i32"});
  expect_error([&] { ids.data(); }, {"f32", "i32"});
  expect_error([&] { Tensor(ids).requires_grad_(); }, {"requires_grad", "i32"});
}

TEST(Errors, F32WhereI32Expected) {
  expect_error([] { embedding(f32({5, 3}), f32({2})); }, {"embedding", "ids", "i32", "f32"});
  expect_error(
      [] {
        cross_entropy(f32({2, 3}), f32({2}));
      },
      {"cross_entropy", "targets", "i32", "f32"});
  expect_error([] { f32({2}).data_i32(); }, {"i32", "f32"});
}

// ---- NaN and check-finite mode -----------------------------------------------------------------

TEST(Errors, CheckFiniteNamesTheOp) {
  {
    CheckFiniteScope on;
    expect_error([] { log(Tensor::from_vector({1, -1}, {2})); }, {"log", "[2]", "non-finite"});
    expect_error([] { sqrt(Tensor::from_vector({-4}, {1})); }, {"sqrt"});
    expect_error([] { div(Tensor::ones({2}), Tensor::zeros({2})); }, {"div", "inf"});
    expect_error([] { exp(Tensor::full({3}, 100.0f)); }, {"exp"});
    expect_error(
        [] {
          matmul(Tensor::full({1, 2}, 3e38f), Tensor::full({2, 1}, 10.0f));
        },
        {"matmul"});
    EXPECT_NO_THROW(log(Tensor::from_vector({1, 2}, {2})));
  }
  // Off (the default): the same call returns NaN quietly.
  set_check_finite(false);
  EXPECT_TRUE(std::isnan(log(Tensor::from_vector({-1}, {1})).item()));
}

// ---- undefined tensors and autograd misuse -----------------------------------------------------

TEST(Errors, UndefinedTensors) {
  const Tensor u, x = f32({2, 3});
  expect_error([&] { add(u, x); }, {"add", "undefined"});
  expect_error([&] { add(x, u); }, {"add", "undefined"});
  expect_error([&] { exp(u); }, {"exp", "undefined"});
  expect_error([&] { sum(u); }, {"sum", "undefined"});
  expect_error([&] { matmul(u, x); }, {"matmul", "undefined"});
  expect_error([&] { linear(u, f32({4, 3})); }, {"linear", "undefined"});
  expect_error([&] { linear(x, u); }, {"linear", "weight", "undefined"});
  expect_error([&] { softmax(u); }, {"softmax", "undefined"});
  expect_error([&] { embedding(f32({4, 3}), u); }, {"embedding", "ids", "undefined"});
  expect_error([&] { cross_entropy(x, u); }, {"cross_entropy", "targets", "undefined"});
  expect_error([&] { where(u, x, x); }, {"where", "undefined"});
  expect_error([&] { masked_fill(x, u, 0.0f); }, {"masked_fill", "undefined"});
  expect_error([&] { concat({x, u}, 0); }, {"concat", "undefined"});
  expect_error([&] { u.shape(); }, {"undefined"});
  expect_error([&] { u.backward(); }, {"undefined"});
  EXPECT_FALSE(u.defined());
  EXPECT_EQ(u.str(), "Tensor(undefined)");
}

TEST(Errors, BackwardOnNonScalarWithoutGradient) {
  Tensor x = Tensor::ones({2, 3}).requires_grad_();
  Tensor y = mul(x, 2.0f);
  expect_error([&] { y.backward(); }, {"backward", "[2,3]"});
  expect_error([&] { y.backward(Tensor::ones({3, 2})); }, {"backward", "[3,2]", "[2,3]"});
}

TEST(Errors, BackwardWithoutHistory) {
  expect_error([] { sum(Tensor::ones({2})).backward(); }, {"backward", "does not require grad"});
}

TEST(Errors, SecondBackwardThroughFreedGraph) {
  Tensor x = Tensor::ones({2, 3}).requires_grad_();
  Tensor loss = sum(exp(x));
  loss.backward();
  expect_error([&] { loss.backward(); }, {"backward", "freed"});
  // Reaching a freed node from a new root also fails, naming that node's op.
  Tensor y = exp(x);
  Tensor a = sum(y);
  a.backward();
  expect_error([&] { sum(mul(y, 2.0f)).backward(); }, {"backward", "exp", "freed"});
}

TEST(Errors, RequiresGradOnNonLeaf) {
  Tensor x = Tensor::ones({2}).requires_grad_();
  Tensor y = exp(x);
  expect_error([&] { y.requires_grad_(); }, {"requires_grad", "leaf"});
  EXPECT_NO_THROW(y.detach().requires_grad_());
}

TEST(Errors, BadArguments) {
  expect_error([] { dropout(f32({3}), 1.5f); }, {"dropout", "1.5"});
  expect_error([] { dropout(f32({3}), -0.1f); }, {"dropout"});
  expect_error([] { Tensor::uniform({2}, 1.0f, 0.0f); }, {"uniform"});
  expect_error([] { Tensor::normal({2}, 0.0f, -1.0f); }, {"normal"});
  expect_error([] { Tensor::bernoulli({2}, 2.0f); }, {"bernoulli"});
  expect_error([] { layer_norm(f32({2, 3}), Tensor(), Tensor(), -1.0f); }, {"layer_norm", "eps"});
  expect_error([] { set_num_threads(0); }, {"set_num_threads"});
  expect_error([] { Tensor::ones({2}).set_grad(Tensor::ones({3})); }, {"set_grad", "[3]", "[2]"});
}

}  // namespace
}  // namespace focus
