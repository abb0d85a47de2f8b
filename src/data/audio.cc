// Sound files through libsndfile, mixing down and the polyphase windowed-sinc resampler.
#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>

#include "focus/audio.h"
#include "focus/error.h"

namespace focus::audio {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kZeroCrossings = 24.0;  // per side, at the lower rate
constexpr double kRolloff = 0.94;        // cut-off as a fraction of the lower rate's Nyquist
constexpr double kBeta = 8.0;            // Kaiser window: ~80 dB stop band

struct SndCloser {
  void operator()(SNDFILE* f) const { sf_close(f); }
};

// The filter's impulse response at t input samples from the output instant (|t| < half width).
double kernel(double t, double cutoff, double half_width) {
  const double r = t / half_width;
  if (r <= -1.0 || r >= 1.0) return 0.0;
  const double w =
      std::cyl_bessel_i(0.0, kBeta * std::sqrt(1.0 - r * r)) / std::cyl_bessel_i(0.0, kBeta);
  const double x = kPi * cutoff * t;
  return cutoff * w * (x == 0.0 ? 1.0 : std::sin(x) / x);
}

}  // namespace

Sound read_sound(const std::string& path, double max_seconds) {
  SF_INFO info{};
  std::unique_ptr<SNDFILE, SndCloser> f(sf_open(path.c_str(), SFM_READ, &info));
  if (!f) {
    const std::string why =
        std::filesystem::exists(path) ? sf_strerror(nullptr) : std::string("no such file");
    throw Error("audio: cannot read " + path + ": " + why);
  }
  FOCUS_CHECK(info.samplerate > 0 && info.channels > 0, "audio: ", path, ": bad header (rate ",
              info.samplerate, " Hz, ", info.channels, " channels)");
  FOCUS_CHECK(info.frames > 0, "audio: ", path, " holds no samples (", info.samplerate, " Hz, ",
              info.channels, " channels)");
  const double seconds = double(info.frames) / info.samplerate;
  FOCUS_CHECK(seconds <= max_seconds, "audio: ", path, " is ", seconds, " s long (", info.frames,
              " frames at ", info.samplerate, " Hz); the limit is ", max_seconds, " s");
  FOCUS_CHECK(info.channels <= 64, "audio: ", path, " has ", info.channels,
              " channels; at most 64 are read");
  // libsndfile reads a WAV whose data ends early up to where it ends, noting the shortfall in its
  // log as "data : <declared> (should be <present>)". Streaming writers leave 0 or ~4 GiB there
  // as a placeholder: those are not truncations.
  char log[4096] = {};
  sf_command(f.get(), SFC_GET_LOG_INFO, log, sizeof log);
  if (const char* d = std::strstr(log, "\ndata : ")) {
    long long declared = 0, present = 0;
    if (std::sscanf(d, "\ndata : %lld (should be %lld)", &declared, &present) == 2 &&
        declared > present && declared != 0 && declared < 0x7FFFFFFFll) {
      throw Error(detail::cat("audio: ", path, " is truncated: its data chunk declares ", declared,
                              " bytes, only ", present, " are in the file"));
    }
  }
  Sound s;
  s.rate = info.samplerate;
  s.channels = info.channels;
  s.samples.resize(size_t(info.frames) * size_t(info.channels));
  const sf_count_t got = sf_readf_float(f.get(), s.samples.data(), info.frames);
  FOCUS_CHECK(got == info.frames, "audio: ", path, " is truncated: its header declares ",
              info.frames, " frames, only ", got, " could be read");
  for (float& v : s.samples)
    if (!std::isfinite(v)) v = 0.0f;  // float WAVs can hold NaN; a model must never see one
  return s;
}

std::vector<float> to_mono(const Sound& s) {
  const int64_t n = s.frames(), c = s.channels;
  if (c == 1) return s.samples;
  std::vector<float> mono(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    double acc = 0.0;
    for (int64_t k = 0; k < c; ++k) acc += s.samples[size_t(i * c + k)];
    mono[size_t(i)] = float(acc / double(c));
  }
  return mono;
}

