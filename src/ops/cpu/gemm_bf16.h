// The bf16 matrix product behind `linear` at inference precision bf16 (docs/precision.md).
// x and w are rounded to bf16 (round to nearest even), the products of pairs along K are summed in
// f32: the arithmetic of AVX512-BF16's vdpbf16ps, which this runs on when the CPU has it. On a CPU
// without it a portable path computes the same sums in the same order (slower than f32).
#pragma once

#include <cstdint>

namespace focus::cpu {

// out[rows, n] = bf16(x)[rows, k] · bf16(w)[n, k]ᵀ (+ bias[n] in f32). Row-major, contiguous.
// Threads split the rows; every output is summed in one fixed order, whatever the thread count.
void linear_bf16(const float* x, int64_t rows, int64_t k, const float* w, int64_t n,
                 const float* bias, float* out);

// Whether linear_bf16 runs on AVX512-BF16 instructions here (else the portable path).
bool bf16_native();

// Round to nearest even, as vcvtne2ps2bf16 (NaN stays NaN; a subnormal becomes a signed zero).
uint16_t to_bf16(float f);
float from_bf16(uint16_t h);

}  // namespace focus::cpu
