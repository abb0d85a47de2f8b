#include "test_util.h"

namespace focus {
TEST(Smoke, MatmulAndBackward) {
  Tensor a = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}).requires_grad_();
  Tensor b = Tensor::from_vector({1, 0, 0, 1, 1, 1}, {3, 2}).requires_grad_();
  Tensor c = matmul(a, b);
  FOCUS_EXPECT_CLOSE(c, Tensor::from_vector({4, 5, 10, 11}, {2, 2}), 0, 0);
  sum(c).backward();
  FOCUS_EXPECT_CLOSE(a.grad(), Tensor::from_vector({1, 1, 2, 1, 1, 2}, {2, 3}), 0, 0);
  FOCUS_EXPECT_CLOSE(b.grad(), Tensor::from_vector({5, 5, 7, 7, 9, 9}, {3, 2}), 0, 0);
}
}  // namespace focus
