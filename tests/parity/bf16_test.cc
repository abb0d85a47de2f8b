// linear at inference precision bf16 against PyTorch (scripts/gen_bf16_fixtures.py): torch's
// rounding to bf16, and products of the rounded operands summed in float64. The micro-kernel of
// this CPU against the portable one, and thread counts against each other, bit for bit.
#include <bit>
#include <cmath>
#include <limits>

#include "ops/cpu/gemm_bf16.h"
#include "ops/cpu/gemm_bf16_isa.h"
#include "parity.h"

namespace focus {
namespace {

io::TensorFile bf16_fixture() {
  return io::load_safetensors(test::fixture("ops/linear_bf16.safetensors"),
                              /*allow_nonfinite=*/true);
}

TEST(ParityBf16, RoundingMatchesTorch) {
  const io::TensorFile f = bf16_fixture();
  const Tensor x = f.at("round.x"), want = f.at("round.bf16");
  ASSERT_EQ(x.numel(), want.numel());
  for (int64_t i = 0; i < x.numel(); ++i) {
    const float got = cpu::from_bf16(cpu::to_bf16(x.data()[i]));
    EXPECT_EQ(std::bit_cast<uint32_t>(got), std::bit_cast<uint32_t>(want.data()[i]))
        << "element " << i << ": " << x.data()[i] << " rounds to " << got << ", torch gives "
        << want.data()[i];
  }
}

TEST(ParityBf16, SubnormalsFlushAndNaNStays) {
  // What vcvtne2ps2bf16 does, and where it parts from torch (which keeps subnormals).
  EXPECT_EQ(cpu::to_bf16(1e-40f), 0x0000);
  EXPECT_EQ(cpu::to_bf16(-1e-40f), 0x8000);
  EXPECT_TRUE(std::isnan(cpu::from_bf16(cpu::to_bf16(std::nanf("")))));
  // A NaN whose payload sits only in the low half must not round to inf.
  EXPECT_TRUE(std::isnan(cpu::from_bf16(cpu::to_bf16(std::bit_cast<float>(0x7f800001u)))));
}

TEST(ParityBf16, LinearMatchesRoundedProducts) {
  const io::TensorFile f = bf16_fixture();
  for (const std::string& c : test::parity_cases(f)) {
    if (c == "round" || c.starts_with("grad_")) continue;
    SCOPED_TRACE("case " + c);
    const Tensor x = f.at(c + ".x"), w = f.at(c + ".w");
    const Tensor b = f.tensors.count(c + ".b") ? f.at(c + ".b") : Tensor();
    Tensor out;
    {
      PrecisionGuard bf16(Precision::bf16);
      autograd::NoGradGuard no_grad;
      out = linear(x, w, b);
    }
    // Only the f32 summation separates this from the float64 sum of the rounded products.
    FOCUS_EXPECT_CLOSE(out, f.at(c + ".out"), 1e-5f, 1e-5f);
    // ... and it is bf16's answer, not f32's: within bf16's tolerance of f32, but not within f32's.
    FOCUS_EXPECT_CLOSE(out, f.at(c + ".f32"), 4e-2f, 4e-2f);
    EXPECT_FALSE(test::all_close(out, f.at(c + ".f32"), 1e-4f, 1e-5f));
  }
}

TEST(ParityBf16, TrainingStaysF32) {
  const io::TensorFile f = bf16_fixture();
  PrecisionGuard bf16(Precision::bf16);
  Tensor x = f.at("odd.x").clone().requires_grad_();
  Tensor out = linear(x, f.at("odd.w"), f.at("odd.b"));  // records a gradient: f32
  FOCUS_EXPECT_CLOSE(out, f.at("odd.f32"), 1e-4f, 1e-5f);
  {
    autograd::NoGradGuard no_grad;
    PrecisionGuard f32(Precision::f32);
    FOCUS_EXPECT_CLOSE(linear(f.at("odd.x"), f.at("odd.w"), f.at("odd.b")), f.at("odd.f32"), 1e-4f,
                       1e-5f);
  }
}

TEST(ParityBf16, TrainingAtBf16MatchesRoundedProducts) {
  const io::TensorFile f = bf16_fixture();
  for (const std::string c : {"grad_wide", "grad_tall"}) {
    SCOPED_TRACE("case " + c);
    TrainingPrecisionGuard bf16(Precision::bf16);
    Tensor x = f.at(c + ".x").clone().requires_grad_();
    Tensor w = f.at(c + ".w").clone().requires_grad_();
    Tensor b = f.tensors.count(c + ".b") ? f.at(c + ".b").clone().requires_grad_() : Tensor();
    Tensor out = linear(x, w, b);
    FOCUS_EXPECT_CLOSE(out, f.at(c + ".out"), 1e-5f, 1e-5f);
    out.backward(f.at(c + ".gy"));
    FOCUS_EXPECT_CLOSE(x.grad(), f.at(c + ".dx"), 1e-5f, 1e-5f);
    FOCUS_EXPECT_CLOSE(w.grad(), f.at(c + ".dw"), 1e-5f, 1e-5f);
    if (b.defined()) FOCUS_EXPECT_CLOSE(b.grad(), f.at(c + ".db"), 1e-5f, 1e-5f);
    // bf16's gradients, not f32's: the same products unrounded differ by more than f32's error.
    Tensor w32 = f.at(c + ".w").clone().requires_grad_();
    {
      TrainingPrecisionGuard f32(Precision::f32);
      linear(f.at(c + ".x"), w32, Tensor()).backward(f.at(c + ".gy"));
    }
    EXPECT_FALSE(test::all_close(w.grad(), w32.grad(), 1e-4f, 1e-5f));
    FOCUS_EXPECT_CLOSE(w.grad(), w32.grad(), 4e-2f, 4e-2f);
  }
}

// gemm_bf16 for each way its operands can lie, K long enough for several blocks, against float64
// sums of the rounded operands (the rounding checked against torch above).
TEST(ParityBf16, GemmEveryLayoutAndBlocksOfK) {
  const int64_t m = 29, n = 70, k = 1501;  // 751 pairs: two blocks of K
  const Tensor a = test::random_tensor({m * k}, 11), b = test::random_tensor({n * k}, 12);
  const Tensor bias = test::random_tensor({n}, 13);
  std::vector<double> want(size_t(m * n));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double sum = bias.data()[j];
      for (int64_t kk = 0; kk < k; ++kk)
        sum += double(cpu::from_bf16(cpu::to_bf16(a.data()[i * k + kk]))) *
               double(cpu::from_bf16(cpu::to_bf16(b.data()[j * k + kk])));
      want[size_t(i * n + j)] = sum;
    }
  // The same matrices laid out row-major (K contiguous), transposed (K slow) and with both
  // strides > 1 (every other element of a buffer twice as large).
  auto layouts = [&](const Tensor& t, int64_t rows) {
    std::vector<std::vector<float>> store(3);
    store[0].assign(t.data(), t.data() + rows * k);
    store[1].resize(size_t(rows * k));
    store[2].assign(size_t(2 * rows * k), std::nanf(""));
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t kk = 0; kk < k; ++kk) {
        store[1][size_t(kk * rows + i)] = t.data()[i * k + kk];
        store[2][size_t(2 * (i * k + kk))] = t.data()[i * k + kk];
      }
    return store;
  };
  const auto sa = layouts(a, m), sb = layouts(b, n);
  const auto view = [&](const std::vector<std::vector<float>>& s, int layout, int64_t rows) {
    if (layout == 0) return cpu::Bf16Operand{s[0].data(), k, 1};
    if (layout == 1) return cpu::Bf16Operand{s[1].data(), 1, rows};
    return cpu::Bf16Operand{s[2].data(), 2 * k, 2};
  };
  std::vector<float> first;
  for (int la = 0; la < 3; ++la)
    for (int lb = 0; lb < 3; ++lb) {
      std::vector<float> out(size_t(m * n));
      cpu::gemm_bf16(view(sa, la, m), m, k, view(sb, lb, n), n, bias.data(), out.data());
      for (size_t i = 0; i < out.size(); ++i)
        ASSERT_NEAR(out[i], want[i], 2e-4 * (1.0 + std::abs(want[i])))
            << "layouts " << la << ", " << lb << " element " << i;
      // The layout moves where pairs are read from, not the order of the sums: the same bits.
      if (first.empty()) first = out;
      for (size_t i = 0; i < out.size(); ++i)
        ASSERT_EQ(std::bit_cast<uint32_t>(out[i]), std::bit_cast<uint32_t>(first[i]))
            << "layouts " << la << ", " << lb << " element " << i;
    }
}

