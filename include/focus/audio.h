// Audio: reading sound files (WAV, FLAC and whatever else libsndfile reads) as 16 kHz mono float,
// a windowed-sinc resampler, and the log-mel spectrogram speech models read.
//
//   std::vector<float> wave = audio::load("clip.flac");          // any rate/channels -> 16 kHz
//   mono audio::LogMel mel({.mels = 40});                               // 25 ms Hann, 10 ms hop
//   Tensor features = mel(wave.data(), int64_t(wave.size()));      // [40, T]
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "focus/tensor.h"

namespace focus::audio {

constexpr int64_t kRate = 16000;  // what models read

// A sound file as stored: frames × channels, interleaved, in [-1, 1].
struct Sound {
  std::vector<float> samples;  // [frames, channels]
  int64_t rate = 0, channels = 0;
  int64_t frames() const { return channels == 0 ? 0 : int64_t(samples.size()) / channels; }
};

// Reads a sound file through libsndfile. Errors (focus::Error) name the file and what is wrong:
// unreadable or not a sound file, no samples, longer than max_seconds, or shorter than its header
// declares (a truncated file).
Sound read_sound(const std::string& path, double max_seconds = 600.0);

// Averages the channels.
std::vector<float> to_mono(const Sound& s);

// Band-limited resampling by a rational factor (polyphase windowed sinc: Kaiser window β = 8,
// 24 zero crossings each side of the lower rate's band edge, cut-off at 0.94 of its Nyquist).
// Output length: ceil(n · to / from).
std::vector<float> resample(const std::vector<float>& x, int64_t from, int64_t to);

// read_sound + to_mono + resample to `rate`.
std::vector<float> load(const std::string& path, int64_t rate = kRate, double max_seconds = 600.0);

// Writes mono 16-bit audio, atomically (temporary file + rename), clipped to [-1, 1]: FLAC when
// the path ends in ".flac", else PCM WAV.
void write_audio(const std::string& path, const std::vector<float>& samples, int64_t rate);

// ---- features ----------------------------------------------------------------------------------

struct LogMelOptions {
  int64_t rate = kRate;
  int64_t window = 400;  // 25 ms at 16 kHz; periodic Hann
  int64_t hop = 160;     // 10 ms
  int64_t fft = 512;     // the window zero-padded to this length
  int64_t mels = 40;
  double fmin = 20.0, fmax = 8000.0;
  float floor = 1e-6f;  // log(max(mel energy, floor))
};

// Log-mel spectrogram: frames t = 0..T-1 start at t·hop (no centring padding, T = 1 + (n - window)
// / hop, at least 1: shorter input is zero-padded); power spectrum |FFT(hann · frame)|² (FFTW,
// real-to-complex, single precision) through triangular filters on the HTK mel scale
// (mel = 2595 log10(1 + f/700), unnormalised triangles, as torchaudio's MelScale(mel_scale="htk",
// norm=None)), then the natural log. Safe to call from several threads at once.
class LogMel {
 public:
  explicit LogMel(const LogMelOptions& opt = {});
  ~LogMel();
  LogMel(const LogMel&) = delete;
  LogMel& operator=(const LogMel&) = delete;
  Tensor operator()(const float* x, int64_t n) const;  // -> [mels, T]
  // With the frequency axis warped by `warp` before the mel filters (vocal tract length
  // perturbation, Jaitly & Hinton 2013): a formant at f appears at warp·f up to
  // kWarpEdge·min(warp, 1) Hz, above which a second line maps the rest onto [.., rate/2], so the
  // band stays whole. The power spectrum is read between bins by linear interpolation; warp 1 gives
  // exactly the unwarped features. warp in [0.5, 2].
  Tensor operator()(const float* x, int64_t n, double warp) const;
  static constexpr double kWarpEdge = 4800.0;
  int64_t frames(int64_t n) const;
  const LogMelOptions& options() const { return opt_; }
  const std::vector<float>& filters() const { return filters_; }  // [mels, fft/2+1]

 private:
  struct Plan;
  Tensor compute(const float* x, int64_t n, double warp, bool warped_path) const;
  LogMelOptions opt_;
  std::vector<float> window_, filters_;
  std::vector<int64_t> span_;  // [mels, 2]: the bins where each filter is nonzero
  std::unique_ptr<Plan> plan_;
};

}  // namespace focus::audio
