// Multi-head attention as a Module, and the pre-norm transformer encoder and decoder blocks.
#include "focus/nn.h"

namespace focus::nn {

MultiHeadAttention::MultiHeadAttention(const attention::MultiHeadAttentionOptions& opt,
                                       Generator& gen)
    : attn_(opt, gen) {
  // The same tensors, registered: optimisers and checkpoints update attn_'s parameters in place.
  for (auto& [name, t] : attn_.named_parameters()) register_parameter(name, t);
}

Tensor MultiHeadAttention::operator()(const Tensor& x, const Tensor& context,
                                      attention::MultiHeadCall call) const {
  call.training = is_training();
  return attn_(x, context, call);
}

EncoderBlock::EncoderBlock(const BlockOptions& opt, Generator& gen)
    : ln1_(register_module("ln1", std::make_shared<LayerNorm>(opt.dim))),
      ln2_(register_module("ln2", std::make_shared<LayerNorm>(opt.dim))),
      attn_(register_module(
          "attention", std::make_shared<MultiHeadAttention>(
                           attention::MultiHeadAttentionOptions{.dim = opt.dim,
                                                                .heads = opt.heads,
                                                                .dropout = opt.attention_dropout,
                                                                .name = opt.name + ".attention"},
                           gen))),
      mlp_(register_module(
          "mlp", std::make_shared<Mlp>(opt.dim, opt.dim * opt.mlp_ratio, opt.dropout, gen))),
      drop_(register_module("drop", std::make_shared<Dropout>(opt.dropout, gen))) {}

Tensor EncoderBlock::operator()(const Tensor& x, const Tensor& key_lengths) const {
  Tensor h = x + (*drop_)((*attn_)((*ln1_)(x), Tensor(), {.key_lengths = key_lengths}));
  return h + (*mlp_)((*ln2_)(h));
}

DecoderBlock::DecoderBlock(const BlockOptions& opt, Generator& gen)
    : ln1_(register_module("ln1", std::make_shared<LayerNorm>(opt.dim))),
      ln2_(register_module("ln2", std::make_shared<LayerNorm>(opt.dim))),
      ln3_(register_module("ln3", std::make_shared<LayerNorm>(opt.dim))),
      self_attn_(register_module("self_attention", std::make_shared<MultiHeadAttention>(
                                                       attention::MultiHeadAttentionOptions{
                                                           .dim = opt.dim,
                                                           .heads = opt.heads,
                                                           .dropout = opt.attention_dropout,
                                                           .name = opt.name + ".self_attention"},
                                                       gen))),
      cross_attn_(register_module("cross_attention", std::make_shared<MultiHeadAttention>(
                                                         attention::MultiHeadAttentionOptions{
                                                             .dim = opt.dim,
                                                             .heads = opt.heads,
                                                             .dropout = opt.attention_dropout,
                                                             .cross = true,
                                                             .name = opt.name + ".cross_attention"},
                                                         gen))),
      mlp_(register_module(
          "mlp", std::make_shared<Mlp>(opt.dim, opt.dim * opt.mlp_ratio, opt.dropout, gen))),
      drop_(register_module("drop", std::make_shared<Dropout>(opt.dropout, gen))) {}

Tensor DecoderBlock::operator()(const Tensor& x, const Tensor& memory,
                                const Tensor& memory_lengths) const {
  Tensor h = x + (*drop_)((*self_attn_)((*ln1_)(x), Tensor(), {.causal = true}));
  h = h + (*drop_)((*cross_attn_)((*ln2_)(h), memory, {.key_lengths = memory_lengths}));
  return h + (*mlp_)((*ln3_)(h));
}

}  // namespace focus::nn
