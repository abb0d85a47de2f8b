// Broadcasting and strided paths: ops on permuted, sliced and expanded views must read the logical
// elements. Each expectation is computed by a plain loop over index arithmetic on the base data.
#include <algorithm>
#include <cmath>

#include "test_util.h"

namespace focus {
namespace {

using test::random_tensor;

// x[i][j][k] of a contiguous [.., J, K] value vector.
struct Idx3 {
  const std::vector<float>& v;
  int64_t d1, d2;
  float operator()(int64_t i, int64_t j, int64_t k) const { return v[(i * d1 + j) * d2 + k]; }
};

TEST(Strided, BinaryOnPermutedInputs) {
  const Tensor base = random_tensor({3, 4, 5}, 201), other = random_tensor({5, 3, 4}, 202);
  const std::vector<float> bv = base.to_vector(), ov = other.to_vector();
  Idx3 b{bv, 4, 5}, o{ov, 3, 4};
  Tensor p = base.permute({2, 0, 1});  // [5,3,4]: p[k][i][j] = base[i][j][k]
  for (int op = 0; op < 4; ++op) {
    Tensor out = op == 0   ? add(p, other)
                 : op == 1 ? sub(p, other)
                 : op == 2 ? mul(p, other)
                           : div(other, p);
    std::vector<float> v = out.to_vector();
    for (int k = 0; k < 5; ++k)
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 4; ++j) {
          const float x = b(i, j, k), y = o(k, i, j);
          const float want = op == 0 ? x + y : op == 1 ? x - y : op == 2 ? x * y : y / x;
          ASSERT_FLOAT_EQ(v[(k * 3 + i) * 4 + j], want) << "op " << op << " at " << k << i << j;
        }
  }
}

TEST(Strided, BinaryOnSlicedAndExpandedInputs) {
  const Tensor base = random_tensor({6, 8}, 203);
  const std::vector<float> bv = base.to_vector();
  // Rows 1, 3, 5 and columns 0, 3, 6 of base: strides (16, 3), offset 8.
  Tensor s = base.slice(0, 1, 6, 2).slice(1, 0, 8, 3);
  ASSERT_EQ(s.shape(), Shape({3, 3}));
  // A column [3,1] expanded to [3,3] (stride 0 along the columns).
  const Tensor col = Tensor::from_vector({10, 20, 30}, {3, 1});
  Tensor e = col.expand({3, 3});
  std::vector<float> v = mul(s, e).to_vector();
  std::vector<float> w = add(e, s.transpose(0, 1)).to_vector();
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      EXPECT_FLOAT_EQ(v[i * 3 + j], bv[(1 + 2 * i) * 8 + 3 * j] * (10.0f * (i + 1)));
      EXPECT_FLOAT_EQ(w[i * 3 + j], bv[(1 + 2 * j) * 8 + 3 * i] + 10.0f * (i + 1));
    }
  // Both operands broadcast: [2,1,4] ∘ [3,1] -> [2,3,4].
  const Tensor a = random_tensor({2, 1, 4}, 204), c = random_tensor({3, 1}, 205);
  const std::vector<float> av = a.to_vector(), cv = c.to_vector();
  std::vector<float> r = sub(a, c).to_vector();
  ASSERT_EQ(r.size(), 24u);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) EXPECT_FLOAT_EQ(r[(i * 3 + j) * 4 + k], av[i * 4 + k] - cv[j]);
}

TEST(Strided, UnaryOnStridedInput) {
  const Tensor base = random_tensor({4, 6}, 206);
  const std::vector<float> bv = base.to_vector();
  std::vector<float> v = tanh(base.slice(1, 1, 6, 2).transpose(0, 1)).to_vector();  // [3,4]
  for (int j = 0; j < 3; ++j)
    for (int i = 0; i < 4; ++i) EXPECT_NEAR(v[j * 4 + i], std::tanh(bv[i * 6 + 1 + 2 * j]), 1e-6f);
}