std::vector<float> resample(const std::vector<float>& x, int64_t from, int64_t to) {
  FOCUS_CHECK(from > 0 && to > 0, "resample: rates must be positive, got ", from, " -> ", to);
  if (from == to || x.empty()) return x;
  const int64_t g = std::gcd(from, to);
  const int64_t up = to / g, down = from / g;  // output n sits at input time n·down/up
  const int64_t n_in = int64_t(x.size());
  const int64_t n_out = (n_in * up + down - 1) / down;
  // In input samples: the cut-off frequency (cycles/sample) and the window's half width.
  const double cutoff = kRolloff * std::min(1.0, double(up) / double(down));
  const double half = kZeroCrossings / cutoff;
  const int64_t reach = int64_t(std::ceil(half)) + 1;
  const int64_t taps = 2 * reach + 1;
  // Phase p = (n·down) mod up puts the output at input time k0 + p/up; its taps cover input
  // samples k0 - reach .. k0 + reach. A table per phase when there are few phases, made once per
  // ratio (its Bessel functions cost more than a second of resampling).
  const bool table = up <= 4096;
  std::shared_ptr<const std::vector<float>> tab;
  if (table) {
    static std::mutex mu;
    static std::map<std::pair<int64_t, int64_t>, std::shared_ptr<const std::vector<float>>> made;
    std::lock_guard<std::mutex> lock(mu);
    auto& slot = made[{up, down}];
    if (!slot) {
      auto h = std::make_shared<std::vector<float>>(size_t(up * taps));
      for (int64_t p = 0; p < up; ++p)
        for (int64_t j = 0; j < taps; ++j)
          (*h)[size_t(p * taps + j)] =
              float(kernel(double(p) / up - double(j - reach), cutoff, half));
      slot = h;
    }
    tab = slot;
  }
  const float* h = table ? tab->data() : nullptr;
  std::vector<float> y(static_cast<size_t>(n_out));
  std::vector<float> own(static_cast<size_t>(taps));
  for (int64_t n = 0; n < n_out; ++n) {
    // kBlock outputs whose taps all lie inside x at once: independent sums keep the FPU's pipes
    // busy where one sum waits on each add, and each is summed in the order it is alone.
    constexpr int64_t kBlock = 8;
    if (table && n + kBlock <= n_out && (n * down) / up - reach >= 0 &&
        ((n + kBlock - 1) * down) / up + reach <= n_in - 1) {
      const float* w[kBlock];
      const float* xs[kBlock];
      for (int64_t q = 0; q < kBlock; ++q) {
        w[q] = h + (((n + q) * down) % up) * taps;
        xs[q] = x.data() + ((n + q) * down) / up - reach;
      }
      double acc[kBlock] = {};
      for (int64_t j = 0; j < taps; ++j)
        for (int64_t q = 0; q < kBlock; ++q) acc[q] += double(w[q][j]) * xs[q][j];
      for (int64_t q = 0; q < kBlock; ++q) y[size_t(n + q)] = float(acc[q]);
      n += kBlock - 1;
      continue;
    }
    const int64_t k0 = (n * down) / up, p = (n * down) % up;
    const float* w = nullptr;
    if (table) {
      w = h + p * taps;
    } else {
      for (int64_t j = 0; j < taps; ++j)
        own[size_t(j)] = float(kernel(double(p) / up - double(j - reach), cutoff, half));
      w = own.data();
    }
    const int64_t lo = std::max<int64_t>(0, k0 - reach), hi = std::min(n_in - 1, k0 + reach);
    double acc = 0.0;
    for (int64_t k = lo; k <= hi; ++k) acc += double(w[k - (k0 - reach)]) * x[size_t(k)];
    y[size_t(n)] = float(acc);
  }
  return y;
}

std::vector<float> load(const std::string& path, int64_t rate, double max_seconds) {
  const Sound s = read_sound(path, max_seconds);
  return resample(to_mono(s), s.rate, rate);
}

void write_audio(const std::string& path, const std::vector<float>& samples, int64_t rate) {
  FOCUS_CHECK(rate > 0, "write_audio: ", path, ": rate must be positive, got ", rate);
  const std::string tmp = path + ".tmp";
  SF_INFO info{};
  info.samplerate = int(rate);
  info.channels = 1;
  const bool flac = path.size() >= 5 && path.compare(path.size() - 5, 5, ".flac") == 0;
  info.format = (flac ? SF_FORMAT_FLAC : SF_FORMAT_WAV) | SF_FORMAT_PCM_16;
  {
    std::unique_ptr<SNDFILE, SndCloser> f(sf_open(tmp.c_str(), SFM_WRITE, &info));
    FOCUS_CHECK(f != nullptr, "write_audio: cannot create ", tmp, ": ", sf_strerror(nullptr));
    sf_command(f.get(), SFC_SET_CLIPPING, nullptr, SF_TRUE);
    const sf_count_t n = sf_writef_float(f.get(), samples.data(), sf_count_t(samples.size()));
    FOCUS_CHECK(n == sf_count_t(samples.size()), "write_audio: wrote ", n, " of ", samples.size(),
                " frames to ", tmp, ": ", sf_strerror(f.get()));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  FOCUS_CHECK(!ec, "write_audio: cannot rename ", tmp, " to ", path, ": ", ec.message());
}

}  // namespace focus::audio
