#include "focus/autograd.h"

#include <unordered_map>

#include "focus/ops.h"

namespace focus::autograd {
namespace {

thread_local bool g_grad_enabled = true;

// The leaf end of an edge: adds the incoming gradient into the leaf's .grad.
class AccumulateGrad : public Node {
 public:
  explicit AccumulateGrad(const std::shared_ptr<TensorImpl>& leaf)
      : Node("accumulate_grad", nullptr), leaf_(leaf) {}
  std::vector<Tensor> apply(const Tensor& grad, const Needs&) override {
    auto leaf = leaf_.lock();
    if (!leaf) return {};  // the leaf is gone; nobody can read its gradient
    if (!leaf->grad) {
      // Take the incoming gradient when nothing else can see it, as PyTorch does: a copy costs one
      // more pass over memory per leaf. Otherwise a private copy, so later in-place accumulation
      // never writes into a tensor that backward passed through (the user's seed, a view, a
      // gradient handed to several inputs).
      const std::shared_ptr<TensorImpl>& impl = grad.impl_ptr();
      const bool sole = impl.use_count() == 1 && impl->storage.use_count() == 1 && !impl->grad_fn &&
                        impl->offset == 0 && grad.is_contiguous() &&
                        impl->storage->bytes() == size_t(grad.numel()) * sizeof(float);
      leaf->grad = sole ? impl : grad.detach().clone().impl_ptr();
    } else if (!Tensor(leaf->grad).is_contiguous()) {
      // A view the user set with set_grad (transposed, expanded): the flat loop below would walk
      // the wrong elements or past its storage, so add out of place.
      leaf->grad = add(Tensor(leaf->grad), grad).impl_ptr();
    } else {
      Tensor acc(leaf->grad);
      Tensor g = grad.contiguous();
      float* a = acc.data();
      const float* b = g.data();
      const int64_t n = acc.numel();
#pragma omp parallel for schedule(static) if (n > (1 << 16))
      for (int64_t i = 0; i < n; ++i) a[i] += b[i];
    }
    return {};
  }
  void release() override {}  // accumulators live as long as their leaf

 private:
  std::weak_ptr<TensorImpl> leaf_;
};

// Deletes a node without recursing down its edges. With the default deleter, freeing the root of
// a long chain that never ran backward (an unused graph) frees each node from inside its
// successor's destructor, one stack frame set per node, and overflows the stack.
struct NodeDeleter {
  void operator()(Node* node) const {
    std::vector<std::shared_ptr<Node>> pending = std::move(node->next);
    delete node;
    while (!pending.empty()) {
      std::shared_ptr<Node> n = std::move(pending.back());
      pending.pop_back();
      if (n && n.use_count() == 1) {  // the last owner: take its edges before it goes
        for (auto& e : n->next)
          if (e) pending.push_back(std::move(e));
        n->next.clear();
      }
    }
  }
};

std::shared_ptr<Node> edge_of(const Tensor& t) {
  TensorImpl& impl = t.impl();
  if (impl.grad_fn) return impl.grad_fn;
  if (!impl.requires_grad) return nullptr;
  if (!impl.grad_acc) impl.grad_acc = std::make_shared<AccumulateGrad>(t.impl_ptr());
  return impl.grad_acc;
}

}  // namespace

std::vector<Tensor> Node::apply(const Tensor& grad, const Needs& needs) {
  FOCUS_CHECK(!released_, "backward: the graph through '", op_,
              "' was already freed by an earlier backward(); run the forward pass again");
  return fn_(grad, needs);
}

void Node::release() {
  fn_ = nullptr;
  scatter = nullptr;
  next.clear();
  released_ = true;
}

bool grad_enabled() { return g_grad_enabled; }
void set_grad_enabled(bool on) { g_grad_enabled = on; }

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && (t.requires_grad() || t.grad_fn())) return true;
  return false;
}

bool needs_grad(std::initializer_list<Tensor> inputs) {
  return needs_grad(std::vector<Tensor>(inputs));
}

