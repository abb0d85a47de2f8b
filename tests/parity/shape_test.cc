// Shape and selection ops against PyTorch.
#include "parity.h"

namespace focus {
namespace {

using test::check_parity;
using test::ParityCase;

// Pure data movement, forward and backward: the values must be copied exactly.
constexpr float kExact = 0.0f;
// where/masked_fill sum broadcast gradients back (sum_to), so a few roundings.
constexpr float kRtol = 1e-5f, kAtol = 1e-6f;

TEST(ParityShape, Concat) {
  check_parity(
      "ops/concat.safetensors",
      [](ParityCase& c) {
        return concat({c.in("a"), c.in("b"), c.in("c")}, c.param_int("axis"));
      },
      kExact, kExact);
}

TEST(ParityShape, Slice) {
  check_parity(
      "ops/slice.safetensors",
      [](ParityCase& c) {
        return slice(c.in("x"), c.param_int("axis"), c.param_int("start"), c.param_int("end"),
                     c.param_int("step"));
      },
      kExact, kExact);
}

TEST(ParityShape, Reshape) {
  check_parity(
      "ops/reshape.safetensors",
      [](ParityCase& c) {
        Tensor x = c.in("x");
        // "after_permute": a non-contiguous input, so reshape has to copy.
        if (c.has_param("perm")) x = permute(x, c.param_ints("perm"));
        return reshape(x, c.param_shape("shape"));
      },
      kExact, kExact);
}

TEST(ParityShape, Permute) {
  check_parity(
      "ops/permute.safetensors",
      [](ParityCase& c) { return permute(c.in("x"), c.param_ints("perm")); }, kExact, kExact);
}

TEST(ParityShape, Transpose) {
  check_parity(
      "ops/transpose.safetensors",
      [](ParityCase& c) { return transpose(c.in("x"), c.param_int("a"), c.param_int("b")); },
      kExact, kExact);
}

TEST(ParityShape, Where) {
  check_parity(
      "ops/where.safetensors",
      [](ParityCase& c) { return where(c.in("cond"), c.in("a"), c.in("b")); },  // cond f32 0/1
      kRtol, kAtol);
}

TEST(ParityShape, MaskedFill) {
  check_parity(
      "ops/masked_fill.safetensors",
      [](ParityCase& c) {
        return masked_fill(c.in("x"), c.in("mask"), c.param_float("value"));  // mask f32 0/1
      },
      kRtol, kAtol);
}

}  // namespace
}  // namespace focus
