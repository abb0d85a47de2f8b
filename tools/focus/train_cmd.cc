// focus train --config file.json [--out DIR] [--set key.path=value]...
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "app.h"
#include "focus/pretrain.h"
#include "pretrained.h"

namespace focus::cli {

int train_main(int argc, char** argv) {
  CLI::App app{"Train a model from a JSON config; flags override the config's values.",
               "focus train"};
  std::string config_path, out = "out/train";
  std::vector<std::string> sets;
  int threads = 0;
  int64_t seed = -1, epochs = 0, batch = 0, max_steps = -1;
  double lr = 0;
  bool resume = false, quiet = false, monitor_test = false, no_test = false, check = false;
  app.add_option("--config", config_path, "JSON config (see configs/)")->required();
  app.add_option("--out", out, "output directory (checkpoints, log.jsonl, config.json)");
  app.add_option("--threads", threads, "threads (default: FOCUS_THREADS or all cores)");
  app.add_option("--seed", seed, "overrides train.seed");
  app.add_option("--epochs", epochs, "overrides train.epochs");
  app.add_option("--batch", batch, "overrides train.batch");
  app.add_option("--lr", lr, "overrides train.lr");
  app.add_option("--max-steps", max_steps, "overrides train.max_steps (stop early, for tests)");
  app.add_option("--set", sets, "any config value: --set model.depth=4 (repeatable)");
  app.add_flag("--resume", resume, "continue from OUT/last.safetensors, bit-identically");
  app.add_flag("--quiet", quiet, "no progress display");
  app.add_flag("--monitor-test", monitor_test,
               "also evaluate the test split after every epoch and log it (kind \"monitor\"), for "
               "time-to-accuracy benchmarks; it is never used for any choice");
  app.add_flag("--no-test", no_test,
               "do not score the test split at the end (cross-validation folds, searches: "
               "choices stay blind to it); the model is trained and saved as usual");
  app.add_flag("--check", check,
               "read and check the config (with the --set and flag overrides) and exit: no data is "
               "loaded and nothing is written");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kOk : kUsage;
  }
  if (threads > 0) set_num_threads(threads);

  nlohmann::json cfg = resolved_config(config_path, sets, seed);
  if (epochs > 0) cfg["train"]["epochs"] = epochs;
  if (batch > 0) cfg["train"]["batch"] = batch;
  if (lr > 0) cfg["train"]["lr"] = lr;
  if (max_steps >= 0) cfg["train"]["max_steps"] = max_steps;

  // Read and check the whole config before any work: a typo fails in milliseconds.
  config::Reader root(cfg);
  config::Reader train_cfg = root.object("train");
  // A `focus pretrain` directory to start from (pretrained.h); checked before the data loads.
  const std::string init = train_cfg.string("init", "");
  const Pretrained pretrained = init.empty() ? Pretrained{} : open_pretrained_dir(init, cfg);
  train::FitOptions fit = train::fit_options(train_cfg);
  train_cfg.finish();
  const models::ModelSpec model_spec = read_model_spec(root, cfg);
  const bool masked_tokens = fit.pretrain_epochs > 0 || !init.empty();
  const char* masked_error =
      "config: train.pretrain_epochs and train.init need a sequence_transformer model on token "
      "ids (the spam task); this config's model and data have no masked-token objective";
  if (masked_tokens && model_spec.kind() != "sequence_transformer")
    throw config::ConfigError(masked_error);
  config::Reader data_cfg = root.object("data");
  root.finish();
  const TaskContext ctx{.model_dir = out, .training = true, .preprocessing_from = init};
  if (check) return check_config(model_spec, data_cfg, cfg, ctx, masked_tokens ? masked_error : "");
  // Tasks that fit preprocessing on the training split save it into `out`, so it must exist.
  std::filesystem::create_directories(out);
  const Task* task = nullptr;
  Splits splits = load_data(data_cfg, ctx, &task);
  data_cfg.finish();

