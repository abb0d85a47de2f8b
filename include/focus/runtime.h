// Threads and the BLAS. One knob: FOCUS_THREADS (or set_num_threads); OpenMP and the BLAS share one
// pool so they never oversubscribe the cores.
#pragma once

#include <string>

namespace focus {

void set_num_threads(int n);  // n >= 1
int num_threads();
// Which BLAS was loaded and with which kernels, e.g. "OpenBLAS 0.3.21 (OpenMP, Haswell kernels)".
std::string blas_info();

// The arithmetic of the matrix products of `linear` when they record no gradient (inference, under
// autograd::NoGradGuard): f32, the default, or bf16 operands (rounded to nearest even) with f32
// sums, about twice the products per instruction on CPUs with AVX512-BF16 (docs/precision.md).
// A process-wide setting, like the thread count.
enum class Precision { f32, bf16 };
void set_inference_precision(Precision p);
Precision inference_precision();
// The arithmetic of `linear` when it records a gradient (training; train.precision): f32, the
// default, or mixed precision: the forward product and both gradient products round their operands
// to bf16 and sum in f32, as torch.autocast(dtype=bfloat16) does for linear layers. Weights,
// gradients, the optimizer and every other op stay f32. Process-wide, like the inference one.
void set_training_precision(Precision p);
Precision training_precision();
// Sets a precision for a scope, then restores the one before.
template <void (*Set)(Precision), Precision (*Get)()>
class ScopedPrecision {
 public:
  explicit ScopedPrecision(Precision p) : prev_(Get()) { Set(p); }
  ~ScopedPrecision() { Set(prev_); }
  ScopedPrecision(const ScopedPrecision&) = delete;
  ScopedPrecision& operator=(const ScopedPrecision&) = delete;

 private:
  Precision prev_;
};
using PrecisionGuard = ScopedPrecision<set_inference_precision, inference_precision>;
using TrainingPrecisionGuard = ScopedPrecision<set_training_precision, training_precision>;
// "f32" or "bf16"; anything else throws a one-line error naming the accepted values.
Precision parse_precision(const std::string& name);
// What bf16 runs on this CPU, and how: AVX512-BF16 for the linear layers and the attention's P·V,
// or a portable path for the linear layers alone, slower than f32.
std::string bf16_info();
// The same for training at bf16 (the linear layers, and where AVX512-BF16 runs them the
// attention's products other than its scores).
std::string bf16_training_info();

}  // namespace focus
