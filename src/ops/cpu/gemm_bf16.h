// The bf16 matrix product behind `linear` at precision bf16 (docs/precision.md): its forward at
// inference, and its forward and both gradients in training at train.precision bf16.
// x and w are rounded to bf16 (round to nearest even), the products of pairs along K are summed in
// f32: the arithmetic of AVX512-BF16's vdpbf16ps, which this runs on when the CPU has it. On a CPU
// without it a portable path computes the same sums in the same order (slower than f32).
#pragma once

#include <cstdint>

namespace focus::cpu {

// A strided view of a 2-D f32 matrix: element (i, j) at data[i·rs + j·cs].
struct Bf16Operand {
  const float* data;
  int64_t rs, cs;
};

// out[m, n] = bf16(a)[m, k] · bf16(b)[n, k]ᵀ (+ bias[n] in f32); out row-major, contiguous. a and
// b may be transposed views (cs ≠ 1): the packing reads them either way. Threads split the rows;
// every output is summed in one fixed order (bias, then the pairs along K in order), whatever the
// thread count.
void gemm_bf16(Bf16Operand a, int64_t m, int64_t k, Bf16Operand b, int64_t n, const float* bias,
               float* out);

// out[rows, n] = bf16(x)[rows, k] · bf16(w)[n, k]ᵀ (+ bias[n]): linear's forward, both contiguous.
void linear_bf16(const float* x, int64_t rows, int64_t k, const float* w, int64_t n,
                 const float* bias, float* out);

// Whether linear_bf16 runs on AVX512-BF16 instructions here (else the portable path).
bool bf16_native();

// Round to nearest even, as vcvtne2ps2bf16 (NaN stays NaN; a subnormal becomes a signed zero).
uint16_t to_bf16(float f);
float from_bf16(uint16_t h);

}  // namespace focus::cpu
