// CPU kernels for elementwise ops. Inputs are contiguous unless a stride argument says otherwise.
#pragma once

#include <cstdint>

#include "focus/shape.h"

namespace focus::cpu {

enum class BinaryOp { add, sub, mul, div };
// out[shape] = a ∘ b with a, b viewed through broadcast strides (0 on broadcast axes).
void binary(BinaryOp op, const float* a, const Shape& a_strides, const float* b,
            const Shape& b_strides, float* out, const Shape& shape);

enum class UnaryOp { neg, exp, log, sqrt, pow, tanh, sigmoid, relu, gelu_erf, gelu_tanh, affine };
// y = f(x); `p` is pow's exponent, or affine's scale (with `q` its shift).
void unary(UnaryOp op, const float* x, float* y, int64_t n, float p = 0, float q = 0);
// gx = g · f'(x), from x and/or y = f(x) as the op needs (both given).
void unary_backward(UnaryOp op, const float* g, const float* x, const float* y, float* gx,
                    int64_t n, float p = 0);

}  // namespace focus::cpu
