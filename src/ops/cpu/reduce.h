// Reductions over the middle axis of a contiguous [outer, r, inner] layout.
#pragma once

#include <cstdint>

namespace focus::cpu {

// out[o, i] = Σ_j x[o, j, i]. The summation order depends only on the shape, never on the thread
// count, so results are bit-identical across thread counts.
void sum_mid(const float* x, float* out, int64_t outer, int64_t r, int64_t inner);
// out[o, i] = max_j x[o, j, i]; arg[o, i] = the first j reaching it (NaN wins, as in PyTorch).
void max_mid(const float* x, float* out, int32_t* arg, int64_t outer, int64_t r, int64_t inner);

}  // namespace focus::cpu
