// Sound files (fixtures written by scripts/gen_speech_fixtures.py with Python's wave module) and
// the resampler, against the analytic signals they hold.
#include <cmath>

#include "focus/audio.h"
#include "test_util.h"

namespace focus {
namespace {

constexpr double kPi = 3.14159265358979323846;

std::string speech_fixture(const std::string& name) { return test::fixture("speech/" + name); }

// max |x[i] - amp·sin(2π f i / rate + phase)| over i in [skip, n - skip).
double sine_error(const std::vector<float>& x, double f, double rate, double amp, int64_t skip,
                  double phase = 0.0) {
  double worst = 0.0;
  for (int64_t i = skip; i + skip < int64_t(x.size()); ++i)
    worst =
        std::max(worst, std::abs(x[size_t(i)] - amp * std::sin(2 * kPi * f * i / rate + phase)));
  return worst;
}

TEST(Audio, ReadsGood16BitMonoWav) {
  const audio::Sound s = audio::read_sound(speech_fixture("good.wav"));
  EXPECT_EQ(s.rate, 16000);
  EXPECT_EQ(s.channels, 1);
  ASSERT_EQ(s.frames(), 4000);
  EXPECT_LT(sine_error(s.samples, 440, 16000, 0.5, 0), 1.0 / 32768 + 1e-6);
  const std::vector<float> w = audio::load(speech_fixture("good.wav"));
  EXPECT_EQ(w, s.samples);  // already 16 kHz mono: untouched
}

TEST(Audio, Reads8BitUnsignedAndUpsamples) {
  const audio::Sound s = audio::read_sound(speech_fixture("u8.wav"));
  EXPECT_EQ(s.rate, 8000);
  ASSERT_EQ(s.frames(), 2000);
  EXPECT_LT(sine_error(s.samples, 300, 8000, 0.5, 0), 1.0 / 128 + 1e-6);  // 8-bit quantisation
  const std::vector<float> w = audio::load(speech_fixture("u8.wav"));
  ASSERT_EQ(w.size(), 4000u);
  // Away from the edges the 16 kHz result is the same sine, to within the 8-bit noise.
  EXPECT_LT(sine_error(w, 300, 16000, 0.5, 200), 0.02);
}

TEST(Audio, StereoIsAveraged) {
  const audio::Sound s = audio::read_sound(speech_fixture("stereo.wav"));
  EXPECT_EQ(s.channels, 2);
  ASSERT_EQ(s.frames(), 1600);
  const std::vector<float> mono = audio::to_mono(s);
  ASSERT_EQ(mono.size(), 1600u);
  for (size_t i = 0; i < mono.size(); ++i)
    EXPECT_NEAR(mono[i], 0.5 * (0.5 * std::sin(2 * kPi * 440 * double(i) / 16000) - 0.25), 1e-4);
}

TEST(Audio, Resamples44100To16000) {
  const audio::Sound s = audio::read_sound(speech_fixture("rate44k.wav"));
  EXPECT_EQ(s.rate, 44100);
  ASSERT_EQ(s.frames(), 8820);
  const std::vector<float> w = audio::load(speech_fixture("rate44k.wav"));
  ASSERT_EQ(w.size(), 3200u);
  EXPECT_LT(sine_error(w, 1000, 16000, 0.5, 100), 2e-3);
}

TEST(Audio, ResamplerRemovesWhatTheLowerRateCannotHold) {
  // 7 kHz at 44.1 kHz folds to 9 kHz at 16 kHz: it must be filtered out, not aliased.
  std::vector<float> x(44100);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(0.5 * std::sin(2 * kPi * 9000 * i / 44100.0));
  const std::vector<float> y = audio::resample(x, 44100, 16000);
  ASSERT_EQ(y.size(), 16000u);
  double peak = 0;
  for (size_t i = 200; i + 200 < y.size(); ++i) peak = std::max(peak, double(std::abs(y[i])));
  EXPECT_LT(peak, 5e-3);
  // Odd ratios keep a sine: 11025 -> 16000 and 48000 -> 16000.
  for (int64_t from : {11025, 48000, 22050}) {
    std::vector<float> s(static_cast<size_t>(from / 2));
    for (size_t i = 0; i < s.size(); ++i)
      s[i] = float(0.5 * std::sin(2 * kPi * 440 * double(i) / double(from)));
    const std::vector<float> r = audio::resample(s, from, 16000);
    EXPECT_EQ(r.size(), size_t((int64_t(s.size()) * 16000 + from - 1) / from));
    EXPECT_LT(sine_error(r, 440, 16000, 0.5, 100), 2e-3) << from;
  }
}

TEST(Audio, FlacRoundTrip) {
  const test::ScratchDir dir("audio");
  const std::string path = dir.file("sine.flac");
  std::vector<float> x(8000);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(0.25 * std::sin(2 * kPi * 200 * i / 8000.0));
  audio::write_audio(path, x, 8000);
  const audio::Sound s = audio::read_sound(path);
  EXPECT_EQ(s.rate, 8000);
  ASSERT_EQ(s.frames(), 8000);
  EXPECT_LT(sine_error(s.samples, 200, 8000, 0.25, 0), 1.0 / 32768 + 1e-6);
}

TEST(Audio, BadFilesAreNamedErrors) {
  test::expect_error([] { audio::read_sound(speech_fixture("truncated.wav")); },
                     {"truncated.wav", "truncated", "declares 8000 bytes, only 2000"});
  test::expect_error([] { audio::read_sound(speech_fixture("header_only.wav")); },
                     {"header_only.wav", "cannot read"});
  test::expect_error([] { audio::read_sound(speech_fixture("empty.wav")); },
                     {"empty.wav", "no samples"});
  test::expect_error([] { audio::read_sound(speech_fixture("no_such.wav")); },
                     {"no_such.wav", "no such file"});
  test::expect_error([] { audio::read_sound(speech_fixture("logmel.safetensors")); },
                     {"logmel.safetensors", "cannot read"});
  test::expect_error([] { audio::read_sound(speech_fixture("good.wav"), 0.1); },
                     {"good.wav", "0.25 s long", "limit is 0.1 s"});
}

}  // namespace
}  // namespace focus
