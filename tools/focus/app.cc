#include "app.h"

#include <filesystem>
#include <fstream>

#include "focus/metrics.h"
#include "focus/train.h"

namespace focus::cli {

nlohmann::json resolved_config(const std::string& path, const std::vector<std::string>& sets,
                               int64_t seed) {
  nlohmann::json cfg = config::load(path);
  for (const std::string& s : sets) config::set_path(cfg, s);
  if (seed >= 0) cfg["train"]["seed"] = seed;
  return cfg;
}

Splits load_data(config::Reader& r, const TaskContext& ctx, const Task** task_out) {
  const Task& task = find_task(r.string("task", kDefaultTask));
  if (task_out) *task_out = &task;
  Splits s = task.load(r, ctx);
  if (ctx.check_only) return s;
  FOCUS_CHECK(s.input.contains("classes"), "task did not say how many classes its data has");
  return s;
}

models::ModelSpec read_model_spec(config::Reader& root, const nlohmann::json& cfg) {
  root.object("model");  // its keys are read_model's to check
  return models::read_model(cfg.value("model", nlohmann::json::object()));
}

int check_config(const models::ModelSpec& model_spec, config::Reader& data_cfg,
                 const nlohmann::json& cfg, TaskContext ctx, const std::string& masked_error) {
  ctx.check_only = true;
  const Splits splits = load_data(data_cfg, ctx, nullptr);
  data_cfg.finish();
  if (!masked_error.empty() && splits.mask_id < 0) throw config::ConfigError(masked_error);
  const std::string task = task_name(cfg);
  if (splits.input.contains("classes")) {
    Generator gen(0);
    const auto model = model_spec.make(splits.input, gen);
    std::printf("config ok: task %s, model %s with %lld parameters\n", task.c_str(),
                model_spec.kind().c_str(), (long long)model->parameter_count());
  } else {
    std::printf("config ok: task %s, model %s (its sizes depend on the data, not loaded)\n",
                task.c_str(), model_spec.kind().c_str());
  }
  return kOk;
}

Loaded load_model_dir(const std::string& dir, bool need_data) {
  namespace fs = std::filesystem;
  FOCUS_CHECK(fs::is_directory(dir), "model directory ", dir, " does not exist");
  Loaded l;
  l.dir = dir;
  l.config = config::load((fs::path(dir) / "config.json").string());
  config::Reader root(l.config);
  config::Reader data = root.object("data");
  l.splits =
      load_data(data, {.model_dir = dir, .training = false, .need_data = need_data}, &l.task);
  Generator gen(0);
  l.model = models::build(l.config.value("model", nlohmann::json::object()), l.splits.input, gen);
  train::Checkpoint ck = train::load_checkpoint((fs::path(dir) / "best.safetensors").string());
  l.model->load_state_dict(ck.model);
  l.model->eval();
  return l;
}

std::vector<std::shared_ptr<const data::Dataset>> Task::views(const Loaded& model,
                                                              const std::string&,
                                                              const Views&) const {
  throw config::ConfigError(
      "test-time views (--shifts, --warps: speech; --mirror: images) do not apply to " + model.dir +
      ", a model of task '" + task_name(model.config) + "'");
}

train::Evaluation evaluate_views(const Loaded& model, const std::string& split,
                                 const Views& views) {
  const auto data = model.splits.named(split);
  FOCUS_CHECK(data != nullptr, model.dir, " has no ", split, " split loaded");
  if (views.none()) return train::evaluate(*model.model, data);
  std::vector<train::Evaluation> each;
  for (auto& view : model.task->views(model, split, views)) {
    each.push_back(train::evaluate(*model.model, view));
    view.reset();  // each view caches its features: keep one view's at a time, not all
  }
  return train::average(each);
}

train::Evaluation evaluate_members(const Report& r, const std::string& split) {
  FOCUS_CHECK(!r.members.empty(), "report: no model to evaluate");
  std::vector<train::Evaluation> each;
  for (const Loaded* m : r.members) each.push_back(evaluate_views(*m, split, r.views));
  return each.size() == 1 ? each.front() : train::average(each);
}

void write_text_atomic(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    FOCUS_CHECK(out.good(), "cannot write '", tmp, "' (", text.size(), " bytes)");
  }
  std::filesystem::rename(tmp, path);
}

nlohmann::json member_dirs(const Report& r) {
  nlohmann::json dirs = nlohmann::json::array();
  for (const Loaded* m : r.members) dirs.push_back(m->dir);
  return dirs;
}

void print_training_precision(Precision p) {
  if (p == Precision::bf16)
    std::printf("precision: bf16 mixed (%s)\n", bf16_training_info().c_str());
}

void print_confusion(const train::Evaluation& ev, const std::vector<std::string>& names) {
  const bool named = int64_t(names.size()) == ev.classes;
  std::printf("confusion matrix (rows: true class, columns: predicted):\n%*s", named ? 13 : 5, "");
  for (int64_t j = 0; j < ev.classes; ++j) std::printf("%6lld", (long long)j);
  std::printf("\n");
  for (int64_t i = 0; i < ev.classes; ++i) {
    if (named)
      std::printf("%2lld %-10.10s", (long long)i, names[size_t(i)].c_str());
    else
      std::printf("%4lld ", (long long)i);
    for (int64_t j = 0; j < ev.classes; ++j)
      std::printf("%6lld", (long long)ev.confusion[size_t(i * ev.classes + j)]);
    std::printf("\n");
  }
}

}  // namespace focus::cli
