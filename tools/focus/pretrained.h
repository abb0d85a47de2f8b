// A `focus pretrain` directory: a sequence transformer's encoder pretrained on masked tokens
// (pretrained.safetensors), the config it was pretrained with (config.json), the task's fitted
// preprocessing (spam: tokenizer.model) and pretrain.jsonl. `focus train` starts from one with
// train.init = DIR: the classifier's encoder is loaded from it, its pooling and head start afresh
// from the fine-tuning seed.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "focus/models.h"
#include "focus/pretrain.h"
#include "focus/trainer.h"

namespace focus::cli {

inline constexpr const char* kPretrainedFile = "pretrained.safetensors";

// Pretraining as a config's train object asks for it: train.pretrain_epochs and pretrain_mask,
// with the fine-tuning's optimiser settings, batch and seed; pretrain.jsonl goes into out_dir.
train::MaskedLmOptions masked_lm_options(const train::FitOptions& fit, int32_t mask_id,
                                         const std::string& out_dir, bool progress);

// A pretrain directory as train.init reads it: its resolved config and its encoder's tensors.
struct Pretrained {
  std::string dir;
  nlohmann::json config;
  std::map<std::string, Tensor> encoder;
};

// Reads `dir` after checking that it is a pretrain directory and that `config` can start from
// it: the same model object, and the same data object but for the keys that only say how the
// non-test examples are split between training and validation (validation, folds, fold,
// group_weights). Anything else could move the test split or the text the encoder reads.
// ConfigError naming the first key that differs; a damaged encoder file is a data error, found
// here, before any data loads.
Pretrained open_pretrained_dir(const std::string& dir, const nlohmann::json& config);

// Saves the encoder's tensors (SequenceClassifier::encoder_parameters) to dir/kPretrainedFile.
void save_encoder(const models::SequenceClassifier& model, const std::string& dir);

// Copies the pretrained encoder into the model's: every encoder tensor must be there with its
// shape, and nothing else; the pooling and head are left as they are. A mismatch changes nothing.
void load_encoder(models::SequenceClassifier& model, const Pretrained& pre);

}  // namespace focus::cli
