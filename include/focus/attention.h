// The attention family: soft attention (the textbook form), scaled dot-product attention with a
// math path and a fused FlashAttention-2 path behind one dispatcher, multi-head attention, and
// capture of the probabilities for inspection.
//
//   using namespace focus;
//   Tensor q = ..., k = ..., v = ...;                          // [B,H,N,D]
//   Tensor o = attention::scaled_dot_product_attention(q, k, v, {.causal = true});
//
//   attention::MultiHeadAttention mha({.dim = 128, .heads = 4});
//   attention::Capture capture;                                // records while alive
//   Tensor y = mha(x);                                         // x [B,N,128]
//   Tensor probs = capture.maps()[0].probs;                    // [B,4,N,N]
//   Tensor focus_per_head = attention::head_entropy(probs);    // [4], nats
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "focus/rng.h"
#include "focus/tensor.h"

namespace focus::attention {

// ---- soft attention: score -> softmax over positions -> weighted fusion -------------------------
enum class Score { additive, linear };  // s_i = v·tanh(W·x_i + b)  |  s_i = w·x_i + c
enum class Fusion { pooling, gating };  // Σ_i a_i·x_i -> [B,D]  |  a_i·x_i -> [B,N,D]

struct SoftAttentionResult {
  Tensor output;   // [B,D] (pooling) or [B,N,D] (gating)
  Tensor weights;  // [B,N], each row sums to 1 over unmasked positions
};

struct SoftAttentionOptions {
  int64_t dim = 0;     // D, the feature size of x
  int64_t hidden = 0;  // A, the additive score's hidden size (0: D)
  Score score = Score::additive;
  Fusion fusion = Fusion::pooling;
};

class SoftAttention {
 public:
  SoftAttention(const SoftAttentionOptions& opt, Generator& gen = default_generator());
  // x [B,N,D]; mask [B,N] (f32 or i32, nonzero = attend) or undefined. A row with every position
  // masked gets zero weights and a zero output, never NaN.
  SoftAttentionResult operator()(const Tensor& x, const Tensor& mask = Tensor()) const;
  std::vector<std::pair<std::string, Tensor>> named_parameters() const;
  const SoftAttentionOptions& options() const { return opt_; }

  // additive: w [A,D], b [A], v [A];  linear: w [1,D], b [1]
  Tensor w, b, v;

 private:
  SoftAttentionOptions opt_;
};

// ---- scaled dot-product attention --------------------------------------------------------------
enum class Path { automatic, math, fused };

struct SdpaOptions {
  float scale = 0.0f;  // 0: 1/√D
  // Query i attends key j only if j <= i (as PyTorch's is_causal; top-left aligned if Nq != Nk).
  bool causal = false;
  Tensor key_lengths;              // i32 [B]: in batch b only keys j < key_lengths[b] are attended
  Tensor bias;                     // f32, broadcastable to [B,H,Nq,Nk], added to the scaled scores
  float dropout = 0.0f;            // on the probabilities; 0 in evaluation
  Generator* generator = nullptr;  // for dropout; default_generator() when null
  Path path = Path::automatic;
};

// q [B,H,Nq,D], k [B,H,Nk,D], v [B,H,Nk,D] -> [B,H,Nq,D]. A query row with no attended key gives
// zeros (and zero gradients), never NaN. Differentiable in q, k, v and bias.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const SdpaOptions& opt = {});

// Self-attention on a packed projection, without splitting it: qkv [B,N,3·H·D] holds q, k and v
// in turn, each H heads of D (MultiHeadAttention's fused projection, torch's in_proj) ->
// [B,N,H·D], the heads side by side. Equal to scaled_dot_product_attention on the split heads,
// with the same options; on the fused path nothing is copied in or out, forward or backward.
Tensor packed_self_attention(const Tensor& qkv, int64_t heads, const SdpaOptions& opt = {});

struct Attended {
  Tensor output;  // [B,H,Nq,D]
  Tensor probs;   // [B,H,Nq,Nk], after masking, before dropout
};
// The math path, which materialises the probabilities and returns them with the output.
Attended attention_with_probs(const Tensor& q, const Tensor& k, const Tensor& v,
                              const SdpaOptions& opt = {});

// The path the dispatcher takes for these sizes (measured crossover; see docs/attention.md).
Path choose_path(int64_t nq, int64_t nk, int64_t d);

// ---- multi-head attention ----------------------------------------------------------------------
struct MultiHeadAttentionOptions {
  int64_t dim = 0;  // E, the model width; heads divide it
  int64_t heads = 1;
  bool bias = true;
  float dropout = 0.0f;            // on the attention probabilities, in training
  bool cross = false;              // separate Q and KV projections; forward takes a context
  int64_t kv_dim = 0;              // the context's width for cross-attention (0: E)
  std::string name = "attention";  // names captured maps
};

struct MultiHeadCall {
  Tensor key_lengths;  // i32 [B], padding of keys
  bool causal = false;
  bool training = false;
  Tensor bias;  // additive, broadcastable to [B,H,Nq,Nk]
};

class MultiHeadAttention {
 public:
  MultiHeadAttention(const MultiHeadAttentionOptions& opt, Generator& gen = default_generator());
  // Self-attention: x [B,N,E] -> [B,N,E]. Cross-attention: x [B,Nq,E], context [B,Nk,Ekv].
  Tensor operator()(const Tensor& x, const Tensor& context = Tensor(),
                    const MultiHeadCall& call = {}) const;
  std::vector<std::pair<std::string, Tensor>> named_parameters() const;
  const MultiHeadAttentionOptions& options() const { return opt_; }

  // Self: w_qkv [3E,E] (rows: q, k, v, as torch's in_proj_weight), b_qkv [3E].
  // Cross: w_q [E,E], b_q [E], w_kv [2E,Ekv] (rows: k, v), b_kv [2E].
  // Both: w_out [E,E], b_out [E]. Biases are undefined when !bias.
  Tensor w_qkv, b_qkv, w_q, b_q, w_kv, b_kv, w_out, b_out;

 private:
  MultiHeadAttentionOptions opt_;
};

// ---- capture and measures of focus -------------------------------------------------------------
struct CapturedMap {
  std::string layer;  // the layer's name, with its call index: "encoder.0.attention#0"
  Tensor probs;       // [B,H,Nq,Nk]
};

// While a Capture is alive on this thread, every attention layer (multi-head and soft) records
// its probabilities, recomputed through the math path without gradients, so training with the
// fused path stays O(N) in memory when nothing captures.
class Capture {
 public:
  Capture();
  ~Capture();
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;
  const std::vector<CapturedMap>& maps() const { return maps_; }
  void clear() { maps_.clear(); }

  static Capture* active();  // the innermost live Capture on this thread, or null
  void add(const std::string& layer, const Tensor& probs);

 private:
  std::vector<CapturedMap> maps_;
  Capture* outer_;
};

// Entropy in nats of each probability row: probs [..,Nk] -> [..]. 0: all weight on one key;
// log(Nk): uniform.
Tensor entropy(const Tensor& probs);
// Mean entropy per head over batch and queries: probs [B,H,Nq,Nk] -> [H].
Tensor head_entropy(const Tensor& probs);
// Attention rollout (Abnar & Zuidema 2020): per layer the head-mean of probs, mixed with the
// identity for the residual path (0.5·A + 0.5·I, rows renormalised), multiplied through the
// layers. maps: [B,H,N,N] each, first layer first -> [B,N,N].
Tensor rollout(const std::vector<Tensor>& maps);

}  // namespace focus::attention
