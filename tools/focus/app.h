// The focus command line: shared pieces of the subcommands.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "focus/focus.h"
#include "focus/models.h"
#include "focus/trainer.h"
#include "task.h"

namespace focus::cli {

// Exit codes: 0 success, 1 usage (bad flags or config), 2 data or I/O.
constexpr int kOk = 0, kUsage = 1, kData = 2;

// The config at `path` with the --set overrides ("a.b=value") applied, and train.seed when
// seed >= 0: what train and pretrain read, and save as the run's config.json.
nlohmann::json resolved_config(const std::string& path, const std::vector<std::string>& sets,
                               int64_t seed);

// The data a config's "data" object names, through its task ("task": "argmax_position", ...).
Splits load_data(config::Reader& data, const TaskContext& ctx, const Task** task = nullptr);

// The config's "model" object read and checked (models::read_model), no data needed; root counts
// the object as read.
models::ModelSpec read_model_spec(config::Reader& root, const nlohmann::json& cfg);

// `focus train --check` and `focus pretrain --check`, once the command's own keys and the model's
// have passed: the task checks its keys (ctx as the command would load the data, check_only set),
// and where it knows the data's sizes without loading it, the model is built to check what depends
// on them (a patch must divide the image). A non-empty masked_error is the ConfigError thrown when
// the task has no hidden-token id for masked-token pretraining. Prints "config ok: ..."; kOk.
int check_config(const models::ModelSpec& model_spec, config::Reader& data_cfg,
                 const nlohmann::json& cfg, TaskContext ctx, const std::string& masked_error);

// A trained model directory: config.json (the resolved config), best.safetensors and whatever
// preprocessing state the task saved there.
struct Loaded {
  std::string dir;
  nlohmann::json config;
  std::unique_ptr<models::Classifier> model;
  Splits splits;
  const Task* task = nullptr;
};
// need_data = false: only what predicting needs (splits.input), the data sets stay null.
Loaded load_model_dir(const std::string& dir, bool need_data = true);

// A model on one of its splits (Splits::named), its probabilities averaged over the views when
// there are any (Task::views).
train::Evaluation evaluate_views(const Loaded& model, const std::string& split,
                                 const Views& views = {});
// The members of r on one of their splits, each on its own data set and through r.views, their
// probabilities averaged when there are several.
train::Evaluation evaluate_members(const Report& r, const std::string& split);
// Writes `text` to path through path.tmp and a rename, so that a failed write never leaves a
// half-written file in place of a good one.
void write_text_atomic(const std::string& path, const std::string& text);

// The members' directories, for a report to say which models it describes.
nlohmann::json member_dirs(const Report& r);

void print_confusion(const train::Evaluation& ev, const std::vector<std::string>& class_names = {});
// At train.precision bf16, says so and what runs at bf16 on this CPU (train and pretrain).
void print_training_precision(Precision p);

int train_main(int argc, char** argv);
int pretrain_main(int argc, char** argv);
int eval_main(int argc, char** argv);
int predict_main(int argc, char** argv);
int inspect_main(int argc, char** argv);

}  // namespace focus::cli
