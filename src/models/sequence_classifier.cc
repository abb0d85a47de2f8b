#include "focus/models.h"

namespace focus::models {

SequenceClassifier::SequenceClassifier(const SequenceClassifierOptions& opt, Generator& gen)
    : opt_(opt) {
  FOCUS_CHECK(opt.vocab >= 1 && opt.max_len >= 1 && opt.classes >= 2,
              "sequence_classifier: ", "vocab ", opt.vocab, ", max_len ", opt.max_len,
              " and classes ", opt.classes, " must be >= 1, >= 1 and >= 2");
  FOCUS_CHECK(opt.pool == "cls" || opt.pool == "mean", "sequence_classifier: pool must be 'cls' ",
              "or 'mean', got '", opt.pool, "'");
  embed_ = register_module("embed", std::make_shared<nn::Embedding>(opt.vocab, opt.dim, gen));
  const int64_t positions = opt.max_len + (opt.pool == "cls" ? 1 : 0);
  pos_ = register_module("pos", std::make_shared<nn::LearnedPositions>(positions, opt.dim, gen));
  if (opt.pool == "cls") {
    Tensor cls = Tensor::zeros({1, 1, opt.dim});
    nn::init::trunc_normal_(cls, 0.0f, 0.02f, -0.04f, 0.04f, gen);
    cls_ = register_parameter("cls", cls);
  }
  for (int64_t i = 0; i < opt.depth; ++i)
    blocks_.push_back(register_module(
        "blocks." + std::to_string(i),
        std::make_shared<nn::EncoderBlock>(nn::BlockOptions{.dim = opt.dim,
                                                            .heads = opt.heads,
                                                            .mlp_ratio = opt.mlp_ratio,
                                                            .dropout = opt.dropout,
                                                            .name = "blocks." + std::to_string(i)},
                                           gen)));
  norm_ = register_module("norm", std::make_shared<nn::LayerNorm>(opt.dim));
  head_ = register_module(
      "head", std::make_shared<nn::Linear>(opt.dim, opt.classes, nn::LinearOptions{}, gen));
}

Tensor SequenceClassifier::operator()(const Tensor& ids) const {
  FOCUS_CHECK(ids.dtype() == DType::i32 && ids.dim() == 2 && ids.size(1) <= opt_.max_len,
              "sequence_classifier: expected i32 ids [B,N] with N <= ", opt_.max_len, ", got ",
              dtype_name(ids.dtype()), " ", ids.shape());
  const int64_t b = ids.size(0);
  Tensor x = (*embed_)(ids);                                              // [B,N,D]
  if (cls_.defined()) x = concat({cls_.expand({b, 1, opt_.dim}), x}, 1);  // [B,1+N,D]
  x = (*pos_)(x);
  for (const auto& block : blocks_) x = (*block)(x);
  x = (*norm_)(x);
  Tensor pooled = cls_.defined() ? x.slice(1, 0, 1).squeeze(1) : mean(x, {1});  // [B,D]
  return (*head_)(pooled);
}

}  // namespace focus::models
