// FlashAttention-2 on the CPU: tiles over query and key/value blocks, online softmax with running
// max and sum in f32; only the output and the log-sum-exp are stored, and the backward pass
// recomputes the probabilities. No atomics: forward splits work over (b, h, query block), backward
// over (b, h), so results are deterministic.
#pragma once

#include <cstdint>

namespace focus::attention::cpu {

// Where the rows of a [B,H,N,D] operand lie: row n of head (b, h) starts at element
// b·b_stride + h·h_stride + n·n_stride, its D elements contiguous. All 0: contiguous [B,H,N,D].
struct RowLayout {
  int64_t b = 0, h = 0, n = 0;
};

struct FlashParams {
  int64_t batch = 0, heads = 0, nq = 0, nk = 0, d = 0;  // q [B,H,Nq,D], k and v [B,H,Nk,D]
  // Layouts of q (and dq), k (and dk), v (and dv), out (and dout); e.g. views into a packed
  // [B,N,3,H,D] projection and a [B,N,H,D] output, so that nothing is copied in or out.
  RowLayout q_rows, k_rows, v_rows, out_rows;
  float scale = 1.0f;
  // Query i attends key j only if j <= i (PyTorch's is_causal: top-left aligned when Nq != Nk).
  bool causal = false;
  // [B] or null: in batch b only keys j < key_lengths[b] are attended.
  const int32_t* key_lengths = nullptr;
  // Additive bias or null, read as bias[b*s0 + h*s1 + i*s2 + j*s3] (strides 0 where broadcast).
  const float* bias = nullptr;
  int64_t bias_strides[4] = {0, 0, 0, 0};
  // Dropout on the probabilities: element (b,h,i,j) is kept iff
  // Generator(seed).uniform(offset + ((b*H + h)*Nq + i)*Nk + j) >= dropout_p, and kept values are
  // scaled by 1/(1 − p): the same decisions as focus::dropout on the materialised [B,H,Nq,Nk].
  float dropout_p = 0.0f;
  uint64_t seed = 0, offset = 0;
  // Products at bf16 (docs/precision.md), only where the CPU has AVX512-BF16 (elsewhere f32):
  // the forward's O = P·V on bf16 operands with f32 sums (not with dropout); the scores Q·Kᵀ,
  // softmax and normalisation stay f32. The backward's dP = dO·Vᵀ, dV = Pᵀ·dO, dK = dSᵀ·Q and
  // dQ = dS·K on bf16 operands with f32 sums; its recomputed scores stay f32.
  bool bf16 = false;
};

// out [B,H,Nq,D]; lse [B,H,Nq] = log Σ_j exp(score_ij) over attended keys, or -inf for a row with
// no attended key (whose output is then zeros). q, k, v, out as their RowLayouts say; lse
// contiguous.
void flash_forward(const FlashParams& p, const float* q, const float* k, const float* v, float* out,
                   float* lse);

// dq, dk, dv (same shapes and layouts as q, k, v; overwritten, not accumulated) from dout (laid
// out as out), using the forward's out and lse. A fully masked row contributes nothing.
void flash_backward(const FlashParams& p, const float* q, const float* k, const float* v,
                    const float* out, const float* lse, const float* dout, float* dq, float* dk,
                    float* dv);

// Whether flash_forward honours FlashParams::bf16 with the active path on this CPU.
bool flash_bf16_runs();

// Which SIMD path the kernels use on this CPU ("avx512", "avx2" or "scalar").
const char* flash_isa();

// Forces a path ("avx512", "avx2", "scalar"; "auto" or null: the best this CPU runs), for tests
// and benchmarks. Returns false, changing nothing, for a path this CPU cannot run. Not
// thread-safe against kernels running at the same time.
bool flash_set_isa(const char* isa);

}  // namespace focus::attention::cpu
