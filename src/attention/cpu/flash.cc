// The fused attention kernel's driver: picks the SIMD path once per process, splits the work over
// OpenMP threads and gives each thread its scratch; plus the portable path ("scalar": plain C++
// over 8-float arrays, which the compiler may vectorise for whatever the build targets).
// The arithmetic is src/attention/cpu/flash_kernel.inl; the AVX2 and AVX-512 instantiations are
// flash_avx2.cc and flash_avx512.cc.
#include <omp.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>
#include <string_view>

#include "attention/cpu/flash_isa.h"
#include "ops/cpu/gemm_bf16.h"
#include "ops/cpu/vmath.h"

namespace focus::attention::cpu {
namespace scalar {

struct Vec {
  static constexpr int W = 8, NV = 1, NJ = 4;
  struct R {
    float x[W];
  };
  template <class F>
  static R map(F f) {
    R r;
#pragma omp simd
    for (int l = 0; l < W; ++l) r.x[l] = f(l);
    return r;
  }
  static R zero() { return set1(0.0f); }
  static R set1(float v) {
    return map([&](int) { return v; });
  }
  static R load(const float* p) {
    return map([&](int l) { return p[l]; });
  }
  static void store(float* p, R a) {
    for (int l = 0; l < W; ++l) p[l] = a.x[l];
  }
  static R bcast(const float* p) { return set1(*p); }
  static R fma(R a, R b, R c) {
    return map([&](int l) { return a.x[l] * b.x[l] + c.x[l]; });
  }
  static R add(R a, R b) {
    return map([&](int l) { return a.x[l] + b.x[l]; });
  }
  static R sub(R a, R b) {
    return map([&](int l) { return a.x[l] - b.x[l]; });
  }
  static R mul(R a, R b) {
    return map([&](int l) { return a.x[l] * b.x[l]; });
  }
  static R max(R a, R b) {
    return map([&](int l) { return a.x[l] > b.x[l] ? a.x[l] : b.x[l]; });
  }
  static R neg_inf_to_zero(R a) {
    return map(
        [&](int l) { return a.x[l] == -std::numeric_limits<float>::infinity() ? 0.0f : a.x[l]; });
  }
  static void transpose8(const float* s, int64_t lds, float* d, int64_t ldd, float scale) {
    for (int c = 0; c < 8; ++c)
      for (int r = 0; r < 8; ++r) d[c * ldd + r] = s[r * lds + c] * scale;
  }
  static R exp(R a) {
    return map([&](int l) { return focus::cpu::vexp(a.x[l]); });
  }
};

#include "attention/cpu/flash_kernel.inl"

}  // namespace scalar

const FlashKernels& flash_kernels_scalar() {
  static const FlashKernels k{"scalar",
                              64,
                              64,
                              8,
                              scalar::forward_workspace,
                              scalar::backward_workspace,
                              scalar::forward_block,
                              scalar::backward_head,
                              nullptr,
                              nullptr,
                              nullptr,
                              nullptr};
  return k;
}

namespace {

const FlashKernels* best_kernels() {
#ifdef FOCUS_FLASH_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    return &flash_kernels_avx512();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &flash_kernels_avx2();
#endif
  return &flash_kernels_scalar();
}

std::atomic<const FlashKernels*>& active() {
  static std::atomic<const FlashKernels*> k{best_kernels()};
  return k;
}

// One 64-byte aligned slice of `floats` per thread.
struct Scratch {
  Scratch(size_t floats, int threads) : stride((floats + 15) / 16 * 16) {
    const size_t bytes = std::max<size_t>(stride * threads * sizeof(float), 64);
    data.reset(static_cast<float*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64)));
    if (!data) throw std::bad_alloc();
  }
  float* slice(int t) const { return data.get() + stride * t; }
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  size_t stride;
  std::unique_ptr<float, Free> data;
};

// Block sizes for this problem. Queries: a sequence a little longer than a block is split into
// even blocks (101 = 56 + 45, not 96 + a 5-row sliver that redoes every key for 5 queries).
// Keys: up to 256 are one block, so a short head takes a single softmax pass with no rescaling
// (Sᵀ is then at most [256][96] floats, 96 KiB, still in L2).
struct Blocks {
  int64_t q, k;
};
Blocks blocks_for(const FlashKernels& kern, const FlashParams& p) {
  const int64_t nb = std::max<int64_t>(1, (p.nq + kern.block_q - 1) / kern.block_q);
  const int64_t even = (p.nq + nb - 1) / nb;
  const int64_t q = (even + kern.row_tile - 1) / kern.row_tile * kern.row_tile;
  return {std::min(q, kern.block_q), p.nk <= 256 ? std::max<int64_t>(p.nk, 1) : kern.block_k};
}

