// The vision transformer: patches -> tokens (+ class token) + positions -> pre-norm blocks -> head.
#include <string>

#include "focus/models/vision.h"

namespace focus::models {
namespace {

constexpr const char* kOp = "vit";

// timm's init_weights_vit_timm: every linear weight trunc-normal σ 0.02 (cut at ±2, i.e. in
// effect untruncated), biases zero. The patch projection and the stem keep PyTorch's defaults
// (timm's are Conv2d modules it leaves alone).
void init_linear_weights(const nn::NamedTensors& params, Generator& gen) {
  for (const auto& [name, t] : params) {
    if (name.rfind("patches.", 0) == 0 || name.rfind("stem.", 0) == 0) continue;
    Tensor p = t;
    const bool weight =
        name.ends_with(".weight") || name.ends_with(".w_qkv") || name.ends_with(".w_out");
    const bool norm = name.find(".ln") != std::string::npos || name.rfind("norm.", 0) == 0;
    if (weight && !norm)
      nn::init::trunc_normal_(p, 0.0f, 0.02f, -2.0f, 2.0f, gen);
    else if (!norm &&
             (name.ends_with(".bias") || name.ends_with(".b_qkv") || name.ends_with(".b_out")))
      nn::init::zeros_(p);
  }
}

}  // namespace

ViT::ViT(const ViTOptions& opt, Generator& gen) : opt_(opt) {
  FOCUS_CHECK(opt.channels >= 1 && opt.height >= 1 && opt.width >= 1 && opt.classes >= 2, kOp,
              ": channels ", opt.channels, ", height ", opt.height, ", width ", opt.width,
              " and classes ", opt.classes, " must be >= 1 (classes >= 2)");
  FOCUS_CHECK(opt.patch >= 1 && opt.height % opt.patch == 0 && opt.width % opt.patch == 0, kOp,
              ": the image ", opt.height, "x", opt.width, " is not a whole number of ", opt.patch,
              "x", opt.patch, " patches");
  FOCUS_CHECK(opt.dim >= 1 && opt.heads >= 1 && opt.dim % opt.heads == 0, kOp, ": dim ", opt.dim,
              " must be a positive multiple of heads ", opt.heads);
  FOCUS_CHECK(opt.depth >= 1 && opt.mlp_ratio >= 1, kOp, ": depth ", opt.depth, " and mlp_ratio ",
              opt.mlp_ratio, " must be >= 1");
  FOCUS_CHECK(opt.pool == "cls" || opt.pool == "mean", kOp, ": pool must be 'cls' or 'mean', got '",
              opt.pool, "'");
  FOCUS_CHECK(opt.stem == "patch" || opt.stem == "conv", kOp,
              ": stem must be 'patch' or 'conv', got '", opt.stem, "'");
  if (opt.stem == "patch") {
    patches_ = register_module(
        "patches", std::make_shared<nn::PatchEmbedding>(opt.channels, opt.patch, opt.dim, gen));
  } else {
    FOCUS_CHECK(opt.patch >= 2 && (opt.patch & (opt.patch - 1)) == 0 && opt.stem_channels >= 1, kOp,
                ": the conv stem needs patch a power of two >= 2 (got ", opt.patch,
                ") and stem_channels >= 1 (got ", opt.stem_channels, ")");
    int64_t in = opt.channels, out = opt.stem_channels;
    for (int64_t p = opt.patch; p > 1; p /= 2, in = out, out *= 2)
      stem_.push_back(
          register_module("stem." + std::to_string(stem_.size()),
                          std::make_shared<nn::Conv2d>(in, out, 3, 2, 1, gen)));  // halves H, W
    stem_proj_ =
        register_module("stem.proj", std::make_shared<nn::Conv2d>(in, opt.dim, 1, 1, 0, gen));
  }
  const bool cls = opt.pool == "cls";
  const int64_t tokens = grid_h() * grid_w() + (cls ? 1 : 0);
  pos_ = register_module("pos", std::make_shared<nn::LearnedPositions>(tokens, opt.dim, gen));
  if (cls) {
    Tensor t = Tensor::zeros({1, 1, opt.dim});
    nn::init::trunc_normal_(t, 0.0f, 0.02f, -2.0f, 2.0f, gen);
    cls_ = register_parameter("cls", t);
  }
  for (int64_t i = 0; i < opt.depth; ++i)
    blocks_.push_back(
        register_module("blocks." + std::to_string(i),
                        std::make_shared<nn::EncoderBlock>(
                            nn::BlockOptions{.dim = opt.dim,
                                             .heads = opt.heads,
                                             .mlp_ratio = opt.mlp_ratio,
                                             .dropout = opt.dropout,
                                             .attention_dropout = opt.attention_dropout,
                                             .name = "block" + std::to_string(i)},
                            gen)));
  norm_ = register_module("norm", std::make_shared<nn::LayerNorm>(opt.dim));
  head_ = register_module(
      "head", std::make_shared<nn::Linear>(opt.dim, opt.classes, nn::LinearOptions{}, gen));
  init_linear_weights(named_parameters(), gen);
  for (const auto& [name, t] : blocks_.back()->named_parameters()) last_[name] = t;
}

Tensor ViT::operator()(const Tensor& images) const {
  FOCUS_CHECK(images.defined() && images.dtype() == DType::f32 && images.dim() == 4 &&
                  images.size(1) == opt_.channels && images.size(2) == opt_.height &&
                  images.size(3) == opt_.width,
              kOp, ": expected images f32 [B,", opt_.channels, ",", opt_.height, ",", opt_.width,
              "], got ", images.defined() ? dtype_name(images.dtype()) : "undefined", " ",
              images.defined() ? images.shape().str() : "");
  const int64_t b = images.size(0);
  Tensor x = tokens(images);                                              // [B,P,D]
  if (cls_.defined()) x = concat({cls_.expand({b, 1, opt_.dim}), x}, 1);  // [B,1+P,D]
  x = (*pos_)(x);
  // With a class token only its row of the last block reaches the head: unless someone captures
  // the attention maps (they need every row) or dropout draws, that block runs for it alone.
  const bool dropout = is_training() && (opt_.dropout > 0.0f || opt_.attention_dropout > 0.0f);
  const bool class_only = cls_.defined() && !dropout && !attention::Capture::active();
  const size_t full = blocks_.size() - (class_only ? 1 : 0);
  for (size_t i = 0; i < full; ++i) x = (*blocks_[i])(x);
  Tensor pooled;  // [B,D]
  if (class_only)
    pooled = (*norm_)(last_block_class_token(x)).squeeze(1);
  else if (cls_.defined())
    pooled = (*norm_)(x.slice(1, 0, 1)).squeeze(1);
  else
    pooled = mean((*norm_)(x), {1});
  return (*head_)(pooled);
}

Tensor ViT::tokens(const Tensor& images) const {
  if (patches_) return (*patches_)(images);
  Tensor x = images;                                    // S = stem_channels below
  for (const auto& conv : stem_) x = gelu((*conv)(x));  // conv i: [B,S·2^i,H/2^(i+1),W/2^(i+1)]
  x = (*stem_proj_)(x);                                 // [B,D,H/P,W/P]
  return x.reshape({x.size(0), opt_.dim, grid_h() * grid_w()}).permute({0, 2, 1});  // [B,P,D]
}

// The pre-norm block (nn::EncoderBlock) computed for the class token's row only: keys and values
// of every token, the query, attention, output projection and MLP of token 0. The same function
// as the full block's row 0, at about a sixth of its cost (a seventh of the whole ViT's).
// x [B,N,D] -> [B,1,D].
Tensor ViT::last_block_class_token(const Tensor& x) const {
  const int64_t b = x.size(0), n = x.size(1), d = opt_.dim, h = opt_.heads, dh = d / h;
  auto p = [&](const char* name) -> const Tensor& { return last_.at(name); };
  const Tensor& w_qkv = p("attention.w_qkv");  // [3D,D]: rows q, k, v
  const Tensor& b_qkv = p("attention.b_qkv");
  Tensor a = layer_norm(x, p("ln1.weight"), p("ln1.bias"));                   // [B,N,D]
  Tensor kv = linear(a, w_qkv.slice(0, d, 3 * d), b_qkv.slice(0, d, 3 * d));  // [B,N,2D]
  Tensor heads = kv.reshape({b, n, 2, h, dh}).permute({2, 0, 3, 1, 4});       // [2,B,H,N,Dh]
  Tensor k = heads.slice(0, 0, 1).squeeze(0), v = heads.slice(0, 1, 2).squeeze(0);
  Tensor q = linear(a.slice(1, 0, 1), w_qkv.slice(0, 0, d), b_qkv.slice(0, 0, d))  // [B,1,D]
                 .reshape({b, 1, h, dh})
                 .permute({0, 2, 1, 3});                       // [B,H,1,Dh]
  Tensor o = attention::scaled_dot_product_attention(q, k, v)  // [B,H,1,Dh]
                 .permute({0, 2, 1, 3})
                 .reshape({b, 1, d});  // [B,1,D]
  Tensor t = x.slice(1, 0, 1) + linear(o, p("attention.w_out"), p("attention.b_out"));
  Tensor m = layer_norm(t, p("ln2.weight"), p("ln2.bias"));
  m = linear(gelu(linear(m, p("mlp.fc1.weight"), p("mlp.fc1.bias"))), p("mlp.fc2.weight"),
             p("mlp.fc2.bias"));
  return t + m;  // [B,1,D]
}

std::vector<Tensor> ViT::attention_maps(const attention::Capture& capture) const {
  std::vector<Tensor> maps;
  for (int64_t i = 0; i < opt_.depth; ++i) {
    const std::string prefix = "block" + std::to_string(i) + ".attention#";
    Tensor latest;
    for (const attention::CapturedMap& m : capture.maps())
      if (m.layer.rfind(prefix, 0) == 0) latest = m.probs;
    FOCUS_CHECK(latest.defined(), kOp, ": no attention map of block ", i,
                " was captured; run the model while an attention::Capture is alive");
    maps.push_back(latest);
  }
  return maps;
}

}  // namespace focus::models
