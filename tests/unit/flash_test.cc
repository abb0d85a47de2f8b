// The fused attention kernel (src/attention/cpu/flash.h) against a plain double-precision
// reference written here: materialised scores, masks, softmax, dropout by the same counter rule,
// and the textbook backward. Every case runs on every SIMD path this CPU can execute ("scalar"
// always), and the results must not depend on the thread count, bit for bit.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "attention/cpu/flash.h"
#include "test_util.h"

namespace focus::attention::cpu {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

enum class BiasKind { none, full, per_query_key, per_head_key };

struct Case {
  int64_t b, h, nq, nk, d;
  bool causal = false;
  std::vector<int32_t> lengths = {};  // empty: no key padding
  BiasKind bias = BiasKind::none;
  float dropout = 0.0f;
  float logit = 1.0f;  // inputs scaled so the scores reach about ±logit
  std::string name() const {
    return "B=" + std::to_string(b) + " H=" + std::to_string(h) + " Nq=" + std::to_string(nq) +
           " Nk=" + std::to_string(nk) + " D=" + std::to_string(d) + (causal ? " causal" : "") +
           (lengths.empty() ? "" : " lengths") + (bias != BiasKind::none ? " bias" : "") +
           (dropout > 0 ? " dropout" : "") + (logit > 1 ? " logit=" + std::to_string(logit) : "");
  }
};

struct Inputs {
  FlashParams p;
  std::vector<float> q, k, v, dout, bias;
};

// Uniform [-1, 1) values from a seeded counter generator.
std::vector<float> uniform(size_t n, uint64_t seed, float scale = 1.0f) {
  Generator g(seed);
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = (2.0f * g.uniform(i) - 1.0f) * scale;
  return x;
}

Inputs make_inputs(const Case& c, uint64_t seed) {
  Inputs in;
  FlashParams& p = in.p;
  p.batch = c.b, p.heads = c.h, p.nq = c.nq, p.nk = c.nk, p.d = c.d;
  p.scale = 1.0f / std::sqrt(static_cast<float>(c.d));
  p.causal = c.causal;
  // q·k of uniform [-1,1) entries has standard deviation √D/3; scaled by 1/√D that is 1/3, so
  // multiplying q by 3·logit puts typical scores near ±logit.
  const float qs = c.logit > 1.0f ? 3.0f * c.logit : 1.0f;
  in.q = uniform(c.b * c.h * c.nq * c.d, seed + 1, qs);
  in.k = uniform(c.b * c.h * c.nk * c.d, seed + 2);
  in.v = uniform(c.b * c.h * c.nk * c.d, seed + 3);
  in.dout = uniform(c.b * c.h * c.nq * c.d, seed + 4);
  const int64_t nq = c.nq, nk = c.nk, h = c.h;
  switch (c.bias) {
    case BiasKind::none:
      break;
    case BiasKind::full:  // [B,H,Nq,Nk]
      in.bias = uniform(c.b * h * nq * nk, seed + 5, 2.0f);
      p.bias_strides[0] = h * nq * nk, p.bias_strides[1] = nq * nk;
      p.bias_strides[2] = nk, p.bias_strides[3] = 1;
      break;
    case BiasKind::per_query_key:  // [1,1,Nq,Nk], broadcast over batch and heads
      in.bias = uniform(nq * nk, seed + 5, 2.0f);
      p.bias_strides[2] = nk, p.bias_strides[3] = 1;
      break;
    case BiasKind::per_head_key:  // [1,H,1,Nk], broadcast over batch and queries
      in.bias = uniform(h * nk, seed + 5, 2.0f);
      p.bias_strides[1] = nk, p.bias_strides[3] = 1;
      break;
  }
  if (c.dropout > 0.0f) p.dropout_p = c.dropout, p.seed = seed + 6, p.offset = 12345;
  return in;
}

// Binds the pointers that live in `in` (FlashParams holds raw pointers).
FlashParams bound(const Inputs& in, const Case& c) {
  FlashParams p = in.p;
  p.bias = in.bias.empty() ? nullptr : in.bias.data();
  p.key_lengths = c.lengths.empty() ? nullptr : c.lengths.data();
  return p;
}

struct Results {
  std::vector<float> out, lse, dq, dk, dv;
};

Results run_flash(const Inputs& in, const Case& c) {
  const FlashParams p = bound(in, c);
  Results r;
  r.out.assign(in.q.size(), NAN);
  r.lse.assign(c.b * c.h * c.nq, NAN);
  r.dq.assign(in.q.size(), NAN);
  r.dk.assign(in.k.size(), NAN);
  r.dv.assign(in.v.size(), NAN);
  flash_forward(p, in.q.data(), in.k.data(), in.v.data(), r.out.data(), r.lse.data());
  flash_backward(p, in.q.data(), in.k.data(), in.v.data(), r.out.data(), r.lse.data(),
                 in.dout.data(), r.dq.data(), r.dk.data(), r.dv.data());
  return r;
}

struct Reference {
  std::vector<double> out, lse, dq, dk, dv;
};

// The textbook computation in double, one (b, h) at a time.
Reference reference(const Inputs& in, const Case& c) {
  const FlashParams p = bound(in, c);
  const int64_t nq = c.nq, nk = c.nk, D = c.d;
  Reference r;
  r.out.assign(in.q.size(), 0.0);
  r.lse.assign(c.b * c.h * nq, 0.0);
  r.dq.assign(in.q.size(), 0.0);
  r.dk.assign(in.k.size(), 0.0);
  r.dv.assign(in.v.size(), 0.0);
  const Generator gen(p.seed);
  const double keep_scale = 1.0f / (1.0f - p.dropout_p);  // the float value the kernel uses
  std::vector<double> s(nk), pr(nk), z(nk), dp(nk);
  std::vector<char> on(nk);
  for (int64_t b = 0; b < c.b; ++b)
    for (int64_t h = 0; h < c.h; ++h) {
      const int64_t bh = b * c.h + h;
      const int64_t len = c.lengths.empty() ? nk : c.lengths[b];
      const float* q = in.q.data() + bh * nq * D;
      const float* k = in.k.data() + bh * nk * D;
      const float* v = in.v.data() + bh * nk * D;
      const float* g = in.dout.data() + bh * nq * D;
      for (int64_t i = 0; i < nq; ++i) {
        double m = kNegInf;
        for (int64_t j = 0; j < nk; ++j) {
          on[j] = j < len && !(c.causal && j > i);
          if (!on[j]) continue;
          double dot = 0;
          for (int64_t d = 0; d < D; ++d) dot += double(q[i * D + d]) * k[j * D + d];
          s[j] = dot * p.scale;
          if (p.bias) {
            const int64_t* st = p.bias_strides;
            s[j] += p.bias[b * st[0] + h * st[1] + i * st[2] + j * st[3]];
          }
          m = std::max(m, s[j]);
        }
        double* out = r.out.data() + (bh * nq + i) * D;
        if (m == kNegInf) {  // no attended key: zeros, -inf, no gradient
          r.lse[bh * nq + i] = kNegInf;
          continue;
        }
        double sum = 0;
        for (int64_t j = 0; j < nk; ++j) sum += on[j] ? std::exp(s[j] - m) : 0.0;
        r.lse[bh * nq + i] = m + std::log(sum);
        const uint64_t base = p.offset + uint64_t((bh * nq + i) * nk);
        for (int64_t j = 0; j < nk; ++j) {
          pr[j] = on[j] ? std::exp(s[j] - m) / sum : 0.0;
          z[j] = p.dropout_p > 0 ? (gen.uniform(base + j) >= p.dropout_p ? keep_scale : 0.0) : 1.0;
          for (int64_t d = 0; d < D; ++d) out[d] += pr[j] * z[j] * v[j * D + d];
        }
        // Backward: dP = (dO·Vᵀ)∘Z, dS = P∘(dP − Σ_j P·dP), through the scale to q and k.
        double delta = 0;
        for (int64_t j = 0; j < nk; ++j) {
          double dot = 0;
          for (int64_t d = 0; d < D; ++d) dot += double(g[i * D + d]) * v[j * D + d];
          dp[j] = dot * z[j];
          delta += pr[j] * dp[j];
        }
        for (int64_t j = 0; j < nk; ++j) {
          if (!on[j]) continue;
          const double ds = pr[j] * (dp[j] - delta) * p.scale;
          for (int64_t d = 0; d < D; ++d) {
            r.dq[(bh * nq + i) * D + d] += ds * k[j * D + d];
            r.dk[(bh * nk + j) * D + d] += ds * q[i * D + d];
            r.dv[(bh * nk + j) * D + d] += pr[j] * z[j] * g[i * D + d];
          }
        }
      }
    }
  return r;
}

// |a − r| <= atol·max(floor, max|r|) + rtol·|r| elementwise: atol is relative to the tensor's
// largest value, or to `floor`, the size of the terms it sums, when the sum cancels (a gradient of
// a one-hot softmax is ~0 in exact arithmetic and ε·terms in f32). lse may be -inf on both sides.
// Fails on NaN.
::testing::AssertionResult close(const char* what, const std::vector<float>& a,
                                 const std::vector<double>& r, double rtol, double atol,
                                 double floor = 1.0) {
  double big = floor;
  for (double x : r)
    if (std::isfinite(x)) big = std::max(big, std::fabs(x));
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isinf(r[i]) && a[i] == r[i]) continue;
    const double err = std::fabs(double(a[i]) - r[i]);
    if (!(err <= atol * big + rtol * std::fabs(r[i])))
      return ::testing::AssertionFailure()
             << what << "[" << i << "] = " << a[i] << ", expected " << r[i] << " (|diff| " << err
             << ", scale " << big << ")";
  }
  return ::testing::AssertionSuccess();
}

