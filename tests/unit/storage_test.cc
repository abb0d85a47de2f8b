// The storage cache: a freed large block is handed to the next tensor of the same size class
// (eight classes per power of two), so sizes that change a little from step to step reuse memory
// instead of page-faulting fresh blocks in; a block of another class is not reused.
#include <gtest/gtest.h>

#include "focus/tensor.h"

using namespace focus;

TEST(Storage, ANearbySizeReusesAFreedLargeBlock) {
  const float* first = nullptr;
  {
    Tensor a = Tensor::zeros({100000});  // 400,000 bytes, held in a block of 425,984
    first = a.data();
  }
  Tensor b = Tensor::zeros({100500});  // 402,000 bytes: the same block size
  EXPECT_EQ(b.data(), first);
  EXPECT_EQ(b.numel(), 100500);
  for (int64_t i = 0; i < b.numel(); ++i) ASSERT_EQ(b.data()[i], 0.0f) << i;  // zeroed again
}

TEST(Storage, AnotherClassGetsAnotherBlock) {
  const float* first = nullptr;
  Tensor keep;
  {
    Tensor a = Tensor::zeros({100000});
    first = a.data();
  }
  Tensor c = Tensor::zeros({120000});  // 480,000 bytes: a block of 491,520
  EXPECT_NE(c.data(), first);
  keep = Tensor::zeros({100000});  // the freed block is still there for its own class
  EXPECT_EQ(keep.data(), first);
}
