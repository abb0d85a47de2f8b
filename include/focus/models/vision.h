// Image classifiers over x f32 [B,C,H,W]: a vision transformer and the soft-attention baseline.
//
//   models::ViT vit({.channels = 1, .height = 28, .width = 28, .classes = 10});
//   attention::Capture capture;
//   Tensor logits = vit(images);                          // [B,10]
//   std::vector<Tensor> maps = vit.attention_maps(capture);  // depth × [B,H,N,N], first block
//   first Tensor last = maps.back();                           // each head of the last block
//   Tensor flow = attention::rollout(maps);              // [B,N,N]; row 0 (cls) over the patches
//
// Tokens are the patches in row-major order (token t = patch (t / grid_w, t % grid_w)), after the
// class token when pool = "cls".
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "focus/attention.h"
#include "focus/models.h"

namespace focus::models {

struct ViTOptions {
  int64_t channels = 1, height = 28, width = 28, classes = 10;
  int64_t patch = 4, dim = 128, depth = 6, heads = 4, mlp_ratio = 4;
  float dropout = 0.0f, attention_dropout = 0.0f;
  std::string pool = "cls";  // "cls" (a learned class token) or "mean" over the patch tokens
  // How the image becomes tokens: "patch", one linear projection of each patch×patch patch; or
  // "conv", the convolutional stem of Xiao et al. 2021 ("Early convolutions help transformers see
  // better"): log2(patch) 3×3 stride-2 convolutions with GELU, stem_channels channels doubling at
  // each, then a 1×1 projection to dim. Same tokens on the same grid; "conv" needs patch a power
  // of two >= 2.
  std::string stem = "patch";
  int64_t stem_channels = 32;
};

// Patch embedding (or a convolutional stem), class token (or mean pooling), learned positions,
// pre-norm encoder blocks, a final LayerNorm and a linear head; initialised as timm's ViT
// (trunc-normal σ 0.02 for positions, class token and every linear weight of the encoder and head,
// zero biases; the patch projection and the stem keep PyTorch's defaults). Block i's attention
// records into a live attention::Capture as "block<i>.attention#k".
class ViT : public Classifier {
 public:
  ViT(const ViTOptions& opt, Generator& gen = default_generator());
  Tensor operator()(const Tensor& images) const override;  // [B,C,H,W] -> [B,classes]
  int64_t classes() const override { return opt_.classes; }
  const ViTOptions& options() const { return opt_; }
  int64_t grid_h() const { return opt_.height / opt_.patch; }
  int64_t grid_w() const { return opt_.width / opt_.patch; }
  bool has_class_token() const { return cls_.defined(); }
  // The maps of the latest call recorded in `capture`, one per block, first block first:
  // [B,heads,N,N] each with N = grid_h·grid_w (+1 for the class token, token 0).
  std::vector<Tensor> attention_maps(const attention::Capture& capture) const;

 private:
  // The last block for the class token alone (see vit.cc).
  Tensor last_block_class_token(const Tensor& x) const;
  Tensor tokens(const Tensor& images) const;  // [B,C,H,W] -> [B,P,D]
  ViTOptions opt_;
  std::shared_ptr<nn::PatchEmbedding> patches_;    // stem "patch"
  std::vector<std::shared_ptr<nn::Conv2d>> stem_;  // stem "conv": the stride-2 convolutions
  std::shared_ptr<nn::Conv2d> stem_proj_;          // stem "conv": the 1×1 projection to dim
  std::shared_ptr<nn::LearnedPositions> pos_;
  Tensor cls_;  // [1,1,D] or undefined
  std::vector<std::shared_ptr<nn::EncoderBlock>> blocks_;
  std::map<std::string, Tensor> last_;  // the last block's parameters by name
  std::shared_ptr<nn::LayerNorm> norm_;
  std::shared_ptr<nn::Linear> head_;
};

struct SoftImageOptions {
  int64_t channels = 1, height = 28, width = 28, classes = 10;
  // "conv": conv 3×3 stride 2 -> GELU -> conv 3×3 stride 2 (each padding 1), a feature per cell
  // of a grid 4× coarser than the image; "patch": a linear projection of non-overlapping patches.
  std::string features = "conv";
  int64_t patch = 4;               // "patch" only: the patch size (H and W multiples of it)
  int64_t hidden = 32;             // "conv" only: channels of the first convolution
  int64_t dim = 64;                // feature size D of each position
  std::string score = "additive";  // soft attention's score: "additive" or "linear"
  int64_t attention_hidden = 0;    // the additive score's hidden size (0: D)
  bool positions = true;           // add learned positions to the features before scoring
  float dropout = 0.0f;            // on the pooled features, in training
};

// The soft-attention baseline: features at N positions [B,N,D], LayerNorm, one soft attention that
// scores each position and pools Σ a_i·x_i -> [B,D], then a linear head. Its weights [B,N] record
// into a live attention::Capture as "soft_attention#k", shaped [B,1,1,N].
class SoftImageClassifier : public Classifier {
 public:
  SoftImageClassifier(const SoftImageOptions& opt, Generator& gen = default_generator());
  Tensor operator()(const Tensor& images) const override;  // [B,C,H,W] -> [B,classes]
  int64_t classes() const override { return opt_.classes; }
  const SoftImageOptions& options() const { return opt_; }
  // The grid the N positions lie on (row-major): N = grid_h·grid_w.
  int64_t grid_h() const { return grid_h_; }
  int64_t grid_w() const { return grid_w_; }
  // Logits and the soft-attention weights [B,N] of one call.
  struct Result {
    Tensor logits, weights;
  };
  Result forward(const Tensor& images) const;
  // The weights of the latest call recorded in `capture`: [B,N] (undefined when none).
  Tensor attention_weights(const attention::Capture& capture) const;

 private:
  Tensor features(const Tensor& images) const;  // [B,N,D]
  SoftImageOptions opt_;
  int64_t grid_h_ = 0, grid_w_ = 0;
  std::shared_ptr<nn::Conv2d> conv1_, conv2_;
  std::shared_ptr<nn::PatchEmbedding> patches_;
  std::shared_ptr<nn::LearnedPositions> pos_;
  std::shared_ptr<nn::LayerNorm> norm_;
  std::shared_ptr<nn::Module> attention_;  // holds the SoftAttention's parameters
  std::shared_ptr<attention::SoftAttention> soft_;
  std::shared_ptr<nn::Dropout> drop_;
  std::shared_ptr<nn::Linear> head_;
};

}  // namespace focus::models