double max_abs(const std::vector<float>& x) {
  double m = 0;
  for (float v : x) m = std::max(m, double(std::fabs(v)));
  return m;
}

// The paths to test: every one this CPU can execute.
std::vector<std::string> isas() {
  std::vector<std::string> out;
  for (const char* isa : {"scalar", "avx2", "avx512"})
    if (flash_set_isa(isa)) out.push_back(isa);
  flash_set_isa("auto");
  return out;
}

struct IsaScope {
  ~IsaScope() { flash_set_isa("auto"); }
};

struct ThreadsScope {
  int prev = num_threads();
  ~ThreadsScope() { set_num_threads(prev); }
};

void check_case(const Case& c, uint64_t seed, double rtol = 1e-4, double atol = 1e-5) {
  const Inputs in = make_inputs(c, seed);
  const Reference ref = reference(in, c);
  IsaScope restore;
  for (const std::string& isa : isas()) {
    SCOPED_TRACE(c.name() + " on " + isa);
    ASSERT_TRUE(flash_set_isa(isa.c_str()));
    const Results r = run_flash(in, c);
    EXPECT_TRUE(close("out", r.out, ref.out, rtol, atol));
    EXPECT_TRUE(close("lse", r.lse, ref.lse, rtol, atol));
    // dq sums scale·dS·k and dk sums scale·dS·q: those are the sizes their rounding scales with.
    EXPECT_TRUE(close("dq", r.dq, ref.dq, rtol, atol, in.p.scale * max_abs(in.k)));
    EXPECT_TRUE(close("dk", r.dk, ref.dk, rtol, atol, in.p.scale * max_abs(in.q)));
    EXPECT_TRUE(close("dv", r.dv, ref.dv, rtol, atol));
  }
}

