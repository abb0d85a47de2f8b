// Reductions against PyTorch: single, multiple, negative and all axes, keepdim on and off.
#include "parity.h"

namespace focus {
namespace {

using test::check_parity;
using test::ParityCase;

// Sums of up to 129 terms in f32 against a float64 reference.
constexpr float kRtol = 1e-4f, kAtol = 1e-5f;

// axes "[]" means every axis (the fixture's "all" cases), as in Focus's API.
Tensor reduce_case(ParityCase& c, Tensor (*op)(const Tensor&, const std::vector<int>&, bool)) {
  return op(c.in("x"), c.param_ints("axes"), c.param_bool("keepdim"));
}

TEST(ParityReduce, Sum) {
  check_parity(
      "ops/sum.safetensors", [](ParityCase& c) { return reduce_case(c, sum); }, kRtol, kAtol);
}

TEST(ParityReduce, Mean) {
  check_parity(
      "ops/mean.safetensors", [](ParityCase& c) { return reduce_case(c, mean); }, kRtol, kAtol);
}

// The fixture uses torch.amax on inputs without ties, where its gradient equals torch.max(x, dim).
TEST(ParityReduce, Max) {
  check_parity(
      "ops/max.safetensors", [](ParityCase& c) { return reduce_case(c, max); }, kRtol, kAtol);
}

}  // namespace
}  // namespace focus