std::vector<uint16_t> random_bf16(size_t n, uint64_t seed) {
  const Tensor t = test::random_tensor({int64_t(n)}, seed, -2.0f, 2.0f);
  std::vector<uint16_t> h(n);
  for (size_t i = 0; i < n; ++i) h[i] = cpu::to_bf16(t.data()[i]);
  return h;
}

TEST(ParityBf16, NativeKernelEqualsPortableBitForBit) {
  if (!cpu::bf16_native()) GTEST_SKIP() << "this CPU has no AVX512-BF16: " << bf16_info();
#ifdef FOCUS_BF16_X86
  const int64_t pairs = 67;
  const int64_t lda = 2 * pairs + 6;  // also a row-major block, rows padded apart
  const std::vector<uint16_t> a = random_bf16(size_t(cpu::kBf16Rows * lda), 1);
  const std::vector<uint16_t> b = random_bf16(size_t(pairs * 2 * cpu::kBf16Cols), 2);
  const Tensor bias = test::random_tensor({cpu::kBf16Cols}, 3);
  const Tensor start = test::random_tensor({cpu::kBf16Rows * 40}, 4);
  for (int mr = 1; mr <= cpu::kBf16Rows; ++mr)
    for (int nc : {1, 15, 16, 17, 31, 32})
      for (int mode = 0; mode < 6; ++mode) {
        // From zero, from the bias, from c (a later block of K); A row-major, then pair-major.
        const int64_t ldc = 40, a_row = mode < 3 ? lda : 2, a_pair = mode < 3 ? 2 : 24;
        const float* pb = mode % 3 == 1 ? bias.data() : nullptr;
        const bool acc = mode % 3 == 2;
        std::vector<float> native(start.data(), start.data() + mr * ldc), portable = native;
        cpu::bf16_tile_avx512(a.data(), a_row, a_pair, mr, b.data(), pairs, pb, acc, native.data(),
                              ldc, nc);
        cpu::bf16_tile_portable(a.data(), a_row, a_pair, mr, b.data(), pairs, pb, acc,
                                portable.data(), ldc, nc);
        for (size_t i = 0; i < native.size(); ++i)
          ASSERT_EQ(std::bit_cast<uint32_t>(native[i]), std::bit_cast<uint32_t>(portable[i]))
              << "mr " << mr << " nc " << nc << " mode " << mode << " element " << i << ": "
              << native[i] << " vs " << portable[i];
      }
#endif
}

