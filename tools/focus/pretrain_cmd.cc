// focus pretrain --config file.json --out DIR: masked-token pretraining of a sequence
// transformer's encoder on every text outside the test split, saved for `focus train` to start
// from (train.init = DIR). One pretraining then serves any number of fine-tunings: other seeds,
// other validation splits, the folds of a cross-validation.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>

#include "app.h"
#include "focus/pretrain.h"
#include "pretrained.h"

namespace focus::cli {

int pretrain_main(int argc, char** argv) {
  CLI::App app{
      "Pretrain a sequence transformer's encoder on masked tokens of every training and "
      "validation text (labels unread; the test split stays unread), for focus train "
      "--set train.init=DIR.",
      "focus pretrain"};
  std::string config_path, out = "out/pretrain";
  std::vector<std::string> sets;
  int threads = 0;
  int64_t seed = -1, epochs = 0;
  bool quiet = false, check = false;
  app.add_option("--config", config_path, "JSON config (see configs/)")->required();
  app.add_option("--out", out, "output directory (pretrained.safetensors, config.json, ...)");
  app.add_option("--threads", threads, "threads (default: FOCUS_THREADS or all cores)");
  app.add_option("--seed", seed, "overrides train.seed");
  app.add_option("--epochs", epochs, "overrides train.pretrain_epochs");
  app.add_option("--set", sets, "any config value: --set train.pretrain_mask=0.2 (repeatable)");
  app.add_flag("--quiet", quiet, "no progress display");
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
  if (epochs > 0) cfg["train"]["pretrain_epochs"] = epochs;

  config::Reader root(cfg);
  config::Reader data_cfg = root.object("data");
  config::Reader train_cfg = root.object("train");
  if (!train_cfg.string("init", "").empty())
    throw config::ConfigError(
        "config: train.init has no meaning for focus pretrain, which starts from the seed's "
        "initialisation");
  const train::FitOptions fit = train::fit_options(train_cfg);
  train_cfg.finish();
  if (fit.pretrain_epochs < 1)
    throw config::ConfigError(
        "config: focus pretrain needs train.pretrain_epochs >= 1 (or --epochs N)");
  const models::ModelSpec model_spec = read_model_spec(root, cfg);
  if (model_spec.kind() != "sequence_transformer")
    throw config::ConfigError(
        detail::cat("config: focus pretrain needs a sequence_transformer model, got model.kind '",
                    model_spec.kind(), "'"));
  root.finish();
  const char* no_mask_id =
      "config: this task's data has no hidden-token id, so its model cannot be pretrained on "
      "masked tokens";
  const TaskContext ctx{.model_dir = out, .training = true, .pretraining = true};
  if (check) return check_config(model_spec, data_cfg, cfg, ctx, no_mask_id);
  std::filesystem::create_directories(out);
  Splits splits = load_data(data_cfg, ctx, nullptr);
  data_cfg.finish();
  if (splits.mask_id < 0) throw config::ConfigError(no_mask_id);

  manual_seed(fit.seed);  // initialisation draws from the seed, as in focus train
  auto model = model_spec.make(splits.input, default_generator());
  auto* sequence_model = dynamic_cast<models::SequenceClassifier*>(model.get());
  FOCUS_CHECK(sequence_model, "focus pretrain: the model is not a sequence classifier");
  int64_t encoder_size = 0;
  for (const auto& [name, t] : sequence_model->encoder_parameters()) encoder_size += t.numel();
  std::printf(
      "model: %lld parameters, %lld in the encoder; pretraining on %lld texts; %d threads\n",
      (long long)model->parameter_count(), (long long)encoder_size, (long long)splits.train->size(),
      num_threads());
  print_training_precision(fit.precision);
  std::fflush(stdout);
  const train::MaskedLmResult p = train::pretrain_masked(
      *sequence_model, splits.train, nullptr, masked_lm_options(fit, splits.mask_id, out, !quiet));
  // The weights first, then the config that says what they are: a directory with a config.json
  // and no weights is never left behind as if complete (open_pretrained_dir needs both).
  save_encoder(*sequence_model, out);
  write_text_atomic((std::filesystem::path(out) / "config.json").string(), cfg.dump(2) + "\n");
  std::printf(
      "pretrained %lld steps in %.1f s; last epoch's masked-token loss %.4f, accuracy "
      "%.2f%%\noutputs in %s (train from it: focus train --config CONFIG --set "
      "train.init=%s)\n",
      (long long)p.steps, p.seconds, double(p.train_loss), 100.0 * double(p.train_accuracy),
      out.c_str(), out.c_str());
  return kOk;
}

}  // namespace focus::cli
