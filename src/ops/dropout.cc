// Inverted dropout: the kept elements are scaled by 1/(1−p) so eval needs no rescaling.
#include "ops/common.h"

namespace focus {

Tensor dropout(const Tensor& x_in, float p, bool training, Generator& gen) {
  ops::check_f32("dropout", "x", x_in);
  FOCUS_CHECK(p >= 0.0f && p <= 1.0f, "dropout: probability p must be in [0, 1], got ", p);
  if (!training || p == 0.0f) return x_in;
  Tensor x = x_in.contiguous();
  const int64_t n = x.numel();
  Tensor mask = make_tensor(x.shape());  // 0 or 1/(1−p)
  Tensor y = make_tensor(x.shape());
  const float keep_scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
  const uint64_t first = gen.advance(n);
  const float* px = x.data();
  float* pm = mask.data();
  float* py = y.data();
#pragma omp parallel for schedule(static) if (n > (1 << 15))
  for (int64_t i = 0; i < n; ++i) {
    pm[i] = gen.uniform(first + i) >= p ? keep_scale : 0.0f;
    py[i] = px[i] * pm[i];
  }
  autograd::record("dropout", y, {x}, [mask](const Tensor& g, const autograd::Needs&) {
    return std::vector<Tensor>{mul(g, mask)};
  });
  return y;
}

}  // namespace focus
