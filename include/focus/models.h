// Models configured by JSON. Each maps a batch's inputs to class logits [B,C].
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "focus/nn.h"

namespace focus::models {

class Classifier : public nn::Module {
 public:
  // x: the batch's inputs as the model's data gives them; returns logits [B,C].
  virtual Tensor operator()(const Tensor& x) const = 0;
  virtual int64_t classes() const = 0;
};

struct SequenceClassifierOptions {
  int64_t vocab = 0, max_len = 0, classes = 0;
  int64_t dim = 64, depth = 2, heads = 4, mlp_ratio = 2;
  float dropout = 0.0f;
  std::string pool = "cls";  // "cls" (a learned class token) or "mean"
};

// A transformer encoder over token ids: embedding + learned positions (+ class token), pre-norm
// encoder blocks, a final LayerNorm and a linear head. x: i32 ids [B,N] -> logits [B,C].
class SequenceClassifier : public Classifier {
 public:
  SequenceClassifier(const SequenceClassifierOptions& opt, Generator& gen = default_generator());
  Tensor operator()(const Tensor& ids) const override;
  int64_t classes() const override { return opt_.classes; }

 private:
  SequenceClassifierOptions opt_;
  std::shared_ptr<nn::Embedding> embed_;
  std::shared_ptr<nn::LearnedPositions> pos_;
  Tensor cls_;
  std::vector<std::shared_ptr<nn::EncoderBlock>> blocks_;
  std::shared_ptr<nn::LayerNorm> norm_;
  std::shared_ptr<nn::Linear> head_;
};

// Builds a model from its config object ({"kind": "sequence_transformer", ...}); unknown keys
// and bad values are errors naming the key. `input` describes the data (vocab, length, classes).
std::unique_ptr<Classifier> build(const nlohmann::json& model, const nlohmann::json& input,
                                  Generator& gen);

}  // namespace focus::models
