// Checkpoints: one safetensors file (src/io/safetensors.cc writes it atomically and reads it
// defensively) with the optimiser's tensors under "optimizer/" and the training state as JSON in
// the metadata. Everything that could make the file unloadable is refused before the disk is
// touched, so a bad save never replaces a good checkpoint.
#include <cmath>
#include <string_view>

#include "focus/autograd.h"
#include "focus/io/safetensors.h"
#include "focus/train.h"

namespace focus::train {

namespace {

using json = nlohmann::json;

constexpr std::string_view kOptimizerPrefix = "optimizer/";

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

template <typename... Args>
[[noreturn]] void fail(const std::string& path, const Args&... args) {
  throw Error(one_line(detail::cat("checkpoint: ", path, ": ", args...)));
}

std::string quoted(const std::string& s) {
  return json(s).dump(-1, ' ', false, json::error_handler_t::replace);
}

// Where in `state` a non-finite number sits, as a JSON pointer ("" when none). nlohmann writes NaN
// as null, which would come back as a different state.
std::string find_nonfinite(const json& j, const std::string& at) {
  if (j.is_number_float()) return std::isfinite(j.get<double>()) ? "" : (at.empty() ? "/" : at);
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      std::string hit = find_nonfinite(v, at + "/" + k);
      if (!hit.empty()) return hit;
    }
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) {
      std::string hit = find_nonfinite(j[i], at + "/" + std::to_string(i));
      if (!hit.empty()) return hit;
    }
  }
  return "";
}

void check_tensor(const std::string& path, const std::string& name, const Tensor& t) {
  if (!t.defined()) fail(path, "tensor ", quoted(name), " is undefined");
  if (t.device() != Device::cpu) fail(path, "tensor ", quoted(name), " is not on the CPU");
  if (t.dtype() != DType::f32 && t.dtype() != DType::i32)
    fail(path, "tensor ", quoted(name), " ", t.shape(), " has dtype ", dtype_name(t.dtype()),
         "; checkpoints hold f32 and i32");
  if (t.dtype() != DType::f32) return;
  const Tensor c = t.detach().contiguous();
  const float* p = c.data();
  for (int64_t i = 0; i < c.numel(); ++i)
    if (!std::isfinite(p[i]))
      fail(path, "tensor ", quoted(name), " ", t.shape(), " has non-finite value ", p[i],
           " at element ", i, "; not saved (the previous checkpoint, if any, is unchanged)");
}

}  // namespace

void save_checkpoint(const std::string& path, const Checkpoint& ckpt) {
  autograd::NoGradGuard no_grad;
  std::map<std::string, Tensor> tensors;
  for (const auto& [name, t] : ckpt.model) {
    if (std::string_view(name).starts_with(kOptimizerPrefix))
      fail(path, "model tensor ", quoted(name), " collides with the \"", kOptimizerPrefix,
           "\" prefix reserved for optimiser state");
    check_tensor(path, name, t);
    tensors.emplace(name, t);
  }
  for (const auto& [name, t] : ckpt.optimizer) {
    if (name.empty()) fail(path, "optimiser tensor with an empty name");
    const std::string key = std::string(kOptimizerPrefix) + name;
    check_tensor(path, key, t);
    tensors.emplace(key, t);
  }
  const std::string bad = find_nonfinite(ckpt.state, "");
  if (!bad.empty())
    fail(path, "state has a non-finite number at ", bad,
         "; not saved (JSON has no NaN; the previous checkpoint, if any, is unchanged)");
  std::string state;
  try {
    state = ckpt.state.dump(-1, ' ', false, json::error_handler_t::strict);
  } catch (const json::exception& ex) {
    fail(path, "state cannot be written as JSON: ", ex.what());
  }
  io::save_safetensors(path, tensors, {{"format", kCheckpointFormat}, {"focus", state}});
}

Checkpoint load_checkpoint(const std::string& path) {
  io::TensorFile file = io::load_safetensors(path);
  auto format = file.metadata.find("format");
  if (format == file.metadata.end())
    fail(path, "not a Focus checkpoint: a safetensors file without \"format\": \"",
         kCheckpointFormat, "\" in its metadata");
  if (format->second != kCheckpointFormat)
    fail(path, "not a Focus checkpoint: metadata \"format\" is ", quoted(format->second),
         ", expected \"", kCheckpointFormat, "\"");
  auto focus = file.metadata.find("focus");
  if (focus == file.metadata.end()) fail(path, "checkpoint has no \"focus\" state in its metadata");

  Checkpoint out;
  try {
    out.state = json::parse(focus->second);
  } catch (const json::exception& ex) {
    fail(path, "\"focus\" state metadata is not valid JSON: ", ex.what());
  }
  for (auto& [name, t] : file.tensors) {
    if (std::string_view(name).starts_with(kOptimizerPrefix))
      out.optimizer.emplace(name.substr(kOptimizerPrefix.size()), std::move(t));
    else
      out.model.emplace(name, std::move(t));
  }
  return out;
}

}  // namespace focus::train
