#include "test_util.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace focus::test {

std::map<std::string, std::string> encoder_layer_names(const std::string& torch_prefix,
                                                       const std::string& focus_prefix) {
  const std::pair<const char*, const char*> pairs[] = {
      {"self_attn.in_proj_weight", "attention.w_qkv"},
      {"self_attn.in_proj_bias", "attention.b_qkv"},
      {"self_attn.out_proj.weight", "attention.w_out"},
      {"self_attn.out_proj.bias", "attention.b_out"},
      {"linear1.weight", "mlp.fc1.weight"},
      {"linear1.bias", "mlp.fc1.bias"},
      {"linear2.weight", "mlp.fc2.weight"},
      {"linear2.bias", "mlp.fc2.bias"},
      {"norm1.weight", "ln1.weight"},
      {"norm1.bias", "ln1.bias"},
      {"norm2.weight", "ln2.weight"},
      {"norm2.bias", "ln2.bias"}};
  std::map<std::string, std::string> names;
  for (const auto& [t, f] : pairs) names[torch_prefix + t] = focus_prefix + f;
  return names;
}

std::string fixture(const std::string& name) { return std::string(FOCUS_FIXTURES) + "/" + name; }

ScratchDir::ScratchDir(const std::string& name) {
  static std::atomic<int> count{0};
  path_ = std::filesystem::path(::testing::TempDir()) /
          ("focus_" + name + "_" + std::to_string(getpid()) + "_" + std::to_string(count++));
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

ScratchDir::~ScratchDir() {
  if (::testing::Test::HasFailure()) {
    std::fprintf(stderr, "kept for inspection: %s\n", path_.c_str());
    return;
  }
  std::error_code ignored;  // a destructor must not throw; a leftover is only untidy
  std::filesystem::remove_all(path_, ignored);
}

::testing::AssertionResult all_close(const Tensor& actual, const Tensor& expected, float rtol,
                                     float atol) {
  if (!actual.defined() || !expected.defined())
    return ::testing::AssertionFailure() << "undefined tensor (actual defined: " << actual.defined()
                                         << ", expected defined: " << expected.defined() << ")";
  if (actual.shape() != expected.shape())
    return ::testing::AssertionFailure()
           << "shape " << actual.shape() << " differs from expected " << expected.shape();
  std::vector<float> a = actual.to_vector(), e = expected.to_vector();
  double worst = 0;
  int64_t at = -1;
  for (size_t i = 0; i < a.size(); ++i) {
    const bool both_nan = std::isnan(a[i]) && std::isnan(e[i]);
    const bool same_inf = std::isinf(a[i]) && a[i] == e[i];
    if (both_nan || same_inf) continue;
    const double excess = std::fabs(double(a[i]) - e[i]) - (atol + rtol * std::fabs(double(e[i])));
    if (!(excess <= worst)) worst = std::isnan(excess) ? INFINITY : excess, at = int64_t(i);
  }
  if (at < 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "element " << at << " of " << actual.shape() << ": got " << a[at] << ", expected "
         << e[at] << " (|diff| " << std::fabs(a[at] - e[at]) << " > atol " << atol << " + rtol "
         << rtol << "·|expected|)";
}

void expect_error(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const std::string& p : parts)
      EXPECT_NE(msg.find(p), std::string::npos) << "message '" << msg << "' lacks '" << p << "'";
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "message is not one line: " << msg;
    return;
  }
  ADD_FAILURE() << "expected a focus::Error mentioning '" << (parts.empty() ? "" : parts[0]) << "'";
}

}  // namespace focus::test

