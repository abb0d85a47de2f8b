#include "focus/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "focus/attention.h"
#include "focus/autograd.h"
#include "focus/ops.h"
#include "focus/optim.h"
#include "focus/train.h"

namespace focus::train {
namespace {

std::unique_ptr<optim::Optimizer> make_optimizer(const FitOptions& o, const nn::NamedTensors& p) {
  if (o.optimizer == "sgd")
    return std::make_unique<optim::Sgd>(
        p, optim::SgdOptions{.lr = o.lr, .momentum = o.momentum, .weight_decay = o.weight_decay});
  if (o.optimizer == "adam")
    return std::make_unique<optim::Adam>(
        p, optim::AdamOptions{.lr = o.lr, .weight_decay = o.weight_decay});
  return std::make_unique<optim::AdamW>(
      p, optim::AdamOptions{.lr = o.lr, .weight_decay = o.weight_decay});
}

std::unique_ptr<optim::Schedule> make_schedule(const FitOptions& o, int64_t total,
                                               int64_t steps_per_epoch) {
  if (o.schedule == "constant" || o.schedule == "plateau") return optim::constant(o.lr);
  if (o.schedule == "step")
    return optim::step_decay(o.lr, std::max<int64_t>(1, o.step_epochs * steps_per_epoch), o.gamma);
  if (o.schedule == "cosine") return optim::cosine(o.lr, total, o.min_lr);
  if (o.schedule == "one_cycle") return optim::one_cycle(o.lr, total);
  return optim::warmup_cosine(o.lr, int64_t(std::ceil(o.warmup * float(total))), total, o.min_lr);
}

int64_t argmax_row(const float* row, int64_t c) {
  int64_t best = 0;
  for (int64_t j = 1; j < c; ++j)
    if (row[j] > row[best]) best = j;
  return best;
}

// The training clock at `step` of an earlier run, read back from its log: the last "time" of a
// record at or before that step (0 without a log). The clock lives in the log, not in the
// checkpoint, so that checkpoints of runs with the same seed stay byte-identical.
double clock_at(const std::string& log_path, int64_t step) {
  std::ifstream f(log_path);
  double t = 0.0;
  std::string line;
  while (std::getline(f, line)) {
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("time") || !j.contains("step")) continue;
    if (!j["time"].is_number() || !j["step"].is_number_integer()) continue;
    if (j["step"].get<int64_t>() <= step) t = std::max(t, j["time"].get<double>());
  }
  return t;
}

// Puts a model in evaluation mode for a scope. Evaluating in training mode would apply dropout:
// noisy validation accuracy steering model choice and early stopping, and dropout draws that
// shift the generator, so that merely measuring would change the training that follows.
class EvalMode {
 public:
  explicit EvalMode(models::Classifier& m) : m_(m), was_training_(m.is_training()) { m_.eval(); }
  ~EvalMode() { m_.train(was_training_); }
  EvalMode(const EvalMode&) = delete;
  EvalMode& operator=(const EvalMode&) = delete;

 private:
  models::Classifier& m_;
  bool was_training_;
};

// Per-layer, per-head attention entropy on a fixed batch: how focused each head is.
nlohmann::json head_entropies(models::Classifier& model, const data::Dataset& data) {
  const int64_t n = std::min<int64_t>(64, data.size());
  if (n == 0) return nlohmann::json::object();
  data::Loader loader(std::shared_ptr<const data::Dataset>(&data, [](const data::Dataset*) {}),
                      {.batch = n, .background = false});
  loader.start_epoch(0);
  data::Batch batch;
  loader.next(batch);
  autograd::NoGradGuard no_grad;
  EvalMode eval_mode(model);
  attention::Capture capture;
  model(batch.x);
  nlohmann::json out = nlohmann::json::object();
  for (const auto& m : capture.maps()) out[m.layer] = attention::head_entropy(m.probs).to_vector();
  return out;
}

// The exponential moving average of a model's weights (FitOptions::ema), one shadow tensor per
// parameter. Kept in last.safetensors as optimiser tensors "ema/<name>".
class WeightAverage {
 public:
  WeightAverage(const nn::NamedTensors& params, float decay) : params_(params), decay_(decay) {
    if (decay <= 0.0f) return;
    autograd::NoGradGuard no_grad;
    for (const auto& [name, p] : params) {
      FOCUS_CHECK(p.dtype() == DType::f32 && p.is_contiguous(), "fit: train.ema needs contiguous ",
                  "f32 parameters; ", name, " is not");
      shadow_.push_back(p.detach().clone());
    }
  }
  bool on() const { return !shadow_.empty(); }

