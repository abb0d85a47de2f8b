// The per-ISA halves of the fused attention kernel (src/attention/cpu/flash_kernel.inl compiled
// once per instruction set) and what flash.cc needs to drive them: the threading, the workspace
// and the choice of path live in flash.cc, the arithmetic in the per-ISA files.
//
//   flash.cc         scalar path (portable C++, 8-wide arrays), dispatcher, OpenMP loops
//   flash_avx2.cc    AVX2 + FMA intrinsics, under #pragma GCC target("avx2,fma")
//   flash_avx512.cc  AVX-512 F/BW/VL/DQ intrinsics, under its own #pragma GCC target
//
// Every ISA file includes this header (and so every standard header the kernel uses) BEFORE its
// target pragma, so no standard-library inline function is ever compiled for a wider ISA than the
// rest of the program (an ODR trap: the linker could keep that copy and run it on any CPU).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

#include "attention/cpu/flash.h"
#include "focus/rng.h"

namespace focus::attention::cpu {

struct FlashKernels {
  const char* name;  // "avx512", "avx2", "scalar"
  // Block sizes: query rows per block (a multiple of the micro-kernel's row tile) and keys per
  // block (a multiple of its column tile). See docs/attention.md for why these values.
  int64_t block_q, block_k;
  int64_t row_tile;  // query rows of one register tile (NV·W): blocks are rounded to it
  // Floats of scratch one thread needs (flash.cc allocates one slice per thread, 64-byte aligned).
  size_t (*forward_workspace)(const FlashParams& p, int64_t bq, int64_t bk);
  size_t (*backward_workspace)(const FlashParams& p, int64_t bq, int64_t bk);
  // Forward for query rows [q0, q0 + bq) ∩ [0, Nq) of head bh = b·H + h.
  void (*forward_block)(const FlashParams& p, const float* q, const float* k, const float* v,
                        float* out, float* lse, int64_t bh, int64_t q0, int64_t bq, int64_t bk,
                        float* ws);
  // Backward for one whole head bh: writes its rows of dq, dk, dv.
  void (*backward_head)(const FlashParams& p, const float* q, const float* k, const float* v,
                        const float* out, const float* lse, const float* dout, float* dq, float* dk,
                        float* dv, int64_t bh, int64_t bq, int64_t bk, float* ws);
  // The forward at bf16 (FlashParams::bf16, no dropout), or null where the path has none.
  size_t (*forward_workspace_bf16)(const FlashParams& p, int64_t bq, int64_t bk);
  void (*forward_block_bf16)(const FlashParams& p, const float* q, const float* k, const float* v,
                             float* out, float* lse, int64_t bh, int64_t q0, int64_t bq, int64_t bk,
                             float* ws);
  // The backward at bf16 (FlashParams::bf16), or null where the path has none.
  size_t (*backward_workspace_bf16)(const FlashParams& p, int64_t bq, int64_t bk);
  void (*backward_head_bf16)(const FlashParams& p, const float* q, const float* k, const float* v,
                             const float* out, const float* lse, const float* dout, float* dq,
                             float* dk, float* dv, int64_t bh, int64_t bq, int64_t bk, float* ws);
};

const FlashKernels& flash_kernels_scalar();
#if defined(__x86_64__) || defined(__i386__)
#define FOCUS_FLASH_X86 1
const FlashKernels& flash_kernels_avx2();
const FlashKernels& flash_kernels_avx512();
#endif

}  // namespace focus::attention::cpu
