// Finite-difference checks of sum, mean, max and sum_to over single axes, several (adjacent and
// non-adjacent) axes and all axes, with and without keepdim. Tolerance as in
// elementwise_grad_test.cc: these ops are linear (or piecewise linear for max), so the central
// difference is exact up to f32 rounding and 2e-2 is loose; it is the same bound everywhere so a
// reader compares like with like.
#include <algorithm>
#include <numeric>
#include <random>

#include "test_util.h"

namespace focus {
namespace {

using test::check_gradients;
using test::random_tensor;

struct Axes {
  std::vector<int> axes;
  bool keepdim;
};

const Axes kAxes[] = {
    {{}, false},    {{}, true},      {{0}, false},      {{1}, true},
    {{-1}, false},  {{0, 1}, false}, {{1, 2}, true},    {{0, 2}, false},
    {{0, 2}, true}, {{2, 0}, false}, {{0, 1, 2}, true},
};

std::string describe(const Axes& a) {
  std::string s = "axes {";
  for (int x : a.axes) s += std::to_string(x) + ",";
  return s + "} keepdim " + std::to_string(a.keepdim);
}

// Distinct values 0.1 apart in a shuffled order: max has a unique winner and no ±eps probe can
// change which element wins.
Tensor distinct(const Shape& shape, uint32_t seed) {
  std::vector<float> v(shape.numel());
  std::iota(v.begin(), v.end(), 0.0f);
  std::shuffle(v.begin(), v.end(), std::mt19937(seed));
  for (float& x : v) x = 0.1f * x - 1.0f;
  return Tensor::from_vector(v, shape);
}

TEST(GradReduce, Sum) {
  const Tensor x = random_tensor({2, 3, 4}, 31);
  for (const Axes& a : kAxes) {
    SCOPED_TRACE(describe(a));
    FOCUS_EXPECT_GRADIENTS([&](const auto& in) { return sum(in[0], a.axes, a.keepdim); }, {x});
  }
}

TEST(GradReduce, Mean) {
  const Tensor x = random_tensor({2, 3, 4}, 32);
  for (const Axes& a : kAxes) {
    SCOPED_TRACE(describe(a));
    FOCUS_EXPECT_GRADIENTS([&](const auto& in) { return mean(in[0], a.axes, a.keepdim); }, {x});
  }
}

TEST(GradReduce, Max) {
  const Tensor x = distinct({2, 3, 4}, 33);
  for (const Axes& a : kAxes) {
    SCOPED_TRACE(describe(a));
    FOCUS_EXPECT_GRADIENTS([&](const auto& in) { return max(in[0], a.axes, a.keepdim); }, {x});
  }
}

TEST(GradReduce, MaxRank4NonAdjacent) {
  const Tensor x = distinct({2, 3, 2, 3}, 34);
  for (std::vector<int> axes : {std::vector<int>{1, 3}, {0, 2}, {0, 3}, {0, 1, 3}}) {
    FOCUS_EXPECT_GRADIENTS([&](const auto& in) { return max(in[0], axes, false); }, {x});
    FOCUS_EXPECT_GRADIENTS([&](const auto& in) { return sum(in[0], axes, true); }, {x});
  }
}

TEST(GradReduce, OfNonContiguousInput) {
  const Tensor x = random_tensor({3, 4, 2}, 35);
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return sum(in[0].permute({2, 0, 1}), {1}); }, {x});
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return mean(in[0].slice(1, 0, 4, 2), {0, 2}); }, {x});
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return max(in[0].transpose(0, 1), {1}, true); },
                         {distinct({3, 4, 2}, 36)});
}

TEST(GradReduce, SumTo) {
  struct Case {
    Shape from, to;
  } cases[] = {{{3, 4}, {4}},          {{3, 4}, {3, 1}}, {{2, 3, 4}, {3, 1}}, {{2, 3, 4}, {1, 1}},
               {{2, 3, 4}, {2, 1, 4}}, {{3, 4}, {3, 4}}, {{2, 3}, {}}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.from.str() + " -> " + c.to.str());
    // The identity case returns its input unchanged, so mul by 1.5 to have something recorded.
    FOCUS_EXPECT_GRADIENTS([&](const auto& in) { return sum_to(mul(in[0], 1.5f), c.to); },
                           {random_tensor(c.from, 37)});
  }
}

}  // namespace
}  // namespace focus
