// Embedding lookup: rows of weight [V,D] gathered by i32 ids; backward scatters back with +=.
#include <algorithm>
#include <cstring>

#include "ops/common.h"

namespace focus {

Tensor embedding(const Tensor& weight, const Tensor& ids_in) {
  ops::check_f32("embedding", "weight", weight);
  ops::check_i32("embedding", "ids", ids_in);
  FOCUS_CHECK(weight.dim() == 2, "embedding: weight must be [V,D], got ", weight.shape());
  const int64_t v = weight.shape()[0], d = weight.shape()[1];
  Tensor ids = ids_in.contiguous();
  const int64_t n = ids.numel();
  const int32_t* pi = ids.data_i32();
  for (int64_t i = 0; i < n; ++i)
    FOCUS_CHECK(pi[i] >= 0 && pi[i] < v, "embedding: id ", pi[i], " at position ", i, " of ids ",
                ids.shape(), " is outside the vocabulary [0, ", v, ") of weight ", weight.shape());
  Shape out_shape = ids.shape();
  out_shape.push_back(d);
  Tensor w = weight.detach().contiguous();
  Tensor out = make_tensor(out_shape);
  const float* pw = w.data();
  float* po = out.data();
#pragma omp parallel for schedule(static) if (n * d > (1 << 15))
  for (int64_t i = 0; i < n; ++i) std::memcpy(po + i * d, pw + pi[i] * d, d * sizeof(float));
  autograd::record("embedding", out, {weight},
                   [ids, v, d](const Tensor& g_in, const autograd::Needs&) {
                     Tensor g = g_in.contiguous();
                     Tensor gw = Tensor::zeros(Shape{v, d});
                     const int32_t* pi = ids.data_i32();
                     const float* pg = g.data();
                     float* pgw = gw.data();
                     const int64_t n = ids.numel();
                     // Columns split across threads; each column summed in id order, so repeated
                     // ids are deterministic.
                     const int64_t chunk = 256;
#pragma omp parallel for schedule(static) if (n * d > (1 << 15))
                     for (int64_t c = 0; c < (d + chunk - 1) / chunk; ++c) {
                       const int64_t j0 = c * chunk, j1 = std::min(d, j0 + chunk);
                       for (int64_t i = 0; i < n; ++i) {
                         float* row = pgw + pi[i] * d;
                         const float* src = pg + i * d;
#pragma omp simd
                         for (int64_t j = j0; j < j1; ++j) row[j] += src[j];
                       }
                     }
                     return std::vector<Tensor>{gw};
                   });
  return out;
}

}  // namespace focus