TEST(ParityBf16, NativePairPackingEqualsPortable) {
  if (!cpu::bf16_native()) GTEST_SKIP() << "this CPU has no AVX512-BF16: " << bf16_info();
#ifdef FOCUS_BF16_X86
  const int64_t stride = 37;  // seven K-rows, the last one unpaired for k_left 7
  const Tensor r = test::random_tensor({7 * stride}, 8, -100.0f, 100.0f);
  for (int width : {cpu::kBf16Rows, cpu::kBf16Cols})
    for (int n = 0; n <= width; ++n)
      for (int64_t k_left : {6, 7}) {
        const int64_t np = (k_left + 1) / 2;
        std::vector<uint16_t> native(size_t(np * 2 * width + 5), 0xabcd), portable = native;
        cpu::bf16_pack_pairs_avx512(r.data(), stride, k_left, np, n, width, native.data());
        cpu::bf16_pack_pairs_portable(r.data(), stride, k_left, np, n, width, portable.data());
        ASSERT_EQ(native, portable) << "width " << width << " n " << n << " k " << k_left;
        // Spot check of the layout: pair 1, column 0 holds rows 2 and 3.
        if (n > 0) {
          EXPECT_EQ(portable[size_t(2 * width)], cpu::to_bf16(r.data()[2 * stride]));
          EXPECT_EQ(portable[size_t(2 * width + 1)], cpu::to_bf16(r.data()[3 * stride]));
        }
      }
#endif
}

TEST(ParityBf16, NativeConversionEqualsPortable) {
  if (!cpu::bf16_native()) GTEST_SKIP() << "this CPU has no AVX512-BF16: " << bf16_info();
#ifdef FOCUS_BF16_X86
  // Ties, carries, subnormals (flushed), ±inf, NaNs, then random values; every length to 70 for
  // the masked tail.
  std::vector<float> x = {1.00390625f,
                          -1.01171875f,
                          1e-40f,
                          -1e-40f,
                          3.4e38f,
                          0.0f,
                          -0.0f,
                          std::bit_cast<float>(0x7f800001u),
                          std::bit_cast<float>(0xffc00000u),
                          std::numeric_limits<float>::infinity(),
                          -1.5e-38f};
  const Tensor r = test::random_tensor({60}, 7, -100.0f, 100.0f);
  x.insert(x.end(), r.data(), r.data() + r.numel());
  for (size_t n = 0; n <= x.size(); ++n) {
    std::vector<uint16_t> native(n + 3, 0xabcd), portable(n + 3, 0xabcd);
    cpu::bf16_convert_avx512(x.data(), int64_t(n), native.data());
    cpu::bf16_convert_portable(x.data(), int64_t(n), portable.data());
    ASSERT_EQ(native, portable) << "length " << n;
  }
#endif
}

TEST(ParityBf16, SameBitsForAnyThreadCount) {
  const Tensor x = test::random_tensor({301, 130}, 4), w = test::random_tensor({90, 130}, 5);
  const Tensor b = test::random_tensor({90}, 6), gy = test::random_tensor({301, 90}, 7);
  // Inference, and training's forward and gradients.
  auto run = [&](int threads) {
    set_num_threads(threads);
    std::vector<Tensor> got;
    {
      PrecisionGuard bf16(Precision::bf16);
      autograd::NoGradGuard no_grad;
      got.push_back(linear(x, w, b).clone());
    }
    TrainingPrecisionGuard bf16(Precision::bf16);
    Tensor xg = x.clone().requires_grad_(), wg = w.clone().requires_grad_();
    Tensor out = linear(xg, wg, b);
    out.backward(gy);
    got.insert(got.end(), {out.detach().clone(), xg.grad(), wg.grad()});
    return got;
  };
  const int before = num_threads();
  const std::vector<Tensor> one = run(1), two = run(2);
  set_num_threads(before);
  for (size_t t = 0; t < one.size(); ++t)
    for (int64_t i = 0; i < one[t].numel(); ++i)
      ASSERT_EQ(std::bit_cast<uint32_t>(one[t].data()[i]),
                std::bit_cast<uint32_t>(two[t].data()[i]))
          << "result " << t << " element " << i;
}

}  // namespace
}  // namespace focus
