// Attention: the fused and math paths agree (extreme logits, fully masked rows, dropout), capture
// records probabilities, measures of focus, and bad input gets a one-line error.
#include <cmath>

#include "focus/attention.h"
#include "test_util.h"

namespace focus {
namespace {

using attention::Path;
using attention::SdpaOptions;
using test::random_tensor;

struct Run {
  Tensor out, dq, dk, dv;
};

Run run(const Tensor& q0, const Tensor& k0, const Tensor& v0, SdpaOptions opt, Path path,
        const Tensor& gout) {
  Tensor q = q0.detach().clone().requires_grad_(), k = k0.detach().clone().requires_grad_();
  Tensor v = v0.detach().clone().requires_grad_();
  opt.path = path;
  Tensor out = attention::scaled_dot_product_attention(q, k, v, opt);
  out.backward(gout);
  return {out, q.grad(), k.grad(), v.grad()};
}

void expect_paths_agree(const Tensor& q, const Tensor& k, const Tensor& v, SdpaOptions opt,
                        float rtol = 1e-4f, float atol = 1e-5f) {
  Tensor gout = random_tensor(q.shape(), 99);
  Generator g1(5), g2(5);
  opt.generator = &g1;
  Run m = run(q, k, v, opt, Path::math, gout);
  opt.generator = &g2;
  Run f = run(q, k, v, opt, Path::fused, gout);
  FOCUS_EXPECT_CLOSE(f.out, m.out, rtol, atol);
  FOCUS_EXPECT_CLOSE(f.dq, m.dq, rtol, atol);
  FOCUS_EXPECT_CLOSE(f.dk, m.dk, rtol, atol);
  FOCUS_EXPECT_CLOSE(f.dv, m.dv, rtol, atol);
  for (const Tensor& t : {f.out, f.dq, f.dk, f.dv})
    for (float x : t.to_vector()) ASSERT_TRUE(std::isfinite(x));
}

TEST(Attention, FusedMatchesMathOnRandomCases) {
  int seed = 0;
  for (auto [b, h, nq, nk, d] : std::vector<std::array<int64_t, 5>>{{2, 3, 1, 1, 8},
                                                                    {1, 2, 7, 7, 16},
                                                                    {2, 2, 33, 65, 64},
                                                                    {1, 1, 130, 97, 80},
                                                                    {1, 2, 64, 64, 256},
                                                                    {2, 1, 5, 200, 1}}) {
    for (bool causal : {false, true}) {
      SCOPED_TRACE(testing::Message() << "B=" << b << " H=" << h << " Nq=" << nq << " Nk=" << nk
                                      << " D=" << d << " causal=" << causal);
      ++seed;
      expect_paths_agree(random_tensor({b, h, nq, d}, seed),
                         random_tensor({b, h, nk, d}, seed + 100),
                         random_tensor({b, h, nk, d}, seed + 200), {.causal = causal});
    }
  }
}

TEST(Attention, FusedMatchesMathWithExtremeLogits) {
  // Scores of order ±1e4: the softmax saturates to one key; no overflow, no NaN.
  Tensor q = random_tensor({1, 2, 40, 32}, 1) * 20.0f, k = random_tensor({1, 2, 40, 32}, 2) * 20.0f;
  expect_paths_agree(q, k, random_tensor({1, 2, 40, 32}, 3), {}, 1e-4f, 1e-4f);
}

TEST(Attention, FullyMaskedRowsGiveZerosOnBothPaths) {
  Tensor q = random_tensor({3, 2, 9, 16}, 4), k = random_tensor({3, 2, 11, 16}, 5);
  Tensor v = random_tensor({3, 2, 11, 16}, 6);
  SdpaOptions opt{.causal = true, .key_lengths = Tensor::from_indices({11, 0, 4}, {3})};
  expect_paths_agree(q, k, v, opt);
  for (Path path : {Path::math, Path::fused}) {
    opt.path = path;
    Tensor out = attention::scaled_dot_product_attention(q, k, v, opt);
    for (float x : out.slice(0, 1, 2).to_vector()) EXPECT_EQ(x, 0.0f);
  }
  // A bias of -inf over a whole row masks it too.
  Tensor bias = Tensor::zeros({9, 11});
  for (int64_t j = 0; j < 11; ++j) bias.data()[2 * 11 + j] = -INFINITY;
  expect_paths_agree(q, k, v, {.bias = bias});
}

TEST(Attention, FusedMatchesMathWithBiasAndPadding) {
  Tensor q = random_tensor({2, 2, 17, 24}, 7), k = random_tensor({2, 2, 23, 24}, 8);
  Tensor v = random_tensor({2, 2, 23, 24}, 9);
  expect_paths_agree(q, k, v,
                     {.scale = 0.3f,
                      .key_lengths = Tensor::from_indices({23, 9}, {2}),
                      .bias = random_tensor({2, 1, 17, 23}, 10)});
}

TEST(Attention, DropoutDropsTheSamePairsOnBothPaths) {
  Tensor q = random_tensor({2, 2, 20, 16}, 11), k = random_tensor({2, 2, 20, 16}, 12);
  expect_paths_agree(q, k, random_tensor({2, 2, 20, 16}, 13), {.causal = true, .dropout = 0.3f});
}

// packed_self_attention reads q, k, v in place from [B,N,3·H·D] and writes [B,N,H·D]: it must equal
// the math path on the heads split out by hand, output and gradient, with every option.
TEST(Attention, PackedSelfAttentionMatchesSplitHeads) {
  int seed = 300;
  for (auto [b, n, h, d] : std::vector<std::array<int64_t, 4>>{
           {2, 50, 4, 32}, {3, 13, 2, 5}, {1, 101, 3, 64}, {2, 130, 1, 16}}) {
    for (int variant = 0; variant < 4; ++variant) {
      SCOPED_TRACE(testing::Message() << "B=" << b << " N=" << n << " H=" << h << " D=" << d
                                      << " variant=" << variant);
      ++seed;
      SdpaOptions opt;
      if (variant == 1) opt.causal = true;
      if (variant == 2) {
        std::vector<int32_t> len(b);
        for (int64_t i = 0; i < b; ++i) len[i] = static_cast<int32_t>(n - (i * 7) % n);
        len[b - 1] = b > 1 ? 0 : len[b - 1];  // a fully padded sequence: zeros
        opt.key_lengths = Tensor::from_indices(len, {b});
      }
      if (variant == 3) opt.dropout = 0.25f;
      const int64_t e = h * d;
      Tensor x = random_tensor({b, n, 3 * e}, seed);
      Tensor gout = random_tensor({b, n, e}, seed + 1);
      Generator g1(7), g2(7);
      // Reference: split the heads, the math path, merge.
      Tensor xr = x.detach().clone().requires_grad_();
      Tensor heads = xr.reshape({b, n, 3, h, d}).permute({2, 0, 3, 1, 4});
      SdpaOptions mopt = opt;
      mopt.path = Path::math;
      mopt.generator = &g1;
      Tensor ref = attention::scaled_dot_product_attention(heads.slice(0, 0, 1).squeeze(0),
                                                           heads.slice(0, 1, 2).squeeze(0),
                                                           heads.slice(0, 2, 3).squeeze(0), mopt)
                       .permute({0, 2, 1, 3})
                       .reshape({b, n, e});
      ref.backward(gout);
      Tensor xp = x.detach().clone().requires_grad_();
      SdpaOptions fopt = opt;
      fopt.path = Path::fused;
      fopt.generator = &g2;
      Tensor out = attention::packed_self_attention(xp, h, fopt);
      out.backward(gout);
      FOCUS_EXPECT_CLOSE(out, ref, 1e-4f, 1e-5f);
      FOCUS_EXPECT_CLOSE(xp.grad(), xr.grad(), 1e-4f, 1e-5f);
    }
  }
}

TEST(Attention, MultiHeadAttentionIsTheSameWithAndWithoutCapture) {
  // Without a capture the module reads the heads in place (packed); with one it splits them.
  Generator gen(3);
  attention::MultiHeadAttention mha({.dim = 64, .heads = 4}, gen);
  Tensor x = random_tensor({3, 37, 64}, 21);
  attention::MultiHeadCall call{.key_lengths = Tensor::from_indices({37, 20, 1}, {3})};
  Tensor plain = mha(x, Tensor(), call);
  attention::Capture capture;
  Tensor captured = mha(x, Tensor(), call);
  FOCUS_EXPECT_CLOSE(plain, captured, 1e-5f, 1e-6f);
  EXPECT_EQ(capture.maps().size(), 1u);
}

TEST(Attention, DispatcherPicksByScoresPerHead) {
  EXPECT_EQ(attention::choose_path(8, 8, 64), Path::math);
  EXPECT_EQ(attention::choose_path(50, 50, 32), Path::fused);  // a ViT's patches and class token
  EXPECT_EQ(attention::choose_path(1024, 1024, 64), Path::fused);
  EXPECT_EQ(attention::choose_path(1024, 1024, 512), Path::math);  // beyond the kernel's D
}

TEST(Attention, CaptureRecordsEachLayersProbabilities) {
  attention::MultiHeadAttention first({.dim = 16, .heads = 4, .name = "first"});
  attention::MultiHeadAttention second({.dim = 16, .heads = 4, .name = "second"});
  Tensor x = random_tensor({2, 6, 16}, 14);
  Tensor expected;
  {
    attention::Capture capture;
    Tensor y = second(first(x), Tensor(), {.key_lengths = Tensor::from_indices({6, 4}, {2})});
    ASSERT_EQ(capture.maps().size(), 2u);
    EXPECT_EQ(capture.maps()[0].layer, "first#0");
    EXPECT_EQ(capture.maps()[1].layer, "second#0");
    const Tensor& p = capture.maps()[1].probs;
    ASSERT_EQ(p.shape(), Shape({2, 4, 6, 6}));
    Tensor rows = sum(p, {-1});
    for (float s : rows.to_vector()) EXPECT_NEAR(s, 1.0f, 1e-5f);
    for (int64_t j = 4; j < 6; ++j)  // padded keys of batch 1 get no weight
      EXPECT_EQ(p.data()[((1 * 4 + 0) * 6 + 0) * 6 + j], 0.0f);
    Tensor r = attention::rollout({capture.maps()[0].probs, capture.maps()[1].probs});
    ASSERT_EQ(r.shape(), Shape({2, 6, 6}));
    for (float s : sum(r, {-1}).to_vector()) EXPECT_NEAR(s, 1.0f, 1e-5f);
  }
  EXPECT_EQ(attention::Capture::active(), nullptr);
}

TEST(Attention, EntropyMeasuresFocus) {
  Tensor uniform = Tensor::full({1, 2, 3, 8}, 1.0f / 8);
  for (float h : attention::head_entropy(uniform).to_vector())
    EXPECT_NEAR(h, std::log(8.0f), 1e-5f);
  Tensor onehot = Tensor::zeros({1, 1, 1, 8});
  onehot.data()[3] = 1.0f;
  EXPECT_EQ(attention::entropy(onehot).item(), 0.0f);
}

TEST(Attention, SoftAttentionMasksAndCaptures) {
  attention::SoftAttention soft({.dim = 6, .score = attention::Score::linear});
  Tensor x = random_tensor({2, 5, 6}, 15);
  Tensor mask = Tensor::from_indices({1, 1, 0, 1, 0, 0, 0, 0, 0, 0}, {2, 5});
  attention::Capture capture;
  auto r = soft(x, mask);
  ASSERT_EQ(r.output.shape(), Shape({2, 6}));
  std::vector<float> w = r.weights.to_vector();
  EXPECT_EQ(w[2], 0.0f);
  EXPECT_NEAR(w[0] + w[1] + w[3], 1.0f, 1e-6f);
  for (int j = 5; j < 10; ++j) EXPECT_EQ(w[j], 0.0f);  // fully masked: zeros, not NaN
  for (float o : r.output.to_vector()) EXPECT_TRUE(std::isfinite(o));
  ASSERT_EQ(capture.maps().size(), 1u);
  EXPECT_EQ(capture.maps()[0].probs.shape(), Shape({2, 1, 1, 5}));
}

TEST(Attention, BadInputIsAOneLineError) {
  Tensor q = random_tensor({2, 2, 4, 8}, 16), k = random_tensor({2, 2, 5, 8}, 17);
  test::expect_error(
      [&] {
        attention::scaled_dot_product_attention(q, k, random_tensor({2, 2, 6, 8}, 1));
      },
      {"scaled_dot_product_attention", "[2,2,4,8]", "[2,2,5,8]", "[2,2,6,8]"});
  test::expect_error(
      [&] {
        attention::scaled_dot_product_attention(q, k, k,
                                                {.key_lengths = Tensor::from_indices({5, 6}, {2})});
      },
      {"scaled_dot_product_attention", "key_lengths[1] = 6"});
  test::expect_error(
      [&] {
        attention::scaled_dot_product_attention(q, k, k, {.bias = Tensor::zeros({3, 5})});
      },
      {"scaled_dot_product_attention", "bias [3,5]"});
  test::expect_error([&] { attention::scaled_dot_product_attention(q, k, k, {.dropout = 1.0f}); },
                     {"dropout"});
  test::expect_error([] { attention::MultiHeadAttention({.dim = 10, .heads = 3}); },
                     {"multi_head_attention", "dim 10", "heads 3"});
  attention::MultiHeadAttention mha({.dim = 8, .heads = 2});
  test::expect_error(
      [&] {
        mha(random_tensor({2, 3, 6}, 1));
      },
      {"multi_head_attention", "[2,3,6]"});
  attention::SoftAttention soft({.dim = 4});
  test::expect_error(
      [&] {
        soft(random_tensor({2, 3, 4}, 1), Tensor::zeros({2, 4}));
      },
      {"soft_attention", "mask [2,4]"});
}

}  // namespace
}  // namespace focus