TEST(FlashTest, ReportsItsPath) {
  const std::string isa = flash_isa();
  EXPECT_TRUE(isa == "avx512" || isa == "avx2" || isa == "scalar") << isa;
  EXPECT_FALSE(flash_set_isa("sse9"));
  EXPECT_EQ(flash_isa(), isa);  // a refused request changes nothing
  EXPECT_TRUE(flash_set_isa("scalar"));
  EXPECT_STREQ(flash_isa(), "scalar");
  EXPECT_TRUE(flash_set_isa("auto"));
  EXPECT_EQ(flash_isa(), isa);
  std::string all;
  for (const std::string& s : isas()) all += s + " ";
  std::printf("flash paths tested on this CPU: %s(default %s)\n", all.c_str(), isa.c_str());
}

TEST(FlashTest, SmallShapes) {
  check_case({.b = 1, .h = 1, .nq = 1, .nk = 1, .d = 1}, 1);
  check_case({.b = 2, .h = 2, .nq = 7, .nk = 7, .d = 16, .causal = true}, 2);
  check_case({.b = 1, .h = 1, .nq = 7, .nk = 1, .d = 80}, 3);
  check_case({.b = 1, .h = 1, .nq = 1, .nk = 200, .d = 64}, 4);
}

TEST(FlashTest, LongerAndUnequalLengths) {
  check_case({.b = 1, .h = 2, .nq = 129, .nk = 200, .d = 64}, 5);
  check_case({.b = 1, .h = 1, .nq = 200, .nk = 129, .d = 80}, 6);
  check_case({.b = 1, .h = 1, .nq = 33, .nk = 40, .d = 256}, 7);
  check_case({.b = 1, .h = 1, .nq = 129, .nk = 129, .d = 128}, 8);
}