TEST(Strided, SumAndMaxOverNonAdjacentAxes) {
  const Tensor x = random_tensor({3, 4, 5}, 207);
  const std::vector<float> xv = x.to_vector();
  Idx3 at{xv, 4, 5};
  std::vector<float> s = sum(x, {0, 2}).to_vector(), m = max(x, {0, 2}).to_vector();
  std::vector<float> mk = max(x, {2, 0}, true).to_vector();
  ASSERT_EQ(sum(x, {0, 2}, true).shape(), Shape({1, 4, 1}));
  for (int j = 0; j < 4; ++j) {
    double want_s = 0;
    float want_m = -INFINITY;
    for (int i = 0; i < 3; ++i)
      for (int k = 0; k < 5; ++k) want_s += at(i, j, k), want_m = std::max(want_m, at(i, j, k));
    EXPECT_NEAR(s[j], want_s, 1e-5);
    EXPECT_EQ(m[j], want_m);
    EXPECT_EQ(mk[j], want_m);
  }
  // Mean over {0, 2} of a permuted view ([5,3,4] from [3,4,5]): axes 0 and 2 of the view are
  // axes 2 and 1 of x, leaving x's axis 0.
  std::vector<float> mv = mean(x.permute({2, 0, 1}), {0, 2}).to_vector();
  for (int i = 0; i < 3; ++i) {
    double want = 0;
    for (int j = 0; j < 4; ++j)
      for (int k = 0; k < 5; ++k) want += at(i, j, k);
    EXPECT_NEAR(mv[i], want / 20, 1e-6);
  }
  // Single axes and all axes.
  std::vector<float> s1 = sum(x, {1}).to_vector();
  for (int i = 0; i < 3; ++i)
    for (int k = 0; k < 5; ++k) {
      double want = 0;
      for (int j = 0; j < 4; ++j) want += at(i, j, k);
      EXPECT_NEAR(s1[i * 5 + k], want, 1e-5);
    }
  double total = 0;
  for (float f : xv) total += f;
  EXPECT_NEAR(sum(x).item(), total, 1e-4);
  EXPECT_EQ(sum(x).dim(), 0);
  EXPECT_EQ(sum(x, {}, true).shape(), Shape({1, 1, 1}));
}

TEST(Strided, MaxPicksFirstMaximumAndPropagatesNaN) {
  Tensor x = Tensor::from_vector({1, 5, 5, 2, -3, -1}, {2, 3});
  EXPECT_EQ(max(x, {1}).to_vector(), std::vector<float>({5, 2}));
  EXPECT_EQ(max(x, {0}).to_vector(), std::vector<float>({2, 5, 5}));
  EXPECT_EQ(max(x).item(), 5.0f);
  Tensor n = Tensor::from_vector({1, NAN, 3}, {3});
  EXPECT_TRUE(std::isnan(max(n).item()));
}

TEST(Strided, LargeReductionsInParallel) {
  // Large enough for the parallel paths (one long row; many rows; inner > 1).
  const int64_t n = 3 * 4096 + 17;
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = float(i % 7) - 3.0f;
  double want = 0;
  for (float f : v) want += f;
  EXPECT_NEAR(sum(Tensor::from_vector(v, {n})).item(), want, 1e-3);
  Tensor big = Tensor::from_vector(std::vector<float>(400 * 300, 1.0f), {400, 300});
  EXPECT_EQ(sum(big, {0}).to_vector(), std::vector<float>(300, 400.0f));
  EXPECT_EQ(sum(big, {1}).to_vector(), std::vector<float>(400, 300.0f));
}

// C = A·B by a triple loop over logical elements.
std::vector<float> naive_matmul(const std::vector<float>& a, const std::vector<float>& b, int m,
                                int k, int n) {
  std::vector<float> c(m * n);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double s = 0;
      for (int p = 0; p < k; ++p) s += double(a[i * k + p]) * b[p * n + j];
      c[i * n + j] = float(s);
    }
  return c;
}

TEST(Strided, MatmulOnTransposedViews) {
  const Tensor at = random_tensor({4, 3}, 208), bt = random_tensor({5, 4}, 209);
  // Logical A = atᵀ [3,4], B = btᵀ [4,5].
  std::vector<float> a(12), b(20);
  const std::vector<float> atv = at.to_vector(), btv = bt.to_vector();
  for (int i = 0; i < 3; ++i)
    for (int p = 0; p < 4; ++p) a[i * 4 + p] = atv[p * 3 + i];
  for (int p = 0; p < 4; ++p)
    for (int j = 0; j < 5; ++j) b[p * 5 + j] = btv[j * 4 + p];
  const std::vector<float> want = naive_matmul(a, b, 3, 4, 5);
  const Tensor A = Tensor::from_vector(a, {3, 4}), B = Tensor::from_vector(b, {4, 5});
  FOCUS_EXPECT_CLOSE(matmul(at.transpose(0, 1), bt.transpose(0, 1)),
                     Tensor::from_vector(want, {3, 5}), 1e-5, 1e-6);
  FOCUS_EXPECT_CLOSE(matmul(at.transpose(0, 1), B), Tensor::from_vector(want, {3, 5}), 1e-5, 1e-6);
  FOCUS_EXPECT_CLOSE(matmul(A, bt.transpose(0, 1)), Tensor::from_vector(want, {3, 5}), 1e-5, 1e-6);
  // Sliced (every other column) operand.
  const Tensor wide = random_tensor({3, 8}, 210);
  const std::vector<float> wv = wide.to_vector();
  std::vector<float> s(12);
  for (int i = 0; i < 3; ++i)
    for (int p = 0; p < 4; ++p) s[i * 4 + p] = wv[i * 8 + 2 * p];
  FOCUS_EXPECT_CLOSE(matmul(wide.slice(1, 0, 8, 2), B),
                     Tensor::from_vector(naive_matmul(s, b, 3, 4, 5), {3, 5}), 1e-5, 1e-6);
}

