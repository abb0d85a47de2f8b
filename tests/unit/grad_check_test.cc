// The finite-difference checker itself: it must pass a correct backward and fail a wrong one, or
// the whole grad suite proves nothing.
#include <cmath>

#include "test_util.h"

namespace focus {
namespace {

// y = x² with a backward that returns scale·2x·g (scale 1: correct).
Tensor square_with_backward(const Tensor& x, float scale) {
  Tensor y;
  {
    autograd::NoGradGuard no_grad;
    y = mul(x, x);
  }
  Tensor xd = x.detach();
  autograd::record("test_square", y, {x}, [xd, scale](const Tensor& g, const autograd::Needs&) {
    return std::vector<Tensor>{mul(mul(g, xd), 2.0f * scale)};
  });
  return y;
}

TEST(GradCheck, PassesACorrectBackward) {
  EXPECT_TRUE(
      test::check_gradients([](const auto& in) { return square_with_backward(in[0], 1.0f); },
                            {test::random_tensor({3, 4}, 1)}));
}

TEST(GradCheck, FailsAWrongBackward) {
  // 5% off is beyond the 2e-2 tolerance.
  EXPECT_FALSE(
      test::check_gradients([](const auto& in) { return square_with_backward(in[0], 1.05f); },
                            {test::random_tensor({3, 4}, 2)}));
  EXPECT_FALSE(
      test::check_gradients([](const auto& in) { return square_with_backward(in[0], -1.0f); },
                            {test::random_tensor({3, 4}, 3)}));
}

TEST(GradCheck, FailsWhenNothingIsRecordedOrAnInputIsMissed) {
  EXPECT_FALSE(test::check_gradients(
      [](const auto& in) {
        autograd::NoGradGuard no_grad;
        return exp(in[0]);
      },
      {test::random_tensor({2}, 4)}));
  // The second input influences the output but its gradient is cut by detach.
  EXPECT_FALSE(test::check_gradients([](const auto& in) { return mul(in[0], in[1].detach()); },
                                     {test::random_tensor({2}, 5), test::random_tensor({2}, 6)}));
}

TEST(GradCheck, LeavesTheCallersTensorsUntouched) {
  const Tensor x = test::random_tensor({4}, 7);
  const std::vector<float> before = x.to_vector();
  EXPECT_TRUE(test::check_gradients([](const auto& in) { return exp(in[0]); }, {x}));
  EXPECT_EQ(x.to_vector(), before);
  EXPECT_FALSE(x.grad().defined());
}

TEST(TestUtil, AllCloseAndRandom) {
  EXPECT_TRUE(test::all_close(Tensor::ones({2}), Tensor::full({2}, 1.001f), 0, 2e-3f));
  EXPECT_FALSE(test::all_close(Tensor::ones({2}), Tensor::full({2}, 1.01f), 0, 2e-3f));
  EXPECT_FALSE(test::all_close(Tensor::ones({2}), Tensor::ones({3}), 1, 1));
  EXPECT_EQ(test::random_tensor({5}, 3).to_vector(), test::random_tensor({5}, 3).to_vector());
  for (float v : test::random_away_from_zero({100}, 4, 0.2f, 1.0f).to_vector()) {
    EXPECT_GE(std::fabs(v), 0.2f);
    EXPECT_LT(std::fabs(v), 1.0f);
  }
}

}  // namespace
}  // namespace focus
