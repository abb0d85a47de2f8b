// The autograd engine: accumulation, grad modes, detach, shared inputs, freeing the graph, deep
// graphs. Expected gradients are worked out by hand.
#include <cmath>

#include "test_util.h"

namespace focus {
namespace {

Tensor leaf(const std::vector<float>& v, const Shape& s) {
  return Tensor::from_vector(v, s).requires_grad_();
}

TEST(Autograd, GradientsAccumulateAcrossBackwardPasses) {
  Tensor x = leaf({1, 2, 3}, {3});
  sum(mul(x, x)).backward();  // d/dx Σx² = 2x
  EXPECT_EQ(x.grad().to_vector(), std::vector<float>({2, 4, 6}));
  sum(mul(x, 3.0f)).backward();  // + 3
  EXPECT_EQ(x.grad().to_vector(), std::vector<float>({5, 7, 9}));
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
  sum(x).backward();
  EXPECT_EQ(x.grad().to_vector(), std::vector<float>({1, 1, 1}));
}

TEST(Autograd, GradIsAPrivateCopyOfTheSeed) {
  // The first gradient must not alias the caller's seed tensor: accumulating into the leaf later
  // would otherwise write into it.
  Tensor x = leaf({1, 2}, {2});
  Tensor seed = Tensor::from_vector({1, 1}, {2});
  x.backward(seed);
  EXPECT_FALSE(x.grad().shares_storage(seed));
  x.backward(seed);
  EXPECT_EQ(x.grad().to_vector(), std::vector<float>({2, 2}));
  EXPECT_EQ(seed.to_vector(), std::vector<float>({1, 1}));
}

TEST(Autograd, AccumulatesIntoANonContiguousUserGradient) {
  // set_grad with a view: the next backward must add to its logical values, not walk its memory
  // as if it were contiguous. d/dx Σ x ⊙ c = c.
  Tensor x = leaf({1, 2, 3, 4, 5, 6}, {2, 3});
  x.set_grad(Tensor::from_vector({10, 20, 30, 40, 50, 60}, {3, 2}).transpose(0, 1));
  sum(mul(x, Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}))).backward();
  EXPECT_EQ(x.grad().to_vector(), std::vector<float>({11, 32, 53, 24, 45, 66}));
  // An expanded (stride-0) gradient: one element of storage behind three logical ones.
  Tensor y = leaf({1, 2, 3}, {3});
  y.set_grad(Tensor::zeros({1}).expand({3}));
  sum(mul(y, y)).backward();
  EXPECT_EQ(y.grad().to_vector(), std::vector<float>({2, 4, 6}));
}

TEST(Autograd, NoGradGuardRecordsNothing) {
  Tensor x = leaf({1, 2}, {2});
  {
    autograd::NoGradGuard guard;
    EXPECT_FALSE(autograd::grad_enabled());
    Tensor y = exp(mul(x, 2.0f));
    EXPECT_FALSE(y.requires_grad());
    EXPECT_EQ(y.grad_fn(), nullptr);
    Tensor v = x.reshape({2, 1}).transpose(0, 1);
    EXPECT_FALSE(v.requires_grad());
    EXPECT_EQ(v.grad_fn(), nullptr);
    Tensor m = matmul(v, x.reshape({2, 1}));
    EXPECT_EQ(m.grad_fn(), nullptr);
    { autograd::NoGradGuard nested; }
    EXPECT_FALSE(autograd::grad_enabled());  // the inner guard restores "off", not "on"
  }
  EXPECT_TRUE(autograd::grad_enabled());
  Tensor z = exp(x);
  EXPECT_TRUE(z.requires_grad());
  ASSERT_NE(z.grad_fn(), nullptr);
  EXPECT_EQ(z.grad_fn()->op(), "exp");
}

TEST(Autograd, DetachStopsGradients) {
  Tensor x = leaf({1, 2, 3}, {3});
  // y = x · stop(x): the gradient is stop(x) = x, not 2x.
  Tensor y = mul(x, x.detach());
  sum(y).backward();
  EXPECT_EQ(x.grad().to_vector(), std::vector<float>({1, 2, 3}));
  Tensor d = exp(x).detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_TRUE(d.is_leaf());
  EXPECT_EQ(d.grad_fn(), nullptr);
}

TEST(Autograd, TensorUsedTwiceGetsBothContributions) {
  Tensor x = leaf({1, -2, 3}, {3});
  sum(mul(x, x)).backward();
  EXPECT_EQ(x.grad().to_vector(), std::vector<float>({2, -4, 6}));
  // Through two different paths: y = exp(x) + 2x -> exp(x) + 2.
  Tensor a = leaf({0, 1}, {2});
  sum(add(exp(a), mul(a, 2.0f))).backward();
  std::vector<float> g = a.grad().to_vector();
  EXPECT_NEAR(g[0], 1.0f + 2.0f, 1e-6);
  EXPECT_NEAR(g[1], std::exp(1.0f) + 2.0f, 1e-6);
  // A diamond: h = x·2; y = h·h + h -> dy/dx = 2·(2h + 1).
  Tensor b = leaf({1, 2}, {2});
  Tensor h = mul(b, 2.0f);
  sum(add(mul(h, h), h)).backward();
  EXPECT_EQ(b.grad().to_vector(), std::vector<float>({10, 18}));
}

