// Data sets over a corpus split: cached log-mel features, or raw waveforms for augmentation.
#include <numeric>

#include "focus/error.h"
#include "focus/speech.h"

namespace focus::speech {
namespace {

Tensor features(const std::vector<float>& wave, const audio::LogMel& mel,
                const data::Standardizer* standardizer) {
  Tensor f = mel(wave.data(), int64_t(wave.size()));  // [M,T]
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
  Tensor f = features(clips_->wave(clip), *mel_, standardizer_.get());
  std::lock_guard<std::mutex> lock(mu_);
  cache_[size_t(i)] = f;
  return {f, clips_->labels[size_t(clip)]};
}

data::Example WaveDataset::get(int64_t i) const {
  const std::vector<float> w = clips_->wave(i);
  Tensor x = make_tensor({int64_t(w.size())});
  std::copy(w.begin(), w.end(), x.data());
  return {x, clips_->labels[size_t(i)]};
}

data::Transform augmentation_transform(AugmentOptions opt, std::shared_ptr<const audio::LogMel> mel,
                                       std::shared_ptr<const data::Standardizer> standardizer) {
  return [opt, mel, standardizer](const Tensor& x, Generator& gen) {
    FOCUS_CHECK(x.dtype() == DType::f32 && x.dim() == 1, "speech augmentation: expected a ",
                "waveform f32 [n], got ", x.shape());
    const Tensor c = x.contiguous();
    std::vector<float> w(c.data(), c.data() + c.numel());
    return features(augment(w, opt, gen), *mel, standardizer.get());
  };
}

}  // namespace focus::speech
