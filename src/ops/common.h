// Helpers shared by the op dispatch files: input checks that name the op, and output checks.
#pragma once

#include "focus/autograd.h"
#include "focus/ops.h"
#include "focus/tensor.h"

namespace focus::ops {

// Throws unless `t` is a defined f32 CPU tensor; `what` names the argument ("x", "weight").
void check_f32(const char* op, const char* what, const Tensor& t);
void check_i32(const char* op, const char* what, const Tensor& t);
void check_nonempty(const char* op, const char* what, const Tensor& t);
// With check_finite_enabled(), throws naming the op and the first non-finite element of `out`.
void check_output(const char* op, const Tensor& out);
// Index and value of the first NaN/Inf in a contiguous f32 tensor, or -1.
int64_t first_nonfinite(const Tensor& t);
// Whether an op's products on `inputs` (linear's, the fused attention's) run at bf16
// (docs/precision.md): the training precision when a gradient is recorded through it, the
// inference precision when none is, is bf16.
bool bf16_linear(std::initializer_list<Tensor> inputs);

}  // namespace focus::ops
