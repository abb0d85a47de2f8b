// The counter-based generator: reproducible, roughly the right moments, independent of the thread
// count, fresh after advancing; and dropout built on it.
#include <algorithm>
#include <cmath>

#include "test_util.h"

namespace focus {
namespace {

constexpr int64_t kDraws = 100000;

struct Moments {
  double mean, stddev;
};

Moments moments(const Tensor& t) {
  std::vector<float> v = t.to_vector();
  double s = 0, s2 = 0;
  for (float x : v) s += x;
  const double mean = s / v.size();
  for (float x : v) s2 += (x - mean) * (x - mean);
  return {mean, std::sqrt(s2 / (v.size() - 1))};
}

// Restores the thread count on scope exit.
struct ThreadsScope {
  int prev = num_threads();
  ~ThreadsScope() { set_num_threads(prev); }
};

TEST(Rng, SameSeedSameValues) {
  Generator a(42), b(42), c(43);
  const std::vector<float> ua = Tensor::uniform({1000}, 0, 1, a).to_vector();
  EXPECT_EQ(ua, Tensor::uniform({1000}, 0, 1, b).to_vector());
  EXPECT_NE(ua, Tensor::uniform({1000}, 0, 1, c).to_vector());
  Generator d(7), e(7);
  EXPECT_EQ(Tensor::normal({500}, 0, 1, d).to_vector(), Tensor::normal({500}, 0, 1, e).to_vector());
  EXPECT_EQ(Tensor::bernoulli({500}, 0.3f, d).to_vector(),
            Tensor::bernoulli({500}, 0.3f, e).to_vector());
  // manual_seed resets the default generator.
  manual_seed(5);
  const std::vector<float> first = Tensor::uniform({100}, 0, 1).to_vector();
  manual_seed(5);
  EXPECT_EQ(first, Tensor::uniform({100}, 0, 1).to_vector());
  EXPECT_EQ(default_generator().seed(), 5u);
  EXPECT_EQ(default_generator().offset(), 100u);
}

TEST(Rng, StateRoundTrip) {
  Generator g(11);
  Tensor::uniform({37}, 0, 1, g);
  const uint64_t seed = g.seed(), offset = g.offset();
  EXPECT_EQ(offset, 37u);
  const std::vector<float> next = Tensor::normal({50}, 0, 1, g).to_vector();
  Generator h;
  h.set_state(seed, offset);
  EXPECT_EQ(next, Tensor::normal({50}, 0, 1, h).to_vector());
}

TEST(Rng, UniformMoments) {
  Generator g(1);
  Tensor t = Tensor::uniform({kDraws}, -2.0f, 4.0f, g);
  const Moments m = moments(t);
  // U(a, b): mean (a+b)/2 = 1, stddev (b−a)/√12 = √3; the mean's standard error is √3/√n ≈ 0.0055.
  EXPECT_NEAR(m.mean, 1.0, 5 * std::sqrt(3.0) / std::sqrt(double(kDraws)));
  EXPECT_NEAR(m.stddev, std::sqrt(3.0), 0.02);
  std::vector<float> v = t.to_vector();
  EXPECT_GE(*std::min_element(v.begin(), v.end()), -2.0f);
  EXPECT_LT(*std::max_element(v.begin(), v.end()), 4.0f);
  // Every tenth of the range gets about a tenth of the draws (±5 standard errors).
  std::vector<int> bins(10);
  for (float x : v) bins[std::min(9, int((x + 2.0f) / 0.6f))]++;
  const double p = 0.1, se = std::sqrt(kDraws * p * (1 - p));
  for (int b : bins) EXPECT_NEAR(b, kDraws * p, 5 * se);
}

TEST(Rng, NormalMoments) {
  Generator g(2);
  Tensor t = Tensor::normal({kDraws}, 3.0f, 2.0f, g);
  const Moments m = moments(t);
  // The mean's standard error is σ/√n ≈ 0.0063; the stddev's is σ/√(2n) ≈ 0.0045.
  EXPECT_NEAR(m.mean, 3.0, 5 * 2.0 / std::sqrt(double(kDraws)));
  EXPECT_NEAR(m.stddev, 2.0, 5 * 2.0 / std::sqrt(2.0 * kDraws));
  // About 68.3% within one σ (standard error √(p(1−p)/n) ≈ 0.0015).
  int within = 0;
  for (float x : t.to_vector()) within += std::fabs(x - 3.0f) < 2.0f;
  EXPECT_NEAR(within / double(kDraws), 0.6827, 0.0075);
  for (float x : t.to_vector()) ASSERT_TRUE(std::isfinite(x));
}

TEST(Rng, BernoulliMoments) {
  Generator g(3);
  for (float p : {0.0f, 0.1f, 0.5f, 0.9f, 1.0f}) {
    std::vector<float> v = Tensor::bernoulli({kDraws}, p, g).to_vector();
    double ones = 0;
    for (float x : v) {
      ASSERT_TRUE(x == 0.0f || x == 1.0f);
      ones += x;
    }
    const double se = std::sqrt(p * (1 - p) / kDraws);
    EXPECT_NEAR(ones / kDraws, p, 5 * se + 1e-12) << "p " << p;
  }
}

TEST(Rng, IndependentOfThreadCount) {
  ThreadsScope restore;
  // Large enough (1e5 > 2^15) that the draws run in parallel.
  auto draw = [] {
    Generator g(99);
    std::vector<float> u = Tensor::uniform({kDraws}, 0, 1, g).to_vector();
    std::vector<float> n = Tensor::normal({kDraws}, 0, 1, g).to_vector();
    std::vector<float> b = Tensor::bernoulli({kDraws}, 0.3f, g).to_vector();
    std::vector<float> d = dropout(Tensor::ones({kDraws}), 0.4f, true, g).to_vector();
    u.insert(u.end(), n.begin(), n.end());
    u.insert(u.end(), b.begin(), b.end());
    u.insert(u.end(), d.begin(), d.end());
    return u;
  };
  set_num_threads(1);
  const std::vector<float> one = draw();
  set_num_threads(2);
  const std::vector<float> two = draw();
  EXPECT_EQ(one, two);
}

TEST(Rng, AdvancingGivesFreshValues) {
  Generator g(4);
  const std::vector<float> a = Tensor::uniform({1000}, 0, 1, g).to_vector();
  const std::vector<float> b = Tensor::uniform({1000}, 0, 1, g).to_vector();
  int same = 0;
  for (size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
  EXPECT_LT(same, 5);  // 24-bit values: a coincidence has probability ~6e-8 each
  // A draw of n then m equals one draw of n + m (counters, not state updates).
  Generator h(4);
  const std::vector<float> ab = Tensor::uniform({2000}, 0, 1, h).to_vector();
  EXPECT_EQ(std::vector<float>(ab.begin(), ab.begin() + 1000), a);
  EXPECT_EQ(std::vector<float>(ab.begin() + 1000, ab.end()), b);
  // Distinct seeds give unrelated streams.
  Generator s1(100), s2(101);
  EXPECT_NE(s1.bits(0), s2.bits(0));
  EXPECT_NE(s1.bits(0), s1.bits(1));
}

TEST(Dropout, KeepsAboutOneMinusPAndScales) {
  Generator g(5);
  for (float p : {0.1f, 0.5f, 0.8f}) {
    std::vector<float> v = dropout(Tensor::full({kDraws}, 2.0f), p, true, g).to_vector();
    int kept = 0;
    const float scaled = 2.0f / (1.0f - p);
    for (float x : v) {
      if (x != 0.0f) {
        ASSERT_FLOAT_EQ(x, scaled) << "p " << p;
        ++kept;
      }
    }
    const double se = std::sqrt(p * (1 - p) / kDraws);
    EXPECT_NEAR(kept / double(kDraws), 1 - p, 5 * se) << "p " << p;
  }
  // p = 1 drops everything, p = 0 nothing.
  EXPECT_EQ(dropout(Tensor::ones({100}), 1.0f, true, g).to_vector(), std::vector<float>(100, 0));
  EXPECT_EQ(dropout(Tensor::ones({100}), 0.0f, true, g).to_vector(), std::vector<float>(100, 1));
}

TEST(Dropout, IdentityWhenNotTraining) {
  Generator g(6);
  Tensor x = Tensor::from_vector({1, -2, 3, 4}, {2, 2});
  Tensor y = dropout(x, 0.5f, false, g);
  EXPECT_EQ(y.to_vector(), x.to_vector());
  EXPECT_EQ(g.offset(), 0u);  // eval mode draws nothing
}

TEST(Dropout, GradientIsTheMask) {
  Generator g(7);
  Tensor x = Tensor::full({1000}, 3.0f).requires_grad_();
  Tensor y = dropout(x, 0.25f, true, g);
  sum(y).backward();
  std::vector<float> yv = y.to_vector(), gv = x.grad().to_vector();
  for (size_t i = 0; i < yv.size(); ++i)
    ASSERT_FLOAT_EQ(gv[i], yv[i] == 0.0f ? 0.0f : 1.0f / 0.75f) << i;
}

TEST(Dropout, NonContiguousInput) {
  Generator g(8), h(8);
  Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  // Dropout of a transposed view equals the mask applied in the view's logical order.
  std::vector<float> y = dropout(x.transpose(0, 1), 0.5f, true, g).to_vector();
  std::vector<float> m = dropout(Tensor::ones({3, 2}), 0.5f, true, h).to_vector();
  std::vector<float> xt = {1, 4, 2, 5, 3, 6};
  for (int i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(y[i], xt[i] * m[i]);
}

}  // namespace
}  // namespace focus
