// Runs the PyTorch parity fixtures written by scripts/gen_fixtures.py. A fixture file holds cases
// (metadata "cases"); case C has inputs "C.<name>", an upstream gradient "C.gout", the output
// "C.out" and "C.grad.<name>" for each differentiable input, plus parameters in metadata "C.<key>".
#pragma once

#include <exception>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_util.h"

namespace focus::test {

class ParityCase {
 public:
  ParityCase(const io::TensorFile& file, std::string name) : file_(file), name_(std::move(name)) {}

  const std::string& name() const { return name_; }
  bool has(const std::string& what) const { return file_.tensors.count(key(what)) > 0; }

  // The input `what`; it requires grad when the fixture holds its gradient. The same tensor comes
  // back on every call, so an input used twice accumulates one gradient.
  Tensor in(const std::string& what) {
    auto it = inputs_.find(what);
    if (it != inputs_.end()) return it->second;
    Tensor t = file_.at(key(what));
    if (has("grad." + what)) t.requires_grad_();
    inputs_.emplace(what, t);
    return t;
  }
  // An optional input (linear's bias, layer_norm's weight): undefined when the case has none.
  Tensor in_opt(const std::string& what) { return has(what) ? in(what) : Tensor(); }

  Tensor expected(const std::string& what) const { return file_.at(key(what)); }

  // Parameters as the generator wrote them: JSON text, or the bare string for strings.
  std::string param(const std::string& p) const {
    auto it = file_.metadata.find(key(p));
    if (it == file_.metadata.end())
      throw Error(file_.path + ": case " + name_ + " has no parameter '" + p + "'");
    return it->second;
  }
  bool has_param(const std::string& p) const { return file_.metadata.count(key(p)) > 0; }
  nlohmann::json param_json(const std::string& p) const { return nlohmann::json::parse(param(p)); }
  int param_int(const std::string& p) const { return param_json(p).get<int>(); }
  float param_float(const std::string& p) const { return param_json(p).get<float>(); }
  bool param_bool(const std::string& p) const { return param_json(p).get<bool>(); }
  std::vector<int> param_ints(const std::string& p) const {
    return param_json(p).get<std::vector<int>>();
  }
  Shape param_shape(const std::string& p) const {
    return Shape(param_json(p).get<std::vector<int64_t>>());
  }

  const std::map<std::string, Tensor>& inputs() const { return inputs_; }

 private:
  std::string key(const std::string& what) const { return name_ + "." + what; }

  const io::TensorFile& file_;
  std::string name_;
  std::map<std::string, Tensor> inputs_;
};

inline std::vector<std::string> parity_cases(const io::TensorFile& file) {
  return nlohmann::json::parse(file.metadata.at("cases")).get<std::vector<std::string>>();
}

// For every case of fixture `name` (under tests/fixtures): out = op(case), compares out, runs
// out.backward(gout) and compares the gradient of every input the fixture has one for. A case that
// throws fails alone; the others still run.
inline void check_parity(const std::string& name, const std::function<Tensor(ParityCase&)>& op,
                         float rtol, float atol) {
  io::TensorFile file;
  try {
    file = io::load_safetensors(fixture(name));
  } catch (const std::exception& e) {
    FAIL() << e.what() << " (regenerate with /usr/bin/python3 scripts/gen_fixtures.py)";
  }
  const std::vector<std::string> cases = parity_cases(file);
  EXPECT_FALSE(cases.empty()) << name << " has no cases";
  for (const std::string& c : cases) {
    SCOPED_TRACE(name + " case " + c);
    ParityCase pc(file, c);
    try {
      Tensor out = op(pc);
      FOCUS_EXPECT_CLOSE(out, pc.expected("out"), rtol, atol) << "(output)";
      out.backward(pc.expected("gout"));
      const std::string prefix = c + ".grad.";
      for (const auto& [key, want] : file.tensors) {
        if (key.rfind(prefix, 0) != 0) continue;
        const std::string input = key.substr(prefix.size());
        auto it = pc.inputs().find(input);
        if (it == pc.inputs().end()) {
          ADD_FAILURE() << "the test never used input '" << input << "'";
          continue;
        }
        FOCUS_EXPECT_CLOSE(it->second.grad(), want, rtol, atol) << "(gradient of " << input << ")";
      }
    } catch (const std::exception& e) {
      ADD_FAILURE() << "threw: " << e.what();
    }
  }
}

}  // namespace focus::test