TEST(Autograd, GraphIsFreedAfterBackward) {
  Tensor x = leaf({1, 2}, {2});
  Tensor y = exp(x);
  Tensor loss = sum(y);
  loss.backward();
  ASSERT_NE(y.grad_fn(), nullptr);
  EXPECT_TRUE(y.grad_fn()->released());
  EXPECT_TRUE(y.grad_fn()->next.empty());
  EXPECT_THROW(loss.backward(), Error);
  // Leaves keep their gradient; a fresh forward pass can run backward again.
  Tensor again = sum(exp(x));
  again.backward();
  EXPECT_NEAR(x.grad().to_vector()[1], 2 * std::exp(2.0f), 1e-5);
}

TEST(Autograd, SavedTensorsAreFreedAfterBackward) {
  Tensor x = leaf({1, 2, 3}, {3});
  std::weak_ptr<Storage> saved;
  Tensor loss;
  {
    Tensor y = exp(x);  // exp saves its output for backward
    saved = y.impl().storage;
    loss = sum(y);
  }
  // Only the exp node keeps y's storage alive now; backward frees the graph and with it y.
  EXPECT_FALSE(saved.expired());
  loss.backward();
  ASSERT_NE(loss.grad_fn(), nullptr);
  EXPECT_TRUE(loss.grad_fn()->released());
  EXPECT_TRUE(saved.expired());
}

TEST(Autograd, DeepChainDoesNotOverflowTheStack) {
  // 20000 nodes: recursion over the graph (ordering, freeing, or destroying it) would need
  // ~20000 nested frames; the default 8 MiB stack cannot hold that many with sanitizers on.
  Tensor x = leaf({1, 2}, {2});
  Tensor y = x;
  for (int i = 0; i < 20000; ++i) y = add(y, x);
  sum(y).backward();
  EXPECT_EQ(x.grad().to_vector(), std::vector<float>({20001, 20001}));
}

TEST(Autograd, DeepChainDroppedWithoutBackward) {
  Tensor x = leaf({1}, {1});
  {
    Tensor y = x;
    for (int i = 0; i < 100000; ++i) y = mul(y, 1.0f);
  }  // destroying the unused graph must not recurse either (overflowed in the sanitizer build)
  SUCCEED();
}

TEST(Autograd, EmptyBatchGradients) {
  // No rows: every parameter gradient is an empty sum, i.e. zeros (not uninitialised memory).
  Tensor x = Tensor::zeros({0, 4}).requires_grad_();
  Tensor w = Tensor::ones({3, 4}).requires_grad_(), b = Tensor::ones({3}).requires_grad_();
  sum(linear(x, w, b)).backward();
  EXPECT_EQ(w.grad().to_vector(), std::vector<float>(12, 0.0f));
  EXPECT_EQ(b.grad().to_vector(), std::vector<float>(3, 0.0f));
  EXPECT_EQ(x.grad().shape(), Shape({0, 4}));
  Tensor m = Tensor::ones({4, 2}).requires_grad_();
  sum(matmul(Tensor::zeros({0, 4}), m)).backward();
  EXPECT_EQ(m.grad().to_vector(), std::vector<float>(8, 0.0f));
  Tensor lw = Tensor::ones({4}).requires_grad_();
  sum(layer_norm(Tensor::zeros({0, 4}), lw, Tensor())).backward();
  EXPECT_EQ(lw.grad().to_vector(), std::vector<float>(4, 0.0f));
  Tensor e = Tensor::ones({3, 2}).requires_grad_();
  sum(embedding(e, Tensor::from_indices({}, {0}))).backward();
  EXPECT_EQ(e.grad().to_vector(), std::vector<float>(6, 0.0f));
}

// d/dx x^0 = 0 also at x = 0, where p·x^(p−1) would be 0·inf = NaN (as PyTorch gives 0).
TEST(Autograd, PowZeroExponentGradientAtZero) {
  Tensor x = leaf({0, 2}, {2});
  sum(pow(x, 0.0f)).backward();
  EXPECT_EQ(x.grad().to_vector(), std::vector<float>({0, 0}));
}

TEST(Autograd, BackwardFromNonScalarWithGradient) {
  Tensor x = leaf({1, 2, 3, 4}, {2, 2});
  Tensor y = mul(x, x);
  y.backward(Tensor::from_vector({1, 0, 0, 2}, {2, 2}));
  EXPECT_EQ(x.grad().to_vector(), std::vector<float>({2, 0, 0, 16}));
}