TEST(Strided, BatchedMatmulBroadcastAndTransposed) {
  // a [2,1,3,4] (stored as [2,1,4,3] and transposed) times b [3,4,2]: batch [2,3].
  const Tensor as = random_tensor({2, 1, 4, 3}, 211), b = random_tensor({3, 4, 2}, 212);
  const std::vector<float> av = as.to_vector(), bv = b.to_vector();
  Tensor out = matmul(as.transpose(-1, -2), b);
  ASSERT_EQ(out.shape(), Shape({2, 3, 3, 2}));
  std::vector<float> ov = out.to_vector();
  for (int x = 0; x < 2; ++x)
    for (int y = 0; y < 3; ++y)
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 2; ++j) {
          double s = 0;
          for (int p = 0; p < 4; ++p) s += double(av[x * 12 + p * 3 + i]) * bv[y * 8 + p * 2 + j];
          EXPECT_NEAR(ov[((x * 3 + y) * 3 + i) * 2 + j], s, 1e-5);
        }
  // Shared b with a contiguous batch (one folded GEMM) against a per-batch loop.
  const Tensor a3 = random_tensor({4, 3, 5}, 213), w = random_tensor({5, 2}, 214);
  const std::vector<float> a3v = a3.to_vector(), wv = w.to_vector();
  std::vector<float> r = matmul(a3, w).to_vector();
  for (int bt = 0; bt < 4; ++bt) {
    std::vector<float> ab(a3v.begin() + bt * 15, a3v.begin() + (bt + 1) * 15);
    std::vector<float> want = naive_matmul(ab, wv, 3, 5, 2);
    for (int i = 0; i < 6; ++i) EXPECT_NEAR(r[bt * 6 + i], want[i], 1e-5);
  }
}

TEST(Strided, LinearAgainstLoop) {
  const Tensor x = random_tensor({2, 3, 4}, 215), w = random_tensor({5, 4}, 216),
               b = random_tensor({5}, 217);
  const std::vector<float> xv = x.to_vector(), wv = w.to_vector(), bv = b.to_vector();
  std::vector<float> out = linear(x, w, b).to_vector(), nob = linear(x, w).to_vector();
  for (int r = 0; r < 6; ++r)
    for (int o = 0; o < 5; ++o) {
      double s = 0;
      for (int i = 0; i < 4; ++i) s += double(xv[r * 4 + i]) * wv[o * 4 + i];
      EXPECT_NEAR(out[r * 5 + o], s + bv[o], 1e-5);
      EXPECT_NEAR(nob[r * 5 + o], s, 1e-5);
    }
}

