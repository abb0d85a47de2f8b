// Learning-rate schedules in closed form (double, rounded once to f32) and reduce-on-plateau.
#include <cmath>
#include <functional>
#include <numbers>

#include "focus/optim.h"

namespace focus::optim {
namespace {

class FnSchedule : public Schedule {
 public:
  FnSchedule(const char* name, std::function<double(int64_t)> fn)
      : name_(name), fn_(std::move(fn)) {}
  float lr(int64_t step) const override {
    FOCUS_CHECK(step >= 0, name_, " schedule: step must be >= 0, got ", step);
    return static_cast<float>(fn_(step));
  }

 private:
  const char* name_;
  std::function<double(int64_t)> fn_;
};

// min + (max − min)·(1 + cos(π·pct))/2: from max at pct 0 to min at pct 1.
double cosine_between(double max, double min, double pct) {
  return min + (max - min) * (1.0 + std::cos(std::numbers::pi * pct)) / 2.0;
}

void check_rate(const char* name, const char* what, float v) {
  FOCUS_CHECK(std::isfinite(v) && v >= 0.0f, name, " schedule: ", what,
              " must be finite and >= 0, got ", v);
}

}  // namespace

std::unique_ptr<Schedule> constant(float base) {
  check_rate("constant", "base", base);
  return std::make_unique<FnSchedule>("constant", [base](int64_t) { return double(base); });
}

std::unique_ptr<Schedule> step_decay(float base, int64_t step_size, float gamma) {
  check_rate("step_decay", "base", base);
  check_rate("step_decay", "gamma", gamma);
  FOCUS_CHECK(step_size >= 1, "step_decay schedule: step_size must be >= 1, got ", step_size);
  return std::make_unique<FnSchedule>("step_decay", [=](int64_t t) {
    return double(base) * std::pow(double(gamma), double(t / step_size));
  });
}

std::unique_ptr<Schedule> cosine(float base, int64_t total, float min_lr) {
  check_rate("cosine", "base", base);
  check_rate("cosine", "min_lr", min_lr);
  FOCUS_CHECK(total >= 1, "cosine schedule: total must be >= 1, got ", total);
  return std::make_unique<FnSchedule>("cosine", [=](int64_t t) {
    if (t >= total) return double(min_lr);
    return cosine_between(base, min_lr, double(t) / double(total));
  });
}

std::unique_ptr<Schedule> warmup_cosine(float base, int64_t warmup, int64_t total, float min_lr) {
  check_rate("warmup_cosine", "base", base);
  check_rate("warmup_cosine", "min_lr", min_lr);
  FOCUS_CHECK(warmup >= 0 && warmup < total,
              "warmup_cosine schedule: expected 0 <= warmup < total, ", "got warmup ", warmup,
              " and total ", total);
  return std::make_unique<FnSchedule>("warmup_cosine", [=](int64_t t) {
    // (t+1)/warmup: the first step already moves (a rate of 0 would waste it) and step warmup−1
    // reaches base.
    if (t < warmup) return double(base) * double(t + 1) / double(warmup);
    if (t >= total) return double(min_lr);
    return cosine_between(base, min_lr, double(t - warmup) / double(total - warmup));
  });
}

std::unique_ptr<Schedule> one_cycle(float max_lr, int64_t total, float pct_start, float div_factor,
                                    float final_div_factor) {
  check_rate("one_cycle", "max_lr", max_lr);
  FOCUS_CHECK(total >= 2, "one_cycle schedule: total must be >= 2, got ", total);
  FOCUS_CHECK(pct_start > 0.0f && pct_start < 1.0f,
              "one_cycle schedule: pct_start must be in (0, 1), got ", pct_start);
  FOCUS_CHECK(div_factor > 0.0f && final_div_factor > 0.0f,
              "one_cycle schedule: div_factor and final_div_factor must be > 0, got ", div_factor,
              " and ", final_div_factor);
  const double initial = double(max_lr) / double(div_factor);
  const double final_lr = initial / double(final_div_factor);
  // torch's phase boundary, a float step: float(pct_start·total) − 1.
  const double peak = double(pct_start) * double(total) - 1.0;
  const double end = double(total - 1);
  FOCUS_CHECK(peak > 0.0 && peak < end, "one_cycle schedule: pct_start·total − 1 = ", peak,
              " must fall inside (0, ", end, ") (pct_start ", pct_start, ", total ", total, ")");
  return std::make_unique<FnSchedule>("one_cycle", [=](int64_t t) {
    if (double(t) <= peak) return cosine_between(initial, max_lr, double(t) / peak);
    if (t >= total - 1) return final_lr;
    return cosine_between(max_lr, final_lr, (double(t) - peak) / (end - peak));
  });
}

ReduceOnPlateau::ReduceOnPlateau(float base, float factor, int patience, bool maximize,
                                 float min_lr, float threshold)
    : lr_(base),
      factor_(factor),
      min_lr_(min_lr),
      threshold_(threshold),
      patience_(patience),
      maximize_(maximize) {
  check_rate("ReduceOnPlateau", "base", base);
  check_rate("ReduceOnPlateau", "min_lr", min_lr);
  FOCUS_CHECK(factor >= 0.0f && factor < 1.0f, "ReduceOnPlateau: factor must be in [0, 1), got ",
              factor);
  FOCUS_CHECK(patience >= 0, "ReduceOnPlateau: patience must be >= 0, got ", patience);
  FOCUS_CHECK(std::isfinite(threshold) && threshold >= 0.0f,
              "ReduceOnPlateau: threshold must be finite and >= 0, got ", threshold);
}

float ReduceOnPlateau::observe(float metric) {
  FOCUS_CHECK(std::isfinite(metric), "ReduceOnPlateau: the metric is ", metric,
              "; a NaN or Inf evaluation must not silently count as a plateau");
  // torch's relative threshold, in double as torch computes it (best·(1 ∓ threshold)).
  const double best = best_, m = metric, th = threshold_;
  const bool better = !seen_ || (maximize_ ? m > best * (1.0 + th) : m < best * (1.0 - th));
  if (better) {
    best_ = metric;
    bad_ = 0;
    seen_ = true;
  } else if (++bad_ > patience_) {
    const double old_lr = lr_;
    const double new_lr = std::max(old_lr * double(factor_), double(min_lr_));
    if (old_lr - new_lr > 1e-8) lr_ = static_cast<float>(new_lr);  // torch's eps: no tiny steps
    bad_ = 0;
  }
  return lr_;
}

void ReduceOnPlateau::load(const State& s) {
  FOCUS_CHECK(
      std::isfinite(s.lr) && s.lr >= 0.0f && s.bad >= 0 && std::isfinite(s.best),
      "ReduceOnPlateau load: expected a finite lr >= 0, a finite best and bad >= 0, got lr ", s.lr,
      ", best ", s.best, ", bad ", s.bad);
  lr_ = s.lr;
  best_ = s.best;
  bad_ = s.bad;
  seen_ = s.seen;
}

}  // namespace focus::optim
