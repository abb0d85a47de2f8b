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
    if (c == "round") continue;
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

std::vector<uint16_t> random_bf16(size_t n, uint64_t seed) {
  const Tensor t = test::random_tensor({int64_t(n)}, seed, -2.0f, 2.0f);
  std::vector<uint16_t> h(n);
  for (size_t i = 0; i < n; ++i) h[i] = cpu::to_bf16(t.data()[i]);
  return h;
}

TEST(ParityBf16, NativeKernelEqualsPortableBitForBit) {
  if (!cpu::bf16_native()) GTEST_SKIP() << "this CPU has no AVX512-BF16: " << bf16_info();
#ifdef FOCUS_BF16_X86
  const int64_t pairs = 67, lda = 2 * pairs + 6;
  const std::vector<uint16_t> a = random_bf16(size_t(cpu::kBf16Rows * lda), 1);
  const std::vector<uint16_t> b = random_bf16(size_t(pairs * 2 * cpu::kBf16Cols), 2);
  const Tensor bias = test::random_tensor({cpu::kBf16Cols}, 3);
  for (int mr = 1; mr <= cpu::kBf16Rows; ++mr)
    for (int nc : {1, 15, 16, 17, 31, 32})
      for (const float* pb : {static_cast<const float*>(nullptr), bias.data()}) {
        const int64_t ldc = 40;
        std::vector<float> native(size_t(mr * ldc), -7.0f), portable(size_t(mr * ldc), -7.0f);
        cpu::bf16_tile_avx512(a.data(), lda, mr, b.data(), pairs, pb, native.data(), ldc, nc);
        cpu::bf16_tile_portable(a.data(), lda, mr, b.data(), pairs, pb, portable.data(), ldc, nc);
        for (size_t i = 0; i < native.size(); ++i)
          ASSERT_EQ(std::bit_cast<uint32_t>(native[i]), std::bit_cast<uint32_t>(portable[i]))
              << "mr " << mr << " nc " << nc << " bias " << (pb != nullptr) << " element " << i
              << ": " << native[i] << " vs " << portable[i];
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
  const Tensor b = test::random_tensor({90}, 6);
  PrecisionGuard bf16(Precision::bf16);
  autograd::NoGradGuard no_grad;
  const int before = num_threads();
  set_num_threads(1);
  const Tensor one = linear(x, w, b).clone();
  set_num_threads(2);
  const Tensor two = linear(x, w, b).clone();
  set_num_threads(before);
  for (int64_t i = 0; i < one.numel(); ++i)
    ASSERT_EQ(std::bit_cast<uint32_t>(one.data()[i]), std::bit_cast<uint32_t>(two.data()[i]))
        << "element " << i;
}

}  // namespace
}  // namespace focus