  manual_seed(fit.seed);  // initialisation and dropout draw from default_generator()
  auto model = model_spec.make(splits.input, default_generator());
  auto* sequence_model = dynamic_cast<models::SequenceClassifier*>(model.get());
  // The model is a sequence transformer here (checked above); the data may still lack a mask id.
  if (masked_tokens && splits.mask_id < 0) throw config::ConfigError(masked_error);
  // The encoder pretrained in `init` replaces this run's own pretraining; the pooling and head
  // keep this seed's initialisation. (A resumed run's last.safetensors holds its weights.)
  if (!init.empty() && !resume) load_encoder(*sequence_model, pretrained);
  if (splits.augment) fit.transform = splits.augment;
  fit.example_weights = splits.train_weights;
  fit.out_dir = out;
  fit.resume = resume;
  fit.progress = !quiet;
  if (monitor_test) fit.monitor = splits.test;
  {
    std::ofstream f(std::filesystem::path(out) / "config.json");
    f << cfg.dump(2) << "\n";
    FOCUS_CHECK(f.good(), "cannot write ", out, "/config.json");
  }
  std::printf("model: %lld parameters; data: %lld train, %lld validation, %lld test; %d threads\n",
              (long long)model->parameter_count(), (long long)splits.train->size(),
              (long long)splits.validation->size(), (long long)splits.test->size(), num_threads());
  print_training_precision(fit.precision);
  if (!init.empty())
    std::printf(
        "encoder from %s%s\n", init.c_str(),
        fit.pretrain_epochs > 0 ? " (it replaces this config's train.pretrain_epochs)" : "");
  std::fflush(stdout);
  if (fit.pretrain_epochs > 0 && init.empty() && !resume) {
    // A resumed run's last.safetensors already holds the pretrained (and fine-tuned) weights.
    const train::MaskedLmResult p =
        train::pretrain_masked(*sequence_model, splits.train, splits.validation,
                               masked_lm_options(fit, splits.mask_id, out, !quiet));
    std::printf(
        "pretrained %lld steps in %.1f s; masked-token validation loss %.4f -> %.4f, accuracy "
        "%.2f%%\n",
        (long long)p.steps, p.seconds, double(p.first_val_loss), double(p.val_loss),
        100.0 * double(p.val_accuracy));
    std::fflush(stdout);
  }
  train::FitResult r = train::fit(*model, splits.train, splits.validation, fit, cfg);
  if (fit.max_steps > 0 && r.best_epoch < 0) {  // stopped before any epoch ended
    const std::string last = (std::filesystem::path(out) / "last.safetensors").string();
    const std::string resume =
        std::filesystem::exists(last) ? " (--resume continues from " + last + ")" : "";
    std::printf(
        "trained %lld steps in %.1f s; stopped by max_steps before the first epoch ended: nothing "
        "validated or tested%s\n",
        (long long)r.steps, r.seconds, resume.c_str());
    return kOk;
  }
  std::printf("trained %lld steps in %.1f s; best validation accuracy %.2f%% (epoch %lld)%s\n",
              (long long)r.steps, r.seconds, 100.0 * r.best_accuracy, (long long)r.best_epoch,
              r.early_stopped ? ", stopped early" : "");
  if (no_test) {
    std::printf("outputs in %s (the test split was not read: --no-test)\n", out.c_str());
    return kOk;
  }
  // The test split is used once, at the end, with the model chosen on validation.
  Loaded best = load_model_dir(out);
  train::Evaluation test = train::evaluate(*best.model, splits.test);
  print_confusion(test, splits.class_names);
  task->report({.members = {&best}, .test = test, .dir = out});
  // Test accuracy last: `make run` ends with it.
  std::printf("outputs in %s\ntest loss: %.4f\ntest accuracy: %.2f%%\n", out.c_str(), test.loss,
              100.0 * test.accuracy);
  return kOk;
}

}  // namespace focus::cli
