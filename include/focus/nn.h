// Modules: named parameters and buffers, train/eval mode, and the layers transformers are built
// from. A Module owns Tensor handles; optimisers and checkpoints update them in place, so a
// parameter's handle stays valid for the module's life.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "focus/attention.h"
#include "focus/init.h"
#include "focus/ops.h"
#include "focus/rng.h"
#include "focus/tensor.h"

namespace focus::nn {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  virtual ~Module() = default;

  // Own parameters first, then each child's as "child.name", in registration order.
  NamedTensors named_parameters() const;
  std::vector<Tensor> parameters() const;
  NamedTensors named_buffers() const;
  // Parameters and buffers by name: what a checkpoint holds.
  std::map<std::string, Tensor> state_dict() const;
  // Copies values into the existing tensors. Unknown or missing keys (when strict) and shape
  // mismatches are errors naming the key and both shapes; nothing is changed on error.
  void load_state_dict(const std::map<std::string, Tensor>& state, bool strict = true);

  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  int64_t parameter_count() const;
  void zero_grad();

 protected:
  Tensor& register_parameter(const std::string& name, Tensor t);  // marks requires_grad
  Tensor& register_buffer(const std::string& name, Tensor t);
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    children_.emplace_back(name, m);
    return m;
  }

 private:
  // Stable storage: the Tensor& handed out by register_* stays valid as more are added.
  std::vector<std::pair<std::string, std::unique_ptr<Tensor>>> params_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// ---- layers ------------------------------------------------------------------------------------
struct LinearOptions {
  bool bias = true;
  std::string init = "torch_default";  // any init::by_name; biases start at zero
};
class Linear : public Module {
 public:
  Linear(int64_t in, int64_t out, const LinearOptions& opt = {},
         Generator& gen = default_generator());
  Tensor operator()(const Tensor& x) const {
    return linear(x, weight, bias);
  }                // [..,In] -> [..,Out]
  Tensor& weight;  // [Out,In]
  Tensor bias;     // [Out] or undefined
};

class LayerNorm : public Module {
 public:
  explicit LayerNorm(int64_t dim, float eps = 1e-5f);
  Tensor operator()(const Tensor& x) const { return layer_norm(x, weight, bias, eps_); }
  Tensor& weight;  // [D], ones
  Tensor& bias;    // [D], zeros
 private:
  float eps_;
};

class Dropout : public Module {
 public:
  explicit Dropout(float p, Generator& gen = default_generator()) : p_(p), gen_(&gen) {}
  Tensor operator()(const Tensor& x) const { return dropout(x, p_, is_training(), *gen_); }

 private:
  float p_;
  Generator* gen_;
};

class Embedding : public Module {
 public:
  Embedding(int64_t vocab, int64_t dim, Generator& gen = default_generator());  // N(0, 1) as torch
  Tensor operator()(const Tensor& ids) const {
    return embedding(weight, ids);
  }                // i32 [..] -> [..,D]
  Tensor& weight;  // [V,D]
};

// Linear -> GELU -> Dropout -> Linear -> Dropout, the transformer's feed-forward block.
class Mlp : public Module {
 public:
  Mlp(int64_t dim, int64_t hidden, float dropout = 0.0f, Generator& gen = default_generator());
  Tensor operator()(const Tensor& x) const;

 private:
  std::shared_ptr<Linear> fc1_, fc2_;
  std::shared_ptr<Dropout> drop_;
};

// 1-D and 2-D convolution (stride, zero padding), as im2col + one GEMM.
class Conv1d : public Module {
 public:
  Conv1d(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1, int64_t padding = 0,
         Generator& gen = default_generator());
  Tensor operator()(const Tensor& x) const;  // [B,Cin,L] -> [B,Cout,Lout]
  // The same convolution over channels-last rows, [B,L,Cin] -> [B,Lout,Cout], as sequence models
  // hold them: no transposes to channels-first and back.
  Tensor over_rows(const Tensor& x) const;
  Tensor& weight;  // [Cout,Cin,K]
  Tensor& bias;    // [Cout]
 private:
  int64_t kernel_, stride_, padding_;
};
class Conv2d : public Module {
 public:
  Conv2d(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1, int64_t padding = 0,
         Generator& gen = default_generator());
  Tensor operator()(const Tensor& x) const;  // [B,Cin,H,W] -> [B,Cout,Hout,Wout]
  Tensor& weight;                            // [Cout,Cin,K,K]
  Tensor& bias;                              // [Cout]
 private:
  int64_t kernel_, stride_, padding_;
};

// Non-overlapping patches of an image [B,C,H,W] -> tokens [B,(H/P)·(W/P),D], as reshape + linear
// (the same function as a stride-P convolution, and faster).
class PatchEmbedding : public Module {
 public:
  PatchEmbedding(int64_t channels, int64_t patch, int64_t dim,
                 Generator& gen = default_generator());
  Tensor operator()(const Tensor& images) const;

 private:
  int64_t channels_, patch_;
  std::shared_ptr<Linear> proj_;
};

// Multi-head attention as a Module (parameters registered for optimisers and checkpoints).
class MultiHeadAttention : public Module {
 public:
  MultiHeadAttention(const attention::MultiHeadAttentionOptions& opt,
                     Generator& gen = default_generator());
  Tensor operator()(const Tensor& x, const Tensor& context = Tensor(),
                    attention::MultiHeadCall call = {}) const;  // call.training follows the module
 private:
  attention::MultiHeadAttention attn_;
};

struct BlockOptions {
  int64_t dim = 0, heads = 1, mlp_ratio = 4;
  float dropout = 0.0f, attention_dropout = 0.0f;
  std::string name = "block";  // names its attention maps ("<name>.attention")
};

// Pre-norm encoder block: x + attn(ln1(x)); x + mlp(ln2(x)).
class EncoderBlock : public Module {
 public:
  EncoderBlock(const BlockOptions& opt, Generator& gen = default_generator());
  Tensor operator()(const Tensor& x, const Tensor& key_lengths = Tensor()) const;

 private:
  std::shared_ptr<LayerNorm> ln1_, ln2_;
  std::shared_ptr<MultiHeadAttention> attn_;
  std::shared_ptr<Mlp> mlp_;
  std::shared_ptr<Dropout> drop_;
};

// Pre-norm decoder block: causal self-attention, cross-attention over the encoder's output, MLP.
class DecoderBlock : public Module {
 public:
  DecoderBlock(const BlockOptions& opt, Generator& gen = default_generator());
  Tensor operator()(const Tensor& x, const Tensor& memory,
                    const Tensor& memory_lengths = Tensor()) const;

 private:
  std::shared_ptr<LayerNorm> ln1_, ln2_, ln3_;
  std::shared_ptr<MultiHeadAttention> self_attn_, cross_attn_;
  std::shared_ptr<Mlp> mlp_;
  std::shared_ptr<Dropout> drop_;
};

// Positions: a learned table [N,D] (trunc-normal 0.02) added to x [B,n<=N,D] ...
class LearnedPositions : public Module {
 public:
  LearnedPositions(int64_t max_len, int64_t dim, Generator& gen = default_generator());
  Tensor operator()(const Tensor& x) const;
  Tensor& table;  // [N,D]
};
// ... or the fixed sinusoids of "Attention Is All You Need": [n,D].
Tensor sinusoidal_positions(int64_t n, int64_t dim);

}  // namespace focus::nn
