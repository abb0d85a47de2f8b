// Waveform augmentation: each piece does what it says, measured on synthetic signals, and the
// whole is a pure function of the generator.
#include <cmath>

#include "focus/speech.h"
#include "test_util.h"

namespace focus {
namespace {

constexpr double kPi = 3.14159265358979323846;

std::vector<float> tone(double f, int64_t n, double amp = 0.5) {
  std::vector<float> x(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) x[size_t(i)] = float(amp * std::sin(2 * kPi * f * i / 16000.0));
  return x;
}

double rms(const std::vector<float>& x) {
  double s = 0;
  for (float v : x) s += double(v) * v;
  return std::sqrt(s / double(x.size()));
}

// The dominant frequency by counting upward zero crossings in the middle half.
double frequency(const std::vector<float>& x) {
  const size_t a = x.size() / 4, b = 3 * x.size() / 4;
  int crossings = 0;
  for (size_t i = a + 1; i < b; ++i) crossings += x[i - 1] < 0 && x[i] >= 0;
  return crossings * 16000.0 / double(b - a);
}

TEST(Augment, NoiseHitsTheAskedSnr) {
  for (int colour : {0, 1, 2}) {
    std::vector<float> x = tone(440, 16000);
    const std::vector<float> clean = x;
    Generator gen(colour + 1);
    speech::add_noise(x, colour, 10.0f, gen);
    std::vector<float> noise(x.size());
    for (size_t i = 0; i < x.size(); ++i) noise[i] = x[i] - clean[i];
    EXPECT_NEAR(20 * std::log10(rms(clean) / rms(noise)), 10.0, 0.01) << colour;
  }
}

TEST(Augment, NoiseColoursHaveTheirSlopes) {
  // Energy in 100-200 Hz vs 4-8 kHz, by first differences: white is flat, pink falls, brown falls
  // fastest. Measured as the ratio of the differenced signal's power to the signal's.
  double ratio[3];
  for (int colour : {0, 1, 2}) {
    std::vector<float> x(16000, 0.0f);
    Generator gen(9);
    speech::add_noise(x, colour, 0.0f, gen);
    double d = 0;
    for (size_t i = 1; i < x.size(); ++i) d += double(x[i] - x[i - 1]) * (x[i] - x[i - 1]);
    ratio[colour] = d / double(x.size()) / (rms(x) * rms(x));
  }
  EXPECT_NEAR(ratio[0], 2.0, 0.1);  // white: E[(a-b)²] = 2σ²
  EXPECT_LT(ratio[1], 0.7 * ratio[0]);
  EXPECT_LT(ratio[2], 0.2 * ratio[1]);
}

TEST(Augment, TimeStretchKeepsPitchChangesLength) {
  const std::vector<float> x = tone(500, 16000);
  for (double f : {0.8, 1.25}) {
    const std::vector<float> y = speech::time_stretch(x, f);
    EXPECT_EQ(y.size(), size_t(std::lround(16000 / f)));
    EXPECT_NEAR(frequency(y), 500.0, 10.0) << f;
    EXPECT_NEAR(rms(y), rms(x), 0.05) << f;
  }
}

TEST(Augment, ReverbKeepsLevelAndSpreadsInTime) {
  std::vector<float> x(16000, 0.0f);
  for (int i = 0; i < 800; ++i) x[size_t(i)] = float(std::sin(2 * kPi * 300 * i / 16000.0));
  const double before = rms(x);
  speech::reverb(x, 0.8f, 0.3f, 0.5f);
  EXPECT_NEAR(rms(x), before, 0.3 * before);
  double tail = 0;
  for (size_t i = 2000; i < 6000; ++i) tail += std::abs(x[i]);
  EXPECT_GT(tail, 1.0);  // sound after the tone ended
}

TEST(Augment, DeterministicByGenerator) {
  const std::vector<float> x = tone(300, 16000);
  speech::AugmentOptions opt;
  opt.speed_p = opt.tempo_p = opt.pitch_p = opt.reverb_p = 1.0f;
  Generator a(5), b(5), c(6);
  const std::vector<float> ya = speech::augment(x, opt, a), yb = speech::augment(x, opt, b),
                           yc = speech::augment(x, opt, c);
  ASSERT_EQ(ya.size(), x.size());
  EXPECT_EQ(ya, yb);
  EXPECT_NE(ya, yc);
  for (float v : ya) ASSERT_TRUE(std::isfinite(v));
}

TEST(Augment, PitchShiftMovesTheTone) {
  speech::AugmentOptions opt;
  opt.shift = 0.0f;
  opt.noise_p = opt.speed_p = opt.tempo_p = opt.reverb_p = 0.0f;
  opt.gain_db = 0.0f;
  opt.pitch_p = 1.0f;
  const std::vector<float> x = tone(400, 16000);
  bool moved = false;
  for (uint64_t s = 1; s < 6; ++s) {
    Generator g(s);
    const std::vector<float> y = speech::augment(x, opt, g);
    ASSERT_EQ(y.size(), x.size());
    const double f = frequency(y);
    EXPECT_GT(f, 400.0 * std::pow(2.0, -2.2 / 12)) << s;
    EXPECT_LT(f, 400.0 * std::pow(2.0, 2.2 / 12)) << s;
    moved = moved || std::abs(f - 400.0) > 5.0;
  }
  EXPECT_TRUE(moved);
}

TEST(Augment, BandLimitRemovesWhatIsAboveTheCutOff) {
  for (double cut : {4000.0, 5500.0}) {
    const std::vector<float> low = speech::band_limit(tone(1000, 16000), cut);
    const std::vector<float> high = speech::band_limit(tone(cut + 800, 16000), cut);
    ASSERT_EQ(low.size(), 16000u);
    ASSERT_EQ(high.size(), 16000u);
    // The passband tone keeps its level (away from the edges); the one above the cut-off is gone.
    const std::vector<float> mid(low.begin() + 1000, low.end() - 1000);
    EXPECT_NEAR(rms(mid), 0.5 / std::sqrt(2.0), 0.01) << cut;
    EXPECT_NEAR(frequency(low), 1000.0, 10.0);
    const std::vector<float> mid_high(high.begin() + 1000, high.end() - 1000);
    EXPECT_LT(rms(mid_high), 0.01 * 0.5) << cut;
  }
  EXPECT_EQ(speech::band_limit(tone(300, 1000), 8000.0), tone(300, 1000));
  test::expect_error([] { speech::band_limit(tone(300, 100), 500.0); }, {"band_limit", "500"});
}

}  // namespace
}  // namespace focus
