// Reverse-mode autograd. Each op that sees an input requiring a gradient records a Node holding
// its backward closure and one edge per input; Tensor::backward() orders the nodes reachable from
// the root (the tape), runs them in reverse, accumulates into leaves and then frees the graph.
#pragma once

#include <bitset>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "focus/tensor.h"

namespace focus::autograd {

// Which inputs of a node need a gradient, so backward skips work nobody will read.
using Needs = std::bitset<8>;
// Returns one gradient per input (same shape as that input); undefined where not needed.
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad, const Needs& needs)>;
// For a view whose gradient is zero outside the region it reads (slice): adds `grad` into that
// region of `acc`, a gradient of the input's full shape that backward already holds.
using ScatterFn = std::function<void(Tensor& acc, const Tensor& grad)>;

class Node {
 public:
  Node(std::string op, BackwardFn fn) : op_(std::move(op)), fn_(std::move(fn)) {}
  virtual ~Node() = default;
  virtual std::vector<Tensor> apply(const Tensor& grad, const Needs& needs);
  // Drops saved tensors and edges; a released node can no longer run.
  virtual void release();
  const std::string& op() const { return op_; }
  bool released() const { return released_; }
  // Set by record_view: lets backward add this node's gradient into one the input already has
  // instead of materialising a mostly-zero tensor of the input's shape and adding it.
  ScatterFn scatter;

  std::vector<std::shared_ptr<Node>> next;  // one per input; null when the input needs no grad
  std::vector<Shape> input_shapes;          // to check the shapes backward returns

 protected:
  std::string op_;
  BackwardFn fn_;
  bool released_ = false;
};

// Gradient mode is per thread; on by default.
bool grad_enabled();
void set_grad_enabled(bool on);

class NoGradGuard {
 public:
  NoGradGuard() : prev_(grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

// True when grad mode is on and any input requires a gradient.
bool needs_grad(std::initializer_list<Tensor> inputs);
bool needs_grad(const std::vector<Tensor>& inputs);

// Records `fn` as the backward of `out` with respect to `inputs` (at most 8). The closure must
// capture only detached tensors (Tensor::detach), never `out` itself with its history.
void record(const char* op, Tensor& out, const std::vector<Tensor>& inputs, BackwardFn fn);

// record() for a one-input view op that reads a region of its input (slice): `scatter` adds the
// output's gradient into that region of an existing input gradient. When several such views of
// one tensor are used (q, k and v sliced from one projection), backward then adds each into the
// first's gradient instead of summing full-size, mostly-zero tensors.
void record_view(const char* op, Tensor& out, const Tensor& input, BackwardFn fn,
                 ScatterFn scatter);

// Runs the backward pass from `root` seeded with `grad` (same shape as root).
void backward(const Tensor& root, const Tensor& grad);

}  // namespace focus::autograd