namespace focus::test {

Tensor random_tensor(const Shape& shape, uint64_t seed, float lo, float hi) {
  Generator gen(seed);
  return Tensor::uniform(shape, lo, hi, gen);
}

std::shared_ptr<data::TensorDataset> random_token_dataset(int64_t n, int64_t len, int64_t vocab,
                                                          int64_t classes, Generator& gen) {
  Tensor u = Tensor::uniform({n, len}, 0.0f, float(vocab) - 0.01f, gen);
  std::vector<int32_t> ids(static_cast<size_t>(n * len)), labels(static_cast<size_t>(n));
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = int32_t(u.data()[i]);
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = int32_t(int64_t(i) % classes);
  return std::make_shared<data::TensorDataset>(Tensor::from_indices(ids, {n, len}), labels);
}

Tensor random_away_from_zero(const Shape& shape, uint64_t seed, float min_abs, float max_abs) {
  Generator gen(seed);
  Tensor mag = Tensor::uniform(shape, min_abs, max_abs, gen);
  Tensor sign = Tensor::bernoulli(shape, 0.5f, gen);
  std::vector<float> m = mag.to_vector(), s = sign.to_vector();
  for (size_t i = 0; i < m.size(); ++i) m[i] = s[i] != 0.0f ? m[i] : -m[i];
  return Tensor::from_vector(m, shape);
}

namespace {

// Σ out ⊙ r, accumulated in double.
double weighted_sum(const Tensor& out, const std::vector<float>& r) {
  std::vector<float> o = out.to_vector();
  double s = 0;
  for (size_t i = 0; i < o.size(); ++i) s += double(o[i]) * double(r[i]);
  return s;
}

}  // namespace

::testing::AssertionResult check_gradients(const GradFn& fn, const std::vector<Tensor>& inputs,
                                           float eps, float tol) {
  // Private contiguous copies, so perturbing them never touches the caller's tensors.
  std::vector<std::vector<float>> values;
  for (const Tensor& t : inputs) values.push_back(t.detach().to_vector());
  auto make_leaves = [&](bool grad) {
    std::vector<Tensor> leaves;
    for (size_t i = 0; i < inputs.size(); ++i) {
      Tensor t = Tensor::from_vector(values[i], inputs[i].shape());
      if (grad) t.requires_grad_();
      leaves.push_back(t);
    }
    return leaves;
  };

  // Analytic: backward of Σ out ⊙ R.
  std::vector<Tensor> leaves = make_leaves(true);
  Tensor out = fn(leaves);
  if (!out.defined() || out.dtype() != DType::f32)
    return ::testing::AssertionFailure() << "the function returned no f32 tensor";
  if (!out.requires_grad())
    return ::testing::AssertionFailure()
           << "the output " << out.shape() << " does not require grad: nothing was recorded";
  const Tensor r = random_tensor(out.shape(), 0xC0FFEE, -1.0f, 1.0f);
  const std::vector<float> rv = r.to_vector();
  sum(mul(out, r)).backward();

  autograd::NoGradGuard no_grad;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Tensor g = leaves[i].grad();
    if (!g.defined())
      return ::testing::AssertionFailure()
             << "input " << i << " " << inputs[i].shape() << " received no gradient";
    if (g.shape() != inputs[i].shape())
      return ::testing::AssertionFailure() << "input " << i << ": gradient shape " << g.shape()
                                           << " differs from the input's " << inputs[i].shape();
    const std::vector<float> ana = g.to_vector();

    // Numeric: central differences, one element at a time.
    std::vector<double> num(values[i].size());
    for (size_t k = 0; k < values[i].size(); ++k) {
      const float x0 = values[i][k];
      values[i][k] = x0 + eps;
      const double plus = weighted_sum(fn(make_leaves(false)), rv);
      values[i][k] = x0 - eps;
      const double minus = weighted_sum(fn(make_leaves(false)), rv);
      values[i][k] = x0;
      // The actual step in f32 can differ slightly from 2·eps; divide by the step taken.
      const double step = double(x0 + eps) - double(x0 - eps);
      num[k] = (plus - minus) / step;
    }

    double diff2 = 0, num2 = 0, ana2 = 0, worst = -1;
    size_t worst_at = 0;
    for (size_t k = 0; k < num.size(); ++k) {
      const double d = num[k] - ana[k];
      diff2 += d * d, num2 += num[k] * num[k], ana2 += double(ana[k]) * ana[k];
      if (std::fabs(d) > worst) worst = std::fabs(d), worst_at = k;
    }
    const double rel = std::sqrt(diff2) / std::max({std::sqrt(num2), std::sqrt(ana2), 1e-3});
    if (!(rel < tol))
      return ::testing::AssertionFailure()
             << "input " << i << " " << inputs[i].shape() << ": relative error " << rel
             << " >= " << tol << " (||numeric|| " << std::sqrt(num2) << ", ||analytic|| "
             << std::sqrt(ana2) << "); worst element " << worst_at << ": numeric " << num[worst_at]
             << ", analytic " << ana[worst_at];
  }
  return ::testing::AssertionSuccess();
}

CliResult run_cli(const std::string& args) {
  static const std::string focus = std::string(FOCUS_BINARY_DIR) + "/focus";
  return run_shell(focus + " " + args);
}

CliResult run_shell(const std::string& command) {
  CliResult r;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  char buf[4096];
  while (p && fgets(buf, sizeof buf, p)) r.out += buf;
  const int raw = p ? pclose(p) : -1;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return r;
}

}  // namespace focus::test
