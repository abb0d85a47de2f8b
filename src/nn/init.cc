#include "focus/init.h"

#include <cmath>
#include <cstring>

#include "focus/autograd.h"
#include "focus/error.h"

namespace focus::nn::init {
namespace {

void fill_from(Tensor& t, const Tensor& values) {
  FOCUS_CHECK(t.is_contiguous(), "init: parameter ", t.shape(), " must be contiguous");
  std::memcpy(t.data(), values.data(), t.numel() * sizeof(float));
}

std::pair<float, float> fans(const Tensor& t) {
  FOCUS_CHECK(t.dim() >= 1, "init: fan-based initialisation needs rank >= 1, got a scalar");
  if (t.dim() == 1) return {float(t.size(0)), float(t.size(0))};
  float receptive = 1.0f;
  for (int i = 2; i < t.dim(); ++i) receptive *= float(t.size(i));
  return {float(t.size(1)) * receptive, float(t.size(0)) * receptive};
}

}  // namespace

void constant_(Tensor& t, float value) { fill_from(t, Tensor::full(t.shape(), value)); }
void zeros_(Tensor& t) { constant_(t, 0.0f); }
void ones_(Tensor& t) { constant_(t, 1.0f); }

void uniform_(Tensor& t, float lo, float hi, Generator& gen) {
  fill_from(t, Tensor::uniform(t.shape(), lo, hi, gen));
}

void normal_(Tensor& t, float mean, float stddev, Generator& gen) {
  fill_from(t, Tensor::normal(t.shape(), mean, stddev, gen));
}

void trunc_normal_(Tensor& t, float mean, float stddev, float lo, float hi, Generator& gen) {
  FOCUS_CHECK(lo < hi && lo <= mean + 3 * stddev && hi >= mean - 3 * stddev,
              "trunc_normal: the interval [", lo, ", ", hi, "] misses N(", mean, ", ", stddev,
              ") almost surely");
  Tensor values = Tensor::normal(t.shape(), mean, stddev, gen);
  float* p = values.data();
  for (int64_t i = 0; i < values.numel(); ++i) {
    // Redraw out-of-range values from further counters of the same generator: deterministic.
    while (p[i] < lo || p[i] > hi) p[i] = Tensor::normal({1}, mean, stddev, gen).item();
  }
  fill_from(t, values);
}

void xavier_uniform_(Tensor& t, float gain, Generator& gen) {
  auto [in, out] = fans(t);
  const float bound = gain * std::sqrt(6.0f / (in + out));
  uniform_(t, -bound, bound, gen);
}

void xavier_normal_(Tensor& t, float gain, Generator& gen) {
  auto [in, out] = fans(t);
  normal_(t, 0.0f, gain * std::sqrt(2.0f / (in + out)), gen);
}

void kaiming_uniform_(Tensor& t, float a, Mode mode, Generator& gen) {
  auto [in, out] = fans(t);
  const float std = std::sqrt(2.0f / (1.0f + a * a)) / std::sqrt(mode == Mode::fan_in ? in : out);
  const float bound = std::sqrt(3.0f) * std;
  uniform_(t, -bound, bound, gen);
}

void kaiming_normal_(Tensor& t, float a, Mode mode, Generator& gen) {
  auto [in, out] = fans(t);
  normal_(t, 0.0f, std::sqrt(2.0f / (1.0f + a * a)) / std::sqrt(mode == Mode::fan_in ? in : out),
          gen);
}

void by_name(Tensor& t, const std::string& name, Generator& gen) {
  if (name == "zeros") return zeros_(t);
  if (name == "ones") return ones_(t);
  if (name == "uniform") return uniform_(t, -0.1f, 0.1f, gen);
  if (name == "normal") return normal_(t, 0.0f, 0.02f, gen);
  if (name == "trunc_normal") return trunc_normal_(t, 0.0f, 0.02f, -0.04f, 0.04f, gen);
  if (name == "xavier_uniform") return xavier_uniform_(t, 1.0f, gen);
  if (name == "xavier_normal") return xavier_normal_(t, 1.0f, gen);
  if (name == "kaiming_uniform") return kaiming_uniform_(t, 0.0f, Mode::fan_in, gen);
  if (name == "kaiming_normal") return kaiming_normal_(t, 0.0f, Mode::fan_in, gen);
  if (name == "torch_default") return kaiming_uniform_(t, std::sqrt(5.0f), Mode::fan_in, gen);
  throw Error("init: unknown initialisation '" + name +
              "' (known: zeros, ones, uniform, normal, trunc_normal, xavier_uniform, "
              "xavier_normal, kaiming_uniform, kaiming_normal, torch_default)");
}

}  // namespace focus::nn::init
