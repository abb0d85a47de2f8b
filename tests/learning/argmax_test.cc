// A learning test with a bar: a small transformer must find the position of the largest token (a
// task that needs every position compared with every other) to over 95% test accuracy.
#include <chrono>

#include "focus/focus.h"
#include "focus/tasks.h"
#include "focus/trainer.h"
#include "test_util.h"

namespace focus {
namespace {

TEST(Learning, TransformerFindsTheLargestToken) {
  const auto start = std::chrono::steady_clock::now();
  auto train_set = std::make_shared<tasks::ArgmaxPosition>(4000, 8, 48, 11);
  auto val_set = std::make_shared<tasks::ArgmaxPosition>(500, 8, 48, 12);
  auto test_set = std::make_shared<tasks::ArgmaxPosition>(1000, 8, 48, 13);
  manual_seed(1);
  models::SequenceClassifier model(
      {.vocab = 48, .max_len = 8, .classes = 8, .dim = 48, .depth = 2, .heads = 4, .mlp_ratio = 2});
  train::FitOptions opt;
  opt.epochs = 8;
  opt.batch = 64;
  opt.lr = 3e-3f;
  opt.progress = false;
  train::FitResult r = train::fit(model, train_set, val_set, opt);
  model.load_state_dict(model.state_dict());  // (the best epoch is not reloaded: no out_dir)
  train::Evaluation test = train::evaluate(model, test_set);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  RecordProperty("test_accuracy", std::to_string(test.accuracy));
  std::printf("argmax task: best validation %.2f%%, test %.2f%% after %lld steps, %.1f s\n",
              100.0 * r.best_accuracy, 100.0 * test.accuracy, (long long)r.steps, secs);
  EXPECT_GT(test.accuracy, 0.95f);
  // A model that cannot attend (mean of embeddings) sits near chance: 1/8.
  EXPECT_GT(r.best_accuracy, 0.95f);
}

}  // namespace
}  // namespace focus
