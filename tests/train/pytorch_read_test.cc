// PyTorch reads Focus weights: scripts/check_checkpoint.py, run with Debian's python3-torch, loads
// a checkpoint written here and reports every value, which must match exactly. Skipped where
// /usr/bin/python3 has no numpy or torch.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "focus/train.h"
#include "test_util.h"

namespace focus::train {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const char* kPython = "/usr/bin/python3";

// Runs a shell command; returns its exit status and stdout.
std::pair<int, std::string> run(const std::string& cmd) {
  std::FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {-1, ""};
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string script() {
  return (fs::path(FOCUS_FIXTURES) / ".." / ".." / "scripts" / "check_checkpoint.py").string();
}

class PyTorchRead : public ::testing::Test {
 protected:
  void SetUp() override {
    static const bool has_numpy =  // torch is checked by the script itself (exit status 3)
        access(kPython, X_OK) == 0 &&
        run(std::string(kPython) + " -c 'import numpy' >/dev/null 2>&1").first == 0;
    if (!has_numpy) GTEST_SKIP() << kPython << " cannot import numpy";
    ASSERT_TRUE(fs::exists(script())) << script();
  }
  test::ScratchDir dir_{"pytorch_read"};
};

void expect_values(const json& got, const std::map<std::string, Tensor>& want) {
  ASSERT_EQ(got.size(), want.size()) << got.dump();
  for (const auto& [name, t] : want) {
    ASSERT_TRUE(got.contains(name)) << name;
    const json& g = got[name];
    EXPECT_EQ(g["dtype"], t.dtype() == DType::f32 ? "float32" : "int32") << name;
    EXPECT_EQ(g["shape"], json(t.shape().vec())) << name;
    std::vector<float> values;
    for (const json& v : g["values"]) values.push_back(v.get<float>());
    EXPECT_EQ(values, t.to_vector()) << name;
  }
}

TEST_F(PyTorchRead, ScriptReadsTheRightValues) {
  Checkpoint c;
  c.model["patch.proj.weight"] = test::random_tensor({4, 3, 2}, 7);
  c.model["patch.proj.bias"] = Tensor::from_vector({0.1f, -2.5f, 1e-30f, 3.4e38f}, {4});
  c.model["scale"] = Tensor::scalar(-0.0f);
  c.model["class_ids"] = Tensor::from_indices({0, -1, 2147483647}, {3});
  c.optimizer["patch.proj.weight.exp_avg"] = test::random_tensor({4, 3, 2}, 8);
  c.optimizer["step"] = Tensor::from_indices({42}, {});
  c.state = {{"step", 42},
             {"epoch", 2},
             {"config", {{"model", {{"kind", "vit"}, {"dim", 64}}}, {"lr", 3e-3}}},
             {"rng", {{"state", 18446744073709551615ull}}},
             {"name", "r\u00e9sum\u00e9"}};
  const std::string p = dir_.file("ck.safetensors");
  save_checkpoint(p, c);

  const auto [rc, out] = run(std::string(kPython) + " " + script() + " --json '" + p + "'");
  if (rc == 3) GTEST_SKIP() << kPython << " cannot import torch";
  ASSERT_EQ(rc, 0) << out;
  const json got = json::parse(out);
  EXPECT_EQ(got["format"], "focus-checkpoint-1");
  expect_values(got["model"], c.model);
  expect_values(got["optimizer"], c.optimizer);
  EXPECT_EQ(got["state"], c.state);

  // The human-readable listing names every tensor.
  const auto [rc2, text] = run(std::string(kPython) + " " + script() + " '" + p + "'");
  ASSERT_EQ(rc2, 0) << text;
  for (const char* name : {"patch.proj.weight", "class_ids", "exp_avg", "\"vit\""})
    EXPECT_NE(text.find(name), std::string::npos) << name << " missing from:\n" << text;
}

TEST_F(PyTorchRead, ScriptRefusesAPlainFile) {
  const std::string p = dir_.file("not_a_checkpoint.safetensors");
  std::FILE* f = std::fopen(p.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::fputs("hello", f);
  std::fclose(f);
  const auto [rc, out] = run(std::string(kPython) + " " + script() + " '" + p + "' 2>&1");
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("truncated"), std::string::npos) << out;
}

}  // namespace
}  // namespace focus::train