  // After optimiser step `step` (counted from 1). Warm-started as TensorFlow's
  // ExponentialMovingAverage(num_updates): a plain decay of 0.999 would keep the random
  // initialisation in the average for thousands of steps.
  void update(int64_t step) {
    const float d = float(std::min(double(decay_), double(step) / double(9 + step)));
    for (size_t i = 0; i < shadow_.size(); ++i) {
      float* s = shadow_[i].data();
      const float* w = params_[i].second.data();
      const int64_t n = shadow_[i].numel();
      for (int64_t j = 0; j < n; ++j) s[j] = d * s[j] + (1.0f - d) * w[j];
    }
  }

  // Exchanges the average and the model's weights; twice restores both.
  void swap() {
    for (size_t i = 0; i < shadow_.size(); ++i)
      std::swap_ranges(shadow_[i].data(), shadow_[i].data() + shadow_[i].numel(),
                       params_[i].second.data());
  }

  void save(std::map<std::string, Tensor>& out) const {
    for (size_t i = 0; i < shadow_.size(); ++i) out["ema/" + params_[i].first] = shadow_[i];
  }
  // Takes the "ema/" entries out of a checkpoint's optimiser tensors.
  void load(std::map<std::string, Tensor>& in, const std::string& path) {
    bool any = false;
    std::map<std::string, Tensor> saved;
    for (auto it = in.begin(); it != in.end();)
      if (it->first.rfind("ema/", 0) == 0) {
        any = true;
        saved.insert(*it);
        it = in.erase(it);
      } else {
        ++it;
      }
    FOCUS_CHECK(any == on(), "fit: cannot resume from ", path, ": it was written with train.ema ",
                any ? "on" : "off", " and the config now has it ", on() ? "on" : "off");
    for (size_t i = 0; i < shadow_.size(); ++i) {
      const std::string key = "ema/" + params_[i].first;
      auto it = saved.find(key);
      FOCUS_CHECK(it != saved.end(), "fit: cannot resume from ", path, ": no ", key);
      FOCUS_CHECK(it->second.shape() == shadow_[i].shape(), "fit: cannot resume from ", path, ": ",
                  key, " is ", it->second.shape(), ", the parameter ", shadow_[i].shape());
      const Tensor t = it->second.contiguous();
      std::copy(t.data(), t.data() + t.numel(), shadow_[i].data());
    }
  }

 private:
  nn::NamedTensors params_;  // handles sharing the model's storage
  float decay_;
  std::vector<Tensor> shadow_;
};

// Puts the average into the model for a scope (nothing when averaging is off).
class AverageIn {
 public:
  explicit AverageIn(WeightAverage& a) : a_(a) { a_.swap(); }
  ~AverageIn() { a_.swap(); }
  AverageIn(const AverageIn&) = delete;
  AverageIn& operator=(const AverageIn&) = delete;

