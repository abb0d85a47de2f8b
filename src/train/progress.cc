// Progress display: one line redrawn with '\r' on a terminal, plain lines otherwise.
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "focus/train.h"

namespace focus::train {

namespace {

constexpr int kBarWidth = 20;
constexpr auto kRedrawEvery = std::chrono::milliseconds(100);

std::string format(const char* fmt, auto... args) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return buf;
}

// m:ss under an hour, h:mm:ss above.
std::string duration(double seconds) {
  const long long s = std::llround(std::max(seconds, 0.0));
  if (s < 3600) return format("%lld:%02lld", s / 60, s % 60);
  return format("%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
}

// Columns of the terminal behind `out`, 0 when unknown (not a terminal, or forced in tests).
int columns(std::FILE* out) {
  struct winsize ws {};
  const int fd = fileno(out);
  if (fd < 0 || ioctl(fd, TIOCGWINSZ, &ws) != 0) return 0;
  return ws.ws_col;
}

}  // namespace

Progress::Progress(std::FILE* out, int64_t total_steps, int64_t epochs, int plain_every)
    : Progress(out, isatty(fileno(out)) == 1, total_steps, epochs, plain_every) {}

Progress::Progress(std::FILE* out, bool is_terminal, int64_t total_steps, int64_t epochs,
                   int plain_every)
    : out_(out),
      tty_(is_terminal),
      per_epoch_(total_steps <= 0 ? 0
                 : epochs > 0     ? (total_steps + epochs - 1) / epochs
                                  : total_steps),
      epochs_(epochs),
      plain_every_(std::max(plain_every, 1)),
      start_(Clock::now()) {}

std::string Progress::render(int bar_width) const {
  std::string s = epochs_ > 0 ? format("epoch %lld/%lld", (long long)epoch_, (long long)epochs_)
                              : format("epoch %lld", (long long)epoch_);
  if (bar_width > 0 && per_epoch_ > 0) {
    const int filled =
        static_cast<int>(std::clamp<int64_t>(step_ * bar_width / per_epoch_, 0, bar_width));
    s += " [" + std::string(filled, '#') + std::string(bar_width - filled, '.') + "]";
  } else {
    s += " step";
  }
  s += per_epoch_ > 0 ? format(" %lld/%lld", (long long)step_, (long long)per_epoch_)
                      : format(" %lld", (long long)step_);
  s += format(" loss %.4g", loss_);
  if (std::isfinite(accuracy_) && accuracy_ >= 0) s += format(" acc %.1f%%", 100.0 * accuracy_);
  if (elapsed_ > 0) {
    s += format(" %.0f samples/s", samples_ / elapsed_);
    const int64_t done = step_ - first_step_ + 1;  // steps timed since the clock started
    if (per_epoch_ > 0 && done > 0) {
      int64_t left = std::max<int64_t>(per_epoch_ - step_, 0);
      if (epochs_ > 0) left += std::max<int64_t>(epochs_ - epoch_, 0) * per_epoch_;
      s += " ETA " + duration(static_cast<double>(left) * elapsed_ / static_cast<double>(done));
    }
  }
  return s;
}

void Progress::draw(Clock::time_point now) {
  if (tty_) {
    std::string line = render(kBarWidth);
    // A line wider than the terminal wraps, and '\r' would then redraw only its last row.
    if (const int cols = columns(out_); cols > 0) {
      if (static_cast<int>(line.size()) >= cols) line = render(0);
      if (static_cast<int>(line.size()) >= cols) line.resize(cols - 1);
    }
    std::fprintf(out_, "\r%s\x1b[K", line.c_str());
  } else {
    std::fprintf(out_, "%s\n", render(0).c_str());
  }
  std::fflush(out_);
  last_draw_ = now;
  drawn_step_ = step_;
}

void Progress::update(int64_t epoch, int64_t step, float loss, float accuracy, int64_t samples) {
  if (step_ > 0 && epoch != epoch_) end_epoch("");  // a new epoch without end_epoch()
  const auto now = Clock::now();
  epoch_ = epoch;
  if (first_step_ == 0) first_step_ = step;
  step_ = step;
  loss_ = loss;
  accuracy_ = accuracy;
  samples_ = samples;
  elapsed_ = std::chrono::duration<double>(now - start_).count();
  const bool last = per_epoch_ > 0 && step >= per_epoch_;
  if (tty_) {
    if (drawn_step_ == 0 || last || now - last_draw_ >= kRedrawEvery) draw(now);
  } else if (step % plain_every_ == 0 || last) {
    draw(now);
  }
}

void Progress::end_epoch(const std::string& summary) {
  const auto now = Clock::now();
  if (step_ > 0 && drawn_step_ != step_) draw(now);
  if (tty_ && drawn_step_ > 0) std::fputc('\n', out_);
  if (!summary.empty()) std::fprintf(out_, "%s\n", summary.c_str());
  std::fflush(out_);
  start_ = now;
  step_ = samples_ = first_step_ = drawn_step_ = 0;
  elapsed_ = 0;
}

}  // namespace focus::train