TEST(Strided, SoftmaxLayerNormCrossEntropyAgainstLoops) {
  const Tensor x = random_tensor({2, 3, 4}, 218, -3.0f, 3.0f);
  const std::vector<float> xv = x.to_vector();
  Idx3 at{xv, 3, 4};
  // softmax over the middle axis.
  std::vector<float> sm = softmax(x, 1).to_vector(), lsm = log_softmax(x, 1).to_vector();
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < 4; ++k) {
      double z = 0;
      for (int j = 0; j < 3; ++j) z += std::exp(double(at(i, j, k)));
      for (int j = 0; j < 3; ++j) {
        EXPECT_NEAR(sm[(i * 3 + j) * 4 + k], std::exp(at(i, j, k)) / z, 1e-6);
        EXPECT_NEAR(lsm[(i * 3 + j) * 4 + k], at(i, j, k) - std::log(z), 1e-5);
      }
    }
  // A fully masked row gives zeros, not NaN.
  EXPECT_EQ(softmax(Tensor::full({1, 3}, -INFINITY)).to_vector(), std::vector<float>(3, 0.0f));
  // layer_norm over the last axis with weight and bias.
  const Tensor w = Tensor::from_vector({1, 2, 0.5f, -1}, {4}),
               b = Tensor::from_vector({0, 1, 2, 3}, {4});
  std::vector<float> ln = layer_norm(x, w, b).to_vector();
  for (int r = 0; r < 6; ++r) {
    double mu = 0, var = 0;
    for (int k = 0; k < 4; ++k) mu += xv[r * 4 + k];
    mu /= 4;
    for (int k = 0; k < 4; ++k) var += (xv[r * 4 + k] - mu) * (xv[r * 4 + k] - mu);
    var /= 4;
    for (int k = 0; k < 4; ++k)
      EXPECT_NEAR(
          ln[r * 4 + k],
          (xv[r * 4 + k] - mu) / std::sqrt(var + 1e-5) * w.to_vector()[k] + b.to_vector()[k], 1e-5);
  }
  // cross_entropy as −log softmax[target], smoothed: (1−ε)·nll + ε·mean_c(−log p_c).
  const Tensor logits = Tensor::from_vector({1, 2, 3, 0, -1, 4}, {2, 3});
  const Tensor t = Tensor::from_indices({2, 0}, {2});
  auto lp = [&](int r, int c) {
    const std::vector<float> l = logits.to_vector();
    double z = 0;
    for (int j = 0; j < 3; ++j) z += std::exp(double(l[r * 3 + j]));
    return double(l[r * 3 + c]) - std::log(z);
  };
  const double nll0 = -lp(0, 2), nll1 = -lp(1, 0);
  EXPECT_NEAR(cross_entropy(logits, t).item(), (nll0 + nll1) / 2, 1e-6);
  EXPECT_NEAR(cross_entropy(logits, t, {.reduction = Reduction::sum}).item(), nll0 + nll1, 1e-5);
  std::vector<float> none = cross_entropy(logits, t, {.reduction = Reduction::none}).to_vector();
  EXPECT_NEAR(none[0], nll0, 1e-6);
  EXPECT_NEAR(none[1], nll1, 1e-6);
  const double eps = 0.1;
  auto smooth = [&](int r) { return -(lp(r, 0) + lp(r, 1) + lp(r, 2)) / 3; };
  EXPECT_NEAR(cross_entropy(logits, t, {.label_smoothing = 0.1f}).item(),
              ((1 - eps) * nll0 + eps * smooth(0) + (1 - eps) * nll1 + eps * smooth(1)) / 2, 1e-6);
  // ignore_index: the mean is over the remaining targets; all ignored gives 0.
  const Tensor ti = Tensor::from_indices({2, -100}, {2});
  EXPECT_NEAR(cross_entropy(logits, ti).item(), nll0, 1e-6);
  EXPECT_EQ(cross_entropy(logits, Tensor::from_indices({-100, -100}, {2})).item(), 0.0f);
}

TEST(Strided, ConcatWhereMaskedFillEmbedding) {
  const Tensor a = Tensor::from_vector({1, 2, 3, 4}, {2, 2}),
               b = Tensor::from_vector({5, 6}, {2, 1});
  EXPECT_EQ(concat({a, b}, 1).to_vector(), std::vector<float>({1, 2, 5, 3, 4, 6}));
  EXPECT_EQ(concat({a, b.transpose(0, 1)}, 0).to_vector(), std::vector<float>({1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(concat({a.transpose(0, 1), a}, -1).to_vector(),
            std::vector<float>({1, 3, 1, 2, 2, 4, 3, 4}));
  std::vector<Tensor> many;
  for (int i = 0; i < 10; ++i) many.push_back(Tensor::full({1}, float(i)));
  EXPECT_EQ(concat(many, 0).to_vector(), std::vector<float>({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  const Tensor cond = Tensor::from_indices({1, 0}, {2, 1});
  EXPECT_EQ(where(cond, a, Tensor::scalar(-1)).to_vector(), std::vector<float>({1, 2, -1, -1}));
  EXPECT_EQ(where(Tensor::from_vector({0, 2}, {2}), a, b).to_vector(),
            std::vector<float>({5, 2, 6, 4}));
  EXPECT_EQ(masked_fill(a, Tensor::from_vector({1, 0}, {2}), 9).to_vector(),
            std::vector<float>({9, 2, 9, 4}));
  const Tensor w = Tensor::from_vector({0, 1, 10, 11, 20, 21}, {3, 2});
  EXPECT_EQ(embedding(w, Tensor::from_indices({2, 0, 2, 1}, {2, 2})).to_vector(),
            std::vector<float>({20, 21, 0, 1, 20, 21, 10, 11}));
  // Ids read through a transposed view: [[2, 1], [0, 2]] stored as [[2, 0], [1, 2]].
  Tensor e = embedding(w, Tensor::from_indices({2, 0, 1, 2}, {2, 2}).transpose(0, 1));
  EXPECT_EQ(e.shape(), Shape({2, 2, 2}));
  EXPECT_EQ(e.to_vector(), std::vector<float>({20, 21, 10, 11, 0, 1, 20, 21}));
}

}  // namespace
}  // namespace focus
