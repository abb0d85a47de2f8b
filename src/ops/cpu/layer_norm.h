// Layer normalisation over the last axis of a contiguous [R, D] layout.
#pragma once

#include <cstdint>

namespace focus::cpu {

// y = (x − mean)·rstd·w + b per row; w, b may be null (then 1 and 0). Saves mean[R], rstd[R].
void layer_norm(const float* x, const float* w, const float* b, float* y, float* mean, float* rstd,
                int64_t rows, int64_t d, float eps);
// gx (may be null), gw and gb (may be null; written, not accumulated) from g and the saved stats.
// gw and gb are summed over fixed row blocks in a fixed order: identical for any thread count.
void layer_norm_backward(const float* g, const float* x, const float* w, const float* mean,
                         const float* rstd, float* gx, float* gw, float* gb, int64_t rows,
                         int64_t d);

}  // namespace focus::cpu