TEST(FlashTest, Causal) {
  check_case({.b = 1, .h = 1, .nq = 200, .nk = 200, .d = 64, .causal = true}, 9);
  // Top-left aligned: with Nq < Nk the keys past Nq are never attended (and get zero gradient).
  check_case({.b = 1, .h = 2, .nq = 7, .nk = 200, .d = 16, .causal = true}, 10);
  check_case({.b = 1, .h = 1, .nq = 200, .nk = 7, .d = 1, .causal = true}, 11);
  check_case({.b = 2, .h = 1, .nq = 129, .nk = 129, .d = 80, .causal = true}, 12);
}

TEST(FlashTest, KeyLengths) {
  // Batch 1 has no key at all: its rows are zeros with lse -inf and no gradient.
  check_case({.b = 2, .h = 2, .nq = 129, .nk = 200, .d = 16, .lengths = {150, 0}}, 13);
  check_case(
      {.b = 3, .h = 1, .nq = 200, .nk = 129, .d = 64, .causal = true, .lengths = {50, 129, 0}}, 14);
  check_case({.b = 2, .h = 1, .nq = 7, .nk = 7, .d = 1, .lengths = {1, 6}}, 15);
}

TEST(FlashTest, Bias) {
  check_case({.b = 2, .h = 2, .nq = 129, .nk = 129, .d = 16, .bias = BiasKind::per_query_key}, 16);
  check_case(
      {.b = 2, .h = 3, .nq = 7, .nk = 200, .d = 64, .causal = true, .bias = BiasKind::per_head_key},
      17);
  check_case(
      {.b = 2, .h = 2, .nq = 200, .nk = 7, .d = 80, .lengths = {7, 3}, .bias = BiasKind::full}, 18);
}

TEST(FlashTest, Dropout) {
  check_case({.b = 2,
              .h = 2,
              .nq = 129,
              .nk = 129,
              .d = 16,
              .causal = true,
              .bias = BiasKind::per_query_key,
              .dropout = 0.3f},
             19);
  check_case({.b = 1, .h = 2, .nq = 7, .nk = 200, .d = 64, .lengths = {120}, .dropout = 0.5f}, 20);
}

TEST(FlashTest, HugeLogitsStayFinite) {
  // Scores of about ±1e4 (q scaled by 3e4): the softmax is one-hot, so dS = P∘(dP − Σ P·dP) is a
  // cancellation, ~ε·|dP| in f32 (as in any f32 implementation), and dk multiplies it by |q|:
  // the dk tolerance is relative to scale·max|q| ≈ 7.5e3 (see check_case), with atol 2e-6.
  // Nothing may be NaN or infinite except lse = -inf for the batch with no key.
  check_case({.b = 1, .h = 2, .nq = 200, .nk = 200, .d = 16, .causal = true, .logit = 1e4f}, 21,
             1e-4, 2e-6);
  check_case({.b = 2, .h = 1, .nq = 129, .nk = 7, .d = 64, .lengths = {7, 0}, .logit = 1e4f}, 22,
             1e-4, 2e-6);
}

