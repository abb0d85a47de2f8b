// The data sets over a corpus split: features equal the log-mel of the clip (standardised when
// asked), are computed once, and the augmentation transform is deterministic per generator.
#include <cmath>

#include "focus/speech.h"
#include "test_util.h"

namespace focus {
namespace {

std::shared_ptr<speech::ClipSet> clips() {
  auto c = std::make_shared<speech::ClipSet>();
  for (int i = 0; i < 3; ++i) {
    for (int64_t k = 0; k < speech::kClipSamples; ++k)
      c->pcm.push_back(int16_t(8000 * std::sin(0.01 * double(k) * (i + 1))));
    c->labels.push_back(i);
    c->voice.push_back(0);
  }
  c->voices.push_back({"espeak-ng", "en-us+m1", "m1", "train", 1.0, 1.0});
  return c;
}

TEST(SpeechData, FeaturesAreTheLogMelOfTheClip) {
  auto c = clips();
  auto mel = std::make_shared<const audio::LogMel>();
  speech::FeatureDataset d(c, mel, {2, 0});
  ASSERT_EQ(d.size(), 2);
  const data::Example e = d.get(0);
  EXPECT_EQ(e.label, 2);
  const std::vector<float> w = c->wave(2);
  FOCUS_EXPECT_CLOSE(e.x, (*mel)(w.data(), int64_t(w.size())), 0.0f, 0.0f);
  EXPECT_EQ(e.x.shape(), (Shape{40, 98}));
  EXPECT_EQ(d.get(0).x.data(), e.x.data());  // the cached tensor, not a recomputation

  auto st = std::make_shared<data::Standardizer>(data::Standardizer::fit(d));
  speech::FeatureDataset s(c, mel, {2, 0});
  s.set_standardizer(st);
  FOCUS_EXPECT_CLOSE(s.get(0).x, (*st)(e.x), 0.0f, 0.0f);
  test::expect_error([&] { speech::FeatureDataset bad(c, mel, {3}); }, {"clip index 3"});
}

TEST(SpeechData, ShiftedMovesTheWaveAndFillsWithSilence) {
  const std::vector<float> x = {1, 2, 3, 4};
  EXPECT_EQ(speech::shifted(x, 2), (std::vector<float>{0, 0, 1, 2}));
  EXPECT_EQ(speech::shifted(x, -1), (std::vector<float>{2, 3, 4, 0}));
  EXPECT_EQ(speech::shifted(x, 0), x);
  EXPECT_EQ(speech::shifted(x, 9), (std::vector<float>{0, 0, 0, 0}));
}

// A view is the clip shifted (by hand here) and its log-mel warped, through the same
// standardiser, for the same subset of clips.
TEST(SpeechData, ViewsShiftAndWarpTheClipBeforeItsFeatures) {
  auto c = clips();
  auto mel = std::make_shared<const audio::LogMel>();
  speech::FeatureDataset d(c, mel, {2, 0});
  auto st = std::make_shared<data::Standardizer>(data::Standardizer::fit(d));
  speech::FeatureDataset s(c, mel, {2, 0});
  s.set_standardizer(st);

  // The identity view is the data set itself, bit for bit.
  auto same = s.viewed({});
  ASSERT_EQ(same->size(), 2);
  FOCUS_EXPECT_CLOSE(same->get(1).x, s.get(1).x, 0.0f, 0.0f);

  const std::vector<float> w = c->wave(2);
  std::vector<float> later(w.size(), 0.0f);  // 50 ms = 800 samples later
  for (size_t i = 800; i < w.size(); ++i) later[i] = w[i - 800];
  auto moved = s.viewed({.shift = 0.05});
  const data::Example e = moved->get(0);
  EXPECT_EQ(e.label, 2);
  FOCUS_EXPECT_CLOSE(e.x, (*st)((*mel)(later.data(), int64_t(later.size()))), 0.0f, 0.0f);
  EXPECT_FALSE(test::all_close(e.x, s.get(0).x, 0.0f, 1e-3f));

  auto both = s.viewed({.shift = 0.05, .warp = 1.1});
  FOCUS_EXPECT_CLOSE(both->get(0).x, (*st)((*mel)(later.data(), int64_t(later.size()), 1.1)), 0.0f,
                     0.0f);
  // The original keeps its own features.
  FOCUS_EXPECT_CLOSE(s.get(0).x, (*st)((*mel)(w.data(), int64_t(w.size()))), 0.0f, 0.0f);

  test::expect_error([&] { s.viewed({.shift = 0.5}); }, {"view", "shift 0.5"});
  test::expect_error([&] { s.viewed({.warp = 3.0}); }, {"view", "warp 3"});
}

TEST(SpeechData, AugmentationTransformIsDeterministic) {
  auto c = clips();
  auto mel = std::make_shared<const audio::LogMel>();
  speech::WaveDataset waves(c);
  const data::Example e = waves.get(1);
  EXPECT_EQ(e.x.shape(), (Shape{speech::kClipSamples}));
  data::Transform t = speech::augmentation_transform({}, mel, nullptr);
  Generator a(11), b(11), other(12);
  const Tensor fa = t(e.x, a), fb = t(e.x, b), fo = t(e.x, other);
  EXPECT_EQ(fa.shape(), (Shape{40, 98}));
  FOCUS_EXPECT_CLOSE(fa, fb, 0.0f, 0.0f);
  EXPECT_FALSE(test::all_close(fa, fo, 0.0f, 1e-3f));
  test::expect_error([&] { t(Tensor::zeros({2, 3}), a); }, {"waveform"});
}

TEST(SpeechData, ResamplerWithManyPhases) {
  // 16001 Hz: 16000 phases, computed per output sample instead of a table.
  std::vector<float> x(4001);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(0.5 * std::sin(2 * M_PI * 300 * i / 16001.0));
  const std::vector<float> y = audio::resample(x, 16001, 16000);
  ASSERT_EQ(y.size(), 4001u);  // ceil(4001 · 16000 / 16001)
  for (size_t i = 100; i + 100 < y.size(); ++i)
    ASSERT_NEAR(y[i], 0.5 * std::sin(2 * M_PI * 300 * i / 16000.0), 2e-3) << i;
}

}  // namespace
}  // namespace focus
