// The differentiable ops. Every op checks its inputs and throws focus::Error naming the op, the
// shapes it got and what it expected; every op records its backward when an input requires grad.
// Shapes are written as [B,N,D]; "..." is any number of leading axes.
#pragma once

#include <cstdint>
#include <vector>

#include "focus/rng.h"
#include "focus/tensor.h"

namespace focus {

// ---- elementwise, with numpy broadcasting -------------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, float s);
Tensor mul(const Tensor& a, float s);
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor pow(const Tensor& x, float exponent);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
enum class GeluApprox { none, tanh };  // none: x·Φ(x) with erf (PyTorch's default)
Tensor gelu(const Tensor& x, GeluApprox approx = GeluApprox::none);

inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator+(const Tensor& a, float s) { return add(a, s); }
inline Tensor operator-(const Tensor& a, float s) { return add(a, -s); }
inline Tensor operator*(const Tensor& a, float s) { return mul(a, s); }
inline Tensor operator*(float s, const Tensor& a) { return mul(a, s); }
inline Tensor operator/(const Tensor& a, float s) { return mul(a, 1.0f / s); }
inline Tensor operator-(const Tensor& x) { return neg(x); }

// ---- reductions: over `axes` (empty: all), keeping reduced axes as size 1 when keepdim ----------
Tensor sum(const Tensor& x, const std::vector<int>& axes = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int>& axes = {}, bool keepdim = false);
// The gradient goes to the first maximum along the reduced axes (as torch.max(x, dim)).
Tensor max(const Tensor& x, const std::vector<int>& axes = {}, bool keepdim = false);
// Sums a broadcast gradient back to `shape` (the backward of broadcasting).
Tensor sum_to(const Tensor& x, const Shape& shape);

// ---- linear algebra (GEMM through the BLAS loaded by src/runtime/blas.cc) ----------------------
// [..,M,K] x [..,K,N] -> [..,M,N]; batch axes broadcast; rank-1 operands are not promoted.
Tensor matmul(const Tensor& a, const Tensor& b);
// x [..,In] · w[Out,In]ᵀ + b[Out] -> [..,Out]; b may be undefined. One GEMM with the bias fused.
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b = Tensor());

// ---- normalisation and probabilities -----------------------------------------------------------
Tensor softmax(const Tensor& x, int axis = -1);
Tensor log_softmax(const Tensor& x, int axis = -1);
// Over the last axis; weight and bias are [D] or undefined. Saves mean and rstd for backward.
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps = 1e-5f);
// Zeroes each element with probability p and scales the rest by 1/(1-p); identity when !training.
Tensor dropout(const Tensor& x, float p, bool training = true,
               Generator& gen = default_generator());

// ---- lookup and losses -------------------------------------------------------------------------
// weight [V,D], ids i32 of any shape [..] -> [..,D]. Ids outside [0,V) are an error.
Tensor embedding(const Tensor& weight, const Tensor& ids);
enum class Reduction { mean, sum, none };
struct CrossEntropyOptions {
  float label_smoothing = 0.0f;
  int32_t ignore_index = -100;
  Reduction reduction = Reduction::mean;
};
// logits [..,C] f32, targets i32 [..]; as torch.nn.functional.cross_entropy. Non-finite logits and
// targets outside [0,C) (other than ignore_index) are errors.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets,
                     const CrossEntropyOptions& opt = {});

// ---- shape and selection -----------------------------------------------------------------------
Tensor concat(const std::vector<Tensor>& xs, int axis);
Tensor slice(const Tensor& x, int axis, int64_t start, int64_t end, int64_t step = 1);
Tensor reshape(const Tensor& x, const Shape& shape);
Tensor permute(const Tensor& x, const std::vector<int>& axes);
Tensor transpose(const Tensor& x, int a, int b);
// cond is f32 (nonzero = true) or i32; cond, a and b broadcast together.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
// x with `value` where mask (broadcastable to x) is nonzero; no gradient flows there.
Tensor masked_fill(const Tensor& x, const Tensor& mask, float value);

// ---- checks ------------------------------------------------------------------------------------
// When on, every op checks its output for NaN/Inf and throws naming the op (like PyTorch's anomaly
// mode); off by default because it costs a pass over each output. FOCUS_CHECK_FINITE=1 turns it on.
void set_check_finite(bool on);
bool check_finite_enabled();

}  // namespace focus