TEST(Autograd, BackwardFromALeaf) {
  Tensor x = leaf({5}, {1});
  x.backward();
  EXPECT_EQ(x.grad().to_vector(), std::vector<float>({1}));
}

TEST(Autograd, OnlyRequestedInputsGetGradients) {
  Tensor a = leaf({1, 2}, {2});
  Tensor b = Tensor::from_vector({3, 4}, {2});
  sum(mul(a, b)).backward();
  EXPECT_EQ(a.grad().to_vector(), std::vector<float>({3, 4}));
  EXPECT_FALSE(b.grad().defined());
  EXPECT_FALSE(b.requires_grad());
}

TEST(Autograd, ViewGradients) {
  // A slice's gradient lands on the sliced elements only.
  Tensor x = leaf({1, 2, 3, 4, 5, 6}, {2, 3});
  sum(x.slice(1, 0, 3, 2)).backward();
  EXPECT_EQ(x.grad().to_vector(), std::vector<float>({1, 0, 1, 1, 0, 1}));
  // An expanded row gets the sum over the broadcast axis.
  Tensor r = leaf({1, 2}, {2});
  Tensor e = r.expand({3, 2});
  e.backward(Tensor::from_vector({1, 2, 3, 4, 5, 6}, {3, 2}));
  EXPECT_EQ(r.grad().to_vector(), std::vector<float>({9, 12}));
  // A transposed view's gradient is transposed back.
  Tensor t = leaf({1, 2, 3, 4, 5, 6}, {2, 3});
  t.transpose(0, 1).backward(Tensor::from_vector({10, 40, 20, 50, 30, 60}, {3, 2}));
  EXPECT_EQ(t.grad().to_vector(), std::vector<float>({10, 20, 30, 40, 50, 60}));
}

TEST(Autograd, HandComputedOpGradients) {
  // softmax of two equal logits: p = 1/2 each; d(p0)/dx0 = p0(1−p0) = 1/4, d(p0)/dx1 = −1/4.
  Tensor x = leaf({0, 0}, {2});
  softmax(x).slice(0, 0, 1).backward(Tensor::ones({1}));
  EXPECT_EQ(x.grad().to_vector(), std::vector<float>({0.25f, -0.25f}));
  // max: the gradient goes to the first maximum.
  Tensor m = leaf({1, 3, 3, 2}, {4});
  max(m).backward();
  EXPECT_EQ(m.grad().to_vector(), std::vector<float>({0, 1, 0, 0}));
  // mean over an axis: 1/n each.
  Tensor n = leaf({1, 2, 3, 4, 5, 6}, {2, 3});
  sum(mean(n, {1})).backward();
  for (float v : n.grad().to_vector()) EXPECT_FLOAT_EQ(v, 1.0f / 3.0f);
  // cross_entropy with uniform logits over C=4 classes: dL/dx = p − onehot = 1/4 − [t == j].
  Tensor l = leaf({0, 0, 0, 0}, {1, 4});
  cross_entropy(l, Tensor::from_indices({2}, {1})).backward();
  EXPECT_EQ(l.grad().to_vector(), std::vector<float>({0.25f, 0.25f, -0.75f, 0.25f}));
  // embedding: repeated ids accumulate.
  Tensor w = leaf({1, 2, 3, 4, 5, 6}, {3, 2});
  sum(embedding(w, Tensor::from_indices({2, 0, 2}, {3}))).backward();
  EXPECT_EQ(w.grad().to_vector(), std::vector<float>({1, 1, 0, 0, 2, 2}));
}

}  // namespace
}  // namespace focus

namespace focus {
namespace {

// The accumulator may take a gradient nobody else holds, but never one the caller can still see.
TEST(AutogradAccumulate, NeverAliasesAVisibleGradient) {
  Tensor x = Tensor::from_vector({1, 2, 3}, {3}).requires_grad_();
  Tensor seed = Tensor::from_vector({1, 1, 1}, {3});
  x.backward(seed);  // root is the leaf itself: the seed is the caller's
  EXPECT_FALSE(x.grad().shares_storage(seed));
  x.backward(seed);  // accumulates in place into x.grad ...
  EXPECT_EQ(seed.to_vector(), std::vector<float>({1, 1, 1}));  // ... never into the seed
  EXPECT_EQ(x.grad().to_vector(), std::vector<float>({2, 2, 2}));

  // One gradient flowing to two leaves (add's backward hands g to both): each gets its own.
  Tensor a = Tensor::from_vector({1, 2}, {2}).requires_grad_();
  Tensor b = Tensor::from_vector({3, 4}, {2}).requires_grad_();
  (a + b).backward(Tensor::from_vector({1, 1}, {2}));
  EXPECT_FALSE(a.grad().shares_storage(b.grad()));
  sum(a * 2.0f).backward();
  EXPECT_EQ(a.grad().to_vector(), std::vector<float>({3, 3}));
  EXPECT_EQ(b.grad().to_vector(), std::vector<float>({1, 1}));
}

}  // namespace
}  // namespace focus