// The layouts with the contiguous defaults filled in.
FlashParams resolved(const FlashParams& in) {
  FlashParams p = in;
  auto fill = [&](RowLayout& r, int64_t n) {
    if (r.b == 0 && r.h == 0 && r.n == 0) r = {p.heads * n * p.d, n * p.d, p.d};
  };
  fill(p.q_rows, p.nq);
  fill(p.k_rows, p.nk);
  fill(p.v_rows, p.nk);
  fill(p.out_rows, p.nq);
  return p;
}

bool bf16_runs(const FlashKernels& kern) {
  return kern.forward_block_bf16 != nullptr && focus::cpu::bf16_native();
}

}  // namespace

bool flash_bf16_runs() { return bf16_runs(*active().load()); }

const char* flash_isa() { return active().load()->name; }

bool flash_set_isa(const char* isa) {
  const std::string_view want = isa ? isa : "auto";
  const FlashKernels* best = best_kernels();
  const FlashKernels* pick = nullptr;
  if (want == "auto") pick = best;
  if (want == "scalar") pick = &flash_kernels_scalar();
#ifdef FOCUS_FLASH_X86
  // A path is runnable when it is the best one or one the best one implies.
  const std::string_view b = best->name;
  if (want == "avx2" && (b == "avx2" || b == "avx512")) pick = &flash_kernels_avx2();
  if (want == "avx512" && b == "avx512") pick = &flash_kernels_avx512();
#endif
  if (!pick) return false;
  active().store(pick);
  return true;
}

void flash_forward(const FlashParams& params, const float* q, const float* k, const float* v,
                   float* out, float* lse) {
  const FlashParams p = resolved(params);
  const FlashKernels& kern = *active().load();
  const Blocks blk = blocks_for(kern, p);
  const int64_t bq = blk.q, bk = blk.k;
  const int64_t nqb = (p.nq + bq - 1) / bq;
  const int64_t items = p.batch * p.heads * nqb;
  if (items == 0) return;
  const int threads = static_cast<int>(std::min<int64_t>(omp_get_max_threads(), items));
  const bool bf16 = p.bf16 && p.dropout_p == 0.0f && bf16_runs(kern);
  const auto block = bf16 ? kern.forward_block_bf16 : kern.forward_block;
  const Scratch ws(
      bf16 ? kern.forward_workspace_bf16(p, bq, bk) : kern.forward_workspace(p, bq, bk), threads);
  // Dynamic schedule: with a causal mask the later query blocks cost more, so they go first.
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (threads > 1)
  for (int64_t it = 0; it < items; ++it) {
    const int64_t bh = it / nqb;
    const int64_t qb = p.causal ? nqb - 1 - it % nqb : it % nqb;
    block(p, q, k, v, out, lse, bh, qb * bq, bq, bk, ws.slice(omp_get_thread_num()));
  }
}

void flash_backward(const FlashParams& params, const float* q, const float* k, const float* v,
                    const float* out, const float* lse, const float* dout, float* dq, float* dk,
                    float* dv) {
  const FlashParams p = resolved(params);
  const FlashKernels& kern = *active().load();
  const Blocks blk = blocks_for(kern, p);
  const int64_t bq = blk.q, bk = blk.k;
  const int64_t heads = p.batch * p.heads;
  if (heads == 0) return;
  const int threads = static_cast<int>(std::min<int64_t>(omp_get_max_threads(), heads));
  const bool bf16 = p.bf16 && kern.backward_head_bf16 && focus::cpu::bf16_native();
  const auto head = bf16 ? kern.backward_head_bf16 : kern.backward_head;
  const Scratch ws(
      bf16 ? kern.backward_workspace_bf16(p, bq, bk) : kern.backward_workspace(p, bq, bk), threads);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (threads > 1)
  for (int64_t bh = 0; bh < heads; ++bh)
    head(p, q, k, v, out, lse, dout, dq, dk, dv, bh, bq, bk, ws.slice(omp_get_thread_num()));
}

}  // namespace focus::attention::cpu
