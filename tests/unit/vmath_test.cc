// The vectorised float math in src/ops/cpu/vmath.h against libm (in double) over dense sweeps,
// evaluated inside `#pragma omp simd` loops as the kernels use them, plus special values.
#include "ops/cpu/vmath.h"

#include <cmath>
#include <limits>
#include <vector>

#include "test_util.h"

namespace focus {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// n points evenly spaced over [lo, hi], plus the float neighbours of 0 and of each end.
std::vector<float> sweep(float lo, float hi, int n) {
  std::vector<float> xs;
  for (int i = 0; i < n; ++i) xs.push_back(lo + (hi - lo) * float(double(i) / (n - 1)));
  for (float x = 1e-30f; x < 1.0f; x *= 1.37f) {  // small magnitudes, where relative error bites
    if (x >= lo && x <= hi) xs.push_back(x);
    if (-x >= lo && -x <= hi) xs.push_back(-x);
  }
  xs.push_back(std::nextafter(lo, hi));
  xs.push_back(std::nextafter(hi, lo));
  return xs;
}

struct Worst {
  double rel = 0;
  float at = 0, got = 0;
  double want = 0;
};

// Max of |f(x) − ref(x)| / max(|ref(x)|, 1e-30) with f evaluated in a simd loop.
template <typename F, typename R>
Worst max_rel_error(const std::vector<float>& xs, F f, R ref) {
  std::vector<float> ys(xs.size());
  const float* px = xs.data();
  float* py = ys.data();
  const int64_t n = int64_t(xs.size());
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) py[i] = f(px[i]);
  Worst w;
  for (int64_t i = 0; i < n; ++i) {
    const double want = ref(double(xs[i]));
    const double rel = std::fabs(double(ys[i]) - want) / std::max(std::fabs(want), 1e-30);
    if (!(rel <= w.rel)) w = {rel, xs[i], ys[i], want};
  }
  return w;
}

#define EXPECT_REL_BELOW(worst, bound)                                                  \
  EXPECT_LT((worst).rel, (bound)) << "at x = " << (worst).at << ": got " << (worst).got \
                                  << ", libm " << (worst).want

TEST(Vmath, ExpAccuracy) {
  const Worst w = max_rel_error(
      sweep(-87.3f, 88.37f, 2000001), [](float x) { return cpu::vexp(x); },
      [](double x) { return std::exp(x); });
  EXPECT_REL_BELOW(w, 1e-6);
}

TEST(Vmath, TanhAccuracy) {
  const Worst w = max_rel_error(
      sweep(-10.0f, 10.0f, 2000001), [](float x) { return cpu::vtanh(x); },
      [](double x) { return std::tanh(x); });
  EXPECT_REL_BELOW(w, 1e-6);
}

TEST(Vmath, ErfAccuracy) {
  const Worst w = max_rel_error(
      sweep(-10.0f, 10.0f, 2000001), [](float x) { return cpu::verf(x); },
      [](double x) { return std::erf(x); });
  EXPECT_REL_BELOW(w, 1e-6);
}

TEST(Vmath, SigmoidAccuracy) {
  // 1/(1 + e^−x); below −87.3 the true value is a denormal that vexp flushes, so the sweep stops
  // there.
  const Worst w = max_rel_error(
      sweep(-87.0f, 30.0f, 2000001), [](float x) { return cpu::vsigmoid(x); },
      [](double x) { return 1.0 / (1.0 + std::exp(-x)); });
  EXPECT_REL_BELOW(w, 1e-6);
}

TEST(Vmath, ExpSpecialValues) {
  EXPECT_EQ(cpu::vexp(-kInf), 0.0f);
  EXPECT_TRUE(std::isnan(cpu::vexp(kNaN)));
  EXPECT_EQ(cpu::vexp(100.0f), kInf);
  EXPECT_EQ(cpu::vexp(kInf), kInf);
  EXPECT_EQ(cpu::vexp(0.0f), 1.0f);
  EXPECT_EQ(cpu::vexp(-100.0f), 0.0f);
  EXPECT_GT(cpu::vexp(88.37f), 1e38f);
  EXPECT_TRUE(std::isfinite(cpu::vexp(88.37f)));
}

TEST(Vmath, TanhErfSigmoidLimits) {
  EXPECT_EQ(cpu::vtanh(0.0f), 0.0f);
  EXPECT_NEAR(cpu::vtanh(kInf), 1.0f, 1e-6f);
  EXPECT_NEAR(cpu::vtanh(-kInf), -1.0f, 1e-6f);
  EXPECT_EQ(cpu::verf(0.0f), 0.0f);
  EXPECT_NEAR(cpu::verf(kInf), 1.0f, 1e-7f);
  EXPECT_NEAR(cpu::verf(-kInf), -1.0f, 1e-7f);
  EXPECT_EQ(cpu::vsigmoid(0.0f), 0.5f);
  EXPECT_EQ(cpu::vsigmoid(kInf), 1.0f);
  EXPECT_EQ(cpu::vsigmoid(-kInf), 0.0f);
  EXPECT_TRUE(std::isnan(cpu::vsigmoid(kNaN)));
  // Odd functions, exactly.
  for (float x : {0.001f, 0.3f, 1.7f, 5.0f}) {
    EXPECT_EQ(cpu::vtanh(-x), -cpu::vtanh(x));
    EXPECT_EQ(cpu::verf(-x), -cpu::verf(x));
  }
}

// NaN in, NaN out: the library promises never a silent NaN, and a NaN turned into ±1 would hide a
// diverged run (fmin/fmax clamps drop a NaN operand; compares keep it).
TEST(Vmath, TanhErfPropagateNaN) {
  EXPECT_TRUE(std::isnan(cpu::vtanh(kNaN))) << cpu::vtanh(kNaN);
  EXPECT_TRUE(std::isnan(cpu::verf(kNaN))) << cpu::verf(kNaN);
  EXPECT_TRUE(std::isnan(tanh(Tensor::from_vector({kNaN}, {1})).item()));
  EXPECT_TRUE(std::isnan(gelu(Tensor::from_vector({kNaN}, {1}), GeluApprox::tanh).item()));
}

}  // namespace
}  // namespace focus
