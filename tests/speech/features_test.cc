// Feature-level augmentation and normalisation: vocal tract length perturbation moves a tone by
// the warp (and warp 1 changes nothing), per-clip normalisation leaves each band zero-mean over
// the clip's sounding frames, and SpecAugment's masks set exactly their rows or columns.
#include <cmath>

#include "focus/audio.h"
#include "focus/speech.h"
#include "test_util.h"

namespace focus {
namespace {

constexpr double kPi = 3.14159265358979323846;

std::vector<float> tone(double f, int64_t n = 16000) {
  std::vector<float> x(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) x[size_t(i)] = float(0.5 * std::sin(2 * kPi * f * i / 16000.0));
  return x;
}

std::vector<float> noise(int64_t n, uint64_t seed) {
  std::vector<float> x(static_cast<size_t>(n), 0.0f);
  Generator gen(seed);
  speech::add_noise(x, 1, 0.0f, gen);  // unit-RMS pink noise
  return x;
}

// The band with the most energy in frame 40.
int64_t peak_band(const Tensor& f) {
  const int64_t mels = f.size(0), frames = f.size(1);
  int64_t best = 0;
  for (int64_t m = 1; m < mels; ++m)
    if (f.data()[m * frames + 40] > f.data()[best * frames + 40]) best = m;
  return best;
}

TEST(Vtlp, WarpOneIsTheUnwarpedFeatures) {
  std::vector<float> x = noise(16000, 3);
  const std::vector<float> t = tone(700);
  for (size_t i = 0; i < x.size(); ++i) x[i] = 0.1f * x[i] + t[i];
  for (int64_t mels : {40, 80}) {
    audio::LogMel mel({.mels = mels});
    // Bit-identical: the warped path reads every bin exactly at its own frequency.
    FOCUS_EXPECT_CLOSE(mel(x.data(), 16000, 1.0), mel(x.data(), 16000), 0.0f, 0.0f);
    EXPECT_FALSE(test::all_close(mel(x.data(), 16000, 1.05), mel(x.data(), 16000), 0.0f, 1e-2f));
  }
}

TEST(Vtlp, WarpMovesAToneByTheFactor) {
  audio::LogMel mel({.mels = 80});
  // Below the warp's edge a tone at f lands where a tone at warp·f does unwarped.
  for (auto [f, warp] : {std::pair{1000.0, 1.1}, {1000.0, 0.9}, {2000.0, 1.15}, {3000.0, 0.85}}) {
    const std::vector<float> a = tone(f), b = tone(f * warp);
    EXPECT_EQ(peak_band(mel(a.data(), 16000, warp)), peak_band(mel(b.data(), 16000)))
        << f << " Hz warped by " << warp;
    EXPECT_NE(peak_band(mel(a.data(), 16000, warp)), peak_band(mel(a.data(), 16000)));
  }
  // Above it the rest of the band is squeezed or stretched onto what is left: 7 kHz stays
  // below Nyquist and inside the top bands.
  const std::vector<float> high = tone(7000);
  const int64_t p = peak_band(mel(high.data(), 16000, 1.15));
  EXPECT_GT(p, peak_band(mel(high.data(), 16000)));
  EXPECT_LT(p, 80);
  test::expect_error(
      [&] {
        const std::vector<float> z(400, 0.0f);
        mel(z.data(), 400, 3.0);
      },
      {"log_mel", "warp 3"});
}

TEST(ClipNorm, NoiseEveryFrameSoundsEachBandZeroMean) {
  audio::LogMel mel;
  const std::vector<float> x = noise(16000, 5);
  const Tensor raw = mel(x.data(), 16000);  // [40,98]
  for (auto norm : {speech::ClipNorm::mean, speech::ClipNorm::mean_var}) {
    Tensor f = raw.clone();
    speech::normalize_clip(f, norm);
    for (int64_t m = 0; m < 40; ++m) {
      double s = 0, ss = 0, shift0 = f.data()[m * 98] - raw.data()[m * 98];
      for (int64_t t = 0; t < 98; ++t) {
        const double v = f.data()[m * 98 + t];
        s += v, ss += v * v;
        if (norm == speech::ClipNorm::mean)  // a shift per band, nothing else
          EXPECT_NEAR(v - raw.data()[m * 98 + t], shift0, 1e-4) << m << "," << t;
      }
      EXPECT_NEAR(s / 98, 0.0, 1e-5) << m;
      if (norm == speech::ClipNorm::mean_var) EXPECT_NEAR(std::sqrt(ss / 98), 1.0, 1e-4) << m;
    }
  }
  Tensor same = raw.clone();
  speech::normalize_clip(same, speech::ClipNorm::none);
  FOCUS_EXPECT_CLOSE(same, raw, 0.0f, 0.0f);
}

TEST(ClipNorm, SilenceAroundTheWordDoesNotSetTheLevel) {
  // Digital silence, then noise from sample 8000: frames from 48 on (start 7680, window 400)
  // hold noise; the frames before are at the log floor, 40+ dB below, and are left out.
  audio::LogMel mel;
  std::vector<float> x = noise(16000, 7);
  std::fill(x.begin(), x.begin() + 8000, 0.0f);
  Tensor f = mel(x.data(), 16000);
  const Tensor raw = f.clone();
  speech::normalize_clip(f, speech::ClipNorm::mean);
  for (int64_t m = 0; m < 40; ++m) {
    double s = 0;
    for (int64_t t = 48; t < 98; ++t) s += f.data()[m * 98 + t];
    EXPECT_NEAR(s / 50, 0.0, 1e-4) << m;
    // The silent frames moved by the same amount as the rest of their band.
    EXPECT_NEAR(f.data()[m * 98] - raw.data()[m * 98],
                f.data()[m * 98 + 60] - raw.data()[m * 98 + 60], 1e-4);
  }
  EXPECT_EQ(speech::clip_norm_named("mean_var"), speech::ClipNorm::mean_var);
  test::expect_error([] { speech::clip_norm_named("cmvn"); }, {"speech", "'cmvn'"});
}

TEST(SpecAugment, MasksZeroExactlyTheirRegion) {
  Tensor f = make_tensor({40, 98});
  for (int64_t i = 0; i < f.numel(); ++i) f.data()[i] = 1.0f + float(i % 7);
  const Tensor before = f.clone();
  const std::vector<speech::Mask> masks = {{true, 3, 2}, {false, 10, 5}, {true, 39, 1}};
  speech::apply_masks(f, masks);
  for (int64_t m = 0; m < 40; ++m)
    for (int64_t t = 0; t < 98; ++t) {
      const bool masked = (m >= 3 && m < 5) || m == 39 || (t >= 10 && t < 15);
      EXPECT_EQ(f.data()[m * 98 + t], masked ? 0.0f : before.data()[m * 98 + t]) << m << "," << t;
    }
  test::expect_error(
      [&] {
        speech::apply_masks(f, {{false, 95, 5}});
      },
      {"apply_masks", "[95, 100)", "98 frames"});
}

TEST(SpecAugment, DrawnMasksStayInsideAndFollowTheGenerator) {
  speech::AugmentOptions opt;
  Generator none(1);
  EXPECT_TRUE(speech::draw_masks(opt, 40, 98, none).empty());
  EXPECT_EQ(none.offset(), 0u);  // no draws when masking is off
  opt.freq_masks = 2, opt.freq_width = 8, opt.time_masks = 3, opt.time_width = 20;
  int64_t widest = 0;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    Generator a(seed), b(seed);
    const auto ma = speech::draw_masks(opt, 40, 98, a), mb = speech::draw_masks(opt, 40, 98, b);
    ASSERT_EQ(ma.size(), 5u);
    for (size_t i = 0; i < ma.size(); ++i) {
      EXPECT_EQ(ma[i].band, i < 2);
      EXPECT_EQ(ma[i].first, mb[i].first);
      EXPECT_EQ(ma[i].width, mb[i].width);
      EXPECT_LE(ma[i].width, ma[i].band ? 8 : 20);
      EXPECT_GE(ma[i].first, 0);
      EXPECT_LE(ma[i].first + ma[i].width, ma[i].band ? 40 : 98);
      if (!ma[i].band) widest = std::max(widest, ma[i].width);
    }
  }
  EXPECT_EQ(widest, 20);  // the full width is reachable
}

TEST(Equaliser, SmoothBoundedGainAddedPerBandAboveTheFloor) {
  double widest = 0;
  for (uint64_t seed = 0; seed < 100; ++seed) {
    Generator a(seed), b(seed);
    const std::vector<float> g = speech::eq_curve(40, 6.0f, a);
    EXPECT_EQ(g, speech::eq_curve(40, 6.0f, b));
    ASSERT_EQ(g.size(), 40u);
    for (size_t m = 0; m < g.size(); ++m) {
      EXPECT_LE(std::abs(g[m]), 6.0 * 11.0 / 6.0 + 1e-4);
      widest = std::max(widest, double(std::abs(g[m])));
      // Smooth: neighbouring bands differ by at most the steepest slope, π·Σ k·(6/k) / 39.
      if (m > 0) EXPECT_LE(std::abs(g[m] - g[m - 1]), 3.1416 * 18.0 / 39.0 + 1e-4);
    }
  }
  EXPECT_GT(widest, 5.0);
  // Added in nats to every frame above the floor; the floor (digital silence) stays.
  audio::LogMel mel;
  std::vector<float> x = noise(16000, 9);
  std::fill(x.begin(), x.begin() + 4000, 0.0f);
  const Tensor raw = mel(x.data(), 16000);
  Tensor f = raw.clone();
  Generator gen(3);
  const std::vector<float> g = speech::eq_curve(40, 6.0f, gen);
  speech::add_eq(f, g, mel.options().floor);
  for (int64_t m = 0; m < 40; ++m) {
    EXPECT_EQ(f.data()[m * 98], raw.data()[m * 98]);  // frame 0: silence
    EXPECT_NEAR(f.data()[m * 98 + 60] - raw.data()[m * 98 + 60], g[size_t(m)] * std::log(10.0) / 10,
                1e-5);
  }
}

TEST(SpecAugment, TransformMasksAndWarpsDeterministically) {
  std::vector<float> w = tone(500);
  Tensor x = make_tensor({speech::kClipSamples});
  std::copy(w.begin(), w.end(), x.data());
  auto mel = std::make_shared<const audio::LogMel>();
  speech::AugmentOptions opt;
  opt.noise_p = 0.0f, opt.vtlp = 0.15f, opt.eq_db = 6.0f, opt.freq_masks = 1, opt.freq_width = 10;
  opt.time_masks = 1, opt.time_width = 30;
  data::Transform t = speech::augmentation_transform(opt, mel, nullptr, speech::ClipNorm::mean);
  Generator a(4), b(4);
  const Tensor fa = t(x, a), fb = t(x, b);
  FOCUS_EXPECT_CLOSE(fa, fb, 0.0f, 0.0f);
  int64_t zero_rows = 0;
  for (int64_t m = 0; m < 40; ++m) {
    bool all = true;
    for (int64_t t2 = 0; t2 < 98; ++t2) all = all && fa.data()[m * 98 + t2] == 0.0f;
    zero_rows += all;
  }
  EXPECT_LE(zero_rows, 10);
}

}  // namespace
}  // namespace focus
