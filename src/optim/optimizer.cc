// The optimiser base: parameter checks, per-parameter slots, and state()/load() for checkpoints.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

#include "focus/autograd.h"
#include "focus/optim.h"

namespace focus::optim {
namespace {

// A contiguous copy in fresh storage, outside autograd: saved state must not alias live slots
// (stepping on would change a checkpoint already taken), nor loaded state the caller's tensors.
Tensor copy_of(const Tensor& t) {
  autograd::NoGradGuard no_grad;
  const Tensor src = t.contiguous();
  Tensor out = make_tensor(src.shape(), src.dtype());
  const size_t bytes = static_cast<size_t>(src.numel()) * dtype_size(src.dtype());
  if (bytes == 0) return out;
  if (src.dtype() == DType::i32)
    std::memcpy(out.data_i32(), src.data_i32(), bytes);
  else
    std::memcpy(out.data(), src.data(), bytes);
  return out;
}

Tensor zeros_like_slot(const Shape& shape, DType dtype) {
  Tensor t = make_tensor(shape, dtype);
  if (dtype == DType::i32)
    std::fill_n(t.data_i32(), t.numel(), 0);
  else
    std::fill_n(t.data(), t.numel(), 0.0f);
  return t;
}

}  // namespace

Optimizer::Optimizer(const char* kind, NamedTensors params, float lr, std::vector<SlotSpec> slots)
    : kind_(kind), params_(std::move(params)), slot_specs_(std::move(slots)) {
  set_lr(lr);
  std::set<std::string> names;
  std::map<std::pair<const void*, int64_t>, std::string> seen;  // (storage, offset) -> name
  for (const auto& [name, p] : params_) {
    FOCUS_CHECK(p.defined(), kind_, ": parameter '", name, "' is an undefined tensor");
    FOCUS_CHECK(p.dtype() == DType::f32, kind_, ": parameter '", name, "' ", p.shape(), " is ",
                dtype_name(p.dtype()), "; optimisers update f32 parameters");
    FOCUS_CHECK(p.device() == Device::cpu, kind_, ": parameter '", name, "' is not on the CPU");
    // Updates walk the storage linearly; a strided view would update the wrong elements.
    FOCUS_CHECK(p.is_contiguous(), kind_, ": parameter '", name, "' ", p.shape(),
                " is a non-contiguous view; pass the tensor that owns the storage");
    FOCUS_CHECK(names.insert(name).second, kind_, ": parameter name '", name,
                "' appears twice; state() keys would collide");
    // The same tensor under two names would be updated twice per step (tied weights: pass once).
    const auto [it, fresh] = seen.emplace(std::make_pair(p.impl().storage.get(), p.offset()), name);
    FOCUS_CHECK(fresh || p.numel() == 0, kind_, ": parameters '", it->second, "' and '", name,
                "' are the same tensor ", p.shape(), "; pass it once");
  }
}

void Optimizer::set_lr(float lr) {
  FOCUS_CHECK(std::isfinite(lr) && lr >= 0.0f, kind_,
              ": learning rate must be finite and >= 0, got ", lr);
  lr_ = lr;
}

void Optimizer::zero_grad() {
  for (auto& [name, p] : params_) p.zero_grad();
}

Tensor* Optimizer::find_slot(size_t param, const std::string& slot) {
  auto it = slots_.find(params_[param].first + "." + slot);
  return it == slots_.end() ? nullptr : &it->second;
}

Tensor& Optimizer::slot(size_t param, const std::string& slot) {
  const std::string key = params_[param].first + "." + slot;
  auto it = slots_.find(key);
  if (it != slots_.end()) return it->second;
  bool count = false;
  for (const SlotSpec& s : slot_specs_)
    if (s.name == slot) count = s.count;
  const Tensor zeros = count ? zeros_like_slot(Shape{}, DType::i32)
                             : zeros_like_slot(params_[param].second.shape(), DType::f32);
  return slots_.emplace(key, zeros).first->second;
}

Tensor Optimizer::grad_of(size_t param) const {
  const auto& [name, p] = params_[param];
  Tensor g = p.grad();
  if (!g.defined()) return g;
  FOCUS_CHECK(g.dtype() == DType::f32 && g.shape() == p.shape(), kind_, ": gradient of '", name,
              "' is ", dtype_name(g.dtype()), " ", g.shape(), ", expected f32 ", p.shape());
  // The update kernels read the gradient while writing the parameter.
  FOCUS_CHECK(!g.shares_storage(p), kind_, ": gradient of '", name,
              "' shares storage with the parameter; set a separate tensor as its gradient");
  return g.contiguous();
}

std::map<std::string, Tensor> Optimizer::state() const {
  std::map<std::string, Tensor> out;
  for (const auto& [key, t] : slots_) out.emplace(key, copy_of(t));
  out.emplace("step", Tensor::from_indices({static_cast<int32_t>(steps_)}, Shape{}));
  out.emplace("lr", Tensor::scalar(lr_));
  return out;
}

void Optimizer::load(const std::map<std::string, Tensor>& state) {
  struct Expected {
    size_t param;
    const SlotSpec* spec;
  };
  std::map<std::string, Expected> expected;
  for (size_t i = 0; i < params_.size(); ++i)
    for (const SlotSpec& s : slot_specs_)
      expected.emplace(params_[i].first + "." + s.name, Expected{i, &s});

  auto check = [&](const std::string& key, const Tensor& t, DType dtype, const Shape& shape,
                   const char* what) {
    FOCUS_CHECK(t.defined(), kind_, " load: '", key, "' is an undefined tensor");
    FOCUS_CHECK(t.dtype() == dtype, kind_, " load: '", key, "' is ", dtype_name(t.dtype()), " ",
                t.shape(), ", expected ", dtype_name(dtype), " ", shape, " (", what, ")");
    FOCUS_CHECK(t.shape() == shape, kind_, " load: '", key, "' has shape ", t.shape(),
                ", expected ", shape, " (", what, ")");
  };

  FOCUS_CHECK(state.count("step"), kind_, " load: missing 'step' (the step count)");
  FOCUS_CHECK(state.count("lr"), kind_, " load: missing 'lr' (the learning rate)");
  std::vector<int> present(params_.size(), 0);
  for (const auto& [key, t] : state) {
    if (key == "step") {
      check(key, t, DType::i32, Shape{}, "the step count");
      continue;
    }
    if (key == "lr") {
      check(key, t, DType::f32, Shape{}, "the learning rate");
      continue;
    }
    auto it = expected.find(key);
    FOCUS_CHECK(it != expected.end(), kind_, " load: unknown key '", key,
                "' (not \"step\", \"lr\" or \"<parameter>.<slot>\" of this ", kind_,
                "'s parameters)");
    const auto& [i, spec] = it->second;
    if (spec->count)
      check(key, t, DType::i32, Shape{}, "a step count");
    else
      check(key, t, DType::f32, params_[i].second.shape(),
            ("the shape of parameter '" + params_[i].first + "'").c_str());
    ++present[i];
  }
  for (size_t i = 0; i < params_.size(); ++i) {
    if (present[i] == 0 || present[i] == static_cast<int>(slot_specs_.size())) continue;
    for (const SlotSpec& s : slot_specs_)
      FOCUS_CHECK(state.count(params_[i].first + "." + s.name), kind_, " load: missing '",
                  params_[i].first, ".", s.name, "' (other slots of '", params_[i].first,
                  "' are present; a parameter's slots come all or none)");
  }
  const float lr = state.at("lr").item();
  FOCUS_CHECK(std::isfinite(lr) && lr >= 0.0f, kind_, " load: 'lr' is ", lr,
              ", expected a finite rate >= 0");
  const int32_t steps = *state.at("step").contiguous().data_i32();
  FOCUS_CHECK(steps >= 0, kind_, " load: 'step' is ", steps, ", expected >= 0");

  // Everything checked: now replace the state.
  slots_.clear();
  for (const auto& [key, t] : state)
    if (expected.count(key)) slots_.emplace(key, copy_of(t));
  lr_ = lr;
  steps_ = steps;
}

}  // namespace focus::optim
