// Models of spoken commands over log-mel features [B,M,T]: the keyword transformer (frames or
// time patches as tokens, a class token, pre-norm encoder blocks) and the soft-attention baseline
// (a convolutional front end over time, then soft-attention pooling over frames).
#include "builders.h"
#include "focus/models.h"

namespace focus::models {
namespace {

void check_features(const Tensor& x, int64_t mels, int64_t frames, const char* model) {
  FOCUS_CHECK(x.dtype() == DType::f32 && x.dim() == 3 && x.size(1) == mels && x.size(2) == frames,
              model, ": expected log-mel features f32 [B,", mels, ",", frames, "], got ",
              dtype_name(x.dtype()), " ", x.shape());
}

struct KeywordTransformerOptions {
  int64_t mels = 40, frames = 98, classes = 0;
  int64_t patch = 1;             // frames per token (the front end's stride)
  std::string front = "linear";  // "linear": patches -> Linear; "conv": Conv1d(kernel) + GELU
  int64_t kernel = 5;
  int64_t dim = 64, depth = 3, heads = 4, mlp_ratio = 2;
  float dropout = 0.0f;
};

// The Keyword Transformer (Berg et al. 2021) on time patches: [B,M,T] -> tokens [B,T/p,p·M] ->
// linear -> [B,1+T/p,D] with the class token -> encoder -> LayerNorm -> head on the class token.
// With front "conv" the tokens come from a convolution over time instead (kernel k, stride p,
// GELU): [B,M,T] -> [B,D,N] -> [B,N,D], each token seeing k frames.
class KeywordTransformer : public Classifier {
 public:
  KeywordTransformer(const KeywordTransformerOptions& o, Generator& gen) : o_(o) {
    if (o.front == "conv") {
      // Padding k/2 keeps token n centred on frame n·p: ⌈T/p⌉ tokens (torch.nn.Conv1d's count).
      conv_ = register_module("conv", std::make_shared<nn::Conv1d>(o.mels, o.dim, o.kernel, o.patch,
                                                                   o.kernel / 2, gen));
      tokens_ = (o.frames + 2 * (o.kernel / 2) - o.kernel) / o.patch + 1;
    } else {
      proj_ = register_module(
          "proj", std::make_shared<nn::Linear>(o.patch * o.mels, o.dim, nn::LinearOptions{}, gen));
      tokens_ = o.frames / o.patch;
    }
    Tensor cls = Tensor::zeros({1, 1, o.dim});
    nn::init::trunc_normal_(cls, 0.0f, 0.02f, -0.04f, 0.04f, gen);
    cls_ = register_parameter("cls", cls);
    pos_ = register_module("pos", std::make_shared<nn::LearnedPositions>(tokens_ + 1, o.dim, gen));
    for (int64_t i = 0; i < o.depth; ++i) {
      const std::string name = "blocks." + std::to_string(i);
      blocks_.push_back(register_module(
          name, std::make_shared<nn::EncoderBlock>(nn::BlockOptions{.dim = o.dim,
                                                                    .heads = o.heads,
                                                                    .mlp_ratio = o.mlp_ratio,
                                                                    .dropout = o.dropout,
                                                                    .name = name},
                                                   gen)));
    }
    norm_ = register_module("norm", std::make_shared<nn::LayerNorm>(o.dim));
    head_ = register_module(
        "head", std::make_shared<nn::Linear>(o.dim, o.classes, nn::LinearOptions{}, gen));
  }

  Tensor operator()(const Tensor& x) const override {
    check_features(x, o_.mels, o_.frames, "keyword_transformer");
    const int64_t b = x.size(0);
    Tensor h;  // [B,N,D]
    if (conv_) {
      h = gelu((*conv_)(x)).transpose(1, 2);  // [B,D,N] -> [B,N,D]
    } else {
      Tensor t = x.transpose(1, 2);  // [B,T,M]
      if (tokens_ * o_.patch != o_.frames) t = t.slice(1, 0, tokens_ * o_.patch);
      t = t.contiguous().reshape({b, tokens_, o_.patch * o_.mels});  // [B,N,p·M]
      h = (*proj_)(t);
    }
    h = concat({cls_.expand({b, 1, o_.dim}), h}, 1);  // [B,1+N,D]
    h = (*pos_)(h);
    for (const auto& block : blocks_) h = (*block)(h);
    h = (*norm_)(h);
    return (*head_)(h.slice(1, 0, 1).squeeze(1));  // [B,C]
  }
  int64_t classes() const override { return o_.classes; }
  // The conv front's token k is centred on frame k·p and sees `kernel` frames (padding kernel/2);
  // the linear front's token k is frames [k·p, (k+1)·p).
  KeySpan key_span() const override {
    if (conv_) return {.first = -(o_.kernel / 2), .stride = o_.patch, .width = o_.kernel};
    return {.first = 0, .stride = o_.patch, .width = o_.patch};
  }

