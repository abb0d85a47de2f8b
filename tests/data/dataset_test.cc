// TensorDataset, Subset, Mapped, split and Standardizer.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "focus/data.h"
#include "test_util.h"

namespace focus::data {
namespace {

TEST(TensorDataset, RowsAndLabels) {
  TensorDataset ds(Tensor::arange(6).reshape({3, 2}), {7, 8, 9});
  EXPECT_EQ(ds.size(), 3);
  const Example e = ds.get(1);
  EXPECT_EQ(e.x.shape(), Shape({2}));
  EXPECT_EQ(e.x.to_vector(), std::vector<float>({2, 3}));
  EXPECT_EQ(e.label, 8);
  TensorDataset unlabeled(Tensor::zeros({2, 1}), {});
  EXPECT_EQ(unlabeled.get(1).label, 0);
  test::expect_error([&] { ds.get(3); }, {"tensor_dataset", "index 3", "[0, 3)"});
  test::expect_error(
      [&] {
        TensorDataset(Tensor::zeros({3, 2}), {1, 2});
      },
      {"tensor_dataset", "[3,2]", "3 examples", "2 labels"});
  test::expect_error([&] { TensorDataset(Tensor::scalar(1), {}); }, {"tensor_dataset", "[N, ...]"});
}

TEST(Subset, MapsIndices) {
  auto base = std::make_shared<TensorDataset>(Tensor::arange(5).reshape({5, 1}),
                                              std::vector<int32_t>{0, 1, 2, 3, 4});
  Subset sub(base, {4, 0, 2});
  EXPECT_EQ(sub.size(), 3);
  EXPECT_EQ(sub.get(0).x.item(), 4.0f);
  EXPECT_EQ(sub.get(2).label, 2);
  test::expect_error([&] { sub.get(3); }, {"subset", "index 3", "[0, 3)"});
  test::expect_error([&] { Subset(base, {1, 5}); }, {"subset", "index 5", "[0, 5)"});
}

TEST(Mapped, MirroredImagesAndAFixedDrawPerExample) {
  // Two 1x2x3 images: pixel (y, x) of image n is 10n + 3y + x.
  auto base = std::make_shared<TensorDataset>(Tensor::arange(12).reshape({2, 1, 2, 3}),
                                              std::vector<int32_t>{5, 6});
  Mapped mirrored(base, random_flip(1.0f));
  ASSERT_EQ(mirrored.size(), 2);
  EXPECT_EQ(mirrored.get(1).x.to_vector(), std::vector<float>({8, 7, 6, 11, 10, 9}));
  EXPECT_EQ(mirrored.get(1).x.shape(), Shape({1, 2, 3}));
  EXPECT_EQ(mirrored.get(1).label, 6);
  EXPECT_EQ(base->get(1).x.to_vector(), std::vector<float>({6, 7, 8, 9, 10, 11}));  // untouched

  // A random transform draws from example_seed(seed, 0, i): the same at every call, as the
  // loader's epoch 0 would draw it.
  const Transform noise = [](const Tensor& x, Generator& gen) {
    return x + gen.uniform(gen.advance(1));
  };
  Mapped noisy(base, noise, 7);
  EXPECT_EQ(noisy.get(0).x.to_vector(), noisy.get(0).x.to_vector());
  for (int64_t i : {0, 1}) {
    Generator g(example_seed(7, 0, i));
    EXPECT_EQ(noisy.get(i).x.to_vector()[0], float(6 * i) + g.uniform(g.advance(1))) << i;
  }
  EXPECT_NE(noisy.get(0).x.to_vector()[0], Mapped(base, noise, 8).get(0).x.to_vector()[0]);

  test::expect_error([&] { mirrored.get(2); }, {"mapped", "index 2", "[0, 2)"});
  test::expect_error([&] { Mapped(nullptr, noise); }, {"mapped", "no base"});
  test::expect_error([&] { Mapped(base, nullptr); }, {"mapped", "no transform"});
}

TEST(Split, DisjointCompleteReproducible) {
  for (int64_t n : {0, 1, 10, 101}) {
    for (float v : {0.0f, 0.1f, 0.25f, 0.9f}) {
      auto [train, val] = split(n, v, 42);
      EXPECT_EQ(int64_t(val.size()), std::llround(double(v) * double(n)));
      std::vector<int64_t> all = train;
      all.insert(all.end(), val.begin(), val.end());
      std::sort(all.begin(), all.end());
      ASSERT_EQ(int64_t(all.size()), n);
      for (int64_t i = 0; i < n; ++i) EXPECT_EQ(all[size_t(i)], i);  // disjoint and complete
      EXPECT_TRUE(std::is_sorted(train.begin(), train.end()));
      EXPECT_TRUE(std::is_sorted(val.begin(), val.end()));
      auto again = split(n, v, 42);
      EXPECT_EQ(again.first, train);
      EXPECT_EQ(again.second, val);
    }
  }
  EXPECT_NE(split(100, 0.2f, 1).second, split(100, 0.2f, 2).second);
  const auto val = split(100, 0.2f, 1).second;  // not simply the first or last 20
  EXPECT_NE(val.back(), 19);
  EXPECT_NE(val.front(), 80);
}

TEST(Split, StratifiedByLabel) {
  // Unbalanced classes, sorted by class as many datasets are: 60 of class 0, 30 of 1, 10 of 2.
  std::vector<int32_t> labels;
  for (int c : {0, 1, 2})
    for (int k = 0; k < (c == 0 ? 60 : c == 1 ? 30 : 10); ++k) labels.push_back(c);
  std::map<int32_t, int64_t> class_size;
  for (int32_t l : labels) ++class_size[l];
  for (uint64_t seed : {1u, 2u, 3u}) {
    auto [train, val] = split(int64_t(labels.size()), 0.2f, seed, labels);
    std::map<int32_t, int64_t> held;
    for (int64_t i : val) ++held[labels[size_t(i)]];
    for (auto [c, size] : class_size) EXPECT_EQ(held[c], std::llround(0.2 * double(size)));
    std::set<int64_t> t(train.begin(), train.end()), v(val.begin(), val.end());
    for (int64_t i : val) EXPECT_EQ(t.count(i), 0u);
    EXPECT_EQ(t.size() + v.size(), labels.size());
    EXPECT_EQ(split(int64_t(labels.size()), 0.2f, seed, labels).second, val);
  }
  EXPECT_NE(split(100, 0.2f, 1, labels).second, split(100, 0.2f, 2, labels).second);
}

TEST(Split, Errors) {
  test::expect_error([] { split(10, 1.0f, 0); }, {"split", "[0, 1)", "1"});
  test::expect_error([] { split(10, -0.1f, 0); }, {"split", "[0, 1)", "-0.1"});
  test::expect_error([] { split(10, 0.1f, 0, {1, 2}); }, {"split", "2 labels", "n = 10"});
}

TEST(KFold, EachIndexValidatedOnceStratifiedBalanced) {
  std::vector<int32_t> labels;  // 61 of class 0, 29 of 1, 10 of 2
  for (int c : {0, 1, 2})
    for (int k = 0; k < (c == 0 ? 61 : c == 1 ? 29 : 10); ++k) labels.push_back(c);
  const int64_t n = int64_t(labels.size()), k = 5;
  std::vector<int> times_validated(size_t(n), 0);
  std::set<std::vector<int64_t>> folds;
  for (int64_t f = 0; f < k; ++f) {
    auto [train, val] = kfold(n, k, f, 7, labels);
    EXPECT_TRUE(std::is_sorted(train.begin(), train.end()));
    EXPECT_TRUE(std::is_sorted(val.begin(), val.end()));
    EXPECT_EQ(train.size() + val.size(), size_t(n));
    EXPECT_TRUE(val.size() == 20u) << "fold " << f << ": " << val.size();  // 100 / 5, balanced
    std::set<int64_t> t(train.begin(), train.end());
    std::map<int32_t, int64_t> held;
    for (int64_t i : val) {
      EXPECT_EQ(t.count(i), 0u);
      ++times_validated[size_t(i)];
      ++held[labels[size_t(i)]];
    }
    // Stratified: each class's share differs from n_class / k by less than one.
    EXPECT_NEAR(double(held[0]), 61.0 / 5, 1.0);
    EXPECT_NEAR(double(held[1]), 29.0 / 5, 1.0);
    EXPECT_EQ(held[2], 2);
    EXPECT_EQ(kfold(n, k, f, 7, labels).second, val);  // reproducible
    folds.insert(val);
  }
  for (int v : times_validated) EXPECT_EQ(v, 1);
  EXPECT_EQ(folds.size(), size_t(k));
  // Another seed deals other folds; not the first or last fifth in order.
  EXPECT_NE(kfold(n, k, 0, 8, labels).second, kfold(n, k, 0, 7, labels).second);
  const auto plain = kfold(100, 5, 0, 1).second;
  EXPECT_EQ(plain.size(), 20u);
  EXPECT_NE(plain.back(), 19);
  EXPECT_NE(plain.front(), 80);
}

TEST(KFold, Errors) {
  test::expect_error([] { kfold(10, 1, 0, 0); }, {"kfold", "k must be >= 2", "1"});
  test::expect_error([] { kfold(10, 5, 5, 0); }, {"kfold", "[0, 5)", "5"});
  test::expect_error([] { kfold(10, 5, -1, 0); }, {"kfold", "[0, 5)", "-1"});
  test::expect_error([] { kfold(10, 5, 0, 0, {1, 2}); }, {"kfold", "2 labels", "n = 10"});
}

// x [N, 3, 4, 5] with channel c ~ N(mu_c, sd_c) far from 0, channel 2 constant.
std::shared_ptr<TensorDataset> channels_dataset(int64_t n) {
  const float mu[3] = {100.0f, -3.0f, 7.0f}, sd[3] = {15.0f, 0.01f, 0.0f};
  Tensor x = test::random_tensor({n, 3, 4, 5}, 5, -1.7320508f, 1.7320508f);  // unit variance
  float* p = x.data();
  for (int64_t i = 0; i < n; ++i)
    for (int c = 0; c < 3; ++c)
      for (int j = 0; j < 20; ++j) {
        float& v = p[(i * 3 + c) * 20 + j];
        v = mu[c] + sd[c] * v;
      }
  return std::make_shared<TensorDataset>(x, std::vector<int32_t>(size_t(n), 0));
}

TEST(Standardizer, FittedOnTrainGivesZeroMeanUnitStd) {
  auto ds = channels_dataset(400);
  auto [tr, va] = split(ds->size(), 0.25f, 3);
  auto train = std::make_shared<Subset>(ds, tr);
  const Standardizer norm = Standardizer::fit(*train);
  ASSERT_EQ(norm.mean.size(), 3u);
  EXPECT_NEAR(norm.mean[0], 100.0f, 1.0f);
  EXPECT_NEAR(norm.stddev[0], 15.0f, 0.3f);
  EXPECT_NEAR(norm.mean[1], -3.0f, 1e-3f);
  EXPECT_NEAR(norm.stddev[1], 0.01f, 3e-4f);
  EXPECT_EQ(norm.mean[2], 7.0f);
  EXPECT_EQ(norm.stddev[2], 1e-6f);  // the floor, so a constant channel maps to 0, not NaN
  // On the training examples: per channel mean ~0, std ~1 (exactly, up to rounding).
  double s1[3] = {}, s2[3] = {};
  for (int64_t i = 0; i < train->size(); ++i) {
    const std::vector<float> v = norm(train->get(i).x).to_vector();  // [3, 20]
    for (int c = 0; c < 3; ++c)
      for (int j = 0; j < 20; ++j)
        s1[c] += v[size_t(c * 20 + j)], s2[c] += v[c * 20 + j] * v[c * 20 + j];
  }
  const double count = double(train->size()) * 20;
  for (int c = 0; c < 2; ++c) {
    EXPECT_NEAR(s1[c] / count, 0.0, 1e-4);
    EXPECT_NEAR(std::sqrt(s2[c] / count - (s1[c] / count) * (s1[c] / count)), 1.0, 1e-3);
  }
  EXPECT_EQ(s1[2], 0.0);
  EXPECT_EQ(s2[2], 0.0);
}

TEST(Standardizer, UsesAtMostMaxExamplesSpreadEvenly) {
  // Example i is all i: with 2 of 10 examples, the fit sees examples 0 and 5.
  Tensor x = Tensor::arange(10).reshape({10, 1, 1}).expand({10, 2, 3}).contiguous();
  TensorDataset ds(x, {});
  const Standardizer s = Standardizer::fit(ds, 2);
  EXPECT_EQ(s.mean, std::vector<float>({2.5f, 2.5f}));
  EXPECT_EQ(s.stddev, std::vector<float>({2.5f, 2.5f}));
  const Standardizer all = Standardizer::fit(ds);
  EXPECT_FLOAT_EQ(all.mean[0], 4.5f);
  EXPECT_FLOAT_EQ(all.stddev[0], std::sqrt(8.25f));
}

TEST(Standardizer, RankOneExamplesArePerFeature) {
  TensorDataset ds(Tensor::from_vector({1, 10, 3, 30}, {2, 2}), {});
  const Standardizer s = Standardizer::fit(ds);
  EXPECT_EQ(s.mean, std::vector<float>({2, 20}));
  EXPECT_EQ(s.stddev, std::vector<float>({1, 10}));
  EXPECT_EQ(s(Tensor::from_vector({3, 0}, {2})).to_vector(), std::vector<float>({1, -2}));
}

TEST(Standardizer, StateRoundTripAndErrors) {
  const Standardizer s{{1.5f, -2.0f}, {0.5f, 3.0f}};
  const auto state = s.state();
  ASSERT_EQ(state.count("standardizer/mean"), 1u);
  EXPECT_EQ(state.at("standardizer/stddev").shape(), Shape({2}));
  const Standardizer back = Standardizer::from_state(state);
  EXPECT_EQ(back.mean, s.mean);
  EXPECT_EQ(back.stddev, s.stddev);
  const Standardizer named = Standardizer::from_state(s.state("input/"), "input/");
  EXPECT_EQ(named.mean, s.mean);
  test::expect_error([&] { Standardizer::from_state(state, "x/"); }, {"standardizer", "x/mean"});
  auto bad = state;
  bad["standardizer/stddev"] = Tensor::from_vector({1, 0}, {2});
  test::expect_error([&] { Standardizer::from_state(bad); }, {"standardizer", "channel 1"});
  bad["standardizer/stddev"] = Tensor::ones({3});
  test::expect_error([&] { Standardizer::from_state(bad); }, {"standardizer", "[2]", "[3]"});
  test::expect_error(
      [&] {
        s(Tensor::zeros({3, 4}));
      },
      {"standardize", "[3,4]", "3 channels", "2"});
  test::expect_error(
      [&] {
        TensorDataset empty(Tensor::zeros({0, 2}), {});
        Standardizer::fit(empty);
      },
      {"standardizer", "empty"});
}

}  // namespace
}  // namespace focus::data
