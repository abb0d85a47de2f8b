// The log-mel spectrogram: Hann-windowed frames, FFTW's real-to-complex transform, HTK mel filters.
#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>

#include "focus/audio.h"
#include "focus/error.h"

namespace focus::audio {
namespace {

constexpr double kPi = 3.14159265358979323846;

// FFTW's planner is not thread-safe; executing a plan on new arrays is.
std::mutex& planner_mutex() {
  static std::mutex m;
  return m;
}

double hz_to_mel(double f) { return 2595.0 * std::log10(1.0 + f / 700.0); }
double mel_to_hz(double m) { return 700.0 * (std::pow(10.0, m / 2595.0) - 1.0); }

struct FftwBuffer {
  explicit FftwBuffer(size_t bytes) : p(fftwf_malloc(bytes)) {
    FOCUS_CHECK(p != nullptr, "log_mel: cannot allocate ", bytes, " bytes");
  }
  ~FftwBuffer() { fftwf_free(p); }
  FftwBuffer(const FftwBuffer&) = delete;
  FftwBuffer& operator=(const FftwBuffer&) = delete;
  void* p;
};

}  // namespace

struct LogMel::Plan {
  fftwf_plan plan = nullptr;
  ~Plan() {
    std::lock_guard<std::mutex> lock(planner_mutex());
    if (plan) fftwf_destroy_plan(plan);
  }
};

LogMel::LogMel(const LogMelOptions& opt) : opt_(opt), plan_(std::make_unique<Plan>()) {
  FOCUS_CHECK(opt.rate > 0 && opt.window > 0 && opt.hop > 0 && opt.fft >= opt.window &&
                  opt.mels >= 1 && opt.fmin >= 0.0 && opt.fmax > opt.fmin &&
                  opt.fmax <= opt.rate / 2.0 && opt.floor > 0.0f,
              "log_mel: bad options: rate ", opt.rate, ", window ", opt.window, ", hop ", opt.hop,
              ", fft ", opt.fft, " (>= window), mels ", opt.mels, ", fmin ", opt.fmin, ", fmax ",
              opt.fmax, " (<= rate/2), floor ", opt.floor);
  window_.resize(size_t(opt.window));
  for (int64_t i = 0; i < opt.window; ++i)  // periodic, as torch.hann_window
    window_[size_t(i)] = float(0.5 - 0.5 * std::cos(2.0 * kPi * double(i) / double(opt.window)));
  // Triangles between mels + 2 points equally spaced in mel, evaluated at each bin's frequency.
  const int64_t bins = opt.fft / 2 + 1;
  std::vector<double> edges(size_t(opt.mels + 2));
  const double m0 = hz_to_mel(opt.fmin), m1 = hz_to_mel(opt.fmax);
  for (int64_t i = 0; i < opt.mels + 2; ++i)
    edges[size_t(i)] = mel_to_hz(m0 + (m1 - m0) * double(i) / double(opt.mels + 1));
  filters_.assign(size_t(opt.mels * bins), 0.0f);
  for (int64_t m = 0; m < opt.mels; ++m) {
    const double lo = edges[size_t(m)], mid = edges[size_t(m + 1)], hi = edges[size_t(m + 2)];
    for (int64_t k = 0; k < bins; ++k) {
      const double f = double(k) * double(opt.rate) / double(opt.fft);
      const double up = (f - lo) / (mid - lo), down = (hi - f) / (hi - mid);
      filters_[size_t(m * bins + k)] = float(std::max(0.0, std::min(up, down)));
    }
  }
  span_.assign(size_t(2 * opt.mels), 0);  // each triangle's nonzero bins [first, last)
  for (int64_t m = 0; m < opt.mels; ++m) {
    int64_t first = bins, last = 0;
    for (int64_t k = 0; k < bins; ++k)
      if (filters_[size_t(m * bins + k)] != 0.0f) first = std::min(first, k), last = k + 1;
    span_[size_t(2 * m)] = std::min(first, last), span_[size_t(2 * m + 1)] = last;
  }
  FftwBuffer in(sizeof(float) * size_t(opt.fft));
  FftwBuffer out(sizeof(fftwf_complex) * size_t(bins));
  std::lock_guard<std::mutex> lock(planner_mutex());
  plan_->plan = fftwf_plan_dft_r2c_1d(int(opt.fft), static_cast<float*>(in.p),
                                      static_cast<fftwf_complex*>(out.p), FFTW_ESTIMATE);
  FOCUS_CHECK(plan_->plan != nullptr, "log_mel: FFTW could not plan a transform of ", opt.fft);
}

LogMel::~LogMel() = default;

int64_t LogMel::frames(int64_t n) const {
  return n <= opt_.window ? 1 : 1 + (n - opt_.window) / opt_.hop;
}

Tensor LogMel::operator()(const float* x, int64_t n) const { return compute(x, n, 1.0, false); }

Tensor LogMel::operator()(const float* x, int64_t n, double warp) const {
  FOCUS_CHECK(warp >= 0.5 && warp <= 2.0, "log_mel: frequency warp ", warp, " outside [0.5, 2]");
  return compute(x, n, warp, true);
}

Tensor LogMel::compute(const float* x, int64_t n, double warp, bool warped_path) const {
  FOCUS_CHECK(n >= 0 && (x != nullptr || n == 0), "log_mel: bad input of ", n, " samples");
  const int64_t frames = this->frames(n), bins = opt_.fft / 2 + 1, mels = opt_.mels;
  Tensor out = make_tensor({mels, frames});
  float* o = out.data();  // [M,T]
  FftwBuffer in_buf(sizeof(float) * size_t(opt_.fft));
  FftwBuffer out_buf(sizeof(fftwf_complex) * size_t(bins));
  auto* in = static_cast<float*>(in_buf.p);             // [fft]
  auto* spec = static_cast<fftwf_complex*>(out_buf.p);  // [bins]
  std::vector<float> power(static_cast<size_t>(bins)), warped;
  // Where each output bin reads the input spectrum: the inverse of the piecewise-linear warp.
  std::vector<int64_t> src_bin;
  std::vector<float> src_frac;
  if (warped_path) {  // warp 1 too: its reads land exactly on the bins
    const double nyquist = double(opt_.rate) / 2.0, bin_hz = double(opt_.rate) / double(opt_.fft);
    const double edge_out = std::min(kWarpEdge * std::min(warp, 1.0), 0.95 * nyquist);
    const double edge_in = edge_out / warp;
    src_bin.resize(size_t(bins)), src_frac.resize(size_t(bins)), warped.resize(size_t(bins));
    for (int64_t k = 0; k < bins; ++k) {
      const double f_out = double(k) * bin_hz;
      const double f_in = f_out <= edge_out ? f_out / warp
                                            : nyquist - (nyquist - f_out) * (nyquist - edge_in) /
                                                            (nyquist - edge_out);
      const double pos = std::clamp(f_in / bin_hz, 0.0, double(bins - 1));
      src_bin[size_t(k)] = std::min<int64_t>(int64_t(pos), bins - 2);
      src_frac[size_t(k)] = float(pos - double(src_bin[size_t(k)]));
    }
  }
  for (int64_t t = 0; t < frames; ++t) {
    const int64_t start = t * opt_.hop;
    std::fill(in, in + opt_.fft, 0.0f);
    const int64_t avail = std::clamp<int64_t>(n - start, 0, opt_.window);
    for (int64_t i = 0; i < avail; ++i) in[i] = x[start + i] * window_[size_t(i)];
    fftwf_execute_dft_r2c(plan_->plan, in, spec);
    for (int64_t k = 0; k < bins; ++k)
      power[size_t(k)] = spec[k][0] * spec[k][0] + spec[k][1] * spec[k][1];
    if (!src_bin.empty()) {
      for (int64_t k = 0; k < bins; ++k) {
        const size_t b = size_t(src_bin[size_t(k)]);
        const float a = src_frac[size_t(k)];
        warped[size_t(k)] = power[b] * (1.0f - a) + power[b + 1] * a;
      }
      power.swap(warped);
    }
    for (int64_t m = 0; m < mels; ++m) {
      const float* f = &filters_[size_t(m * bins)];
      float acc = 0.0f;
      for (int64_t k = span_[size_t(2 * m)]; k < span_[size_t(2 * m + 1)]; ++k)
        acc += f[k] * power[size_t(k)];
      o[m * frames + t] = std::log(std::max(acc, opt_.floor));
    }
  }
  return out;
}

}  // namespace focus::audio
