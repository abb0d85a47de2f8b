// The soft-attention image baseline: a small feature extractor, one soft attention that pools the
// positions by learned scores, a linear head.
#include <string>

#include "focus/models/vision.h"

namespace focus::models {
namespace {

constexpr const char* kOp = "soft_image";

// Registers a SoftAttention's tensors so optimisers and checkpoints see them ("w", "b", "v").
class SoftAttentionParams : public nn::Module {
 public:
  explicit SoftAttentionParams(const attention::SoftAttention& soft) {
    for (const auto& [name, t] : soft.named_parameters()) register_parameter(name, t);
  }
};

int64_t conv_out(int64_t n) { return (n + 2 - 3) / 2 + 1; }  // 3×3, stride 2, padding 1

}  // namespace

SoftImageClassifier::SoftImageClassifier(const SoftImageOptions& opt, Generator& gen) : opt_(opt) {
  FOCUS_CHECK(opt.channels >= 1 && opt.height >= 1 && opt.width >= 1 && opt.classes >= 2, kOp,
              ": channels ", opt.channels, ", height ", opt.height, ", width ", opt.width,
              " and classes ", opt.classes, " must be >= 1 (classes >= 2)");
  FOCUS_CHECK(opt.dim >= 1 && opt.hidden >= 1 && opt.attention_hidden >= 0, kOp, ": dim ", opt.dim,
              " and hidden ", opt.hidden, " must be >= 1");
  FOCUS_CHECK(opt.score == "additive" || opt.score == "linear", kOp,
              ": score must be 'additive' or 'linear', got '", opt.score, "'");
  if (opt.features == "conv") {
    FOCUS_CHECK(opt.height >= 2 && opt.width >= 2, kOp, ": the image ", opt.height, "x", opt.width,
                " is too small for two stride-2 convolutions");
    conv1_ = register_module("conv1",
                             std::make_shared<nn::Conv2d>(opt.channels, opt.hidden, 3, 2, 1, gen));
    conv2_ =
        register_module("conv2", std::make_shared<nn::Conv2d>(opt.hidden, opt.dim, 3, 2, 1, gen));
    grid_h_ = conv_out(conv_out(opt.height));
    grid_w_ = conv_out(conv_out(opt.width));
  } else {
    FOCUS_CHECK(opt.features == "patch", kOp, ": features must be 'conv' or 'patch', got '",
                opt.features, "'");
    FOCUS_CHECK(opt.patch >= 1 && opt.height % opt.patch == 0 && opt.width % opt.patch == 0, kOp,
                ": the image ", opt.height, "x", opt.width, " is not a whole number of ", opt.patch,
                "x", opt.patch, " patches");
    patches_ = register_module(
        "patches", std::make_shared<nn::PatchEmbedding>(opt.channels, opt.patch, opt.dim, gen));
    grid_h_ = opt.height / opt.patch;
    grid_w_ = opt.width / opt.patch;
  }
  if (opt.positions)
    pos_ = register_module("pos",
                           std::make_shared<nn::LearnedPositions>(grid_h_ * grid_w_, opt.dim, gen));
  norm_ = register_module("norm", std::make_shared<nn::LayerNorm>(opt.dim));
  soft_ = std::make_shared<attention::SoftAttention>(
      attention::SoftAttentionOptions{
          .dim = opt.dim,
          .hidden = opt.attention_hidden,
          .score = opt.score == "linear" ? attention::Score::linear : attention::Score::additive,
          .fusion = attention::Fusion::pooling},
      gen);
  attention_ = register_module("attention", std::make_shared<SoftAttentionParams>(*soft_));
  drop_ = register_module("drop", std::make_shared<nn::Dropout>(opt.dropout, gen));
  head_ = register_module(
      "head", std::make_shared<nn::Linear>(opt.dim, opt.classes, nn::LinearOptions{}, gen));
}

Tensor SoftImageClassifier::features(const Tensor& images) const {
  FOCUS_CHECK(images.defined() && images.dtype() == DType::f32 && images.dim() == 4 &&
                  images.size(1) == opt_.channels && images.size(2) == opt_.height &&
                  images.size(3) == opt_.width,
              kOp, ": expected images f32 [B,", opt_.channels, ",", opt_.height, ",", opt_.width,
              "], got ", images.defined() ? dtype_name(images.dtype()) : "undefined", " ",
              images.defined() ? images.shape().str() : "");
  const int64_t b = images.size(0);
  Tensor x;  // [B,N,D]
  if (conv1_) {
    Tensor h = (*conv2_)(gelu((*conv1_)(images)));  // [B,D,gh,gw]
    x = h.reshape({b, opt_.dim, grid_h_ * grid_w_}).permute({0, 2, 1});
  } else {
    x = (*patches_)(images);
  }
  if (pos_) x = (*pos_)(x);
  return (*norm_)(x);
}

SoftImageClassifier::Result SoftImageClassifier::forward(const Tensor& images) const {
  attention::SoftAttentionResult r = (*soft_)(features(images));  // output [B,D], weights [B,N]
  return {(*head_)((*drop_)(r.output)), r.weights};
}

Tensor SoftImageClassifier::operator()(const Tensor& images) const {
  return forward(images).logits;
}

Tensor SoftImageClassifier::attention_weights(const attention::Capture& capture) const {
  Tensor latest;
  for (const attention::CapturedMap& m : capture.maps())
    if (m.layer.rfind("soft_attention#", 0) == 0) latest = m.probs;
  if (!latest.defined()) return latest;
  return latest.reshape({latest.size(0), latest.size(3)});
}

}  // namespace focus::models
