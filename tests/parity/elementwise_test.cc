// Elementwise ops against PyTorch (tests/fixtures/ops/<op>.safetensors, scripts/gen_fixtures.py):
// broadcasting [3,4]+[4], [2,1,4]*[3,1], rank-0 operands, odd sizes ([7,129]).
#include "parity.h"

namespace focus {
namespace {

using test::check_parity;
using test::ParityCase;

// The reference is float64 rounded once to f32, so this is Focus's own error: a few ulp per op.
constexpr float kRtol = 1e-5f, kAtol = 1e-6f;

TEST(ParityElementwise, Add) {
  check_parity(
      "ops/add.safetensors", [](ParityCase& c) { return add(c.in("a"), c.in("b")); }, kRtol, kAtol);
}

TEST(ParityElementwise, Sub) {
  check_parity(
      "ops/sub.safetensors", [](ParityCase& c) { return sub(c.in("a"), c.in("b")); }, kRtol, kAtol);
}

TEST(ParityElementwise, Mul) {
  check_parity(
      "ops/mul.safetensors", [](ParityCase& c) { return mul(c.in("a"), c.in("b")); }, kRtol, kAtol);
}

TEST(ParityElementwise, Div) {
  check_parity(
      "ops/div.safetensors", [](ParityCase& c) { return div(c.in("a"), c.in("b")); }, kRtol, kAtol);
}

TEST(ParityElementwise, Neg) {
  check_parity(
      "ops/neg.safetensors", [](ParityCase& c) { return neg(c.in("x")); }, kRtol, kAtol);
}

TEST(ParityElementwise, Exp) {
  check_parity(
      "ops/exp.safetensors", [](ParityCase& c) { return exp(c.in("x")); }, kRtol, kAtol);
}

TEST(ParityElementwise, Log) {
  check_parity(
      "ops/log.safetensors", [](ParityCase& c) { return log(c.in("x")); }, kRtol, kAtol);
}

TEST(ParityElementwise, Sqrt) {
  check_parity(
      "ops/sqrt.safetensors", [](ParityCase& c) { return sqrt(c.in("x")); }, kRtol, kAtol);
}

TEST(ParityElementwise, Pow) {
  check_parity(
      "ops/pow.safetensors",
      [](ParityCase& c) { return pow(c.in("x"), c.param_float("exponent")); }, kRtol, kAtol);
}

TEST(ParityElementwise, Tanh) {
  check_parity(
      "ops/tanh.safetensors", [](ParityCase& c) { return tanh(c.in("x")); }, kRtol, kAtol);
}

TEST(ParityElementwise, Sigmoid) {
  check_parity(
      "ops/sigmoid.safetensors", [](ParityCase& c) { return sigmoid(c.in("x")); }, kRtol, kAtol);
}

TEST(ParityElementwise, Relu) {
  check_parity(
      "ops/relu.safetensors", [](ParityCase& c) { return relu(c.in("x")); }, kRtol, kAtol);
}

TEST(ParityElementwise, Gelu) {
  check_parity(
      "ops/gelu.safetensors",
      [](ParityCase& c) {
        const std::string approx = c.param("approximate");
        EXPECT_TRUE(approx == "none" || approx == "tanh") << approx;
        return gelu(c.in("x"), approx == "tanh" ? GeluApprox::tanh : GeluApprox::none);
      },
      kRtol, kAtol);
}

}  // namespace
}  // namespace focus
