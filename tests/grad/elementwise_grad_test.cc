// Finite-difference checks of the elementwise ops: binary (with broadcasting), scalar, unary.
//
// Tolerance: check_gradients' default relative-norm bound 2e-2 with eps 1e-2 unless stated. In f32
// the forward's rounding (~1e-7 relative, on a loss of magnitude ~10) divided by 2·eps adds ~1e-4
// of noise per numeric entry, and the central difference's truncation error eps²·f'''/6 is ~1e-5
// for these smooth functions on these ranges; a wrong formula (missing term, wrong sign, wrong
// broadcast reduction) gives errors of order 1, so 2e-2 separates the two with room on both sides.
#include "test_util.h"

namespace focus {
namespace {

using test::check_gradients;
using test::random_away_from_zero;
using test::random_tensor;

// ---- binary ------------------------------------------------------------------------------------

struct BinaryCase {
  const char* name;
  Shape a, b;
};

const BinaryCase kBinaryShapes[] = {
    {"same", {3, 4}, {3, 4}},           {"row", {3, 4}, {4}},       {"row_left", {4}, {3, 4}},
    {"both_expand", {2, 1, 4}, {3, 1}}, {"column", {3, 4}, {3, 1}}, {"scalar", {3, 4}, {}},
};

TEST(GradBinary, Add) {
  for (const auto& c : kBinaryShapes) {
    SCOPED_TRACE(c.name);
    FOCUS_EXPECT_GRADIENTS([](const auto& in) { return add(in[0], in[1]); },
                           {random_tensor(c.a, 1), random_tensor(c.b, 2)});
  }
}

TEST(GradBinary, Sub) {
  for (const auto& c : kBinaryShapes) {
    SCOPED_TRACE(c.name);
    FOCUS_EXPECT_GRADIENTS([](const auto& in) { return sub(in[0], in[1]); },
                           {random_tensor(c.a, 3), random_tensor(c.b, 4)});
  }
}

TEST(GradBinary, Mul) {
  for (const auto& c : kBinaryShapes) {
    SCOPED_TRACE(c.name);
    FOCUS_EXPECT_GRADIENTS([](const auto& in) { return mul(in[0], in[1]); },
                           {random_tensor(c.a, 5), random_tensor(c.b, 6)});
  }
}

TEST(GradBinary, Div) {
  // |b| >= 0.5 keeps the pole at 0 far from the ±eps probes; eps 1e-3 because the third
  // derivative 6a/b⁴ reaches ~100 there and eps²·f'''/6 must stay well under the tolerance.
  for (const auto& c : kBinaryShapes) {
    SCOPED_TRACE(c.name);
    FOCUS_EXPECT_GRADIENTS([](const auto& in) { return div(in[0], in[1]); },
                           {random_tensor(c.a, 7), random_away_from_zero(c.b, 8, 0.5f, 1.5f)},
                           1e-3f);
  }
}

TEST(GradBinary, SameTensorTwice) {
  // x ∘ x: both operand slots feed the same leaf, so the two contributions must add.
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return mul(in[0], in[0]); },
                         {random_tensor({3, 4}, 9)});
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return div(in[0], add(mul(in[0], in[0]), 1.0f)); },
                         {random_tensor({3, 4}, 10)});
}

TEST(GradBinary, Operators) {
  FOCUS_EXPECT_GRADIENTS(
      [](const auto& in) { return (in[0] + in[1]) * in[0] - in[1] / (in[0] * in[0] + 1.0f); },
      {random_tensor({2, 3}, 11), random_tensor({3}, 12)});
}

// ---- scalar and unary --------------------------------------------------------------------------

TEST(GradScalar, AddMulAndOperators) {
  const Tensor x = random_tensor({3, 4}, 13);
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return add(in[0], 2.5f); }, {x});
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return mul(in[0], -1.75f); }, {x});
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return in[0] - 0.5f; }, {x});
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return 3.0f * in[0]; }, {x});
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return in[0] / 4.0f; }, {x});
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return -in[0]; }, {x});
}

TEST(GradUnary, Neg) {
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return neg(in[0]); }, {random_tensor({3, 4}, 14)});
}

TEST(GradUnary, Exp) {
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return exp(in[0]); },
                         {random_tensor({3, 4}, 15, -2.0f, 2.0f)});
}

TEST(GradUnary, Log) {
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return log(in[0]); },
                         {random_tensor({3, 4}, 16, 0.5f, 3.0f)}, 1e-3f);
}

TEST(GradUnary, Sqrt) {
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return sqrt(in[0]); },
                         {random_tensor({3, 4}, 17, 0.5f, 3.0f)}, 1e-3f);
}

TEST(GradUnary, Pow) {
  const Tensor pos = random_tensor({3, 4}, 18, 0.5f, 2.0f);
  for (float p : {2.0f, 3.0f, 0.5f, -1.5f, 1.0f}) {
    SCOPED_TRACE(p);
    FOCUS_EXPECT_GRADIENTS([p](const auto& in) { return pow(in[0], p); }, {pos}, 1e-3f);
  }
  // Integer exponents on negative bases.
  const Tensor any = random_away_from_zero({3, 4}, 19, 0.2f, 1.5f);
  for (float p : {2.0f, 3.0f}) {
    SCOPED_TRACE(p);
    FOCUS_EXPECT_GRADIENTS([p](const auto& in) { return pow(in[0], p); }, {any}, 1e-3f);
  }
}

TEST(GradUnary, Tanh) {
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return tanh(in[0]); },
                         {random_tensor({3, 4}, 20, -3.0f, 3.0f)});
}

TEST(GradUnary, Sigmoid) {
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return sigmoid(in[0]); },
                         {random_tensor({3, 4}, 21, -4.0f, 4.0f)});
}

TEST(GradUnary, Relu) {
  // |x| >= 0.1 > eps: no probe crosses the kink at 0.
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return relu(in[0]); },
                         {random_away_from_zero({4, 5}, 22, 0.1f, 2.0f)});
}

TEST(GradUnary, GeluErf) {
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return gelu(in[0], GeluApprox::none); },
                         {random_tensor({4, 5}, 23, -4.0f, 4.0f)});
}

TEST(GradUnary, GeluTanh) {
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return gelu(in[0], GeluApprox::tanh); },
                         {random_tensor({4, 5}, 24, -4.0f, 4.0f)});
}

TEST(GradUnary, OnNonContiguousInput) {
  // Unary ops copy a strided input to contiguous first; the gradient must come back through the
  // copy to the right elements.
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return tanh(in[0].transpose(0, 1)); },
                         {random_tensor({3, 4}, 25)});
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return exp(in[0].slice(1, 0, 4, 2)); },
                         {random_tensor({3, 4}, 26)});
}

TEST(GradUnary, Chain) {
  FOCUS_EXPECT_GRADIENTS(
      [](const auto& in) { return log(add(sigmoid(tanh(exp(mul(in[0], 0.5f)))), 0.1f)); },
      {random_tensor({2, 3}, 27)});
}

}  // namespace
}  // namespace focus
