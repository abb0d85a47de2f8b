// Feature-level pieces: per-clip normalisation of log-mel features and SpecAugment's masks.
#include <algorithm>
#include <cmath>

#include "focus/error.h"
#include "focus/speech.h"
#include "speech/draw.h"

namespace focus::speech {

void normalize_clip(Tensor& features, ClipNorm norm) {
  if (norm == ClipNorm::none) return;
  FOCUS_CHECK(features.dtype() == DType::f32 && features.dim() == 2 && features.is_contiguous(),
              "normalize_clip: expected contiguous f32 features [M,T], got ", features.shape());
  const int64_t mels = features.size(0), frames = features.size(1);
  float* f = features.data();  // [M,T]
  // Natural-log power: 10 dB is ln(10) nats.
  const double threshold = kActiveDb / 10.0 * std::log(10.0);
  std::vector<double> level(size_t(frames), 0.0);
  for (int64_t m = 0; m < mels; ++m)
    for (int64_t t = 0; t < frames; ++t) level[size_t(t)] += f[m * frames + t];
  const double loudest = frames > 0 ? *std::max_element(level.begin(), level.end()) : 0.0;
  std::vector<int64_t> active;
  for (int64_t t = 0; t < frames; ++t)
    if (level[size_t(t)] >= loudest - threshold * double(mels)) active.push_back(t);
  for (int64_t m = 0; m < mels; ++m) {
    float* row = f + m * frames;
    double sum = 0.0;
    for (int64_t t : active) sum += row[t];
    const double mean = active.empty() ? 0.0 : sum / double(active.size());
    double scale = 1.0;
    if (norm == ClipNorm::mean_var) {
      double ss = 0.0;
      for (int64_t t : active) ss += (row[t] - mean) * (row[t] - mean);
      scale = 1.0 / std::max(std::sqrt(ss / double(std::max<size_t>(active.size(), 1))), 1e-3);
    }
    for (int64_t t = 0; t < frames; ++t) row[t] = float((row[t] - mean) * scale);
  }
}

ClipNorm clip_norm_named(const std::string& name) {
  if (name == "none") return ClipNorm::none;
  if (name == "mean") return ClipNorm::mean;
  if (name == "mean_var") return ClipNorm::mean_var;
  throw Error("speech: clip normalisation '" + name + "' is not one of none, mean, mean_var");
}

std::vector<Mask> draw_masks(const AugmentOptions& opt, int64_t mels, int64_t frames,
                             Generator& gen) {
  detail::Draw d{gen};
  std::vector<Mask> masks;
  auto draw = [&](bool band, int64_t count, int64_t max_width, int64_t extent) {
    for (int64_t i = 0; i < count; ++i) {
      const int64_t w = std::min(d.below(max_width + 1), extent);
      masks.push_back({band, d.below(extent - w + 1), w});
    }
  };
  if (opt.freq_width > 0) draw(true, opt.freq_masks, opt.freq_width, mels);
  if (opt.time_width > 0) draw(false, opt.time_masks, opt.time_width, frames);
  return masks;
}

void apply_masks(Tensor& features, const std::vector<Mask>& masks, float value) {
  FOCUS_CHECK(features.dtype() == DType::f32 && features.dim() == 2 && features.is_contiguous(),
              "apply_masks: expected contiguous f32 features [M,T], got ", features.shape());
  const int64_t mels = features.size(0), frames = features.size(1);
  float* f = features.data();  // [M,T]
  for (const Mask& k : masks) {
    const int64_t extent = k.band ? mels : frames;
    FOCUS_CHECK(k.first >= 0 && k.width >= 0 && k.first + k.width <= extent, "apply_masks: mask [",
                k.first, ", ", k.first + k.width, ") outside the ", extent,
                k.band ? " bands" : " frames");
    for (int64_t i = k.first; i < k.first + k.width; ++i) {
      if (k.band)
        std::fill(f + i * frames, f + (i + 1) * frames, value);
      else
        for (int64_t m = 0; m < mels; ++m) f[m * frames + i] = value;
    }
  }
}

std::vector<float> eq_curve(int64_t mels, float eq_db, Generator& gen) {
  detail::Draw d{gen};
  double c[3];
  for (int k = 0; k < 3; ++k) c[k] = d.uniform(-eq_db, eq_db) / double(k + 1);
  std::vector<float> gain(size_t(mels), 0.0f);
  for (int64_t m = 0; m < mels; ++m) {
    const double x = mels > 1 ? double(m) / double(mels - 1) : 0.0;
    double g = 0.0;
    for (int k = 0; k < 3; ++k) g += c[k] * std::cos(3.14159265358979323846 * double(k + 1) * x);
    gain[size_t(m)] = float(g);
  }
  return gain;
}

void add_eq(Tensor& features, const std::vector<float>& gain_db, float floor) {
  FOCUS_CHECK(features.dtype() == DType::f32 && features.dim() == 2 && features.is_contiguous() &&
                  features.size(0) == int64_t(gain_db.size()),
              "add_eq: expected contiguous f32 features [", gain_db.size(), ",T], got ",
              features.shape());
  const int64_t mels = features.size(0), frames = features.size(1);
  const float log_floor = std::log(floor);
  float* f = features.data();  // [M,T]
  for (int64_t m = 0; m < mels; ++m) {
    const float nats = float(double(gain_db[size_t(m)]) * std::log(10.0) / 10.0);
    for (int64_t t = 0; t < frames; ++t)
      if (f[m * frames + t] > log_floor) f[m * frames + t] += nats;
  }
}

}  // namespace focus::speech
