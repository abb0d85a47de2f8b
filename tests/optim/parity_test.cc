// Twenty steps of Sgd, Adam and AdamW against torch.optim (1.13) on the same parameters and
// gradients (tests/fixtures/optim, scripts/gen_optim_fixtures.py): the parameters after every step.
#include <cmath>
#include <functional>
#include <memory>
#include <sstream>

#include "optim_fixture.h"

namespace focus {
namespace {

using nlohmann::json;
using optim::NamedTensors;
using Make = std::function<std::unique_ptr<optim::Optimizer>(NamedTensors, const json&)>;

// Tolerances: one rounding of f32 per operation on both sides, over 20 steps. With FMA hardware
// Focus performs torch's operations in torch's order and matches to the bit on this fixture; the
// tolerance leaves room for machines (or builds) whose torch kernels round differently.
constexpr float kRtol = 1e-5f, kAtol = 1e-6f;

float opt_float(const json& o, const char* key) {
  return static_cast<float>(o.at(key).get<double>());
}

// Runs every case of `file` and compares the parameters after each step; returns the largest
// |focus − torch| seen, for the record.
double run_file(const std::string& file, const Make& make) {
  const io::TensorFile f = io::load_safetensors(test::fixture("optim/" + file));
  const int64_t steps = std::stoll(f.metadata.at("steps"));
  const json cases = json::parse(f.metadata.at("cases"));
  EXPECT_GE(cases.size(), 2u);
  double worst = 0;
  for (const auto& c : cases) {
    const std::string name = c.get<std::string>();
    SCOPED_TRACE(file + " case " + name);
    const json options = json::parse(f.metadata.at(name + ".options"));
    const json skip = test::case_json(f, name + ".skip", "{}");
    std::unique_ptr<optim::Optimizer> opt = make(test::initial_params(f), options);
    for (int64_t t = 0; t < steps; ++t) {
      test::set_step_grads(opt->params(), f, skip, t);
      opt->step();
      for (const auto& [k, p] : opt->params()) {
        const Tensor expected = test::row(f.at(name + "." + k), t + 1);
        FOCUS_EXPECT_CLOSE(p, expected, kRtol, kAtol) << "parameter " << k << " after step " << t;
        const std::vector<float> a = p.to_vector(), e = expected.to_vector();
        for (size_t i = 0; i < a.size(); ++i)
          worst = std::max(worst, std::fabs(double(a[i]) - e[i]));
      }
    }
    EXPECT_EQ(opt->steps(), steps);
  }
  return worst;
}

optim::SgdOptions sgd_options(const json& o) {
  return {.lr = opt_float(o, "lr"),
          .momentum = opt_float(o, "momentum"),
          .dampening = opt_float(o, "dampening"),
          .weight_decay = opt_float(o, "weight_decay"),
          .nesterov = o.at("nesterov").get<bool>()};
}

optim::AdamOptions adam_options(const json& o) {
  return {.lr = opt_float(o, "lr"),
          .beta1 = opt_float(o, "beta1"),
          .beta2 = opt_float(o, "beta2"),
          .eps = opt_float(o, "eps"),
          .weight_decay = opt_float(o, "weight_decay"),
          .decay_norms_and_biases = o.at("decay_norms_and_biases").get<bool>()};
}

TEST(OptimParity, SgdPlainMomentumNesterovWeightDecay) {
  const double worst = run_file("sgd.safetensors", [](NamedTensors p, const json& o) {
    return std::make_unique<optim::Sgd>(std::move(p), sgd_options(o));
  });
  RecordProperty("max_abs_diff", (std::ostringstream() << worst).str());
}

TEST(OptimParity, AdamPlainWeightDecayAndSkippedParameter) {
  const double worst = run_file("adam.safetensors", [](NamedTensors p, const json& o) {
    return std::make_unique<optim::Adam>(std::move(p), adam_options(o));
  });
  RecordProperty("max_abs_diff", (std::ostringstream() << worst).str());
}

TEST(OptimParity, AdamWDecaysRank2OnlyByDefault) {
  const double worst = run_file("adamw.safetensors", [](NamedTensors p, const json& o) {
    return std::make_unique<optim::AdamW>(std::move(p), adam_options(o));
  });
  RecordProperty("max_abs_diff", (std::ostringstream() << worst).str());
}

}  // namespace
}  // namespace focus
