// Walking n-d strided views in row-major logical order. Shared by copies and broadcasting kernels.
#pragma once

#include <cstdint>

#include "focus/shape.h"

namespace focus::cpu {

// Offset (in elements) of the `row`-th row of a view whose last axis is walked by the caller:
// row indexes all axes but the last in row-major order.
inline int64_t row_offset(int64_t row, const Shape& shape, const Shape& strides) {
  int64_t off = 0;
  for (int i = shape.rank() - 2; i >= 0; --i) {
    int64_t d = shape[i];
    off += (row % d) * strides[i];
    row /= d;
  }
  return off;
}

// Merges adjacent axes that are contiguous with each other in every stride set, and drops size-1
// axes, so kernels walk as few, as long rows as possible. Keeps at least one axis.
template <int K>
void collapse(Shape& shape, Shape (&strides)[K]) {
  Shape s;
  Shape st[K];
  for (int i = 0; i < shape.rank(); ++i) {
    if (shape[i] == 1) continue;
    bool merge = s.rank() > 0;
    for (int k = 0; k < K && merge; ++k)
      merge = st[k][st[k].rank() - 1] == strides[k][i] * shape[i];
    if (merge) {
      int last = s.rank() - 1;
      s[last] *= shape[i];
      for (int k = 0; k < K; ++k) st[k][last] = strides[k][i];
    } else {
      s.push_back(shape[i]);
      for (int k = 0; k < K; ++k) st[k].push_back(strides[k][i]);
    }
  }
  if (s.rank() == 0) {
    s.push_back(1);
    for (int k = 0; k < K; ++k) st[k].push_back(1);
  }
  shape = s;
  for (int k = 0; k < K; ++k) strides[k] = st[k];
}

// dst (contiguous) = src viewed with (shape, strides); 4-byte elements.
void copy_strided(const uint32_t* src, const Shape& shape, const Shape& strides, uint32_t* dst);
// dst viewed with (shape, strides) = src (contiguous); 4-byte elements.
void copy_to_strided(const uint32_t* src, const Shape& shape, const Shape& strides, uint32_t* dst);

}  // namespace focus::cpu
