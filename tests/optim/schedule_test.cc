// Learning-rate schedules against torch.optim.lr_scheduler curves (tests/fixtures/optim/
// schedules.safetensors), plus the edges the fixture does not reach.
#include <cmath>
#include <nlohmann/json.hpp>

#include "focus/optim.h"
#include "test_util.h"

namespace focus {
namespace {

using nlohmann::json;
using test::expect_error;

// torch keeps the rate in double and some schedulers update it recursively; Focus computes the
// closed form in double. Both round to f32 here, so they differ by at most an ulp or two.
constexpr float kRtol = 1e-6f;

struct Curves {
  io::TensorFile f = io::load_safetensors(test::fixture("optim/schedules.safetensors"));
  int64_t steps = std::stoll(f.metadata.at("steps"));
  json options(const std::string& name) const {
    return json::parse(f.metadata.at(name + ".options"));
  }
  Tensor expected(const std::string& name) const { return f.at(name + ".lr"); }
};

float num(const json& o, const char* key) { return static_cast<float>(o.at(key).get<double>()); }

Tensor sample(const optim::Schedule& s, int64_t steps) {
  std::vector<float> lr;
  for (int64_t t = 0; t < steps; ++t) lr.push_back(s.lr(t));
  return Tensor::from_vector(lr, {steps});
}

TEST(Schedules, ConstantMatchesTorch) {
  Curves c;
  const json o = c.options("constant");
  FOCUS_EXPECT_CLOSE(sample(*optim::constant(num(o, "base")), c.steps), c.expected("constant"),
                     kRtol, 0.0f);
}

TEST(Schedules, StepDecayMatchesTorchStepLR) {
  Curves c;
  const json o = c.options("step_decay");
  auto s = optim::step_decay(num(o, "base"), o.at("step_size").get<int64_t>(), num(o, "gamma"));
  FOCUS_EXPECT_CLOSE(sample(*s, c.steps), c.expected("step_decay"), kRtol, 0.0f);
}

TEST(Schedules, CosineMatchesTorchCosineAnnealingLR) {
  Curves c;
  const json o = c.options("cosine");
  auto s = optim::cosine(num(o, "base"), o.at("total").get<int64_t>(), num(o, "min_lr"));
  FOCUS_EXPECT_CLOSE(sample(*s, c.steps), c.expected("cosine"), kRtol, 0.0f);
  // Past the horizon the rate stays at min_lr (torch's would climb back up).
  EXPECT_EQ(s->lr(o.at("total").get<int64_t>()), num(o, "min_lr"));
  EXPECT_EQ(s->lr(1000), num(o, "min_lr"));
}

TEST(Schedules, WarmupCosineMatchesDocumentedFormula) {
  Curves c;
  const json o = c.options("warmup_cosine");
  const float base = num(o, "base"), min_lr = num(o, "min_lr");
  const int64_t warmup = o.at("warmup").get<int64_t>(), total = o.at("total").get<int64_t>();
  auto s = optim::warmup_cosine(base, warmup, total, min_lr);
  // The fixture runs 10 steps past `total`, into the flat tail.
  ASSERT_GT(c.steps, total);
  FOCUS_EXPECT_CLOSE(sample(*s, c.steps), c.expected("warmup_cosine"), kRtol, 0.0f);
  EXPECT_FLOAT_EQ(s->lr(0), base / float(warmup));
  EXPECT_FLOAT_EQ(s->lr(warmup - 1), base);
  EXPECT_FLOAT_EQ(s->lr(warmup), base);
  EXPECT_EQ(s->lr(total), min_lr);
}

TEST(Schedules, OneCycleMatchesTorchOneCycleLR) {
  Curves c;
  const json o = c.options("one_cycle");
  const float max_lr = num(o, "max_lr");
  const int64_t total = o.at("total").get<int64_t>();
  auto s = optim::one_cycle(max_lr, total, num(o, "pct_start"), num(o, "div_factor"),
                            num(o, "final_div_factor"));
  FOCUS_EXPECT_CLOSE(sample(*s, c.steps), c.expected("one_cycle"), kRtol, 0.0f);
  EXPECT_FLOAT_EQ(s->lr(0), max_lr / 25.0f);
  const float final_lr = float(double(max_lr) / 25.0 / 1e4);
  EXPECT_FLOAT_EQ(s->lr(total - 1), final_lr);
  EXPECT_FLOAT_EQ(s->lr(total + 5), final_lr);  // stays there (torch raises)
}

void expect_plateau(const std::string& name) {
  Curves c;
  const json o = c.options(name);
  optim::ReduceOnPlateau r(num(o, "base"), num(o, "factor"), o.at("patience").get<int>(),
                           o.at("maximize").get<bool>(), num(o, "min_lr"), num(o, "threshold"));
  const std::vector<float> metric = c.f.at(name + ".metric").to_vector();
  std::vector<float> lr;
  for (float m : metric) lr.push_back(r.observe(m));
  const Tensor got = Tensor::from_vector(lr, {int64_t(lr.size())});
  FOCUS_EXPECT_CLOSE(got, c.expected(name), kRtol, 0.0f);
  // The fixture is only worth something if the rate was actually reduced several times.
  EXPECT_LE(lr.back(), 0.01f * lr.front());
}

TEST(Schedules, ReduceOnPlateauMinMatchesTorch) { expect_plateau("plateau_min"); }
TEST(Schedules, ReduceOnPlateauMaxMatchesTorch) { expect_plateau("plateau_max"); }

TEST(Schedules, ReduceOnPlateauStateRoundTrips) {
  Curves c;
  const std::vector<float> metric = c.f.at("plateau_min.metric").to_vector();
  optim::ReduceOnPlateau a(0.1f, 0.5f, 3, false, 1e-3f, 1e-2f);
  for (size_t i = 0; i < 50; ++i) a.observe(metric[i]);
  optim::ReduceOnPlateau b(0.1f, 0.5f, 3, false, 1e-3f, 1e-2f);
  b.load(a.state());
  for (size_t i = 50; i < metric.size(); ++i) EXPECT_EQ(a.observe(metric[i]), b.observe(metric[i]));
  EXPECT_EQ(a.state().bad, b.state().bad);
  EXPECT_EQ(a.state().best, b.state().best);
}

TEST(Schedules, BadArgumentsAreErrors) {
  expect_error([] { optim::step_decay(0.1f, 0, 0.5f); }, {"step_decay", "step_size", "0"});
  expect_error([] { optim::cosine(0.1f, 0); }, {"cosine", "total"});
  expect_error([] { optim::warmup_cosine(0.1f, 100, 50); }, {"warmup_cosine", "100", "50"});
  expect_error([] { optim::one_cycle(0.1f, 100, 1.5f); }, {"one_cycle", "pct_start", "1.5"});
  expect_error([] { optim::constant(-1.0f); }, {"constant", "base", "-1"});
  expect_error([] { optim::constant(0.1f)->lr(-1); }, {"constant", "step", "-1"});
  expect_error([] { optim::ReduceOnPlateau(0.1f, 1.5f); }, {"ReduceOnPlateau", "factor", "1.5"});
  expect_error([] { optim::ReduceOnPlateau(0.1f).observe(std::nanf("")); },
               {"ReduceOnPlateau", "nan"});
}

}  // namespace
}  // namespace focus
