// Finite-difference checks of matmul (2-D, batched, broadcast batch, rank-1 operands, transposed
// and strided views) and linear (with and without bias, rank-3 x, strided x). Tolerance: the
// default 2e-2 with eps 1e-2. Both ops are bilinear, so central differences are exact up to f32
// rounding; the BLAS's f32 accumulation adds ~1e-6 relative to each output, ~1e-4 after the
// division by 2·eps.
#include "test_util.h"

namespace focus {
namespace {

using test::check_gradients;
using test::random_tensor;

Tensor mm(const std::vector<Tensor>& in) { return matmul(in[0], in[1]); }

TEST(GradMatmul, TwoD) {
  FOCUS_EXPECT_GRADIENTS(mm, {random_tensor({3, 4}, 41), random_tensor({4, 2}, 42)});
}

TEST(GradMatmul, Batched) {
  FOCUS_EXPECT_GRADIENTS(mm, {random_tensor({2, 3, 4}, 43), random_tensor({2, 4, 5}, 44)});
}

TEST(GradMatmul, BroadcastBatch) {
  // b shared by every batch (the folded-GEMM backward path).
  FOCUS_EXPECT_GRADIENTS(mm, {random_tensor({2, 3, 4}, 45), random_tensor({4, 5}, 46)});
  // a shared by every batch.
  FOCUS_EXPECT_GRADIENTS(mm, {random_tensor({3, 4}, 47), random_tensor({2, 4, 5}, 48)});
  // Size-1 batch axes broadcast on both sides: [2,1] x [3] batches -> [2,3].
  FOCUS_EXPECT_GRADIENTS(mm, {random_tensor({2, 1, 3, 4}, 49), random_tensor({3, 4, 2}, 50)});
  FOCUS_EXPECT_GRADIENTS(mm, {random_tensor({1, 3, 4}, 51), random_tensor({2, 4, 2}, 52)});
  // b shared with a size-1 batch axis of its own.
  FOCUS_EXPECT_GRADIENTS(mm, {random_tensor({2, 3, 4}, 53), random_tensor({1, 4, 2}, 54)});
}

TEST(GradMatmul, RankOneOperands) {
  FOCUS_EXPECT_GRADIENTS(mm, {random_tensor({4}, 55), random_tensor({4, 3}, 56)});
  FOCUS_EXPECT_GRADIENTS(mm, {random_tensor({3, 4}, 57), random_tensor({4}, 58)});
  FOCUS_EXPECT_GRADIENTS(mm, {random_tensor({2, 3, 4}, 59), random_tensor({4}, 60)});
}

TEST(GradMatmul, TransposedViews) {
  // The leaves are stored transposed; matmul reads the views through BLAS transpose flags.
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return matmul(in[0].transpose(0, 1), in[1]); },
                         {random_tensor({4, 3}, 61), random_tensor({4, 2}, 62)});
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return matmul(in[0], in[1].transpose(0, 1)); },
                         {random_tensor({3, 4}, 63), random_tensor({2, 4}, 64)});
  FOCUS_EXPECT_GRADIENTS(
      [](const auto& in) { return matmul(in[0].transpose(-1, -2), in[1].transpose(-1, -2)); },
      {random_tensor({2, 4, 3}, 65), random_tensor({2, 5, 4}, 66)});
  // Batched a transposed against a shared b.
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return matmul(in[0].transpose(1, 2), in[1]); },
                         {random_tensor({2, 4, 3}, 67), random_tensor({4, 2}, 68)});
  // x·xᵀ: one leaf through both operands.
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return matmul(in[0], in[0].transpose(0, 1)); },
                         {random_tensor({3, 4}, 69)});
}

TEST(GradMatmul, StridedAndPermutedViews) {
  // Every other column: neither operand layout, so matmul copies.
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return matmul(in[0].slice(1, 0, 8, 2), in[1]); },
                         {random_tensor({3, 8}, 70), random_tensor({4, 2}, 71)});
  // Batch axis moved: [3,2,4] viewed as [2,3,4].
  FOCUS_EXPECT_GRADIENTS(
      [](const auto& in) {
        return matmul(in[0].permute({1, 0, 2}), in[1]);
      },
      {random_tensor({3, 2, 4}, 72), random_tensor({2, 4, 2}, 73)});
  // Expanded b (stride-0 batch).
  FOCUS_EXPECT_GRADIENTS(
      [](const auto& in) {
        return matmul(in[0], in[1].unsqueeze(0).expand({2, 4, 3}));
      },
      {random_tensor({2, 3, 4}, 74), random_tensor({4, 3}, 75)});
}

TEST(GradLinear, WithAndWithoutBias) {
  const Tensor x = random_tensor({3, 4}, 81), w = random_tensor({5, 4}, 82),
               b = random_tensor({5}, 83);
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return linear(in[0], in[1], in[2]); }, {x, w, b});
  FOCUS_EXPECT_GRADIENTS([](const auto& in) { return linear(in[0], in[1]); }, {x, w});
}

TEST(GradLinear, RankThreeAndOne) {
  FOCUS_EXPECT_GRADIENTS(
      [](const auto& in) { return linear(in[0], in[1], in[2]); },
      {random_tensor({2, 3, 4}, 84), random_tensor({2, 4}, 85), random_tensor({2}, 86)});
  FOCUS_EXPECT_GRADIENTS(
      [](const auto& in) { return linear(in[0], in[1], in[2]); },
      {random_tensor({4}, 87), random_tensor({3, 4}, 88), random_tensor({3}, 89)});
}

TEST(GradLinear, StridedInputs) {
  // x stored transposed, w stored transposed.
  FOCUS_EXPECT_GRADIENTS(
      [](const auto& in) { return linear(in[0].transpose(0, 1), in[1].transpose(0, 1), in[2]); },
      {random_tensor({4, 3}, 90), random_tensor({4, 5}, 91), random_tensor({5}, 92)});
}

}  // namespace
}  // namespace focus
