// Tasks: what connects a config's "data" object to data sets, and a model directory to the inputs
// `focus predict` reads. Each application (argmax_position, fashion_mnist, spam, commands) is one
// Task in its own task_<name>.cc, listed once in tasks.cc.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "focus/config.h"
#include "focus/data.h"
#include "focus/models.h"
#include "focus/trainer.h"

namespace focus::cli {

struct Splits {
  std::shared_ptr<const data::Dataset> train, validation, test;  // null when not needed
  // What models::build needs to know of the data: {"classes": C, ...} plus the task's own keys
  // (token ids: "vocab", "length"; images: "channels", "height", "width"; ...).
  nlohmann::json input;
  std::vector<std::string> class_names;  // optional; [classes] when given
  data::Transform augment;               // applied to training examples only; optional
  // Loss weight of each training example (train_weights[i] for train->get(i)); empty: all 1.
  std::vector<float> train_weights;
  // A token id the data never contains, for masked-token pretraining (train.pretrain_epochs);
  // -1: the task has none, and pretraining is a config error.
  int32_t mask_id = -1;

  // "train", "validation" or "test"; null for another name or a split not loaded.
  std::shared_ptr<const data::Dataset> named(const std::string& split) const {
    return split == "train"        ? train
           : split == "validation" ? validation
           : split == "test"       ? test
                                   : nullptr;
  }
};

struct TaskContext {
  // The model directory. Training fits preprocessing (a tokenizer, statistics) on the training
  // split and saves it here; loading a trained model reads it back from here.
  std::string model_dir;
  bool training = false;
  // False when only `input` (and what predict needs) is wanted: the data sets may stay null.
  bool need_data = true;
  // focus train/pretrain --check: the task reads and checks its keys and returns before it opens,
  // fetches or synthesises anything: Splits with no data sets, and `input` and `mask_id` where they
  // are known without the data (`input` empty where it is not, as with a tokenizer still to be
  // fitted).
  bool check_only = false;
  // `focus pretrain`: the sets are for masked-token pretraining, which reads no labels, so every
  // example outside the test split (training and validation) is in `train` and preprocessing is
  // fitted on all of them; validation and test stay null. Tasks without pretraining ignore it
  // (their Splits::mask_id is -1, which the command refuses).
  bool pretraining = false;
  // train.init: a `focus pretrain` directory whose fitted preprocessing (spam: tokenizer.model) is
  // reused, and saved into model_dir, instead of being fitted on the training split; empty: fit.
  std::string preprocessing_from;
};

struct PredictOptions {
  std::string input;      // a file or a literal, as the task reads it
  std::string attention;  // where to write the attention view; empty: none
  int top = 5;            // classes to print
};

struct Loaded;

// Test-time views (focus eval --shifts/--warps/--mirror): each example taken several fixed ways
// and the model's probabilities averaged over them. Speech: every combination of a shift and a
// warp (empty lists: the clips as they are). Images: each image as it is and mirrored.
struct Views {
  std::vector<double> shifts_ms, warps;
  bool mirror = false;
  bool none() const { return !heard() && !mirror; }
  bool heard() const { return !shifts_ms.empty() || !warps.empty(); }
  // The lists as heard: an empty one is the identity (0 ms, warp 1).
  std::vector<double> shifts_heard() const {
    return shifts_ms.empty() ? std::vector{0.0} : shifts_ms;
  }
  std::vector<double> warps_heard() const { return warps.empty() ? std::vector{1.0} : warps; }
  int64_t count() const {
    return int64_t(shifts_heard().size() * warps_heard().size()) * (mirror ? 2 : 1);
  }
  // How a report records them ("views"): the lists as heard when any is given, and the mirror.
  nlohmann::json json() const {
    nlohmann::json j = nlohmann::json::object();
    if (heard()) j = {{"shifts_ms", shifts_heard()}, {"warps", warps_heard()}};
    if (mirror) j["mirror"] = true;
    return j;
  }
};

// What a task's report is made of: one trained model, or the members of an ensemble (same task,
// same examples in the same order, each with its own preprocessing and so its own data sets).
struct Report {
  std::vector<const Loaded*> members;  // at least one
  train::Evaluation test;              // of the test split; the members' probabilities averaged
  std::string dir;                     // where the report's files are written
  Views views;                         // how test (and validation) examples were heard
};

class Task {
 public:
  virtual ~Task() = default;
  // Reads the config's "data" object; every key is checked (unknown ones are errors). A task
  // reads all its keys and calls data.finish() before any slow work, so that a typo fails in
  // milliseconds rather than after loading the data.
  virtual Splits load(config::Reader& data, const TaskContext& ctx) const = 0;
  // `focus predict MODEL_DIR INPUT [--attention OUT]`: prints class probabilities of one input
  // and, when asked, writes where the model looked.
  virtual int predict(const Loaded& model, const PredictOptions& opt) const = 0;
  // After `focus train` has evaluated the chosen model on the test split once, or from
  // `focus eval --report`: task-specific reports written into r.dir (pictures, per-class figures).
  // Prints their paths.
  virtual void report(const Report& r) const {}
  // Whether report() can describe an ensemble. A report that draws one network's attention cannot.
  virtual bool reports_ensembles() const { return false; }
  // One data set per view of `split` (the same examples in the same order), for evaluate_views.
  // Called with views that are not none(); a task without test-time views refuses (ConfigError).
  virtual std::vector<std::shared_ptr<const data::Dataset>> views(const Loaded& model,
                                                                  const std::string& split,
                                                                  const Views& v) const;
};

// The task of a config whose "data" object names none.
inline constexpr const char* kDefaultTask = "argmax_position";

// The task a config names; an unknown name is a ConfigError listing the known ones.
const Task& find_task(const std::string& name);
// The name of the task of a whole config (its data.task, or kDefaultTask), unchecked.
std::string task_name(const nlohmann::json& config);
std::vector<std::string> task_names();

}  // namespace focus::cli
