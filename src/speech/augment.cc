// Waveform augmentation for training: speed, tempo (WSOLA), pitch, reverb (Schroeder), time shift,
// gain and coloured background noise at a random SNR. Runs in the loader's thread: plain loops.
#include <algorithm>
#include <cmath>

#include "focus/error.h"
#include "focus/speech.h"
#include "speech/draw.h"

namespace focus::speech {
namespace {

using detail::Draw;

double rms(const std::vector<float>& x) {
  double s = 0.0;
  for (float v : x) s += double(v) * v;
  return x.empty() ? 0.0 : std::sqrt(s / double(x.size()));
}

// The centre n samples of x, zero-padded when x is shorter.
std::vector<float> centre(const std::vector<float>& x, int64_t n) {
  std::vector<float> out(size_t(n), 0.0f);
  const int64_t len = int64_t(x.size()), shift = (n - len) / 2;
  for (int64_t i = 0; i < len; ++i)
    if (i + shift >= 0 && i + shift < n) out[size_t(i + shift)] = x[size_t(i)];
  return out;
}

}  // namespace

int64_t speed_percent(double factor) {
  return std::clamp<int64_t>(std::lround(100.0 * factor), 50, 200);
}

std::vector<float> speed_up(const std::vector<float>& x, double factor) {
  return audio::resample(x, audio::kRate * speed_percent(factor) / 100, audio::kRate);
}

void add_noise(std::vector<float>& x, int colour, float snr_db, Generator& gen) {
  FOCUS_CHECK(colour >= 0 && colour <= 2, "add_noise: colour ", colour,
              " (0 white, 1 pink, 2 brown)");
  Draw d{gen};
  std::vector<double> n(x.size());
  double b0 = 0, b1 = 0, b2 = 0, brown = 0;
  for (size_t i = 0; i < n.size(); ++i) {
    const double w = d.normal();
    if (colour == 0) {
      n[i] = w;
    } else if (colour == 1) {  // Paul Kellet's economy pink filter
      b0 = 0.99765 * b0 + w * 0.0990460;
      b1 = 0.96300 * b1 + w * 0.2965164;
      b2 = 0.57000 * b2 + w * 1.0526913;
      n[i] = b0 + b1 + b2 + w * 0.1848;
    } else {  // leaky integration: 1/f² below a few Hz' corner
      brown = (brown + 0.02 * w) / 1.02;
      n[i] = brown;
    }
  }
  double s = 0.0;
  for (double v : n) s += v * v;
  const double noise_rms = n.empty() ? 0.0 : std::sqrt(s / double(n.size()));
  const double signal = rms(x);
  const double target = signal > 0.0 ? signal * std::pow(10.0, -snr_db / 20.0) : 1.0;
  const double scale = noise_rms > 0.0 ? target / noise_rms : 0.0;
  for (size_t i = 0; i < x.size(); ++i) x[i] += float(n[i] * scale);
}

std::vector<float> time_stretch(const std::vector<float>& x, double factor) {
  FOCUS_CHECK(factor > 0.2 && factor < 5.0, "time_stretch: factor ", factor, " outside (0.2, 5)");
  constexpr int64_t kWindow = 400, kHop = 200, kTolerance = 80;  // 25 ms, 12.5 ms, 5 ms
  constexpr int64_t kCandidates = 2 * kTolerance + 1;
  const int64_t n = int64_t(x.size());
  const int64_t n_out = int64_t(std::lround(double(n) / factor));
  std::vector<float> out(size_t(n_out + kWindow), 0.0f), norm(out.size(), 0.0f);
  std::vector<float> win(static_cast<size_t>(kWindow));
  for (int64_t i = 0; i < kWindow; ++i)
    win[size_t(i)] =
        float(0.5 - 0.5 * std::cos(2.0 * 3.14159265358979323846 * double(i) / kWindow));
  // x between zeros, so that no read needs a bounds check: sample j is xp[j + kTolerance]. Every
  // read lies below the last nominal position + kTolerance + kWindow.
  const int64_t last_nominal =
      n_out > 0 ? int64_t(std::lround(double((n_out - 1) / kHop * kHop) * factor)) : 0;
  std::vector<float> xp(size_t(kTolerance + std::max(n, last_nominal + kTolerance + kWindow)),
                        0.0f);
  std::copy(x.begin(), x.end(), xp.begin() + kTolerance);
  const float* at = xp.data() + kTolerance;
  std::vector<double> score(static_cast<size_t>(kCandidates));
  int64_t prev = 0;
  for (int64_t k = 0; k * kHop < n_out; ++k) {
    const int64_t nominal = int64_t(std::lround(double(k * kHop) * factor));
    int64_t pos = nominal;
    if (k > 0) {
      // WSOLA: the segment near `nominal` most like the natural continuation of the last one.
      // All candidate offsets advance together, so the inner loop vectorises while each score
      // is still summed in the order of i (the scores, and so the choice, stay bit for bit).
      const float* natural = at + prev + kHop;
      const float* first = at + nominal - kTolerance;
      std::fill(score.begin(), score.end(), 0.0);
      for (int64_t i = 0; i < kWindow - kHop; i += 2) {
        const double a = natural[i];
        const float* b = first + i;
        for (int64_t d = 0; d < kCandidates; ++d) score[size_t(d)] += a * b[d];
      }
      double best = -1e300;
      for (int64_t d = 0; d < kCandidates; ++d)
        if (score[size_t(d)] > best) best = score[size_t(d)], pos = nominal - kTolerance + d;
    }
    for (int64_t i = 0; i < kWindow; ++i) {
      out[size_t(k * kHop + i)] += win[size_t(i)] * at[pos + i];
      norm[size_t(k * kHop + i)] += win[size_t(i)];
    }
    prev = pos;
  }
  out.resize(size_t(n_out));
  for (int64_t i = 0; i < n_out; ++i) out[size_t(i)] /= std::max(norm[size_t(i)], 1e-3f);
  return out;
}

void reverb(std::vector<float>& x, float room, float damping, float wet) {
  FOCUS_CHECK(room >= 0.0f && room <= 1.0f && damping >= 0.0f && damping <= 1.0f && wet >= 0.0f &&
                  wet <= 1.0f,
              "reverb: room ", room, ", damping ", damping, " and wet ", wet, " must be in [0, 1]");
  // Freeverb's comb and all-pass delays (at 44.1 kHz), scaled to 16 kHz.
  constexpr int kCombs[] = {1116, 1188, 1277, 1356}, kAllpass[] = {556, 441};
  const double feedback = 0.7 + 0.28 * room;
  const size_t n = x.size();
  std::vector<double> y(n, 0.0);
  for (int d44 : kCombs) {
    const size_t d = size_t(d44 * 16000 / 44100);
    std::vector<double> buf(d, 0.0);
    double low = 0.0;
    for (size_t i = 0; i < n; ++i) {
      const double out = buf[i % d];
      low = out * (1.0 - damping) + low * damping;
      buf[i % d] = x[i] + low * feedback;
      y[i] += out;
    }
  }
  for (int d44 : kAllpass) {
    const size_t d = size_t(d44 * 16000 / 44100);
    std::vector<double> buf(d, 0.0);
    for (size_t i = 0; i < n; ++i) {
      const double b = buf[i % d];
      buf[i % d] = y[i] + b * 0.5;
      y[i] = b - y[i];
    }
  }
  double sx = 0.0, sy = 0.0;
  for (size_t i = 0; i < n; ++i) sx += double(x[i]) * x[i], sy += y[i] * y[i];
  const double g = sy > 0.0 ? std::sqrt(sx / sy) : 0.0;  // the wet signal at the dry one's level
  for (size_t i = 0; i < n; ++i) x[i] = float((1.0 - wet) * x[i] + wet * g * y[i]);
}

std::vector<float> band_limit(const std::vector<float>& x, double cutoff_hz) {
  FOCUS_CHECK(cutoff_hz >= 1000.0 && cutoff_hz <= 8000.0, "band_limit: cut-off ", cutoff_hz,
              " Hz outside [1000, 8000]");
  const int64_t rate = 200 * std::lround(cutoff_hz / 100.0);
  if (rate >= audio::kRate) return x;
  std::vector<float> y =
      audio::resample(audio::resample(x, audio::kRate, rate), rate, audio::kRate);
  y.resize(x.size(), 0.0f);
  return y;
}

std::vector<float> shifted(const std::vector<float>& x, int64_t samples) {
  const int64_t n = int64_t(x.size());
  std::vector<float> out(size_t(n), 0.0f);
  for (int64_t i = 0; i < n; ++i)
    if (i - samples >= 0 && i - samples < n) out[size_t(i)] = x[size_t(i - samples)];
  return out;
}

std::vector<float> augment(const std::vector<float>& wave, const AugmentOptions& opt,
                           Generator& gen) {
  Draw d{gen};
  const int64_t n = int64_t(wave.size());
  std::vector<float> x = wave;
  if (d.chance(opt.speed_p)) x = centre(speed_up(x, 1.0 + d.uniform(-opt.speed, opt.speed)), n);
  if (d.chance(opt.tempo_p)) x = centre(time_stretch(x, 1.0 + d.uniform(-opt.tempo, opt.tempo)), n);
  if (d.chance(opt.pitch_p)) {
    // Up by r: play r times faster, then stretch back to the old duration.
    const double r =
        std::lround(100.0 * std::pow(2.0, d.uniform(-opt.pitch, opt.pitch) / 12.0)) / 100.0;
    x = centre(time_stretch(speed_up(x, r), 1.0 / r), n);
  }
  if (d.chance(opt.reverb_p))
    reverb(x, float(d.uniform(0.0, 1.0)), float(d.uniform(0.2, 0.6)), float(d.uniform(0.1, 0.5)));
  // Drawn only when on, so that configs without it keep their random stream.
  if (opt.lowpass_p > 0.0f && d.chance(opt.lowpass_p))
    x = band_limit(x, d.uniform(opt.lowpass_min, 8000.0));
  const int64_t max_shift = int64_t(opt.shift * float(audio::kRate));
  if (max_shift > 0) {
    x = shifted(x, d.below(2 * max_shift + 1) - max_shift);
  }
  const float gain = float(std::pow(10.0, d.uniform(-opt.gain_db, opt.gain_db) / 20.0));
  for (float& v : x) v *= gain;
  if (d.chance(opt.noise_p)) {
    const int colour = int(d.below(3));
    const float snr = float(d.uniform(opt.snr_min, opt.snr_max));
    Generator noise(gen.bits(gen.advance(1)));
    add_noise(x, colour, snr, noise);
  }
  return x;
}

}  // namespace focus::speech