// Dropout decisions match focus::dropout on the materialised probabilities: with V = I (D = Nk),
// out = (P∘Z), so flash with dropout equals dropout(flash without dropout) drawn from the same
// generator state.
TEST(FlashTest, DropoutMatchesFocusDropout) {
  const int64_t B = 2, H = 2, N = 7;
  Case c{.b = B, .h = H, .nq = N, .nk = N, .d = N, .causal = true};
  Inputs in = make_inputs(c, 30);
  for (int64_t bh = 0; bh < B * H; ++bh)
    for (int64_t j = 0; j < N; ++j)
      for (int64_t d = 0; d < N; ++d) in.v[(bh * N + j) * N + d] = j == d ? 1.0f : 0.0f;
  const Results plain = run_flash(in, c);
  Generator gen(77);
  gen.advance(5);  // an arbitrary offset
  in.p.dropout_p = 0.4f, in.p.seed = gen.seed(), in.p.offset = gen.offset();
  const Results dropped = run_flash(in, c);
  Tensor probs = Tensor::from_vector(plain.out, {B, H, N, N});
  Tensor expected = dropout(probs, 0.4f, true, gen);
  std::vector<float> e = expected.to_vector();
  int zeros = 0;
  for (size_t i = 0; i < e.size(); ++i) {
    EXPECT_EQ(e[i] == 0.0f, dropped.out[i] == 0.0f) << i;
    EXPECT_NEAR(dropped.out[i], e[i], 1e-6f * std::max(1.0f, std::fabs(e[i]))) << i;
    zeros += dropped.out[i] == 0.0f && plain.out[i] != 0.0f;
  }
  EXPECT_GT(zeros, 0);  // dropout did drop something
}

// Deterministic: 1 and 2 threads give the same bits, forward and backward, on every path.
TEST(FlashTest, BitIdenticalAcrossThreadCounts) {
  ThreadsScope restore_threads;
  IsaScope restore_isa;
  const Case c{.b = 2,
               .h = 3,
               .nq = 200,
               .nk = 129,
               .d = 64,
               .causal = true,
               .lengths = {100, 129},
               .bias = BiasKind::per_query_key,
               .dropout = 0.2f};
  const Inputs in = make_inputs(c, 40);
  for (const std::string& isa : isas()) {
    SCOPED_TRACE(isa);
    ASSERT_TRUE(flash_set_isa(isa.c_str()));
    set_num_threads(1);
    const Results one = run_flash(in, c);
    set_num_threads(2);
    const Results two = run_flash(in, c);
    auto same = [](const std::vector<float>& a, const std::vector<float>& b) {
      return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * 4) == 0;
    };
    EXPECT_TRUE(same(one.out, two.out));
    EXPECT_TRUE(same(one.lse, two.lse));
    EXPECT_TRUE(same(one.dq, two.dq));
    EXPECT_TRUE(same(one.dk, two.dk));
    EXPECT_TRUE(same(one.dv, two.dv));
  }
}

// The forward at bf16 (FlashParams::bf16, inference): within bf16's error of the double
// reference, yet not f32's answer; the same bits for any thread count; with dropout, the f32
// forward. Only where the CPU has AVX512-BF16 (elsewhere the flag changes nothing, checked too).
std::vector<float> forward_only(const Inputs& in, const Case& c, bool bf16,
                                std::vector<float>* lse = nullptr) {
  FlashParams p = bound(in, c);
  p.bf16 = bf16;
  std::vector<float> out(in.q.size(), NAN), l(size_t(c.b * c.h * c.nq), NAN);
  flash_forward(p, in.q.data(), in.k.data(), in.v.data(), out.data(), l.data());
  if (lse) *lse = l;
  return out;
}

// Shapes for the bf16 paths: odd sizes, several key blocks, masks, a bias, a sharp head.
std::vector<Case> bf16_cases() {
  return {
      {.b = 2, .h = 2, .nq = 129, .nk = 200, .d = 64},
      {.b = 1, .h = 1, .nq = 7, .nk = 1, .d = 1},
      {.b = 1, .h = 2, .nq = 33, .nk = 301, .d = 80},  // several key blocks: the rescaling
      {.b = 1, .h = 1, .nq = 200, .nk = 200, .d = 17, .causal = true},
      {.b = 3, .h = 1, .nq = 100, .nk = 129, .d = 64, .causal = true, .lengths = {50, 129, 0}},
      {.b = 2, .h = 2, .nq = 7, .nk = 263, .d = 16, .lengths = {263, 5}, .bias = BiasKind::full},
      {.b = 1, .h = 2, .nq = 129, .nk = 129, .d = 32, .logit = 30.0f},
  };
}

