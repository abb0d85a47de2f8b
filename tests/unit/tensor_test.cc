// Tensor factories, strides, views (values and storage sharing), contiguous(), item, to_vector
// and str. Expected values are written out by hand or computed by index arithmetic.
#include "test_util.h"

namespace focus {
namespace {

std::vector<float> iota(int64_t n) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = float(i);
  return v;
}

TEST(Tensor, Factories) {
  EXPECT_EQ(Tensor::zeros({2, 3}).to_vector(), std::vector<float>(6, 0.0f));
  EXPECT_EQ(Tensor::ones({4}).to_vector(), std::vector<float>(4, 1.0f));
  EXPECT_EQ(Tensor::full({2, 2}, -2.5f).to_vector(), std::vector<float>(4, -2.5f));
  Tensor s = Tensor::scalar(3.5f);
  EXPECT_EQ(s.dim(), 0);
  EXPECT_EQ(s.numel(), 1);
  EXPECT_EQ(s.item(), 3.5f);
  EXPECT_EQ(Tensor::arange(5).to_vector(), std::vector<float>({0, 1, 2, 3, 4}));
  EXPECT_EQ(Tensor::arange(0).numel(), 0);
  Tensor v = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {3, 2});
  EXPECT_EQ(v.shape(), Shape({3, 2}));
  EXPECT_EQ(v.dtype(), DType::f32);
  EXPECT_EQ(v.to_vector(), std::vector<float>({1, 2, 3, 4, 5, 6}));
  Tensor ids = Tensor::from_indices({3, -1, 7}, {3});
  EXPECT_EQ(ids.dtype(), DType::i32);
  EXPECT_EQ(ids.data_i32()[1], -1);
  EXPECT_EQ(ids.to_vector(), std::vector<float>({3, -1, 7}));
  EXPECT_EQ(Tensor::empty({2, 5}).numel(), 10);
  EXPECT_EQ(Tensor::zeros({3, 0, 2}).numel(), 0);
  EXPECT_FALSE(Tensor::ones({2}).requires_grad());
  EXPECT_TRUE(Tensor::ones({2}).is_leaf());
  EXPECT_EQ(Tensor::ones({2}).device(), Device::cpu);
  EXPECT_STREQ(dtype_name(DType::i32), "i32");
  EXPECT_EQ(dtype_size(DType::bf16), 2u);
}

TEST(Tensor, ContiguousStrides) {
  EXPECT_EQ(Tensor::zeros({2, 3, 4}).strides(), Shape({12, 4, 1}));
  EXPECT_EQ(Tensor::zeros({5}).strides(), Shape({1}));
  EXPECT_EQ(contiguous_strides({2, 0, 3}), Shape({3, 3, 1}));
  EXPECT_TRUE(Tensor::zeros({2, 3}).is_contiguous());
  EXPECT_EQ(Shape({2, 3, 4}).numel(), 24);
  EXPECT_EQ(Shape({2, 3}).str(), "[2,3]");
  EXPECT_EQ(Shape().str(), "[]");
  EXPECT_EQ(Shape({2, 3, 4}).at(-1), 4);
}

TEST(Tensor, ReshapeSharesStorage) {
  Tensor x = Tensor::from_vector(iota(6), {2, 3});
  Tensor y = x.reshape({3, 2});
  EXPECT_TRUE(y.shares_storage(x));
  EXPECT_EQ(y.strides(), Shape({2, 1}));
  EXPECT_EQ(y.to_vector(), iota(6));
  x.data()[4] = 40.0f;  // visible through the view
  EXPECT_EQ(y.to_vector()[4], 40.0f);
}

