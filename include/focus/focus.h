// Focus: attention-based neural networks in C++.
//
//   #include <focus/focus.h>
//   using namespace focus;
//   manual_seed(1);
//   Tensor w = Tensor::normal({10, 64}, 0.0f, 0.02f).requires_grad_();
//   Tensor x = Tensor::normal({32, 64}, 0.0f, 1.0f);                      // [B,In]
//   Tensor y = Tensor::from_indices(labels, {32});                          // [B] i32
//   Tensor loss = cross_entropy(linear(x, w), y, {.label_smoothing = 0.1f});
//   loss.backward();                                                        // w.grad(): [10,64]
//
// Threads: FOCUS_THREADS=n (default: all cores). Determinism: same seed and thread count give
// bit-identical results.
#pragma once

#include "focus/autograd.h"
#include "focus/error.h"
#include "focus/io/safetensors.h"
#include "focus/ops.h"
#include "focus/rng.h"
#include "focus/runtime.h"
#include "focus/shape.h"
#include "focus/tensor.h"

// Attention and training, built on the core above.
#include "focus/attention.h"
#include "focus/data.h"
#include "focus/init.h"
#include "focus/nn.h"
#include "focus/optim.h"
#include "focus/train.h"
