// Optimisers, gradient clipping and learning-rate schedules, with torch.optim's semantics (1.13).
//
//   optim::AdamW opt(model.named_parameters(), {.lr = 3e-3f, .weight_decay = 0.05f});
//   auto schedule = optim::warmup_cosine(3e-3f, /*warmup=*/500, /*total=*/steps);
//   for (int64_t step = 0; step < steps; ++step) {
//     opt.zero_grad();
//     loss(step).backward();
//     optim::clip_grad_norm(opt.params(), 1.0f);
//     opt.set_lr(schedule->lr(step));
//     opt.step();
//   }
//
// Updates are in place on the parameters' storage, under no-grad; parameters whose grad() is
// undefined are skipped (their state, step count included, is left alone, as in torch). state()
// and load() round-trip everything a bit-identical resumption needs.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "focus/tensor.h"

namespace focus::optim {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual void step() = 0;
  void zero_grad();  // drops every parameter's gradient
  float lr() const { return lr_; }
  void set_lr(float lr);
  int64_t steps() const { return steps_; }  // calls of step()
  const NamedTensors& params() const { return params_; }

  // Copies of the per-parameter slots ("<param>.<slot>": momentum; exp_avg, exp_avg_sq, step) and
  // the scalars "step" (i32) and "lr" (f32). A parameter that was never updated has no slots yet.
  std::map<std::string, Tensor> state() const;
  // Restores state(): every key must be "step", "lr" or a slot of one of this optimiser's
  // parameters, with the same dtype and shape, and a parameter's slots come all or none. Checks
  // everything before changing anything; errors name the key and both shapes.
  void load(const std::map<std::string, Tensor>& state);

 protected:
  // A slot is f32 of its parameter's shape, or, when `count`, an i32 scalar.
  struct SlotSpec {
    std::string name;
    bool count = false;
  };
  // Parameters must be defined, f32, contiguous, uniquely named and each passed once; `kind` names
  // the optimiser in errors.
  Optimizer(const char* kind, NamedTensors params, float lr, std::vector<SlotSpec> slots);
  Tensor* find_slot(size_t param, const std::string& slot);  // null until created
  Tensor& slot(size_t param, const std::string& slot);       // zeros on first use
  // The parameter's gradient as a contiguous f32 tensor, undefined when it has none.
  Tensor grad_of(size_t param) const;

  const char* kind_;
  NamedTensors params_;
  float lr_;
  int64_t steps_ = 0;
  std::vector<SlotSpec> slot_specs_;
  std::map<std::string, Tensor> slots_;  // "<param>.<slot>" -> tensor
};

struct SgdOptions {
  float lr = 0.01f, momentum = 0.0f, dampening = 0.0f, weight_decay = 0.0f;
  bool nesterov = false;  // needs momentum > 0 and dampening 0, as in torch
};
// As torch.optim.SGD: g += wd·p; buf = g on the first step, then buf = momentum·buf +
// (1 − dampening)·g; g = nesterov ? g + momentum·buf : buf; p −= lr·g.
class Sgd : public Optimizer {
 public:
  Sgd(NamedTensors params, const SgdOptions& opt);
  void step() override;

 private:
  SgdOptions opt_;
};

struct AdamOptions {
  float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.0f;
  // AdamW only: decay parameters of rank < 2 (norm scales, biases, scalars) too; off by default.
  bool decay_norms_and_biases = false;
};
// As torch.optim.Adam: g += wd·p (L2); m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²;
// p −= lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + eps), with t each parameter's own step count.
class Adam : public Optimizer {
 public:
  Adam(NamedTensors params, const AdamOptions& opt) : Adam(std::move(params), opt, false) {}
  void step() override;

 protected:
  Adam(NamedTensors params, const AdamOptions& opt, bool decoupled);
  AdamOptions opt_;
  bool decoupled_;
};
// As torch.optim.AdamW: p *= 1 − lr·wd before the Adam update (no L2 term in the gradient).
class AdamW : public Adam {
 public:
  AdamW(NamedTensors params, const AdamOptions& opt) : Adam(std::move(params), opt, true) {}
};

// As torch.nn.utils.clip_grad_norm_: when the global L2 norm of all gradients exceeds max_norm,
// scales them by max_norm/(norm + 1e-6). Returns the norm before clipping. Summed in double in a
// fixed order, so the result does not depend on the thread count. A non-finite norm is an error
// naming the first parameter with a non-finite gradient (nothing is scaled).
float clip_grad_norm(const NamedTensors& params, float max_norm);
// The global L2 norm of the gradients (0 for none), summed as clip_grad_norm does.
float grad_norm(const NamedTensors& params);

// ---- schedules: the learning rate for a step (0-based), from the base rate ---------------------
// Computed in closed form, in double, so any step can be asked for (a resumed run needs no replay).
class Schedule {
 public:
  virtual ~Schedule() = default;
  virtual float lr(int64_t step) const = 0;
};
std::unique_ptr<Schedule> constant(float base);
// As torch StepLR: base·gamma^⌊step/step_size⌋.
std::unique_ptr<Schedule> step_decay(float base, int64_t step_size, float gamma);
// As torch CosineAnnealingLR with T_max = total: min + (base−min)·(1 + cos(π·step/total))/2;
// min_lr from `total` on (torch would rise again).
std::unique_ptr<Schedule> cosine(float base, int64_t total, float min_lr = 0.0f);
// Linear warm-up, then cosine:  step < warmup:  base·(step+1)/warmup
//                               step < total:   min + (base−min)·(1 +
//                               cos(π·(step−warmup)/(total−warmup)))/2 otherwise:      min
std::unique_ptr<Schedule> warmup_cosine(float base, int64_t warmup, int64_t total,
                                        float min_lr = 0.0f);
// As torch OneCycleLR (cosine annealing, three_phase off): from max_lr/div_factor up to max_lr at
// step pct_start·total − 1, then down to max_lr/(div_factor·final_div_factor) at total − 1, where
// it stays.
std::unique_ptr<Schedule> one_cycle(float max_lr, int64_t total, float pct_start = 0.3f,
                                    float div_factor = 25.0f, float final_div_factor = 1e4f);

// As torch ReduceLROnPlateau (threshold_mode "rel", cooldown 0): driven by a metric, not the step.
// Call observe() after each evaluation; after more than `patience` evaluations in a row without
// an improvement beyond the relative threshold, lr = max(lr·factor, min_lr).
class ReduceOnPlateau {
 public:
  ReduceOnPlateau(float base, float factor = 0.1f, int patience = 10, bool maximize = false,
                  float min_lr = 0.0f, float threshold = 1e-4f);
  float observe(float metric);  // returns the learning rate to use next; NaN/Inf is an error
  float lr() const { return lr_; }

  // Everything observe() depends on, for checkpoints.
  struct State {
    float lr = 0, best = 0;
    int bad = 0;        // evaluations since the last improvement
    bool seen = false;  // false until the first observe(): best is then undefined
  };
  State state() const { return {lr_, best_, bad_, seen_}; }
  void load(const State& s);

 private:
  float lr_, factor_, min_lr_, threshold_, best_ = 0;
  int patience_, bad_ = 0;
  bool maximize_, seen_ = false;
};

}  // namespace focus::optim
