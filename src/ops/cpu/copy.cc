#include <omp.h>

#include <algorithm>
#include <cstring>

#include "ops/cpu/strided.h"

namespace focus::cpu {

void copy_strided(const uint32_t* src, const Shape& shape_in, const Shape& strides_in,
                  uint32_t* dst) {
  Shape shape = shape_in;
  Shape st[2] = {strides_in, contiguous_strides(shape_in)};
  collapse(shape, st);
  const int64_t n = shape[shape.rank() - 1], s = st[0][shape.rank() - 1];
  const int64_t rows = shape.numel() / std::max<int64_t>(n, 1);
  // Work items are rows cut into chunks: a contiguous source collapses to one long row (clone),
  // which must still be shared by every thread.
  constexpr int64_t kChunk = 1 << 15;
  const int64_t per_row = std::max<int64_t>(1, (n + kChunk - 1) / kChunk);
#pragma omp parallel for schedule(static) if (rows * n > kChunk)
  for (int64_t w = 0; w < rows * per_row; ++w) {
    const int64_t r = w / per_row, j0 = (w % per_row) * kChunk, j1 = std::min(n, j0 + kChunk);
    const uint32_t* in = src + row_offset(r, shape, st[0]);
    uint32_t* out = dst + r * n;
    if (s == 1)
      std::memcpy(out + j0, in + j0, (j1 - j0) * sizeof(uint32_t));
    else
      for (int64_t j = j0; j < j1; ++j) out[j] = in[j * s];
  }
}

void copy_to_strided(const uint32_t* src, const Shape& shape_in, const Shape& strides_in,
                     uint32_t* dst) {
  Shape shape = shape_in;
  Shape st[2] = {strides_in, contiguous_strides(shape_in)};
  collapse(shape, st);
  const int64_t n = shape[shape.rank() - 1], s = st[0][shape.rank() - 1];
  const int64_t rows = shape.numel() / std::max<int64_t>(n, 1);
#pragma omp parallel for schedule(static) if (rows * n > (1 << 15))
  for (int64_t r = 0; r < rows; ++r) {
    uint32_t* out = dst + row_offset(r, shape, st[0]);
    const uint32_t* in = src + r * n;
    for (int64_t j = 0; j < n; ++j) out[j * s] = in[j];
  }
}

}  // namespace focus::cpu
