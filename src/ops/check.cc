#include <atomic>
#include <cmath>
#include <cstdlib>

#include "focus/runtime.h"
#include "ops/common.h"

namespace focus {
namespace {
std::atomic<bool> g_check_finite{[] {
  const char* env = std::getenv("FOCUS_CHECK_FINITE");
  return env && env[0] == '1';
}()};
}  // namespace

void set_check_finite(bool on) { g_check_finite = on; }
bool check_finite_enabled() { return g_check_finite; }

namespace ops {

bool bf16_linear(std::initializer_list<Tensor> inputs) {
  return (autograd::needs_grad(inputs) ? training_precision() : inference_precision()) ==
         Precision::bf16;
}

void check_f32(const char* op, const char* what, const Tensor& t) {
  FOCUS_CHECK(t.defined(), op, ": ", what, " is an undefined tensor");
  FOCUS_CHECK(t.dtype() == DType::f32, op, ": ", what, " must be f32, got ", dtype_name(t.dtype()),
              " ", t.shape());
  FOCUS_CHECK(t.device() == Device::cpu, op, ": ", what, " must be on the CPU");
}

void check_i32(const char* op, const char* what, const Tensor& t) {
  FOCUS_CHECK(t.defined(), op, ": ", what, " is an undefined tensor");
  FOCUS_CHECK(t.dtype() == DType::i32, op, ": ", what, " must be i32 indices, got ",
              dtype_name(t.dtype()), " ", t.shape());
}

void check_nonempty(const char* op, const char* what, const Tensor& t) {
  FOCUS_CHECK(t.numel() > 0, op, ": ", what, " is empty (shape ", t.shape(),
              "); expected at least one element");
}

int64_t first_nonfinite(const Tensor& t) {
  const float* p = t.data();
  const int64_t n = t.numel();
  int64_t first = n;
#pragma omp parallel for reduction(min : first) schedule(static) if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(p[i]) && i < first) first = i;
  return first == n ? -1 : first;
}

void check_output(const char* op, const Tensor& out) {
  if (!g_check_finite || out.dtype() != DType::f32) return;
  Tensor c = out.contiguous();
  int64_t i = first_nonfinite(c);
  FOCUS_CHECK(i < 0, op, ": output ", out.shape(), " has a non-finite value (", c.data()[i],
              ") at flat index ", i, " (check-finite mode)");
}

}  // namespace ops
}  // namespace focus
