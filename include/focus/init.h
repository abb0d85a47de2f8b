// Parameter initialisation, in place and seeded. fan_in/fan_out follow PyTorch: for a weight
// [Out, In, k...] fan_in = In·Πk and fan_out = Out·Πk; rank-1 tensors use their length for both.
#pragma once

#include <string>

#include "focus/rng.h"
#include "focus/tensor.h"

namespace focus::nn::init {

enum class Mode { fan_in, fan_out };

void zeros_(Tensor& t);
void ones_(Tensor& t);
void constant_(Tensor& t, float value);
void uniform_(Tensor& t, float lo, float hi, Generator& gen = default_generator());
void normal_(Tensor& t, float mean, float stddev, Generator& gen = default_generator());
// Normal(mean, stddev) redrawn until inside [lo, hi] (values outside are resampled, as timm's).
void trunc_normal_(Tensor& t, float mean, float stddev, float lo, float hi,
                   Generator& gen = default_generator());
void xavier_uniform_(Tensor& t, float gain = 1.0f, Generator& gen = default_generator());
void xavier_normal_(Tensor& t, float gain = 1.0f, Generator& gen = default_generator());
// He/Kaiming for ReLU-like layers: gain √(2/(1+a²)); `a` is the leaky slope (√5 for PyTorch's
// default Linear init).
void kaiming_uniform_(Tensor& t, float a = 0.0f, Mode mode = Mode::fan_in,
                      Generator& gen = default_generator());
void kaiming_normal_(Tensor& t, float a = 0.0f, Mode mode = Mode::fan_in,
                     Generator& gen = default_generator());

// By name, for configs: "zeros", "ones", "uniform" (±0.1), "normal" (0, 0.02), "trunc_normal"
// (0, 0.02, ±2σ), "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal",
// "torch_default" (kaiming_uniform with a = √5). An unknown name is an error listing the known.
void by_name(Tensor& t, const std::string& name, Generator& gen = default_generator());

}  // namespace focus::nn::init
