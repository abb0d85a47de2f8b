// Finite-difference checks of the shape and selection ops: concat, slice, reshape, permute,
// transpose, expand, unsqueeze, squeeze, flatten, contiguous, clone, where and masked_fill. These
// only move (or sum, for expand) values, so the numeric gradient is exact up to f32 rounding; the
// default 2e-2 bound is the suite-wide one, not a need of these ops.
#include "test_util.h"

namespace focus {
namespace {

using test::check_gradients;
using test::random_tensor;

TEST(GradShape, Concat) {
  FOCUS_EXPECT_GRADIENTS(
      [](const auto& in) {
        return concat({in[0], in[1]}, 0);
      },
      {random_tensor({2, 3}, 151), random_tensor({1, 3}, 152)});
  FOCUS_EXPECT_GRADIENTS(
      [](const auto& in) {
        return concat({in[0], in[1], in[2]}, -1);
      },
      {random_tensor({2, 1}, 153), random_tensor({2, 3}, 154), random_tensor({2, 2}, 155)});
  FOCUS_EXPECT_GRADIENTS(
      [](const auto& in) {
        return concat({in[0], in[1], in[0]}, 1);
      },
      {random_tensor({2, 2, 2}, 156), random_tensor({2, 1, 2}, 157)});
}

TEST(GradShape, ConcatManyInputs) {
  // More inputs than one autograd node has slots for (8): e.g. the heads of a 12-head attention.
  std::vector<Tensor> xs;
  for (int i = 0; i < 12; ++i) xs.push_back(random_tensor({2, 1}, 158 + i));
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return concat(in, 1); }, xs);
}

TEST(GradShape, Slice) {
  const Tensor x = random_tensor({5, 4}, 171);
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return in[0].slice(0, 1, 5, 2); }, {x});
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return in[0].slice(1, -3, -1); }, {x});
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return slice(in[0], 0, 0, 5, 3); }, {x});
  // Two slices of the same leaf overlap: contributions add.
  FOCUS_EXPECT_GRADIENTS(
      [](const auto& in) { return add(in[0].slice(0, 0, 3), in[0].slice(0, 2, 5)); }, {x});
  // Slice of a slice.
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return in[0].slice(1, 1, 4).slice(0, 0, 5, 2); },
                         {x});
}

TEST(GradShape, ReshapePermuteTranspose) {
  const Tensor x = random_tensor({2, 3, 4}, 172);
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return in[0].reshape({6, 4}); }, {x});
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return reshape(in[0], {4, 6}); }, {x});
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return in[0].permute({2, 0, 1}); }, {x});
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return permute(in[0], {1, 2, 0}); }, {x});
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return in[0].transpose(0, 2); }, {x});
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return transpose(in[0], -1, 1); }, {x});
  // Reshape of a non-contiguous view copies first.
  FOCUS_EXPECT_GRADIENTS(
      [](const auto& in) {
        return in[0].permute({2, 0, 1}).reshape({4, 6});
      },
      {x});
}

TEST(GradShape, Expand) {
  FOCUS_EXPECT_GRADIENTS(
      [](const auto& in) {
        return in[0].expand({2, 3, 4});
      },
      {random_tensor({3, 1}, 173)});
  FOCUS_EXPECT_GRADIENTS(
      [](const auto& in) {
        return in[0].expand({3, 4});
      },
      {random_tensor({4}, 174)});
  FOCUS_EXPECT_GRADIENTS(
      [](const auto& in) {
        return in[0].expand({2, 3});
      },
      {random_tensor({}, 175)});
}

TEST(GradShape, UnsqueezeSqueezeFlatten) {
  const Tensor x = random_tensor({2, 1, 3}, 176);
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return in[0].unsqueeze(0); }, {x});
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return in[0].unsqueeze(-1); }, {x});
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return in[0].squeeze(1); }, {x});
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return in[0].flatten(); }, {x});
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return in[0].flatten(1, 2); },
                         {random_tensor({2, 3, 2}, 177)});
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return in[0].transpose(0, 2).flatten(0, 1); },
                         {random_tensor({2, 3, 2}, 178)});
}

TEST(GradShape, ContiguousAndClone) {
  const Tensor x = random_tensor({3, 4}, 179);
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return in[0].transpose(0, 1).contiguous(); }, {x});
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return in[0].clone(); }, {x});
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return in[0].slice(1, 0, 4, 2).clone(); }, {x});
}

TEST(GradSelect, Where) {
  const Tensor cond = Tensor::from_vector({1, 0, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1}, {3, 4});
  FOCUS_EXPECT_GRADIENTS([&](const auto& in) { return where(cond, in[0], in[1]); },
                         {random_tensor({3, 4}, 181), random_tensor({3, 4}, 182)});
  // Broadcast b and an i32 condition that broadcasts too.
  const Tensor ci = Tensor::from_indices({1, 0, 1}, {3, 1});
  FOCUS_EXPECT_GRADIENTS([&](const auto& in) { return where(ci, in[0], in[1]); },
                         {random_tensor({3, 4}, 183), random_tensor({4}, 184)});
  FOCUS_EXPECT_GRADIENTS([&](const auto& in) { return where(cond, in[0], in[1]); },
                         {random_tensor({1, 4}, 185), random_tensor({3, 1}, 186)});
}

TEST(GradSelect, MaskedFill) {
  const Tensor mask = Tensor::from_indices({0, 1, 0, 1}, {4});
  FOCUS_EXPECT_GRADIENTS([&](const auto& in) { return masked_fill(in[0], mask, -5.0f); },
                         {random_tensor({3, 4}, 187)});
  const Tensor fmask = Tensor::from_vector({1, 0, 0}, {3, 1});
  FOCUS_EXPECT_GRADIENTS([&](const auto& in) { return masked_fill(in[0], fmask, 0.0f); },
                         {random_tensor({3, 4}, 188)});
}

}  // namespace
}  // namespace focus
