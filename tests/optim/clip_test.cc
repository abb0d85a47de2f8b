// clip_grad_norm and grad_norm against hand-computed values, and gradient accumulation: k
// micro-batches with loss/k give the gradients (and the step) of one big batch.
#include <cmath>

#include "optim_fixture.h"

namespace focus {
namespace {

using optim::NamedTensors;
using test::expect_error;

NamedTensors with_grads(const std::vector<std::pair<Shape, std::vector<float>>>& grads) {
  NamedTensors out;
  int i = 0;
  for (const auto& [shape, g] : grads) {
    Tensor p = Tensor::zeros(shape).requires_grad_();
    p.set_grad(Tensor::from_vector(g, shape));
    out.emplace_back("p" + std::to_string(i++), p);
  }
  return out;
}

TEST(ClipGradNorm, ScalesToMaxNormAndReturnsNormBefore) {
  // ||(3, 4, 12)|| = 13 across two tensors.
  NamedTensors params = with_grads({{{2}, {3, 4}}, {{1, 1}, {12}}});
  Tensor no_grad = Tensor::full({5}, 100.0f).requires_grad_();  // skipped: no gradient
  params.emplace_back("frozen", no_grad);
  EXPECT_FLOAT_EQ(optim::grad_norm(params), 13.0f);
  EXPECT_FLOAT_EQ(optim::clip_grad_norm(params, 6.5f), 13.0f);
  const float c = float(6.5 / (13.0 + 1e-6));  // as torch: max_norm / (norm + 1e-6)
  EXPECT_FLOAT_EQ(params[0].second.grad().to_vector()[0], 3 * c);
  EXPECT_FLOAT_EQ(params[0].second.grad().to_vector()[1], 4 * c);
  EXPECT_FLOAT_EQ(params[1].second.grad().to_vector()[0], 12 * c);
  EXPECT_NEAR(optim::grad_norm(params), 6.5f, 1e-5f);
  EXPECT_FALSE(no_grad.grad().defined());
}

TEST(ClipGradNorm, BelowMaxNormLeavesGradientsUntouched) {
  NamedTensors params = with_grads({{{3}, {1, 2, 2}}});
  const Tensor before = params[0].second.grad().clone();
  EXPECT_FLOAT_EQ(optim::clip_grad_norm(params, 3.5f), 3.0f);
  EXPECT_TRUE(test::bit_identical(params[0].second.grad(), before));
}

TEST(ClipGradNorm, NoGradientsIsZero) {
  NamedTensors params = {{"w", Tensor::ones({3}).requires_grad_()}};
  EXPECT_EQ(optim::grad_norm(params), 0.0f);
  EXPECT_EQ(optim::clip_grad_norm(params, 1.0f), 0.0f);
  EXPECT_EQ(optim::grad_norm({}), 0.0f);
}

TEST(ClipGradNorm, NonContiguousGradientIsScaledToo) {
  Tensor p = Tensor::zeros({2, 3}).requires_grad_();
  p.set_grad(Tensor::from_vector({0, 3, 0, 4, 0, 0}, {3, 2}).transpose(0, 1));  // [[0,0,0],[3,4,0]]
  NamedTensors params = {{"p", p}};
  EXPECT_FLOAT_EQ(optim::clip_grad_norm(params, 1.0f), 5.0f);
  const std::vector<float> g = p.grad().to_vector();
  EXPECT_NEAR(g[3], 0.6f, 1e-6f);
  EXPECT_NEAR(g[4], 0.8f, 1e-6f);
}

TEST(ClipGradNorm, NonFiniteIsAnErrorNamingTheParameter) {
  NamedTensors params = with_grads({{{2}, {1, 2}}, {{2, 2}, {1, NAN, 0, 0}}});
  expect_error([&] { optim::clip_grad_norm(params, 1.0f); }, {"clip_grad_norm", "'p1'", "[2,2]"});
  EXPECT_EQ(params[0].second.grad().to_vector()[1], 2.0f);  // nothing was scaled
  expect_error([&] { optim::clip_grad_norm(params, 0.0f); }, {"clip_grad_norm", "max_norm"});
}

TEST(ClipGradNorm, SameBitsOnAnyThreadCountAndDoubleAccurate) {
  // Big enough for several chunks of the parallel sum.
  Tensor p = Tensor::zeros({300001}).requires_grad_();
  p.set_grad(test::random_tensor({300001}, 7));
  const NamedTensors params = {{"p", p}};
  const int threads = num_threads();
  set_num_threads(1);
  const float one = optim::grad_norm(params);
  set_num_threads(2);
  const float two = optim::grad_norm(params);
  set_num_threads(threads);
  EXPECT_EQ(one, two);
  double ref = 0;
  for (float v : p.grad().to_vector()) ref += double(v) * v;
  EXPECT_EQ(one, float(std::sqrt(ref)));
}

TEST(GradientAccumulation, MicroBatchesWithLossOverKEqualOneBigBatch) {
  const Tensor x = test::random_tensor({8, 5}, 1);  // [B,In]
  const Tensor y = Tensor::from_indices({0, 2, 1, 1, 0, 2, 2, 1}, {8});
  auto make = [] {
    return NamedTensors{{"w", test::random_tensor({3, 5}, 2).requires_grad_()},
                        {"b", test::random_tensor({3}, 3).requires_grad_()}};
  };
  NamedTensors big = make(), small = make();
  optim::Adam big_opt(big, {.lr = 0.1f}), small_opt(small, {.lr = 0.1f});

  cross_entropy(linear(x, big[0].second, big[1].second), y).backward();

  const int k = 4;  // micro-batches of 2; the mean over 8 is the mean of 4 means over 2
  for (int i = 0; i < k; ++i) {
    const Tensor xi = x.slice(0, 2 * i, 2 * i + 2);
    const Tensor yi = Tensor::from_indices({y.data_i32()[2 * i], y.data_i32()[2 * i + 1]}, {2});
    (cross_entropy(linear(xi, small[0].second, small[1].second), yi) / float(k)).backward();
  }
  // Sums in another order: equal to f32 rounding, not to the bit.
  for (size_t i = 0; i < big.size(); ++i)
    FOCUS_EXPECT_CLOSE(small[i].second.grad(), big[i].second.grad(), 1e-5f, 1e-7f) << big[i].first;
  big_opt.step();
  small_opt.step();
  for (size_t i = 0; i < big.size(); ++i)
    FOCUS_EXPECT_CLOSE(small[i].second, big[i].second, 1e-5f, 1e-6f) << big[i].first;
}

}  // namespace
}  // namespace focus