TEST(FlashTest, Bf16ForwardIsWithinBf16Error) {
  IsaScope restore_isa;
  ThreadsScope restore_threads;
  const bool runs = flash_bf16_runs();
  std::printf("bf16 forward on this CPU: %s\n", runs ? "yes" : "no (f32 runs instead)");
  const std::vector<Case> cases = bf16_cases();
  uint64_t seed = 50;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name());
    const Inputs in = make_inputs(c, ++seed);
    const Reference ref = reference(in, c);
    std::vector<float> lse;
    set_num_threads(1);
    const std::vector<float> out = forward_only(in, c, true, &lse);
    // P and V rounded to bf16 (relative 2⁻⁹ each; ~2.2e-3 of |v| ≤ 1 measured), the scores f32:
    // sharp heads (scores of ±30) are no worse off than soft ones.
    EXPECT_TRUE(close("out", out, ref.out, 0.0, 4e-3));
    EXPECT_TRUE(close("lse", lse, ref.lse, 1e-4, 1e-5));  // from f32 scores, as the f32 path
    set_num_threads(2);
    const std::vector<float> two = forward_only(in, c, true);
    EXPECT_EQ(std::memcmp(out.data(), two.data(), out.size() * 4), 0) << "thread counts differ";
    const std::vector<float> f32 = forward_only(in, c, false);
    const bool same_as_f32 = std::memcmp(out.data(), f32.data(), out.size() * 4) == 0;
    EXPECT_EQ(same_as_f32, !runs);
  }
  // Dropout (training) keeps the f32 forward.
  const Case c{.b = 1, .h = 2, .nq = 33, .nk = 40, .d = 16, .dropout = 0.3f};
  const Inputs in = make_inputs(c, 70);
  const std::vector<float> a = forward_only(in, c, true), b = forward_only(in, c, false);
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * 4), 0);
}

// The backward at bf16 (FlashParams::bf16 in training): dq, dk, dv within bf16's error of the
// double reference, yet not f32's; the same bits for any thread count; dropout, causal masks,
// key padding, a bias, odd sizes and several key blocks included. Where the CPU has no
// AVX512-BF16 the flag changes nothing (checked too).
Results run_bf16(const Inputs& in, const Case& c, bool bf16) {
  Inputs copy = in;
  copy.p.bf16 = bf16;
  return run_flash(copy, c);
}

TEST(FlashTest, Bf16BackwardIsWithinBf16Error) {
  IsaScope restore_isa;
  ThreadsScope restore_threads;
  const bool runs = flash_bf16_runs();
  std::vector<Case> cases = bf16_cases();
  cases.push_back({.b = 1, .h = 2, .nq = 65, .nk = 70, .d = 24, .dropout = 0.2f});
  uint64_t seed = 80;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name());
    const Inputs in = make_inputs(c, ++seed);
    const Reference ref = reference(in, c);
    set_num_threads(1);
    const Results r = run_bf16(in, c, true);
    // Q, K, dO, P and dS rounded to bf16 (relative 2⁻⁹ each), sums in f32 over up to 301 terms:
    // up to 4.6e-3 of the scale measured, 7.3e-3 for dk of the sharp head (scores of ±30).
    EXPECT_TRUE(close("dq", r.dq, ref.dq, 0.0, 1e-2, in.p.scale * max_abs(in.k)));
    EXPECT_TRUE(close("dk", r.dk, ref.dk, 0.0, 1e-2, in.p.scale * max_abs(in.q)));
    EXPECT_TRUE(close("dv", r.dv, ref.dv, 0.0, 1e-2));
    set_num_threads(2);
    const Results two = run_bf16(in, c, true);
    for (const auto& [a, b] : {std::pair{&r.dq, &two.dq}, {&r.dk, &two.dk}, {&r.dv, &two.dv}})
      EXPECT_EQ(std::memcmp(a->data(), b->data(), a->size() * 4), 0) << "thread counts differ";
    const Results f32 = run_bf16(in, c, false);
    const bool same_as_f32 = std::memcmp(r.dq.data(), f32.dq.data(), r.dq.size() * 4) == 0 &&
                             std::memcmp(r.dk.data(), f32.dk.data(), r.dk.size() * 4) == 0 &&
                             std::memcmp(r.dv.data(), f32.dv.data(), r.dv.size() * 4) == 0;
    EXPECT_EQ(same_as_f32, !runs);
  }
}

}  // namespace
}  // namespace focus::attention::cpu