 private:
  WeightAverage& a_;
};

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

FitOptions fit_options(config::Reader& r) {
  FitOptions o;
  o.epochs = r.integer("epochs", o.epochs, 1, 1 << 20);
  o.batch = r.integer("batch", o.batch, 1, 1 << 20);
  o.optimizer = r.string("optimizer", o.optimizer, {"sgd", "adam", "adamw"});
  o.lr = float(r.number("lr", o.lr, 0.0, 10.0));
  o.weight_decay = float(r.number("weight_decay", o.weight_decay, 0.0, 10.0));
  o.momentum = float(r.number("momentum", o.momentum, 0.0, 1.0));
  o.schedule = r.string("schedule", o.schedule,
                        {"constant", "step", "cosine", "warmup_cosine", "one_cycle", "plateau"});
  o.warmup = float(r.number("warmup", o.warmup, 0.0, 1.0));
  o.min_lr = float(r.number("min_lr", o.min_lr, 0.0, 10.0));
  o.step_epochs = r.integer("step_epochs", o.step_epochs, 1, 1 << 20);
  o.gamma = float(r.number("gamma", o.gamma, 0.0, 1.0));
  o.label_smoothing = float(r.number("label_smoothing", o.label_smoothing, 0.0, 1.0));
  {
    const std::string w = r.string("class_weights", "none");
    if (w == "balanced") {
      o.balanced_weights = true;
    } else if (w != "none") {
      std::stringstream ss(w);
      for (std::string item; std::getline(ss, item, ',');) {
        char* end = nullptr;
        const double v = std::strtod(item.c_str(), &end);
        if (item.empty() || *end != '\0' || !(v >= 0.0) || !std::isfinite(v))
          throw config::ConfigError(
              "config: train.class_weights must be \"none\", \"balanced\" or "
              "a list of weights >= 0 like \"1,3.5\", got \"" +
              w + "\"");
        o.class_weights.push_back(float(v));
      }
    }
  }
  o.clip = float(r.number("clip", o.clip, 0.0, 1e9));
  o.ema = float(r.number("ema", o.ema, 0.0, 0.999999));
  o.pretrain_epochs = r.integer("pretrain_epochs", o.pretrain_epochs, 0, 1 << 20);
  o.pretrain_mask = float(r.number("pretrain_mask", o.pretrain_mask, 0.01, 0.99));
  o.precision = parse_precision(r.string("precision", "f32", {"f32", "bf16"}));
  o.accumulate = r.integer("accumulate", o.accumulate, 1, 1 << 16);
  o.patience = r.integer("patience", o.patience, 0, 1 << 20);
  o.log_every = r.integer("log_every", o.log_every, 1, 1 << 30);
  o.checkpoint_every = r.integer("checkpoint_every", o.checkpoint_every, 0, 1 << 30);
  o.seed = uint64_t(r.integer("seed", int64_t(o.seed), 0));
  o.max_steps = r.integer("max_steps", o.max_steps, 0);
  // A key the chosen optimiser or schedule never reads is a mistake, not a no-op.
  const auto only_for = [&](const char* key, bool applies, const std::string& which) {
    if (r.has(key) && !applies)
      throw config::ConfigError(detail::cat("config: train.", key, " applies to ", which,
                                            " only; this run has optimizer '", o.optimizer,
                                            "', schedule '", o.schedule, "'"));
  };
  const std::string& sch = o.schedule;
  only_for("momentum", o.optimizer == "sgd", "optimizer 'sgd'");
  only_for("warmup", sch == "warmup_cosine" || o.pretrain_epochs > 0,
           "schedule 'warmup_cosine' (and pretraining)");
  only_for("min_lr", sch == "cosine" || sch == "warmup_cosine" || sch == "plateau",
           "schedules 'cosine', 'warmup_cosine' and 'plateau'");
  only_for("step_epochs", sch == "step", "schedule 'step'");
  only_for("gamma", sch == "step" || sch == "plateau", "schedules 'step' and 'plateau'");
  return o;
}

Evaluation evaluate(models::Classifier& model, std::shared_ptr<const data::Dataset> data,
                    int64_t batch) {
  EvalMode eval_mode(model);
  Evaluation ev;
  ev.classes = model.classes();
  ev.confusion.assign(size_t(ev.classes * ev.classes), 0);
  data::Loader loader(std::move(data), {.batch = batch, .background = true});
  loader.start_epoch(0);
  autograd::NoGradGuard no_grad;
  double loss_sum = 0;
  int64_t correct = 0;
  data::Batch b;
  while (loader.next(b)) {
    Tensor logits = model(b.x);  // [B,C]
    const int64_t n = logits.size(0), c = logits.size(1);
    loss_sum += double(cross_entropy(logits, b.y, {.reduction = Reduction::sum}).item());
    const float* pl = logits.data();
    const int32_t* py = b.y.data_i32();
    const Tensor p = softmax(logits, -1);
    ev.probabilities.insert(ev.probabilities.end(), p.data(), p.data() + n * c);
    ev.labels.insert(ev.labels.end(), py, py + n);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t guess = argmax_row(pl + i * c, c);
      correct += guess == py[i];
      ev.confusion[size_t(py[i] * ev.classes + guess)] += 1;
    }
    ev.examples += n;
  }
  if (ev.examples > 0) {
    ev.loss = float(loss_sum / double(ev.examples));
    ev.accuracy = float(double(correct) / double(ev.examples));
  }
  return ev;
}

