// Softmax kernels over the middle axis of a contiguous [outer, n, inner] layout.
#pragma once

#include <cstdint>

namespace focus::cpu {

// y = softmax(x) (log: log_softmax). A row that is all -inf gives zeros (log: -inf), not NaN.
void softmax(const float* x, float* y, int64_t outer, int64_t n, int64_t inner, bool log);
// gx = y·(g − Σ g·y)  (log: gx = g − exp(y)·Σ g).
void softmax_backward(const float* g, const float* y, float* gx, int64_t outer, int64_t n,
                      int64_t inner, bool log);

}  // namespace focus::cpu