 private:
  KeywordTransformerOptions o_;
  int64_t tokens_ = 0;
  std::shared_ptr<nn::Linear> proj_, head_;
  std::shared_ptr<nn::Conv1d> conv_;
  Tensor cls_;
  std::shared_ptr<nn::LearnedPositions> pos_;
  std::vector<std::shared_ptr<nn::EncoderBlock>> blocks_;
  std::shared_ptr<nn::LayerNorm> norm_;
};

struct SoftFramesOptions {
  int64_t mels = 40, frames = 98, classes = 0;
  int64_t dim = 64, kernel = 5, layers = 2;
  float dropout = 0.0f;
};

// The baseline: 1-D convolutions over time (each frame sees `kernel` neighbours per layer), then
// additive soft attention pools the frames into one vector: [B,M,T] -> [B,D,T] -> [B,T,D] ->
// Σ_t a_t·h_t [B,D] -> LayerNorm -> head. The weights a_t say which frames decided.
class SoftFrames : public Classifier {
 public:
  SoftFrames(const SoftFramesOptions& o, Generator& gen)
      : o_(o), pool_(attention::SoftAttentionOptions{.dim = o.dim}, gen) {
    for (int64_t i = 0; i < o.layers; ++i)
      convs_.push_back(
          register_module("convs." + std::to_string(i),
                          std::make_shared<nn::Conv1d>(i == 0 ? o.mels : o.dim, o.dim, o.kernel, 1,
                                                       o.kernel / 2, gen)));
    for (auto& [name, t] : pool_.named_parameters()) register_parameter("pool." + name, t);
    drop_ = register_module("drop", std::make_shared<nn::Dropout>(o.dropout));
    norm_ = register_module("norm", std::make_shared<nn::LayerNorm>(o.dim));
    head_ = register_module(
        "head", std::make_shared<nn::Linear>(o.dim, o.classes, nn::LinearOptions{}, gen));
  }

  Tensor operator()(const Tensor& x) const override {
    check_features(x, o_.mels, o_.frames, "soft_frames");
    Tensor h = x;                                          // [B,M,T]
    for (const auto& conv : convs_) h = gelu((*conv)(h));  // [B,D,T]
    h = (*drop_)(h.transpose(1, 2).contiguous());          // [B,T,D]
    Tensor pooled = pool_(h).output;                       // [B,D]
    return (*head_)((*norm_)(pooled));
  }
  int64_t classes() const override { return o_.classes; }

 private:
  SoftFramesOptions o_;
  attention::SoftAttention pool_;
  std::vector<std::shared_ptr<nn::Conv1d>> convs_;
  std::shared_ptr<nn::Dropout> drop_;
  std::shared_ptr<nn::LayerNorm> norm_;
  std::shared_ptr<nn::Linear> head_;
};

}  // namespace

ModelSpec::Make read_keyword_transformer(config::Reader& r) {
  KeywordTransformerOptions o;
  o.patch = r.integer("patch", 1, 1, 1 << 16);  // and at most the clip's frames: checked in make
  o.front = r.string("front", "linear", {"linear", "conv"});
  if (o.front == "conv") {
    o.kernel = r.integer("kernel", 5, 1, 63);
    if (o.kernel % 2 == 0)
      throw config::ConfigError(detail::cat("config: model.kernel ", o.kernel, " must be odd"));
  } else if (r.has("kernel")) {
    throw config::ConfigError(
        "config: model.kernel applies to model.front 'conv' only (the linear front has none)");
  }
  o.dim = r.integer("dim", 64, 1, 1 << 16);
  o.depth = r.integer("depth", 3, 1, 256);
  o.heads = r.integer("heads", 4, 1, 1024);
  o.mlp_ratio = r.integer("mlp_ratio", 2, 1, 64);
  o.dropout = float(r.number("dropout", 0.0, 0.0, 0.99));
  if (o.dim % o.heads != 0)
    throw config::ConfigError(detail::cat("config: model.dim ", o.dim, " must be a multiple of ",
                                          "model.heads ", o.heads));
  return [o](const nlohmann::json& input, Generator& gen) -> std::unique_ptr<Classifier> {
    KeywordTransformerOptions m = o;
    m.mels = input_int(input, "mels", "keyword_transformer");
    m.frames = input_int(input, "frames", "keyword_transformer");
    m.classes = input_int(input, "classes", "keyword_transformer");
    if (m.patch > m.frames)
      throw config::ConfigError(detail::cat("config: model.patch ", m.patch,
                                            " is longer than the clip's ", m.frames, " frames"));
    return std::make_unique<KeywordTransformer>(m, gen);
  };
}

ModelSpec::Make read_soft_frames(config::Reader& r) {
  SoftFramesOptions o;
  o.dim = r.integer("dim", 64, 1, 1 << 16);
  o.kernel = r.integer("kernel", 5, 1, 63);
  o.layers = r.integer("layers", 2, 1, 16);
  o.dropout = float(r.number("dropout", 0.0, 0.0, 0.99));
  if (o.kernel % 2 == 0)
    throw config::ConfigError(detail::cat("config: model.kernel ", o.kernel,
                                          " must be odd (frames keep their place in time)"));
  return [o](const nlohmann::json& input, Generator& gen) -> std::unique_ptr<Classifier> {
    SoftFramesOptions m = o;
    m.mels = input_int(input, "mels", "soft_frames");
    m.frames = input_int(input, "frames", "soft_frames");
    m.classes = input_int(input, "classes", "soft_frames");
    return std::make_unique<SoftFrames>(m, gen);
  };
}

}  // namespace focus::models
