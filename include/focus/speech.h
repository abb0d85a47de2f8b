// Spoken commands: a synthetic corpus made with real text-to-speech engines (espeak-ng, optionally
// with festival's kd, for training; held-out espeak-ng voices and flite's voices, another engine,
// for testing), the waveform augmentation used while training, and the data sets models read
// (log-mel features [M,T]).
//
//   speech::CorpusOptions opt;                     // 20 command words + _unknown_ + _silence_
//   opt.cache_dir = ".cache/speech";
//   speech::Corpus corpus = speech::make_corpus(opt);   // synthesised once, then read from cache
//   auto features = std::make_shared<audio::LogMel>();
//   auto test = std::make_shared<speech::FeatureDataset>(corpus.test, features);  // [40,98] each
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "focus/audio.h"
#include "focus/data.h"

namespace focus::speech {

constexpr int64_t kClipSamples = 16000;  // one second at 16 kHz
inline const char* const kUnknown = "_unknown_";
inline const char* const kSilence = "_silence_";

// The ten digits and yes no up down left right on off stop go.
const std::vector<std::string>& command_words();
// Words spoken as `_unknown_` (besides the command words a corpus does not use as classes).
const std::vector<std::string>& filler_words();

// ---- synthesis ---------------------------------------------------------------------------------

struct Voice {
  std::string engine;   // "espeak-ng", "flite" or "festival"
  std::string name;     // espeak-ng: "<accent>+<variant>" ("en-gb-scotland+m3"); flite: "slt";
                        // festival: "kd", "italp", ...
  std::string speaker;  // what splits are disjoint in: espeak-ng's variant, flite's voice
  std::string group;    // "train", "validation", "espeak-ng", "flite" (test groups)
  double speed = 1.0;   // espeak-ng: words per minute / 175; flite, kd: 1 / duration stretch
  double pitch = 1.0;   // espeak-ng: pitch parameter / 50; flite, kd: f0 / the voice's own
  // festival's voices of other languages: tempo (WSOLA) and the whole spectrum's scale
  // (resampling) applied to their output, since festival cannot move their prosody.
};

// `text` spoken by `voice`, as 16 kHz mono in [-1, 1]. espeak-ng and flite keep global state: their
// calls are serialised on one lock (the library is thread-safe, not parallel). festival runs as a
// command, one process per call: ask for all of a voice's texts at once.
std::vector<float> synthesize(const Voice& voice, const std::string& text);
std::vector<std::vector<float>> synthesize_all(const Voice& voice,
                                               const std::vector<std::string>& texts);
// espeak-ng's English accents and voice variants used here, flite's voices, and festival's (kd,
// the one English voice in Debian that is not also a flite speaker, and voices of other languages
// that say the command words respelt: italp, itapc, ona, dita, machac, lj, mv).
const std::vector<std::string>& espeak_accents();
std::vector<std::string> espeak_variants();
const std::vector<std::string>& flite_voices();
const std::vector<std::string>& festival_voices();

// ---- the corpus --------------------------------------------------------------------------------

struct CorpusOptions {
  uint64_t seed = 1;
  std::vector<std::string> words;       // the command classes; empty: all of command_words()
  bool unknown = true, silence = true;  // add the `_unknown_` / `_silence_` classes
  // Speakers (espeak-ng variants) are partitioned: held-out variants never speak in training.
  int64_t validation_speakers = 10, test_speakers = 14;
  // Voices (speaker, accent, speed, pitch) per split; each says every word once.
  int64_t train_voices = 240, validation_voices = 30, test_voices = 60;
  int64_t flite_takes = 6;  // per flite voice, each at its own speed and pitch; 0: no flite group
  // Training voices from a second engine, festival (diphone and HTS synthesis, unlike espeak-ng's
  // formants), each at its own speed and pitch, cycling through festival_speakers; 0: espeak-ng
  // only. Never in test.
  int64_t festival_train_voices = 0;
  std::vector<std::string> festival_speakers = {"kd"};  // of festival_voices()
  // Validation voices of festival speakers that never train (group "validation-festival"), so
  // that choosing on validation sees how the model carries over to speakers of another engine
  // and accent; 0: none.
  int64_t festival_validation_voices = 0;
  std::vector<std::string> festival_validation_speakers;
  // The fraction of validation voices heard through an 8 kHz channel (nothing above 4 kHz; their
  // group is "validation-8k"), so that choosing on validation rewards robustness to narrow-band
  // recordings, which predict accepts; 0: all full band. The test voices stay as synthesised.
  double validation_narrowband = 0.0;
  int64_t unknown_per_voice = 2, silence_per_voice = 1;
  std::string cache_dir;  // where corpora are kept (a folder per options' key); empty: none
};

// Clips of one split: 1 s of 16 kHz audio each, as 16-bit PCM.
struct ClipSet {
  std::vector<int16_t> pcm;     // [N, kClipSamples]
  std::vector<int32_t> labels;  // [N] class index
  std::vector<int32_t> voice;   // [N] index into voices
  std::vector<Voice> voices;
  int64_t size() const { return int64_t(labels.size()); }
  std::vector<float> wave(int64_t i) const;  // [kClipSamples] in [-1, 1]
  // Indices of the clips spoken by voices of `group`.
  std::vector<int64_t> in_group(const std::string& group) const;
};

struct Corpus {
  std::vector<std::string> classes;  // words..., then _unknown_, _silence_ when present
  ClipSet train, validation, test;   // test: groups "espeak-ng" (held-out voices) and "flite"
  std::string key;                   // hash of the options: the cache folder's name
  bool from_cache = false;
};

// Synthesises the corpus (deterministic by seed), or reads it from cache_dir/<key>/corpus.bin
// when an earlier call made it. Writing the cache is atomic.
Corpus make_corpus(const CorpusOptions& opt);
std::string corpus_key(const CorpusOptions& opt);

// Places speech in a clip of n samples: leading and trailing silence trimmed (frames of 10 ms
// more than 40 dB below the loudest), the rest centred, shifted by `offset` samples and cut to n.
std::vector<float> place(const std::vector<float>& speech, int64_t n, int64_t offset = 0);

// ---- augmentation ------------------------------------------------------------------------------

struct AugmentOptions {
  float shift = 0.1f;                     // time shift, uniform in ±shift seconds
  float noise_p = 0.8f;                   // probability of background noise (white/pink/brown)
  float snr_min = 5.0f, snr_max = 30.0f;  // its SNR in dB, uniform
  float speed_p = 0.5f, speed = 0.12f;    // resampled by a factor in 1 ± speed (pitch + tempo)
  float tempo_p = 0.3f, tempo = 0.15f;    // time-stretched (WSOLA) by 1 ± tempo
  float pitch_p = 0.3f, pitch = 2.0f;     // pitch shifted by ± semitones (speed + tempo back)
  float gain_db = 6.0f;                   // gain uniform in ±gain_db
  float reverb_p = 0.3f;                  // Schroeder reverb, random room size and mix
  // Band limit (a narrow-band channel: telephone, 8 or 11 kHz recordings): low-passed at a
  // cut-off uniform in [lowpass_min, 8000) Hz. Off at lowpass_p 0.
  float lowpass_p = 0.0f, lowpass_min = 3400.0f;
  // On the features (augmentation_transform), each off at 0:
  float vtlp = 0.0f;   // vocal tract length perturbation: mel filters warped by 1 ± vtlp, uniform
  float eq_db = 0.0f;  // random smooth equaliser over the bands (eq_curve), up to ± eq_db dB
  int64_t freq_masks = 0, freq_width = 0;  // SpecAugment: masks of 0..width mel bands
  int64_t time_masks = 0, time_width = 0;  // and of 0..width frames, set to 0 (the mean)
};

// A waveform [n] -> [n] transform drawing every choice from `gen`.
std::vector<float> augment(const std::vector<float>& wave, const AugmentOptions& opt,
                           Generator& gen);
// Pieces, exposed for tests.
std::vector<float> time_stretch(const std::vector<float>& x, double factor);  // length / factor
// Resampled so that it plays `factor` times faster (shorter, higher: f0 and formants). The factor
// is rounded to speed_percent(factor) / 100, in [0.5, 2], which keeps the resampler's polyphase
// table small (100 phases).
std::vector<float> speed_up(const std::vector<float>& x, double factor);
int64_t speed_percent(double factor);
void add_noise(std::vector<float>& x, int colour, float snr_db,
               Generator& gen);  // 0 white, 1 pink, 2 brown
void reverb(std::vector<float>& x, float room, float damping, float wet);
// Nothing above ~cutoff Hz: resampled to 2·cutoff (rounded to 100 Hz) and back; same length.
std::vector<float> band_limit(const std::vector<float>& x, double cutoff_hz);
// x moved `samples` later (earlier when negative), the same length: silence fills the gap.
std::vector<float> shifted(const std::vector<float>& x, int64_t samples);

// SpecAugment's masks (Park et al. 2019) on features [M,T]: `first` and `width` rows (bands) or
// columns (frames).
struct Mask {
  bool band = true;  // a band of mels, else a span of frames
  int64_t first = 0, width = 0;
};
std::vector<Mask> draw_masks(const AugmentOptions& opt, int64_t mels, int64_t frames,
                             Generator& gen);
void apply_masks(Tensor& features, const std::vector<Mask>& masks, float value = 0.0f);
// A microphone's or an engine's response: a gain in dB per band [M], smooth over frequency, the
// sum of three cosines over the bands with amplitudes uniform in ±eq_db/k (k = 1, 2, 3), so
// |gain| <= eq_db·11/6. add_eq adds it (in nats) to log-mel features [M,T] at every frame above
// the log floor (`floor`: digital silence stays silent).
std::vector<float> eq_curve(int64_t mels, float eq_db, Generator& gen);
void add_eq(Tensor& features, const std::vector<float>& gain_db, float floor);

// ---- features ----------------------------------------------------------------------------------

// Per-clip normalisation of log-mel features [M,T], before the training split's standardiser:
// each band less its mean over the clip's active frames (`mean`, cepstral mean normalisation in
// the log-mel domain), and divided by its standard deviation over them too (`mean_var`). It takes
// away a fixed spectral tilt, the kind an engine's or a channel's response adds. Active frames:
// those whose mean over bands is within kActiveDb dB of the loudest frame's, so the silence around
// a word does not set the level.
enum class ClipNorm { none, mean, mean_var };
constexpr double kActiveDb = 40.0;
void normalize_clip(Tensor& features, ClipNorm norm);
ClipNorm clip_norm_named(const std::string& name);  // "none", "mean", "mean_var"

// ---- data sets ---------------------------------------------------------------------------------

// One fixed way of hearing every clip, for test-time augmentation (focus eval --shifts/--warps):
// moved `shift` seconds later (earlier when negative; silence fills the gap), then its frequency
// axis warped by `warp` before the mel filters (LogMel's VTLP; 1: none). Training's augmentation
// draws both at random; a model's probabilities averaged over a few fixed views are steadier than
// any one view's.
struct ClipView {
  double shift = 0.0;  // seconds, |shift| < 0.5
  double warp = 1.0;   // in [0.5, 2]
};

// Log-mel features [M,T] of each clip, normalised per clip (set_clip_norm) and standardised per mel
// band when a standardizer is set, computed on first use (in the loader's thread) and kept.
class FeatureDataset : public data::Dataset {
 public:
  FeatureDataset(std::shared_ptr<const ClipSet> clips, std::shared_ptr<const audio::LogMel> mel,
                 std::vector<int64_t> indices = {});  // indices: a subset; empty: all
  int64_t size() const override { return int64_t(indices_.size()); }
  data::Example get(int64_t i) const override;
  // The clip's voice: "flite:slt speed=1.05 pitch=0.97" (engine, voice name, its speed and pitch).
  std::string source(int64_t i) const override;
  void set_standardizer(std::shared_ptr<const data::Standardizer> s) { standardizer_ = s; }
  void set_clip_norm(ClipNorm n) { norm_ = n; }  // before the first get()
  // The same examples heard through `view` (same clips, features, normalisation and
  // standardiser), with their own cache.
  std::shared_ptr<FeatureDataset> viewed(ClipView view) const;
  const ClipSet& clips() const { return *clips_; }
  int64_t clip_index(int64_t i) const { return indices_[size_t(i)]; }

