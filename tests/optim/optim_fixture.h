// Reads the optimiser fixtures written by scripts/gen_optim_fixtures.py: parameters "w" [4,8] and
// "b" [16], 20 gradients "grads.<p>" [20,..], and per case "<case>.<p>" [21,..] (row 0 = init, row
// t+1 = after step t); metadata "<case>.options" (JSON) and "<case>.skip" ({param: [steps]}).
#pragma once

#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "focus/optim.h"
#include "test_util.h"

namespace focus::test {

inline const std::vector<std::string>& optim_param_names() {
  static const std::vector<std::string> names = {"w", "b"};
  return names;
}

// Row t of a stacked tensor [T,...] as a contiguous tensor [...] of its own.
inline Tensor row(const Tensor& stacked, int64_t t) {
  Shape s;
  for (int i = 1; i < stacked.dim(); ++i) s.push_back(stacked.size(i));
  return stacked.slice(0, t, t + 1).reshape(s).contiguous().detach().clone();
}

// Fresh copies of the fixture's initial parameters, as leaves that require grad.
inline optim::NamedTensors initial_params(const io::TensorFile& f) {
  optim::NamedTensors out;
  for (const std::string& k : optim_param_names())
    out.emplace_back(k, f.at("init." + k).detach().clone().requires_grad_());
  return out;
}

inline nlohmann::json case_json(const io::TensorFile& f, const std::string& key,
                                const char* fallback) {
  auto it = f.metadata.find(key);
  return nlohmann::json::parse(it == f.metadata.end() ? std::string(fallback) : it->second);
}

// Sets the gradients of step t (none where the case skips a parameter).
inline void set_step_grads(const optim::NamedTensors& params, const io::TensorFile& f,
                           const nlohmann::json& skip, int64_t t) {
  for (const auto& [name, p] : params) {
    Tensor h = p;
    bool skipped = false;
    if (skip.contains(name))
      for (const auto& s : skip[name]) skipped = skipped || s.get<int64_t>() == t;
    if (skipped)
      h.zero_grad();
    else
      h.set_grad(row(f.at("grads." + name), t));
  }
}

inline bool bit_identical(const Tensor& a, const Tensor& b) {
  const std::vector<float> x = a.to_vector(), y = b.to_vector();
  return a.shape() == b.shape() && std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) == 0;
}

}  // namespace focus::test
