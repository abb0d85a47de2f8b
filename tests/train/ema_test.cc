// train.ema: the exponential moving average of the weights follows its recursion step by step,
// resumes bit for bit, is what best.safetensors keeps, and a resume that changes it is refused.
#include <cmath>
#include <filesystem>
#include <fstream>

#include "focus/focus.h"
#include "focus/tasks.h"
#include "focus/train.h"
#include "focus/trainer.h"
#include "test_util.h"

namespace focus::train {
namespace {

namespace fs = std::filesystem;

class EmaTest : public ::testing::Test {
 protected:
  static std::unique_ptr<models::SequenceClassifier> model() {
    Generator gen(3);
    return std::make_unique<models::SequenceClassifier>(
        models::SequenceClassifierOptions{
            .vocab = 16, .max_len = 6, .classes = 6, .dim = 16, .depth = 1, .heads = 2},
        gen);
  }
  FitOptions options(const std::string& out, float ema) const {
    FitOptions o;
    o.epochs = 1;
    o.batch = 16;
    o.lr = 0.05f;  // large steps, so that the average and the weights part clearly
    o.ema = ema;
    o.checkpoint_every = 1;
    o.progress = false;
    o.out_dir = dir_.file(out);
    return o;
  }
  std::shared_ptr<tasks::ArgmaxPosition> train_ =
      std::make_shared<tasks::ArgmaxPosition>(96, 6, 16, 1);
  std::shared_ptr<tasks::ArgmaxPosition> val_ =
      std::make_shared<tasks::ArgmaxPosition>(32, 6, 16, 2);
  test::ScratchDir dir_{"ema"};
};

std::map<std::string, Tensor> averaged(const Checkpoint& ck) {
  std::map<std::string, Tensor> out;
  for (const auto& [name, t] : ck.optimizer)
    if (name.rfind("ema/", 0) == 0) out[name.substr(4)] = t;
  return out;
}

TEST_F(EmaTest, FollowsItsRecursionStepByStepAndResumesBitIdentically) {
  constexpr float kDecay = 0.8f;
  // One step per run, each resuming the last: the checkpoints show every step's weights w_t and
  // average e_t, which must satisfy e_t = d_t·e_{t-1} + (1 - d_t)·w_t, d_t = min(0.8, t/(9+t)),
  // from e_0 = the initial weights.
  auto m = model();
  std::map<std::string, Tensor> e;  // copies: state_dict() shares the model's storage
  for (const auto& [name, t] : m->state_dict())
    e[name] = Tensor::from_vector(t.to_vector(), t.shape());
  manual_seed(7);
  const int64_t steps = 5;  // of 6 in the epoch: no epoch end (and no validation) in between
  for (int64_t t = 1; t <= steps; ++t) {
    FitOptions o = options("stepwise", kDecay);
    o.max_steps = t;
    o.resume = t > 1;
    fit(*m, train_, val_, o);
    const Checkpoint ck = load_checkpoint((fs::path(o.out_dir) / "last.safetensors").string());
    const std::map<std::string, Tensor> got = averaged(ck);
    ASSERT_EQ(got.size(), e.size()) << "step " << t;
    const double d = std::min(double(kDecay), double(t) / double(9 + t));
    double parted = 0.0;
    for (auto& [name, prev] : e) {
      const std::vector<float> w = ck.model.at(name).to_vector(), p = prev.to_vector(),
                               g = got.at(name).to_vector();
      std::vector<float> want(w.size());
      for (size_t j = 0; j < w.size(); ++j) {
        want[j] = float(d * p[j] + (1.0 - d) * w[j]);
        EXPECT_NEAR(g[j], want[j], 1e-6 + 1e-5 * std::abs(want[j])) << name << " step " << t;
        parted = std::max(parted, double(std::abs(g[j] - w[j])));
      }
      prev = Tensor::from_vector(want, got.at(name).shape());
    }
    EXPECT_GT(parted, 1e-4) << "the average equals the weights at step " << t;
  }
  // The same five steps in one run: the same weights and average, bit for bit.
  auto m2 = model();
  manual_seed(7);
  FitOptions o = options("straight", kDecay);
  o.max_steps = steps;
  fit(*m2, train_, val_, o);
  const Checkpoint a = load_checkpoint(dir_.file("stepwise/last.safetensors"));
  const Checkpoint b = load_checkpoint(dir_.file("straight/last.safetensors"));
  for (const auto& [name, t] : a.model) EXPECT_EQ(t.to_vector(), b.model.at(name).to_vector());
  for (const auto& [name, t] : a.optimizer)
    EXPECT_EQ(t.to_vector(), b.optimizer.at(name).to_vector()) << name;
}

TEST_F(EmaTest, BestCheckpointHoldsTheAverageAndTheLogScoresBoth) {
  auto m = model();
  manual_seed(7);
  FitOptions o = options("run", 0.5f);
  const FitResult r = fit(*m, train_, val_, o);
  ASSERT_EQ(r.best_epoch, 1);
  const Checkpoint last = load_checkpoint((fs::path(o.out_dir) / "last.safetensors").string());
  const Checkpoint best = load_checkpoint((fs::path(o.out_dir) / "best.safetensors").string());
  const std::map<std::string, Tensor> avg = averaged(last);
  ASSERT_FALSE(avg.empty());
  bool differs = false;
  for (const auto& [name, t] : avg) {
    EXPECT_EQ(best.model.at(name).to_vector(), t.to_vector()) << name;
    differs |= last.model.at(name).to_vector() != t.to_vector();
  }
  EXPECT_TRUE(differs) << "last.safetensors should hold the raw weights";
  EXPECT_TRUE(averaged(best).empty());
  // The model fit() leaves behind holds the raw weights.
  for (const auto& [name, t] : m->state_dict())
    EXPECT_EQ(t.to_vector(), last.model.at(name).to_vector()) << name;

  // val_accuracy is the average's (best.safetensors scored), raw_val_accuracy the weights'.
  std::ifstream f(fs::path(o.out_dir) / "log.jsonl");
  nlohmann::json epoch;
  for (std::string line; std::getline(f, line);) {
    const nlohmann::json j = nlohmann::json::parse(line);
    if (j["kind"] == "epoch") epoch = j;
  }
  ASSERT_TRUE(epoch.contains("raw_val_accuracy")) << epoch.dump();
  auto scored = model();
  scored->load_state_dict(best.model);
  EXPECT_FLOAT_EQ(epoch["val_accuracy"].get<float>(), evaluate(*scored, val_).accuracy);
  scored->load_state_dict(last.model);
  EXPECT_FLOAT_EQ(epoch["raw_val_accuracy"].get<float>(), evaluate(*scored, val_).accuracy);
}

TEST_F(EmaTest, ResumeThatTurnsItOnOrOffIsRefused) {
  auto m = model();
  for (const float written : {0.9f, 0.0f}) {
    FitOptions o = options(written > 0 ? "on" : "off", written);
    o.max_steps = 2;
    fit(*m, train_, val_, o);
    o.resume = true;
    o.max_steps = 3;
    o.ema = written > 0 ? 0.0f : 0.9f;
    test::expect_error([&] { fit(*m, train_, val_, o); }, {"resume", "train.ema", "on", "off"});
  }
}

TEST(EmaConfig, IsReadAndChecked) {
  nlohmann::json j = {{"ema", 0.999}};
  config::Reader r(j, "train");
  EXPECT_FLOAT_EQ(fit_options(r).ema, 0.999f);
  for (double bad : {1.0, -0.1}) {
    nlohmann::json k = {{"ema", bad}};
    config::Reader rk(k, "train");
    test::expect_error([&] { fit_options(rk); }, {"ema"});
  }
  nlohmann::json none = nlohmann::json::object();
  config::Reader rn(none, "train");
  EXPECT_EQ(fit_options(rn).ema, 0.0f);
}

}  // namespace
}  // namespace focus::train