TEST(Tensor, PermuteAndTranspose) {
  Tensor x = Tensor::from_vector(iota(24), {2, 3, 4});
  Tensor p = x.permute({2, 0, 1});  // p[k][i][j] = x[i][j][k]
  EXPECT_EQ(p.shape(), Shape({4, 2, 3}));
  EXPECT_EQ(p.strides(), Shape({1, 12, 4}));
  EXPECT_TRUE(p.shares_storage(x));
  EXPECT_FALSE(p.is_contiguous());
  std::vector<float> pv = p.to_vector();
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j) EXPECT_EQ(pv[(k * 2 + i) * 3 + j], float(i * 12 + j * 4 + k));
  Tensor t = x.transpose(0, -1);  // t[k][j][i] = x[i][j][k]
  EXPECT_EQ(t.shape(), Shape({4, 3, 2}));
  std::vector<float> tv = t.to_vector();
  for (int k = 0; k < 4; ++k)
    for (int j = 0; j < 3; ++j)
      for (int i = 0; i < 2; ++i) EXPECT_EQ(tv[(k * 3 + j) * 2 + i], float(i * 12 + j * 4 + k));
  EXPECT_EQ(permute(x, {-3, -2, -1}).to_vector(), iota(24));
}

TEST(Tensor, SliceWithStep) {
  Tensor x = Tensor::from_vector(iota(20), {4, 5});
  Tensor s = x.slice(1, 1, 5, 2);  // columns 1, 3
  EXPECT_EQ(s.shape(), Shape({4, 2}));
  EXPECT_EQ(s.strides(), Shape({5, 2}));
  EXPECT_EQ(s.offset(), 1);
  EXPECT_TRUE(s.shares_storage(x));
  EXPECT_EQ(s.to_vector(), std::vector<float>({1, 3, 6, 8, 11, 13, 16, 18}));
  EXPECT_EQ(x.slice(0, 1, 3).to_vector(), std::vector<float>({5, 6, 7, 8, 9, 10, 11, 12, 13, 14}));
  EXPECT_EQ(x.slice(1, -2, 5).to_vector(), std::vector<float>({3, 4, 8, 9, 13, 14, 18, 19}));
  EXPECT_EQ(x.slice(1, 0, 100, 3).shape(), Shape({4, 2}));  // end clamps
  EXPECT_EQ(x.slice(0, 3, 1).shape(), Shape({0, 5}));       // empty
  EXPECT_EQ(x.slice(1, 4, 5, 2).to_vector(), std::vector<float>({4, 9, 14, 19}));
  // Slice of a slice: rows 0, 2 of columns 1, 3.
  EXPECT_EQ(s.slice(0, 0, 4, 2).to_vector(), std::vector<float>({1, 3, 11, 13}));
  // Writes through a view land in the base.
  s.data()[0] = -1.0f;
  EXPECT_EQ(x.to_vector()[1], -1.0f);
}

TEST(Tensor, Expand) {
  Tensor x = Tensor::from_vector({1, 2, 3}, {3, 1});
  Tensor e = x.expand({2, 3, 4});
  EXPECT_EQ(e.strides(), Shape({0, 1, 0}));
  EXPECT_TRUE(e.shares_storage(x));
  std::vector<float> v = e.to_vector();
  for (int b = 0; b < 2; ++b)
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 4; ++j) EXPECT_EQ(v[(b * 3 + i) * 4 + j], float(i + 1));
  EXPECT_EQ(Tensor::scalar(7).expand({2, 2}).to_vector(), std::vector<float>(4, 7.0f));
}

TEST(Tensor, UnsqueezeSqueezeFlatten) {
  Tensor x = Tensor::from_vector(iota(6), {2, 3});
  EXPECT_EQ(x.unsqueeze(0).shape(), Shape({1, 2, 3}));
  EXPECT_EQ(x.unsqueeze(1).shape(), Shape({2, 1, 3}));
  EXPECT_EQ(x.unsqueeze(-1).shape(), Shape({2, 3, 1}));
  EXPECT_TRUE(x.unsqueeze(1).shares_storage(x));
  EXPECT_EQ(x.unsqueeze(1).squeeze(1).shape(), Shape({2, 3}));
  EXPECT_EQ(x.unsqueeze(-1).squeeze(-1).to_vector(), iota(6));
  Tensor y = Tensor::from_vector(iota(24), {2, 3, 4});
  EXPECT_EQ(y.flatten().shape(), Shape({24}));
  EXPECT_EQ(y.flatten(1).shape(), Shape({2, 12}));
  EXPECT_EQ(y.flatten(0, 1).shape(), Shape({6, 4}));
  EXPECT_EQ(y.flatten(1, 1).shape(), Shape({2, 3, 4}));
  EXPECT_EQ(y.flatten(0, 1).to_vector(), iota(24));
  EXPECT_TRUE(y.flatten().shares_storage(y));
  EXPECT_EQ(Tensor::scalar(1).flatten().shape(), Shape({1}));
  // Flattening a permuted view must follow its logical order.
  std::vector<float> fv = y.transpose(0, 2).flatten().to_vector();  // [4,3,2]
  for (int k = 0; k < 4; ++k)
    for (int j = 0; j < 3; ++j)
      for (int i = 0; i < 2; ++i) EXPECT_EQ(fv[(k * 3 + j) * 2 + i], float(i * 12 + j * 4 + k));
}

