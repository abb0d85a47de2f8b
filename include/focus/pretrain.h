// Masked-token pretraining of a sequence transformer's encoder on unlabelled token ids (BERT's
// objective, Devlin et al. 2019), before it is fine-tuned as a classifier by train::fit.
// Self-pretraining on the task's own training texts alone pays for transformers trained from
// scratch (Krishna et al. 2022, "Downstream datasets make surprisingly good pretraining corpora").
//
//   train::MaskedLmOptions o{.epochs = 4, .mask_id = data::Tokenizer::kUnk, .seed = 1};
//   train::pretrain_masked(model, splits.train, splits.validation, o);  // then train::fit(...)
//
// Each epoch draws, for every unpadded token of every training example, whether it is chosen
// (probability `mask`); a chosen token is replaced by mask_id (80%), a random token (10%) or
// left (10%), and the encoder's output there (SequenceClassifier::encode) is trained to predict
// it through a linear decoder [D -> vocab] that exists only during pretraining. The draws are a
// pure function of (seed, epoch, example index), like the loader's augmentation.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "focus/data.h"
#include "focus/models.h"
#include "focus/runtime.h"

namespace focus::train {

struct MaskedLmOptions {
  int64_t epochs = 4;
  int64_t batch = 32;
  float mask = 0.15f;  // fraction of unpadded tokens chosen for prediction
  // The token that stands for "hidden here": one the data never contains (spam: the tokenizer's
  // <unk>, which byte fallback never emits). In [0, vocab), not the padding id.
  int32_t mask_id = -1;
  // AdamW with warm-up + cosine over the pretraining steps.
  float lr = 2e-3f, weight_decay = 0.01f, warmup = 0.05f, clip = 1.0f;
  uint64_t seed = 1;
  Precision precision = Precision::f32;  // of the linear layers' products (train.precision)
  std::string out_dir;  // pretrain.jsonl (one record per epoch) is written here; empty: none
  bool progress = true;
};

struct MaskedLmResult {
  int64_t steps = 0;
  double seconds = 0.0;
  // Mean loss over the chosen tokens of the last epoch and the fraction predicted right, in
  // training; and on `validation` (fixed draws, no dropout) after the first and the last epoch
  // (NaN when there is no validation set).
  float train_loss = 0.0f, train_accuracy = 0.0f;
  float first_val_loss = 0.0f, val_loss = 0.0f, val_accuracy = 0.0f;
};

// train and validation give i32 token ids [N] padded on the right with the model's pad id (their
// labels are not read); validation may be null (`focus pretrain` trains on every text outside the
// test split and holds none out). The model's weights are updated in place; its classification head
// and pooling are not trained.
MaskedLmResult pretrain_masked(models::SequenceClassifier& model,
                               std::shared_ptr<const data::Dataset> train,
                               std::shared_ptr<const data::Dataset> validation,
                               const MaskedLmOptions& opt);

}  // namespace focus::train
