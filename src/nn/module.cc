#include <cstring>

#include "focus/nn.h"

namespace focus::nn {

Tensor& Module::register_parameter(const std::string& name, Tensor t) {
  FOCUS_CHECK(t.defined(), "module: parameter '", name, "' is undefined");
  if (!t.requires_grad()) t.requires_grad_();
  params_.emplace_back(name, std::make_unique<Tensor>(std::move(t)));
  return *params_.back().second;
}

Tensor& Module::register_buffer(const std::string& name, Tensor t) {
  buffers_.emplace_back(name, std::make_unique<Tensor>(std::move(t)));
  return *buffers_.back().second;
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  for (const auto& [name, t] : params_) out.emplace_back(name, *t);
  for (const auto& [prefix, child] : children_)
    for (auto& [name, t] : child->named_parameters()) out.emplace_back(prefix + "." + name, t);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters()) out.push_back(t);
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out;
  for (const auto& [name, t] : buffers_)
    if (t->defined()) out.emplace_back(name, *t);
  for (const auto& [prefix, child] : children_)
    for (auto& [name, t] : child->named_buffers()) out.emplace_back(prefix + "." + name, t);
  return out;
}

std::map<std::string, Tensor> Module::state_dict() const {
  std::map<std::string, Tensor> out;
  for (auto& [name, t] : named_parameters()) out[name] = t;
  for (auto& [name, t] : named_buffers()) out[name] = t;
  return out;
}

void Module::load_state_dict(const std::map<std::string, Tensor>& state, bool strict) {
  std::map<std::string, Tensor> mine = state_dict();
  // Check everything first, so a bad checkpoint changes nothing.
  for (const auto& [name, t] : mine) {
    auto it = state.find(name);
    FOCUS_CHECK(it != state.end() || !strict, "load_state_dict: missing '", name, "' ", t.shape());
    if (it == state.end()) continue;
    FOCUS_CHECK(it->second.dtype() == t.dtype() && it->second.shape() == t.shape(),
                "load_state_dict: '", name, "' has shape ", it->second.shape(), " ",
                dtype_name(it->second.dtype()), " in the state, but the model expects ", t.shape(),
                " ", dtype_name(t.dtype()));
  }
  if (strict)
    for (const auto& [name, t] : state)
      FOCUS_CHECK(mine.count(name), "load_state_dict: unexpected '", name, "' ", t.shape(),
                  " (not a parameter or buffer of this model)");
  for (auto& [name, t] : mine) {
    auto it = state.find(name);
    if (it == state.end()) continue;
    Tensor src = it->second.contiguous();
    FOCUS_CHECK(t.is_contiguous(), "load_state_dict: '", name, "' is not contiguous");
    std::memcpy(static_cast<char*>(t.impl().storage->data()) + t.offset() * 4,
                static_cast<const char*>(src.impl().storage->data()) + src.offset() * 4,
                size_t(t.numel()) * dtype_size(t.dtype()));
  }
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

int64_t Module::parameter_count() const {
  int64_t n = 0;
  for (auto& [name, t] : named_parameters()) n += t.numel();
  return n;
}

void Module::zero_grad() {
  for (auto& [name, t] : named_parameters()) t.zero_grad();
}

}  // namespace focus::nn