TEST(Tensor, ContiguousOfPermutedView) {
  Tensor x = Tensor::from_vector(iota(6), {2, 3});
  Tensor t = x.transpose(0, 1);
  Tensor c = t.contiguous();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_FALSE(c.shares_storage(x));
  EXPECT_EQ(c.strides(), Shape({2, 1}));
  EXPECT_EQ(std::vector<float>(c.data(), c.data() + 6), std::vector<float>({0, 3, 1, 4, 2, 5}));
  // Already contiguous: the same tensor.
  EXPECT_TRUE(x.contiguous().shares_storage(x));
  // A permuted view of a sliced view.
  Tensor y = Tensor::from_vector(iota(24), {2, 3, 4}).slice(2, 1, 4, 2).permute({2, 0, 1});
  EXPECT_EQ(y.contiguous().to_vector(),
            std::vector<float>({1, 5, 9, 13, 17, 21, 3, 7, 11, 15, 19, 23}));
  // Reshape of a non-contiguous view copies, and the values follow the logical order.
  Tensor r = t.reshape({6});
  EXPECT_EQ(r.to_vector(), std::vector<float>({0, 3, 1, 4, 2, 5}));
}

TEST(Tensor, CloneAndDetach) {
  Tensor x = Tensor::from_vector({1, 2, 3}, {3});
  Tensor c = x.clone();
  EXPECT_FALSE(c.shares_storage(x));
  c.data()[0] = 10;
  EXPECT_EQ(x.to_vector()[0], 1.0f);
  Tensor d = x.detach();
  EXPECT_TRUE(d.shares_storage(x));
  EXPECT_EQ(Tensor::from_indices({4, 5}, {2}).clone().to_vector(), std::vector<float>({4, 5}));
}

TEST(Tensor, ItemToVectorStr) {
  EXPECT_EQ(Tensor::from_vector({2.5f}, {1, 1}).item(), 2.5f);
  EXPECT_EQ(Tensor::from_indices({9}, {1}).item(), 9.0f);
  Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(x.transpose(0, 1).to_vector(), std::vector<float>({1, 4, 2, 5, 3, 6}));
  EXPECT_EQ(x.str(), "Tensor[2,3] f32 {1, 2, 3, 4, 5, 6}");
  EXPECT_EQ(x.str(2), "Tensor[2,3] f32 {1, 2, ...}");
  EXPECT_EQ(Tensor::from_indices({1, 2}, {2}).str(), "Tensor[2] i32 {1, 2}");
  EXPECT_EQ(Tensor::zeros({0}).str(), "Tensor[0] f32 {}");
  EXPECT_TRUE(Tensor::zeros({0, 3}).to_vector().empty());
}

TEST(Tensor, EmptyViews) {
  Tensor x = Tensor::zeros({0, 3});
  EXPECT_EQ(x.transpose(0, 1).shape(), Shape({3, 0}));
  EXPECT_EQ(x.transpose(0, 1).contiguous().numel(), 0);
  EXPECT_EQ(x.reshape({3, 0}).shape(), Shape({3, 0}));
  EXPECT_EQ(add(x, Tensor::ones({3})).shape(), Shape({0, 3}));
  EXPECT_EQ(matmul(x, Tensor::ones({3, 2})).shape(), Shape({0, 2}));
  // K = 0: the product is all zeros.
  EXPECT_EQ(matmul(Tensor::ones({2, 0}), Tensor::ones({0, 3})).to_vector(),
            std::vector<float>(6, 0.0f));
  EXPECT_EQ(concat({x, Tensor::ones({1, 3})}, 0).to_vector(), std::vector<float>(3, 1.0f));
}

}  // namespace
}  // namespace focus
