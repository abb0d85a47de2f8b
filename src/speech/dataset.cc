// Data sets over a corpus split: cached log-mel features, or raw waveforms for augmentation.
#include <cmath>
#include <cstdio>
#include <numeric>

#include "focus/error.h"
#include "focus/speech.h"
#include "speech/draw.h"

namespace focus::speech {
namespace {

Tensor features(const std::vector<float>& wave, const audio::LogMel& mel, ClipNorm norm,
                const data::Standardizer* standardizer, double warp = 0.0,
                const std::vector<float>& eq = {}) {
  Tensor f = warp > 0.0 ? mel(wave.data(), int64_t(wave.size()), warp)
                        : mel(wave.data(), int64_t(wave.size()));  // [M,T]
  if (!eq.empty()) add_eq(f, eq, mel.options().floor);
  normalize_clip(f, norm);
  return standardizer != nullptr ? (*standardizer)(f) : f;
}

}  // namespace

FeatureDataset::FeatureDataset(std::shared_ptr<const ClipSet> clips,
                               std::shared_ptr<const audio::LogMel> mel,
                               std::vector<int64_t> indices)
    : clips_(std::move(clips)), mel_(std::move(mel)), indices_(std::move(indices)) {
  FOCUS_CHECK(clips_ != nullptr && mel_ != nullptr,
              "speech: FeatureDataset needs clips and a LogMel");
  if (indices_.empty()) {
    indices_.resize(size_t(clips_->size()));
    std::iota(indices_.begin(), indices_.end(), int64_t(0));
  }
  for (int64_t i : indices_)
    FOCUS_CHECK(i >= 0 && i < clips_->size(), "speech: clip index ", i, " outside [0, ",
                clips_->size(), ")");
  cache_.resize(indices_.size());
}

data::Example FeatureDataset::get(int64_t i) const {
  FOCUS_CHECK(i >= 0 && i < size(), "speech: example ", i, " of ", size());
  const int64_t clip = indices_[size_t(i)];
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (cache_[size_t(i)].defined()) return {cache_[size_t(i)], clips_->labels[size_t(clip)]};
  }
  // Computed outside the lock: two threads may both compute an example, with the same result.
  std::vector<float> wave = clips_->wave(clip);
  if (view_.shift != 0.0) wave = shifted(wave, std::lround(view_.shift * audio::kRate));
  // Warp 1 goes in as 0, the unwarped path: bit for bit the features without a view.
  Tensor f =
      features(wave, *mel_, norm_, standardizer_.get(), view_.warp != 1.0 ? view_.warp : 0.0);
  std::lock_guard<std::mutex> lock(mu_);
  cache_[size_t(i)] = f;
  return {f, clips_->labels[size_t(clip)]};
}

std::string FeatureDataset::source(int64_t i) const {
  FOCUS_CHECK(i >= 0 && i < size(), "speech: example ", i, " of ", size());
  const Voice& v = clips_->voices[size_t(clips_->voice[size_t(indices_[size_t(i)])])];
  char buf[64];
  std::snprintf(buf, sizeof buf, " speed=%.3g pitch=%.3g", v.speed, v.pitch);
  return v.engine + ":" + v.name + buf;
}

std::shared_ptr<FeatureDataset> FeatureDataset::viewed(ClipView view) const {
  FOCUS_CHECK(std::abs(view.shift) < 0.5 && view.warp >= 0.5 && view.warp <= 2.0,
              "speech: a view shifts by less than 0.5 s and warps by 0.5..2, got shift ",
              view.shift, " s, warp ", view.warp);
  auto d = std::make_shared<FeatureDataset>(clips_, mel_, indices_);
  d->standardizer_ = standardizer_;
  d->norm_ = norm_;
  d->view_ = view;
  return d;
}

data::Example WaveDataset::get(int64_t i) const {
  const std::vector<float> w = clips_->wave(i);
  Tensor x = make_tensor({int64_t(w.size())});
  std::copy(w.begin(), w.end(), x.data());
  return {x, clips_->labels[size_t(i)]};
}

data::Transform augmentation_transform(AugmentOptions opt, std::shared_ptr<const audio::LogMel> mel,
                                       std::shared_ptr<const data::Standardizer> standardizer,
                                       ClipNorm norm) {
  return [opt, mel, standardizer, norm](const Tensor& x, Generator& gen) {
    FOCUS_CHECK(x.dtype() == DType::f32 && x.dim() == 1, "speech augmentation: expected a ",
                "waveform f32 [n], got ", x.shape());
    const Tensor c = x.contiguous();
    std::vector<float> w(c.data(), c.data() + c.numel());
    const std::vector<float> a = augment(w, opt, gen);
    // Draws for the feature augmentations only when they are on: configs without them see the
    // same stream as before they existed.
    const double warp =
        opt.vtlp > 0.0f ? detail::Draw{gen}.uniform(1.0 - opt.vtlp, 1.0 + opt.vtlp) : 0.0;
    const std::vector<float> eq =
        opt.eq_db > 0.0f ? eq_curve(mel->options().mels, opt.eq_db, gen) : std::vector<float>{};
    Tensor f = features(a, *mel, norm, standardizer.get(), warp, eq);  // [M,T]
    const std::vector<Mask> masks = draw_masks(opt, f.size(0), f.size(1), gen);
    if (!masks.empty()) {
      f = f.contiguous();
      apply_masks(f, masks);
    }
    return f;
  };
}

}  // namespace focus::speech
