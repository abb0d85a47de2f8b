// matmul and linear against PyTorch: 2-D, batched, batch axes broadcast from either side, K=129.
#include "parity.h"

namespace focus {
namespace {

using test::check_parity;
using test::ParityCase;

constexpr float kRtol = 1e-4f, kAtol = 1e-5f;

TEST(ParityMatmul, Matmul) {
  check_parity(
      "ops/matmul.safetensors", [](ParityCase& c) { return matmul(c.in("a"), c.in("b")); }, kRtol,
      kAtol);
}

TEST(ParityMatmul, Linear) {
  check_parity(
      "ops/linear.safetensors",
      [](ParityCase& c) {
        EXPECT_EQ(c.param_bool("bias"), c.has("b"));
        return linear(c.in("x"), c.in("w"), c.in_opt("b"));  // x [..,In] w [Out,In] b [Out]
      },
      kRtol, kAtol);
}

}  // namespace
}  // namespace focus
