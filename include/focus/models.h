// Models configured by JSON. Each maps a batch's inputs to class logits [B,C].
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "focus/nn.h"

namespace focus::models {

// Where a model's attention keys sit on an input read along one axis (the frames of a clip): key
// k, after any class token, reads positions [first + k·stride, first + k·stride + width).
struct KeySpan {
  int64_t first = 0, stride = 1, width = 1;
};

class Classifier : public nn::Module {
 public:
  // x: the batch's inputs as the model's data gives them; returns logits [B,C].
  virtual Tensor operator()(const Tensor& x) const = 0;
  virtual int64_t classes() const = 0;
  // For drawing where the model looked along its input; the default is one key per position.
  virtual KeySpan key_span() const { return {}; }
};

// Attention over keys [K] (summing to 1) as attention over the `positions` input positions the
// keys read (span): each key's weight is shared evenly by its positions, the parts outside
// [0, positions) are dropped, and the result is scaled to sum to 1 again. Overlapping keys (a
// convolution's window wider than its stride) add up where they overlap.
std::vector<float> spread_over_positions(const std::vector<float>& keys, int64_t positions,
                                         KeySpan span);

struct SequenceClassifierOptions {
  int64_t vocab = 0, max_len = 0, classes = 0;
  int64_t dim = 64, depth = 2, heads = 4, mlp_ratio = 2;
  float dropout = 0.0f;
  // Kernel (odd) of a convolution over neighbouring positions before the blocks, added back
  // through a GELU: x + gelu(conv(x)), x [B,N,D] after the positions. It lets the depth-0 baseline
  // read each piece with its neighbours, at O(N) cost. Padded positions enter it as zeros, so a
  // padded row still gives the logits it gives alone. 0: none.
  int64_t conv = 0;
  // "cls" (a learned class token), "mean" (over the unpadded positions) or "soft" (soft-attention
  // pooling, attention::SoftAttention, masked to the unpadded positions).
  std::string pool = "cls";
  // Token id of padding (rows are padded on the right), or -1: no padding. With padding, keys at
  // padded positions are masked (sdpa's key_lengths), pooling ignores them, and each batch is cut
  // to its longest row, so a padded row gives the logits it gives alone.
  int32_t pad_id = -1;
};

// Unpadded length of each right-padded row of ids i32 [B,N]: one past its last token that is not
// `pad` (0 for a row of padding alone).
std::vector<int32_t> unpadded_lengths(const Tensor& ids, int32_t pad);

// A transformer encoder over token ids: embedding + learned positions (+ class token), an
// optional convolution over neighbours (options.conv), pre-norm encoder blocks, a final LayerNorm
// and a linear head. x: i32 ids [B,N] -> logits [B,C].
class SequenceClassifier : public Classifier {
 public:
  SequenceClassifier(const SequenceClassifierOptions& opt, Generator& gen = default_generator());
  Tensor operator()(const Tensor& ids) const override;
  int64_t classes() const override { return opt_.classes; }
  const SequenceClassifierOptions& options() const { return opt_; }

  // How much the prediction drew on each input token: ids [B,N] -> f32 [B,N], each row summing to
  // 1 over its unpadded tokens (0 at padding). pool "soft": the pooling weights; "cls": the class
  // token's row of the attention rollout over all layers; "mean": the rollout's rows averaged
  // over the unpadded queries. No gradients.
  Tensor token_attention(const Tensor& ids) const;

  // The encoder's output at the token positions (after the final LayerNorm, without the class
  // token): ids [B,N] -> [B,N',D], where N' is the longest unpadded row (N without padding).
  // Masked-token pretraining (train::pretrain_masked) reads it.
  Tensor encode(const Tensor& ids) const;

  // The tensors encode() reads (embedding, positions, class token, blocks, final norm), named as
  // in named_parameters(): what masked-token pretraining trains and `focus pretrain` saves. The
  // pooling ("pool.*") and the head ("head.*") are the classifier's own.
  nn::NamedTensors encoder_parameters() const;

 private:
  struct Encoded {
    Tensor states;                 // [B,offset+N',D], the class token first when there is one
    std::vector<int32_t> lengths;  // unpadded length of each row; empty without padding
  };
  Encoded encode_all(const Tensor& ids) const;
  SequenceClassifierOptions opt_;
  std::shared_ptr<attention::SoftAttention> soft_;
  std::shared_ptr<nn::Embedding> embed_;
  std::shared_ptr<nn::LearnedPositions> pos_;
  std::shared_ptr<nn::Conv1d> conv_;
  Tensor cls_;
  std::vector<std::shared_ptr<nn::EncoderBlock>> blocks_;
  std::shared_ptr<nn::LayerNorm> norm_;
  std::shared_ptr<nn::Linear> head_;
};

// A model config object ({"kind": "sequence_transformer", ...}) read and checked before any data
// exists: unknown keys, types, ranges and choices are errors naming the key, so a typo fails
// before a data set loads. make() builds the model for the data's description `input` ({"classes":
// C, ...} as the task gives it: vocab, length; channels, height, width; mels, frames) and checks
// what depends on it (a patch that must divide the image, say).
class ModelSpec {
 public:
  using Make =
      std::function<std::unique_ptr<Classifier>(const nlohmann::json& input, Generator& gen)>;
  ModelSpec(std::string kind, Make make) : kind_(std::move(kind)), make_(std::move(make)) {}
  const std::string& kind() const { return kind_; }
  std::unique_ptr<Classifier> make(const nlohmann::json& input, Generator& gen) const {
    return make_(input, gen);
  }

 private:
  std::string kind_;
  Make make_;
};

ModelSpec read_model(const nlohmann::json& model);

// read_model(model).make(input, gen).
std::unique_ptr<Classifier> build(const nlohmann::json& model, const nlohmann::json& input,
                                  Generator& gen);

}  // namespace focus::models
