// The parity harness itself: a wrong output or a wrong gradient must fail, so a passing parity
// suite means the comparisons ran.
#include <gtest/gtest-spi.h>

#include "parity.h"

namespace focus {
namespace {

using test::check_parity;
using test::ParityCase;

// Runs `f` with its gtest failures captured; passes when any of them mentions `text`.
::testing::AssertionResult fails_with(const std::function<void()>& f, const std::string& text) {
  ::testing::TestPartResultArray results;
  {
    ::testing::ScopedFakeTestPartResultReporter reporter(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
    f();
  }
  for (int i = 0; i < results.size(); ++i)
    if (results.GetTestPartResult(i).failed() &&
        std::string(results.GetTestPartResult(i).message()).find(text) != std::string::npos)
      return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << results.size() << " failures, none mentioning '" << text << "'";
}

TEST(ParityHarness, FailsOnWrongOutput) {
  EXPECT_TRUE(fails_with(
      [] {
        check_parity(
            "ops/add.safetensors", [](ParityCase& c) { return sub(c.in("a"), c.in("b")); }, 1e-5f,
            1e-6f);
      },
      "(output)"));
}

TEST(ParityHarness, FailsOnWrongGradient) {
  // Right values, no gradient path to x.
  EXPECT_TRUE(fails_with(
      [] {
        check_parity(
            "ops/tanh.safetensors",
            [](ParityCase& c) { return add(tanh(c.in("x").detach()), mul(c.in("x"), 0.0f)); },
            1e-5f, 1e-6f);
      },
      "(gradient of x)"));
}

TEST(ParityHarness, FailsOnUnusedDifferentiableInput) {
  EXPECT_TRUE(fails_with(
      [] {
        check_parity(
            "ops/linear.safetensors",
            [](ParityCase& c) { return linear(c.in("x"), c.in("w")) + c.expected("out") * 0.0f; },
            1e-5f, 1e-6f);
      },
      "never used input 'b'"));
}

TEST(ParityHarness, EveryFixtureHasCasesWithGradients) {
  for (const char* name :
       {"add",     "sub",         "mul",        "div",       "neg",           "exp",
        "log",     "sqrt",        "pow",        "tanh",      "sigmoid",       "relu",
        "gelu",    "sum",         "mean",       "max",       "matmul",        "linear",
        "softmax", "log_softmax", "layer_norm", "embedding", "cross_entropy", "concat",
        "slice",   "reshape",     "permute",    "transpose", "where",         "masked_fill"}) {
    SCOPED_TRACE(name);
    const io::TensorFile f =
        io::load_safetensors(test::fixture(std::string("ops/") + name + ".safetensors"));
    const std::vector<std::string> cases = test::parity_cases(f);
    EXPECT_GE(cases.size(), 3u);
    for (const std::string& c : cases) {
      EXPECT_TRUE(f.tensors.count(c + ".out")) << c;
      EXPECT_TRUE(f.tensors.count(c + ".gout")) << c;
      int grads = 0;
      for (const auto& [k, t] : f.tensors) grads += k.rfind(c + ".grad.", 0) == 0;
      EXPECT_GE(grads, 1) << c;
    }
  }
}

}  // namespace
}  // namespace focus