void record(const char* op, Tensor& out, const std::vector<Tensor>& inputs, BackwardFn fn) {
  if (!needs_grad(inputs)) return;
  FOCUS_CHECK(inputs.size() <= Needs().size(), op, ": too many inputs to record");
  std::shared_ptr<Node> node(new Node(op, std::move(fn)), NodeDeleter());
  for (const Tensor& t : inputs) {
    node->next.push_back(t.defined() ? edge_of(t) : nullptr);
    node->input_shapes.push_back(t.defined() ? t.shape() : Shape());
  }
  out.impl().grad_fn = std::move(node);
  out.impl().requires_grad = true;
}

void record_view(const char* op, Tensor& out, const Tensor& input, BackwardFn fn,
                 ScatterFn scatter) {
  record(op, out, {input}, std::move(fn));
  if (out.grad_fn()) out.impl().grad_fn->scatter = std::move(scatter);
}

namespace {

// A gradient backward holds that nothing else can see, so it may be added into in place.
bool private_gradient(const Tensor& t) {
  const std::shared_ptr<TensorImpl>& impl = t.impl_ptr();
  return impl.use_count() == 1 && impl->storage.use_count() == 1 && !impl->grad_fn &&
         impl->offset == 0 && t.is_contiguous() &&
         impl->storage->bytes() == size_t(t.numel()) * sizeof(float);
}

}  // namespace

void backward(const Tensor& root, const Tensor& grad) {
  FOCUS_CHECK(grad.defined() && grad.shape() == root.shape(), "backward: gradient of shape ",
              grad.defined() ? grad.shape().str() : "undefined", " for a tensor of shape ",
              root.shape());
  std::shared_ptr<Node> start = edge_of(root);
  FOCUS_CHECK(start != nullptr, "backward: the tensor ", root.shape(),
              " does not require grad and has no history (was it made under NoGradGuard?)");
  NoGradGuard no_grad;

  // Order the reachable nodes so each runs after every node that feeds it a gradient (the tape),
  // with an iterative depth-first search: deep graphs must not overflow the stack.
  // The tape owns its nodes until the pass ends: releasing a node drops its edges, which may be
  // the last owners of nodes still to run.
  std::vector<std::shared_ptr<Node>> order;
  std::unordered_map<Node*, int> state;  // 1: on the stack, 2: done
  std::vector<std::pair<std::shared_ptr<Node>, size_t>> stack{{start, 0}};
  state[start.get()] = 1;
  while (!stack.empty()) {
    auto& [node, i] = stack.back();
    if (i < node->next.size()) {
      const std::shared_ptr<Node>& child = node->next[i++];
      if (child && !state.count(child.get())) {
        state[child.get()] = 1;
        stack.emplace_back(child, 0);
      }
    } else {
      state[node.get()] = 2;
      order.push_back(std::move(node));
      stack.pop_back();
    }
  }

  std::unordered_map<Node*, Tensor> grads;
  grads[start.get()] = grad;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node* node = it->get();
    auto found = grads.find(node);
    if (found == grads.end()) continue;  // no gradient reached this node
    Tensor g = std::move(found->second);
    grads.erase(found);
    if (node->scatter && node->next.size() == 1 && node->next[0]) {
      auto slot = grads.find(node->next[0].get());
      if (slot != grads.end() && slot->second.dtype() == DType::f32 &&
          slot->second.shape() == node->input_shapes[0] && private_gradient(slot->second)) {
        FOCUS_CHECK(!node->released(), "backward: the graph through '", node->op(),
                    "' was already freed by an earlier backward(); run the forward pass again");
        node->scatter(slot->second, g);
        node->release();
        continue;
      }
    }
    Needs needs;
    for (size_t i = 0; i < node->next.size(); ++i) needs[i] = node->next[i] != nullptr;
    std::vector<Tensor> outs = node->apply(g, needs);
    for (size_t i = 0; i < node->next.size() && i < outs.size(); ++i) {
      Node* child = node->next[i].get();
      if (!child || !outs[i].defined()) continue;
      FOCUS_CHECK(outs[i].shape() == node->input_shapes[i], "backward of '", node->op(),
                  "': gradient for input ", i, " has shape ", outs[i].shape(), ", expected ",
                  node->input_shapes[i]);
      auto [slot, fresh] = grads.try_emplace(child, outs[i]);
      if (!fresh) slot->second = add(slot->second, outs[i]);
    }
    node->release();
  }
}

}  // namespace focus::autograd
