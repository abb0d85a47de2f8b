// Helpers shared by the test suites: fixture paths, tolerant comparisons, finite differences.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "focus/focus.h"

namespace focus::test {

// Path of a committed fixture under tests/fixtures.
std::string fixture(const std::string& name);

// Passes when |a - b| <= atol + rtol·|b| elementwise (as torch.allclose); on failure the message
// names the worst element, its index, both values and the shapes.
::testing::AssertionResult all_close(const Tensor& actual, const Tensor& expected, float rtol,
                                     float atol);

// Parameter names of a torch.nn.TransformerEncoderLayer (norm_first, as the fixture scripts build
// it) under `torch_prefix` ("", "block.", "blocks.0.") -> those of nn::EncoderBlock under
// `focus_prefix`, for loading a fixture's weights and comparing their gradients.
std::map<std::string, std::string> encoder_layer_names(const std::string& torch_prefix,
                                                       const std::string& focus_prefix);

// Expects `f` to throw focus::Error whose message contains every string in `parts`.
void expect_error(const std::function<void()>& f, const std::vector<std::string>& parts);

}  // namespace focus::test

#define FOCUS_EXPECT_CLOSE(actual, expected, rtol, atol) \
  EXPECT_TRUE(::focus::test::all_close((actual), (expected), (rtol), (atol)))

namespace focus::test {

// A fresh, empty directory for one test's files, removed with everything in it when the object
// goes, unless the running test has failed: then it stays for inspection and stderr says where.
// Its name joins `name`, the process id and a count kept by the process, so that tests run at
// once (a release and an ASan build, or ctest -j) never share one.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }
  // path()/leaf, as a string for the APIs that take one.
  std::string file(const std::string& leaf) const { return (path_ / leaf).string(); }

 private:
  std::filesystem::path path_;
};

// A tensor of `shape` with values uniform in [lo, hi), reproducible from `seed`.
Tensor random_tensor(const Shape& shape, uint64_t seed, float lo = -1.0f, float hi = 1.0f);

// Like random_tensor, but every value has |v| in [min_abs, max_abs) with a random sign: for ops
// with a kink or pole at 0 (relu, div, log of |x|) that finite differences must not straddle.
Tensor random_away_from_zero(const Shape& shape, uint64_t seed, float min_abs = 0.2f,
                             float max_abs = 1.0f);

// n rows of `len` token ids uniform in [0, vocab), labelled 0, 1, ..., classes-1 in turn.
std::shared_ptr<data::TensorDataset> random_token_dataset(int64_t n, int64_t len, int64_t vocab,
                                                          int64_t classes, Generator& gen);

// The function under a gradient check: takes the inputs (leaves), returns any f32 tensor.
using GradFn = std::function<Tensor(const std::vector<Tensor>&)>;

// Finite-difference gradient check. For loss = Σ fn(inputs) ⊙ R, with R a fixed random tensor of
// the output's shape, compares the analytic gradient from backward() with central differences
// (f(x+eps) − f(x−eps)) / 2eps, per input, by the relative norm
//   ||numeric − analytic|| / max(||numeric||, ||analytic||, 1e-3) < tol.
// The inputs are copied into fresh contiguous leaves (so the caller's tensors are untouched); the
// loss is summed in double. Fails, naming the input and the worst element, when an input gets no
// gradient, a gradient of the wrong shape, or one that disagrees.
::testing::AssertionResult check_gradients(const GradFn& fn, const std::vector<Tensor>& inputs,
                                           float eps = 1e-2f, float tol = 2e-2f);

// The focus command line of this build, run with `args` (stderr joined to stdout): its exit
// status (-1 when it did not exit normally) and what it printed.
struct CliResult {
  int status = -1;
  std::string out;
};
CliResult run_cli(const std::string& args);
// The same for any shell command line.
CliResult run_shell(const std::string& command);

}  // namespace focus::test

#define FOCUS_EXPECT_GRADIENTS(...) EXPECT_TRUE(::focus::test::check_gradients(__VA_ARGS__))
