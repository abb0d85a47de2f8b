// The training loop: AdamW/Adam/SGD with a schedule, clipping, accumulation, label smoothing,
// early stopping on validation accuracy (the best checkpoint kept), atomic resumable
// checkpoints, a JSON-lines log and a progress display.
//
// Resumption is bit-identical: a checkpoint holds the model, the optimiser state, the step, the
// position inside the epoch and the state of default_generator(), which dropout draws from; the
// loader's order and augmentation are pure functions of (seed, epoch, index).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "focus/config.h"
#include "focus/data.h"
#include "focus/models.h"
#include "focus/runtime.h"

namespace focus::train {

struct FitOptions {
  int64_t epochs = 10;
  int64_t batch = 64;
  std::string optimizer = "adamw";  // sgd | adam | adamw
  float lr = 3e-3f, weight_decay = 0.01f, momentum = 0.9f;
  std::string schedule =
      "warmup_cosine";   // constant | step | cosine | warmup_cosine | one_cycle | plateau
  float warmup = 0.05f;  // warmup_cosine: fraction of all steps
  float min_lr = 0.0f;
  int64_t step_epochs = 10;  // step: decay every this many epochs
  float gamma = 0.1f;        // step and plateau: the decay factor
  float label_smoothing = 0.0f;
  // Loss weight per class against imbalance: each example's loss is weighted by its class's weight
  // and the batch's loss divided by the sum of those weights (torch's cross_entropy(weight=) when
  // label_smoothing is 0). Empty: all 1. Config "class_weights": "none", "balanced" (n / (C·n_c)
  // from the training labels, computed by fit()) or a list "1,3.5".
  std::vector<float> class_weights;
  bool balanced_weights = false;
  // Loss weight per training example (by dataset index), multiplied into its class's weight, so
  // that a task can weigh sub-groups of a class (spam's hard ham). Empty: all 1. Set by the task,
  // not read from "train".
  std::vector<float> example_weights;
  float clip = 1.0f;  // global gradient norm; 0: off
  // Decay of an exponential moving average of the weights, updated after every optimiser step
  // (warm-started: min(ema, t / (9 + t)) at step t). The average is what validation scores,
  // early stopping watches and best.safetensors keeps; the raw weights are scored too, for the
  // log. 0: off.
  float ema = 0.0f;
  // Masked-token pretraining of a sequence transformer's encoder on the training split before
  // fitting (train::pretrain_masked, focus/pretrain.h): epochs (0: none) and the fraction of
  // tokens chosen. Same lr, weight decay, warm-up and clipping as the fit. Run by `focus train`.
  int64_t pretrain_epochs = 0;
  float pretrain_mask = 0.15f;
  // Arithmetic of the linear layers' products while training (set_training_precision): f32, or
  // bf16 mixed precision (docs/precision.md). Validation runs at the inference precision.
  Precision precision = Precision::f32;
  int64_t accumulate = 1;  // micro-batches per optimiser step
  int64_t patience =
      0;  // early stopping after this many epochs without a better validation accuracy; 0: off
  int64_t log_every = 50;        // steps between JSONL step records
  int64_t checkpoint_every = 0;  // steps between checkpoints; 0: at each epoch's end
  uint64_t seed = 1;             // data order and augmentation
  std::string out_dir;           // last.safetensors, best.safetensors, log.jsonl; empty: none
  bool resume = false;           // continue from out_dir/last.safetensors
  int64_t max_steps = 0;         // stop after this many optimiser steps; 0: no limit
  bool progress = true;          // progress display on stderr
  data::Transform transform;     // training augmentation, optional
  // Evaluated after every epoch and logged as monitor_loss/monitor_accuracy, for time-to-accuracy
  // benchmarks; never used for any choice, and the time it takes is left out of the log's "time".
  std::shared_ptr<const data::Dataset> monitor;
};

// Reads the config's "train" object (unknown keys are errors naming them).
FitOptions fit_options(config::Reader& train);

struct FitResult {
  float best_accuracy = 0.0f;  // on validation
  int64_t best_epoch = -1;
  int64_t steps = 0, epochs_run = 0;
  double seconds = 0.0;
  bool early_stopped = false;
};

FitResult fit(models::Classifier& model, std::shared_ptr<const data::Dataset> train,
              std::shared_ptr<const data::Dataset> validation, const FitOptions& opt,
              const nlohmann::json& config = nlohmann::json::object());

struct Evaluation {
  float loss = 0.0f, accuracy = 0.0f;
  int64_t examples = 0, classes = 0;
  std::vector<int64_t> confusion;    // [true class][predicted class], row-major
  std::vector<float> probabilities;  // [examples, classes]: softmax of the logits, in data order
  std::vector<int32_t> labels;       // [examples]
  // Two classes: class 1 is predicted when its probability is above this (docs/CLI.md,
  // `focus eval --threshold`). More classes: the first highest class.
  float threshold = 0.5f;
};
// Runs the model in evaluation mode (no dropout) and restores its mode afterwards.
Evaluation evaluate(models::Classifier& model, std::shared_ptr<const data::Dataset> data,
                    int64_t batch = 256);

}  // namespace focus::train