 private:
  std::shared_ptr<const ClipSet> clips_;
  std::shared_ptr<const audio::LogMel> mel_;
  std::shared_ptr<const data::Standardizer> standardizer_;
  ClipNorm norm_ = ClipNorm::none;
  ClipView view_;
  std::vector<int64_t> indices_;
  mutable std::mutex mu_;
  mutable std::vector<Tensor> cache_;
};

// The waveforms [kClipSamples] themselves: for training with augmentation, whose transform
// (augmentation_transform) turns each into features.
class WaveDataset : public data::Dataset {
 public:
  explicit WaveDataset(std::shared_ptr<const ClipSet> clips) : clips_(std::move(clips)) {}
  int64_t size() const override { return clips_->size(); }
  data::Example get(int64_t i) const override;

 private:
  std::shared_ptr<const ClipSet> clips_;
};

// waveform [n] -> augment -> log-mel (warped when opt.vtlp > 0) -> equaliser (opt.eq_db) ->
// normalise per clip -> standardise -> masks: [M,T].
data::Transform augmentation_transform(AugmentOptions opt, std::shared_ptr<const audio::LogMel> mel,
                                       std::shared_ptr<const data::Standardizer> standardizer,
                                       ClipNorm norm = ClipNorm::none);

}  // namespace focus::speech