FitResult fit(models::Classifier& model, std::shared_ptr<const data::Dataset> train_set,
              std::shared_ptr<const data::Dataset> validation, const FitOptions& opt,
              const nlohmann::json& config) {
  const auto start = std::chrono::steady_clock::now();
  const TrainingPrecisionGuard precision(opt.precision);
  FitResult result;
  data::Loader loader(train_set, {.batch = opt.batch,
                                  .shuffle = true,
                                  .seed = opt.seed,
                                  .drop_last = train_set->size() > opt.batch,
                                  .transform = opt.transform});
  const int64_t micro_per_epoch = loader.batches_per_epoch();
  FOCUS_CHECK(micro_per_epoch > 0, "fit: the training set is empty");
  std::vector<float> class_weights = opt.class_weights;
  if (opt.balanced_weights) {
    std::vector<int64_t> counts(size_t(model.classes()), 0);
    for (int64_t i = 0; i < train_set->size(); ++i) {
      const int32_t y = train_set->get(i).label;
      FOCUS_CHECK(y >= 0 && y < model.classes(), "fit: training label ", y, " of example ", i,
                  " outside [0, ", model.classes(), ")");
      ++counts[size_t(y)];
    }
    class_weights.assign(counts.size(), 0.0f);
    for (size_t c = 0; c < counts.size(); ++c)
      if (counts[c] > 0)
        class_weights[c] =
            float(double(train_set->size()) / (double(counts.size()) * double(counts[c])));
  }
  FOCUS_CHECK(class_weights.empty() || int64_t(class_weights.size()) == model.classes(),
              "fit: ", class_weights.size(), " class weights for ", model.classes(), " classes");
  const std::vector<float>& example_weights = opt.example_weights;
  FOCUS_CHECK(example_weights.empty() || int64_t(example_weights.size()) == train_set->size(),
              "fit: ", example_weights.size(), " example weights for ", train_set->size(),
              " training examples");
  const bool weighted = !class_weights.empty() || !example_weights.empty();
  const int64_t steps_per_epoch = (micro_per_epoch + opt.accumulate - 1) / opt.accumulate;
  const int64_t total_steps = opt.epochs * steps_per_epoch;
  const nn::NamedTensors params = model.named_parameters();
  auto optimizer = make_optimizer(opt, params);
  WeightAverage average(params, opt.ema);
  auto schedule = make_schedule(opt, total_steps, steps_per_epoch);
  std::unique_ptr<optim::ReduceOnPlateau> plateau;
  if (opt.schedule == "plateau")
    plateau = std::make_unique<optim::ReduceOnPlateau>(opt.lr, opt.gamma, 2, true, opt.min_lr);

  namespace fs = std::filesystem;
  const bool writing = !opt.out_dir.empty();
  const std::string last_path =
      writing ? (fs::path(opt.out_dir) / "last.safetensors").string() : "";
  const std::string best_path =
      writing ? (fs::path(opt.out_dir) / "best.safetensors").string() : "";
  if (writing) fs::create_directories(opt.out_dir);

  int64_t step = 0, epoch = 0, micro_in_epoch = 0, bad_epochs = 0;
  // Training seconds before this run (resumed runs continue the log's clock) and seconds spent
  // on the monitor split, which the clock leaves out.
  double earlier_seconds = 0.0, monitor_seconds = 0.0;
  if (opt.resume) {
    FOCUS_CHECK(writing, "fit: resume needs an output directory holding last.safetensors");
    Checkpoint ck = load_checkpoint(last_path);
    model.load_state_dict(ck.model);
    average.load(ck.optimizer, last_path);
    optimizer->load(ck.optimizer);
    const nlohmann::json& s = ck.state;
    step = s.at("step"), epoch = s.at("epoch"), micro_in_epoch = s.at("micro_in_epoch");
    result.best_accuracy = s.at("best_accuracy"), result.best_epoch = s.at("best_epoch");
    bad_epochs = s.at("bad_epochs");
    if (plateau && s.contains("plateau")) {  // the tracker's rate, best and count
      const nlohmann::json& t = s.at("plateau");
      plateau->load({t.at("lr").get<float>(), t.at("best").get<float>(), t.at("bad").get<int>(),
                     t.at("seen").get<bool>()});
    } else if (plateau && s.contains("plateau_lr")) {  // a checkpoint that kept the rate alone
      plateau->load({s.at("plateau_lr").get<float>(), 0.0f, 0, false});
    }
    earlier_seconds = clock_at((fs::path(opt.out_dir) / "log.jsonl").string(), step);
    default_generator().set_state(s.at("generator").at("seed"), s.at("generator").at("offset"));
  }
  std::unique_ptr<JsonlLog> log;
  if (writing)
    log = std::make_unique<JsonlLog>((fs::path(opt.out_dir) / "log.jsonl").string(), opt.resume);

  auto clock = [&] { return earlier_seconds + seconds_since(start) - monitor_seconds; };
  // with_average: the raw weights in the model, the average beside the optimiser's state (for
  // last.safetensors, which resumes); else the model's current weights alone.
  auto checkpoint = [&](const std::string& path, bool with_average) {
    Checkpoint ck;
    ck.model = model.state_dict();
    ck.optimizer = optimizer->state();
    if (with_average) average.save(ck.optimizer);
    ck.state = {{"step", step},
                {"epoch", epoch},
                {"micro_in_epoch", micro_in_epoch},
                {"best_accuracy", result.best_accuracy},
                {"best_epoch", result.best_epoch},
                {"bad_epochs", bad_epochs},
                {"generator",
                 {{"seed", default_generator().seed()}, {"offset", default_generator().offset()}}},
                {"config", config}};
    if (plateau) {
      const optim::ReduceOnPlateau::State t = plateau->state();
      ck.state["plateau"] = {{"lr", t.lr}, {"best", t.best}, {"bad", t.bad}, {"seen", t.seen}};
    }
    save_checkpoint(path, ck);
  };

  Progress progress(stderr, steps_per_epoch * opt.epochs, opt.epochs);
  bool stop = false;
  for (; epoch < opt.epochs && !stop; ++epoch) {
    model.train();
    if (micro_in_epoch > 0)
      loader.resume(epoch, micro_in_epoch);
    else
      loader.start_epoch(epoch);
    double loss_sum = 0;
    int64_t seen = 0, correct = 0, micro = micro_in_epoch;
    const auto epoch_start = std::chrono::steady_clock::now();
    data::Batch batch;
    float grad_norm = 0.0f, last_loss = 0.0f;
    while (!stop && loader.next(batch)) {
      Tensor logits = model(batch.x);
      Tensor loss;
      if (!weighted) {
        loss = cross_entropy(logits, batch.y, {.label_smoothing = opt.label_smoothing});
      } else {
        const int64_t n = batch.y.size(0);
        std::vector<float> w(static_cast<size_t>(n), 0.0f);
        double w_sum = 0;
        for (int64_t i = 0; i < n; ++i) {
          float wi = class_weights.empty() ? 1.0f : class_weights[size_t(batch.y.data_i32()[i])];
          if (!example_weights.empty()) wi *= example_weights[size_t(batch.indices[size_t(i)])];
          w_sum += w[size_t(i)] = wi;
        }
        Tensor per = cross_entropy(
            logits, batch.y,
            {.label_smoothing = opt.label_smoothing, .reduction = Reduction::none});  // [B]
        loss = sum(per * Tensor::from_vector(w, {n})) * float(w_sum > 0 ? 1.0 / w_sum : 0.0);
      }
      if (opt.accumulate > 1) loss = loss * (1.0f / float(opt.accumulate));
      loss.backward();
      last_loss = loss.item() * float(opt.accumulate);
      {
        const int64_t n = logits.size(0), c = logits.size(1);
        for (int64_t i = 0; i < n; ++i)
          correct += argmax_row(logits.data() + i * c, c) == batch.y.data_i32()[i];
        loss_sum += double(last_loss) * double(n);
        seen += n;
      }
      ++micro;
      if (micro % opt.accumulate != 0 && micro != micro_per_epoch) continue;
      grad_norm = opt.clip > 0 ? optim::clip_grad_norm(params, opt.clip) : optim::grad_norm(params);
      optimizer->set_lr(plateau ? plateau->lr() : schedule->lr(step));
      optimizer->step();
      optimizer->zero_grad();
      ++step;
      if (average.on()) average.update(step);
      micro_in_epoch = micro;
      const float accuracy = float(double(correct) / double(std::max<int64_t>(seen, 1)));
      if (opt.progress)
        progress.update(epoch + 1, (micro + opt.accumulate - 1) / opt.accumulate, last_loss,
                        accuracy, seen);
      if (log && step % opt.log_every == 0)
        log->write({{"kind", "step"},
                    {"step", step},
                    {"epoch", epoch + 1},
                    {"loss", last_loss},
                    {"accuracy", accuracy},
                    {"lr", optimizer->lr()},
                    {"grad_norm", grad_norm},
                    {"time", clock()}});
      if (writing && opt.checkpoint_every > 0 && step % opt.checkpoint_every == 0)
        checkpoint(last_path, true);
      if (opt.max_steps > 0 && step >= opt.max_steps) stop = true;
    }
    const bool epoch_done = micro >= micro_per_epoch;
    if (!epoch_done) break;  // stopped by max_steps inside the epoch; the last checkpoint stands
    micro_in_epoch = 0;
    Evaluation raw_val;
    if (average.on()) raw_val = evaluate(model, validation);
    // With train.ema, the average is what is validated, monitored, mapped and kept as best; the
    // raw weights go back into the model before last.safetensors.
    std::optional<AverageIn> averaged(std::in_place, average);
    Evaluation val = evaluate(model, validation);
    const bool better = result.best_epoch < 0 || val.accuracy > result.best_accuracy;
    if (better) {
      result.best_accuracy = val.accuracy;
      result.best_epoch = epoch + 1;
      bad_epochs = 0;
    } else {
      ++bad_epochs;
    }
    if (plateau) plateau->observe(val.accuracy);
    const double epoch_seconds = seconds_since(epoch_start);
    Evaluation mon;
    if (opt.monitor) {
      const auto monitor_start = std::chrono::steady_clock::now();
      mon = evaluate(model, opt.monitor);
      monitor_seconds += seconds_since(monitor_start);
    }
    char summary[320];
    int used = std::snprintf(
        summary, sizeof summary,
        "epoch %lld/%lld  train loss %.4f acc %.2f%%  val loss %.4f acc %.2f%%%s  %.1f s",
        (long long)(epoch + 1), (long long)opt.epochs,
        loss_sum / double(std::max<int64_t>(seen, 1)),
        100.0 * double(correct) / double(std::max<int64_t>(seen, 1)), double(val.loss),
        100.0 * double(val.accuracy), better ? " (best)" : "", epoch_seconds);
    if (average.on() && used > 0 && size_t(used) < sizeof summary)
      used += std::snprintf(summary + used, sizeof summary - size_t(used),
                            "  raw weights val acc %.2f%%", 100.0 * double(raw_val.accuracy));
    if (opt.monitor && used > 0 && size_t(used) < sizeof summary)
      std::snprintf(summary + used, sizeof summary - size_t(used), "  monitor acc %.2f%%",
                    100.0 * double(mon.accuracy));
    if (opt.progress) progress.end_epoch(summary);
    if (log) {
      nlohmann::json record = {
          {"kind", "epoch"},
          {"epoch", epoch + 1},
          {"step", step},
          {"train_loss", loss_sum / double(std::max<int64_t>(seen, 1))},
          {"train_accuracy", double(correct) / double(std::max<int64_t>(seen, 1))},
          {"val_loss", val.loss},
          {"val_accuracy", val.accuracy},
          {"lr", optimizer->lr()},
          {"grad_norm", grad_norm},
          {"time", clock()},
          {"samples_per_s", double(seen) / std::max(epoch_seconds, 1e-9)},
          {"attention_entropy", head_entropies(model, *validation)}};
      if (average.on()) {
        record["raw_val_loss"] = raw_val.loss;
        record["raw_val_accuracy"] = raw_val.accuracy;
      }
      log->write(record);
    }
    if (log && opt.monitor)
      log->write({{"kind", "monitor"},
                  {"epoch", epoch + 1},
                  {"step", step},
                  {"time", clock()},
                  {"monitor_loss", mon.loss},
                  {"monitor_accuracy", mon.accuracy}});
    if (writing && better) {
      epoch += 1;  // the checkpoint resumes at the next epoch
      checkpoint(best_path, false);
      epoch -= 1;
    }
    const bool patience_out = opt.patience > 0 && bad_epochs >= opt.patience;
    averaged.reset();
    ++result.epochs_run;
    if (writing) {
      epoch += 1;
      checkpoint(last_path, true);
      epoch -= 1;
    }
    if (patience_out) {
      result.early_stopped = true;
      stop = true;
    }
  }
  result.steps = step;
  result.seconds = seconds_since(start);
  return result;
}

}  // namespace focus::train
