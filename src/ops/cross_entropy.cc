// cross_entropy over logits [..,C] and i32 targets [..], fused with log_softmax, label smoothing
// and ignore_index; as torch.nn.functional.cross_entropy on logits.reshape(-1, C).
#include <cmath>

#include "ops/common.h"
#include "ops/cpu/vmath.h"

namespace focus {

Tensor cross_entropy(const Tensor& logits_in, const Tensor& targets_in,
                     const CrossEntropyOptions& opt) {
  ops::check_f32("cross_entropy", "logits", logits_in);
  ops::check_i32("cross_entropy", "targets", targets_in);
  FOCUS_CHECK(logits_in.dim() >= 1, "cross_entropy: logits must be [..,C], got a scalar");
  const int64_t c = logits_in.shape()[logits_in.dim() - 1];
  Shape expected_targets;
  for (int i = 0; i < logits_in.dim() - 1; ++i) expected_targets.push_back(logits_in.shape()[i]);
  FOCUS_CHECK(targets_in.shape() == expected_targets, "cross_entropy: targets ", targets_in.shape(),
              " do not match logits ", logits_in.shape(), ": expected ", expected_targets);
  FOCUS_CHECK(c > 0, "cross_entropy: logits ", logits_in.shape(), " have no classes");
  FOCUS_CHECK(opt.label_smoothing >= 0.0f && opt.label_smoothing <= 1.0f,
              "cross_entropy: label_smoothing must be in [0, 1], got ", opt.label_smoothing);
  Tensor logits = logits_in.detach().contiguous();
  Tensor targets = targets_in.contiguous();
  const int64_t n = targets.numel();
  const int32_t* pt = targets.data_i32();
  for (int64_t i = 0; i < n; ++i)
    FOCUS_CHECK(pt[i] == opt.ignore_index || (pt[i] >= 0 && pt[i] < c), "cross_entropy: target ",
                pt[i], " at position ", i, " is outside the classes [0, ", c,
                ") and is not ignore_index ", opt.ignore_index);
  const int64_t bad = ops::first_nonfinite(logits);
  FOCUS_CHECK(bad < 0, "cross_entropy: logits ", logits.shape(), " contain ",
              bad >= 0 ? logits.data()[bad] : 0.0f, " at flat index ", bad,
              "; the loss would be NaN (diverged training? try a lower learning rate)");

  const float eps = opt.label_smoothing;
  const float* px = logits.data();
  Tensor lse = make_tensor(Shape{n});  // log Σ exp per row, saved for backward
  Tensor loss = make_tensor(Shape{n});
  float* pl = lse.data();
  float* ploss = loss.data();
#pragma omp parallel for schedule(static) if (n * c > (1 << 14))
  for (int64_t i = 0; i < n; ++i) {
    const float* row = px + i * c;
    float mx = row[0], sum_x = 0.0f;
    for (int64_t j = 1; j < c; ++j) mx = std::fmax(mx, row[j]);
    float s = 0.0f;
#pragma omp simd reduction(+ : s, sum_x)
    for (int64_t j = 0; j < c; ++j) {
      s += cpu::vexp(row[j] - mx);
      sum_x += row[j];
    }
    pl[i] = mx + std::log(s);
    if (pt[i] == opt.ignore_index) {
      ploss[i] = 0.0f;
      continue;
    }
    const float nll = pl[i] - row[pt[i]];
    const float smooth = pl[i] - sum_x / static_cast<float>(c);  // −mean_c log p_c
    ploss[i] = (1.0f - eps) * nll + eps * smooth;
  }
  int64_t valid = 0;
  for (int64_t i = 0; i < n; ++i) valid += pt[i] != opt.ignore_index;

  Tensor out;
  if (opt.reduction == Reduction::none) {
    out = loss.reshape(targets.shape());
  } else {
    double total = 0;
    for (int64_t i = 0; i < n; ++i) total += ploss[i];
    // A batch with every target ignored has loss 0 (PyTorch gives NaN) so padding-only batches
    // cannot poison training.
    if (opt.reduction == Reduction::mean) total = valid > 0 ? total / double(valid) : 0.0;
    out = Tensor::scalar(static_cast<float>(total));
  }
  const Reduction reduction = opt.reduction;
  const int32_t ignore = opt.ignore_index;
  autograd::record("cross_entropy", out, {logits_in},
                   [logits, targets, lse, n, c, eps, valid, reduction, ignore](
                       const Tensor& g_in, const autograd::Needs&) {
                     Tensor g = g_in.contiguous();
                     Tensor gx = make_tensor(logits.shape());
                     const float* px = logits.data();
                     const float* pl = lse.data();
                     const int32_t* pt = targets.data_i32();
                     float* pgx = gx.data();
                     const float* pg = g.data();
                     const float base =
                         reduction == Reduction::mean && valid > 0 ? 1.0f / float(valid) : 1.0f;
                     const float uniform = eps / static_cast<float>(c);
#pragma omp parallel for schedule(static) if (n * c > (1 << 14))
                     for (int64_t i = 0; i < n; ++i) {
                       float* out_row = pgx + i * c;
                       if (pt[i] == ignore) {
                         for (int64_t j = 0; j < c; ++j) out_row[j] = 0.0f;
                         continue;
                       }
                       const float scale = (reduction == Reduction::none ? pg[i] : pg[0]) * base;
                       const float* row = px + i * c;
#pragma omp simd
                       for (int64_t j = 0; j < c; ++j)
                         out_row[j] = scale * (cpu::vexp(row[j] - pl[i]) - uniform);
                       out_row[pt[i]] -= scale * (1.0f - eps);
                     }
                     return std::vector<Tensor>{gx.reshape(logits.shape())};
                   });
  return out;
}

}  // namespace focus
