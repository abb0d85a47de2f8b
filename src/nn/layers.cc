// The basic layers: Linear, LayerNorm, Embedding, Mlp, patch embedding, positions.
#include <cmath>

#include "focus/nn.h"

namespace focus::nn {
namespace {

Tensor param(const Shape& shape, const std::string& init, Generator& gen) {
  Tensor t = Tensor::zeros(shape);
  init::by_name(t, init, gen);
  return t;
}

}  // namespace

Linear::Linear(int64_t in, int64_t out, const LinearOptions& opt, Generator& gen)
    : weight(register_parameter("weight", param({out, in}, opt.init, gen))) {
  FOCUS_CHECK(in >= 1 && out >= 1, "linear: sizes must be >= 1, got in ", in, ", out ", out);
  if (opt.bias) bias = register_parameter("bias", Tensor::zeros({out}));
}

LayerNorm::LayerNorm(int64_t dim, float eps)
    : weight(register_parameter("weight", Tensor::ones({dim}))),
      bias(register_parameter("bias", Tensor::zeros({dim}))),
      eps_(eps) {}

Embedding::Embedding(int64_t vocab, int64_t dim, Generator& gen)
    : weight(register_parameter("weight", Tensor::normal({vocab, dim}, 0.0f, 1.0f, gen))) {}

Mlp::Mlp(int64_t dim, int64_t hidden, float p, Generator& gen)
    : fc1_(register_module("fc1", std::make_shared<Linear>(dim, hidden, LinearOptions{}, gen))),
      fc2_(register_module("fc2", std::make_shared<Linear>(hidden, dim, LinearOptions{}, gen))),
      drop_(register_module("drop", std::make_shared<Dropout>(p, gen))) {}

Tensor Mlp::operator()(const Tensor& x) const {
  return (*drop_)((*fc2_)((*drop_)(gelu((*fc1_)(x)))));
}

PatchEmbedding::PatchEmbedding(int64_t channels, int64_t patch, int64_t dim, Generator& gen)
    : channels_(channels),
      patch_(patch),
      proj_(register_module(
          "proj", std::make_shared<Linear>(channels * patch * patch, dim, LinearOptions{}, gen))) {
  FOCUS_CHECK(channels >= 1 && patch >= 1, "patch_embedding: channels ", channels, " and patch ",
              patch, " must be >= 1");
}

Tensor PatchEmbedding::operator()(const Tensor& images) const {
  FOCUS_CHECK(images.dim() == 4 && images.size(1) == channels_ && images.size(2) % patch_ == 0 &&
                  images.size(3) % patch_ == 0,
              "patch_embedding: expected images [B,", channels_, ",H,W] with H and W multiples of ",
              patch_, ", got ", images.shape());
  const int64_t b = images.size(0), c = channels_, p = patch_;
  const int64_t gh = images.size(2) / p, gw = images.size(3) / p;
  Tensor patches = images.reshape({b, c, gh, p, gw, p})
                       .permute({0, 2, 4, 1, 3, 5})  // [B,gh,gw,C,P,P]
                       .reshape({b, gh * gw, c * p * p});
  return (*proj_)(patches);  // [B,N,D]
}

LearnedPositions::LearnedPositions(int64_t max_len, int64_t dim, Generator& gen)
    : table(register_parameter("table", param({max_len, dim}, "trunc_normal", gen))) {}

Tensor LearnedPositions::operator()(const Tensor& x) const {
  FOCUS_CHECK(x.dim() == 3 && x.size(1) <= table.size(0) && x.size(2) == table.size(1),
              "positions: expected x [B,n,", table.size(1), "] with n <= ", table.size(0), ", got ",
              x.shape());
  return x + table.slice(0, 0, x.size(1));
}

Tensor sinusoidal_positions(int64_t n, int64_t dim) {
  FOCUS_CHECK(n >= 0 && dim >= 2 && dim % 2 == 0, "sinusoidal_positions: expected n >= 0 and an ",
              "even dim >= 2, got n ", n, ", dim ", dim);
  Tensor t = Tensor::zeros({n, dim});
  for (int64_t pos = 0; pos < n; ++pos)
    for (int64_t i = 0; i < dim / 2; ++i) {
      const double angle = double(pos) / std::pow(10000.0, 2.0 * double(i) / double(dim));
      t.data()[pos * dim + 2 * i] = float(std::sin(angle));
      t.data()[pos * dim + 2 * i + 1] = float(std::cos(angle));
    }
  return t;
}

}  // namespace focus::nn
