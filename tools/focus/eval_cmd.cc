// focus eval MODEL_DIR [MODEL_DIR...]: trained models on their test split; several models are
// scored as one ensemble, their class probabilities averaged.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>

#include "app.h"
#include "focus/metrics.h"

namespace focus::cli {
namespace {

// A CSV field, quoted (RFC 4180) when it holds a comma, a quote or a line break.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}

// Where each example came from (Dataset::source); empty when the dataset does not know them all.
std::vector<std::string> sources_of(const data::Dataset& set) {
  std::vector<std::string> out;
  for (int64_t i = 0; i < set.size(); ++i) {
    out.push_back(set.source(i));
    if (out.back().empty()) return {};
  }
  return out;
}

// One row per example, in the split's order: its index, its label (a class name when the task
// names them), the probability of each class, to 9 significant digits (a float's round trip),
// and, when the split knows them, where the example came from (`source`: a mail's file).
std::string probabilities_csv(const train::Evaluation& ev, const std::vector<std::string>& names,
                              const std::vector<std::string>& sources) {
  const bool named = int64_t(names.size()) == ev.classes;
  const bool sourced = int64_t(sources.size()) == ev.examples && ev.examples > 0;
  std::string csv = "example,label";
  for (int64_t c = 0; c < ev.classes; ++c)
    csv += "," + (named ? names[size_t(c)] : std::to_string(c));
  csv += sourced ? ",source\n" : "\n";
  char buf[32];
  for (int64_t i = 0; i < ev.examples; ++i) {
    const int32_t y = ev.labels[size_t(i)];
    csv += std::to_string(i) + "," + (named ? names[size_t(y)] : std::to_string(y));
    for (int64_t c = 0; c < ev.classes; ++c) {
      std::snprintf(buf, sizeof buf, ",%.9g", ev.probabilities[size_t(i * ev.classes + c)]);
      csv += buf;
    }
    if (sourced) csv += "," + csv_field(sources[size_t(i)]);
    csv += "\n";
  }
  return csv;
}

}  // namespace

int eval_main(int argc, char** argv) {
  CLI::App app{
      "Evaluate a trained model (MODEL_DIR from focus train --out) on its test split; "
      "with several, their ensemble (class probabilities averaged).",
      "focus eval"};
  std::vector<std::string> dirs;
  std::string split = "test";
  int threads = 0;
  bool report = false;
  app.add_option("model_dir", dirs,
                 "directory written by focus train; several: models of the same task and data "
                 "split (e.g. trained with different --seed)")
      ->required();
  std::string out;
  app.add_flag("--report", report,
               "on the test split, also the task's report, as at the end of focus train; with "
               "several models, the ensemble's (commands and spam)");
  app.add_option("--out", out,
                 "where --report writes its files (default: MODEL_DIR; required with several)");
  std::string probabilities;
  app.add_option("--probabilities", probabilities,
                 "write each example's class probabilities (the ensemble's with several models) "
                 "to this CSV file: example, label, then one column per class");
  app.add_option("--split", split, "test, validation or train")
      ->check(CLI::IsMember({"test", "validation", "train"}));
  Views views;
  app.add_option("--shifts", views.shifts_ms,
                 "speech: test-time views: each clip heard moved by each of these milliseconds "
                 "(e.g. -50,0,50; negative: earlier), its probabilities averaged over the views")
      ->delimiter(',')
      ->check(CLI::Range(-499.0, 499.0));
  app.add_option("--warps", views.warps,
                 "speech: test-time views with the frequency axis warped by these factors "
                 "(e.g. 0.9,1,1.1; vocal tract length); with --shifts, every combination")
      ->delimiter(',')
      ->check(CLI::Range(0.5, 2.0));
  app.add_flag("--mirror", views.mirror,
               "images: test-time views: each image also seen mirrored left-right, its "
               "probabilities averaged over the two");
  app.add_option("--threads", threads, "threads");
  float threshold = 0.5f;
  app.add_option("--threshold", threshold,
                 "two classes: predict the second (spam) when its probability is above this, "
                 "instead of 0.5 (e.g. a threshold chosen on validation)")
      ->check(CLI::Range(0.001, 0.999));
  std::string precision = "f32";
  app.add_option("--precision", precision,
                 "arithmetic of the linear layers and the attention's P·V: f32, or bf16 (bf16 "
                 "operands, f32 sums: 1.4-1.7x faster on CPUs with AVX512-BF16; "
                 "docs/precision.md)")
      ->check(CLI::IsMember({"f32", "bf16"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kOk : kUsage;
  }
  if (report && split != "test") {
    std::fprintf(stderr, "eval: --report is for the test split\n");
    return kUsage;
  }
  if (!out.empty() && !report) {
    std::fprintf(stderr, "eval: --out is where --report writes; give --report too\n");
    return kUsage;
  }
  if (report && dirs.size() > 1 && out.empty()) {
    // The members' own reports stay as train wrote them.
    std::fprintf(stderr, "eval: --report of %zu models needs --out DIR for the ensemble's report\n",
                 dirs.size());
    return kUsage;
  }
  if (threads > 0) set_num_threads(threads);
  set_inference_precision(parse_precision(precision));
  if (inference_precision() == Precision::bf16)
    std::printf("precision: bf16 (%s)\n", bf16_info().c_str());
  // One model at a time: each loads its own data (its tokenizer, its statistics), and only its
  // probabilities are kept, unless a report needs the members again (an ensemble's validation).
  std::vector<train::Evaluation> members;
  const Task* task = nullptr;
  std::vector<std::string> class_names, sources;
  std::vector<Loaded> reported;
  nlohmann::json first_data;
  for (const std::string& dir : dirs) {
    Loaded l = load_model_dir(dir);
    FOCUS_CHECK(task == nullptr || l.task == task, "eval: ", dir,
                " is a model of another task than ", dirs.front());
    task = l.task;
    if (report && dirs.size() > 1 && !task->reports_ensembles()) {
      std::fprintf(stderr,
                   "eval: this task's report describes one model; --report takes one MODEL_DIR "
                   "here (got %zu)\n",
                   dirs.size());
      return kUsage;
    }
    class_names = l.splits.class_names;
    if (!probabilities.empty() && sources.empty())
      if (const auto set = l.splits.named(split)) sources = sources_of(*set);
    // Labels in the same order are checked when averaging; other data options can still mean
    // other examples (a speech corpus of other voice counts draws other gains and offsets for the
    // same words), so say so.
    if (dirs.size() > 1) {
      nlohmann::json options = l.config.value("data", nlohmann::json::object());
      options.erase("augment");  // training only
      // The folds of a cross-validation differ in which mails validate, not in the test split.
      if (split == "test") options.erase("fold");
      if (first_data.is_null())
        first_data = options;
      else if (options != first_data)
        std::fprintf(stderr,
                     "eval: note: %s was trained with other data options than %s; the ensemble "
                     "is only meaningful if both read the same %s examples\n",
                     dir.c_str(), dirs.front().c_str(), split.c_str());
    }
    members.push_back(evaluate_views(l, split, views));
    if (dirs.size() > 1)
      std::printf("%s: %s accuracy %.2f%%, loss %.4f\n", dir.c_str(), split.c_str(),
                  100.0 * members.back().accuracy, members.back().loss);
    if (report) reported.push_back(std::move(l));
  }
  train::Evaluation ev = members.size() == 1 ? members.front() : train::average(members);
  if (threshold != 0.5f) {
    if (ev.classes != 2) {
      std::fprintf(stderr, "eval: --threshold decides between two classes; this model has %lld\n",
                   (long long)ev.classes);
      return kUsage;
    }
    ev = train::evaluation_from(std::move(ev.probabilities), std::move(ev.labels), 2, threshold);
    std::printf("decision threshold: %s above %g\n",
                class_names.size() == 2 ? class_names[1].c_str() : "class 1", double(threshold));
  }
  if (members.size() > 1)
    std::printf("ensemble of %zu models (class probabilities averaged):\n", members.size());
  if (!views.none())
    std::printf("test-time views: %lld per example (probabilities averaged)\n",
                (long long)views.count());
  print_confusion(ev, class_names);
  if (report) {
    Report r{.test = ev, .dir = out.empty() ? dirs.front() : out, .views = views};
    for (const Loaded& l : reported) r.members.push_back(&l);
    std::filesystem::create_directories(r.dir);
    task->report(r);
  }
  if (!probabilities.empty()) {
    write_text_atomic(probabilities, probabilities_csv(ev, class_names, sources));
    std::printf("wrote %s\n", probabilities.c_str());
  }
  if (ev.classes == 2) {
    const train::BinaryMetrics m = train::binary_metrics(ev);
    std::printf("positive class %s: precision %.2f%%, recall %.2f%%, F1 %.4f, ROC-AUC %.4f\n",
                class_names.size() == 2 ? class_names[1].c_str() : "1", 100.0 * m.precision,
                100.0 * m.recall, m.f1, m.roc_auc);
  }
  std::printf("%s loss: %.4f\n%s accuracy: %.2f%% (%lld examples)\n", split.c_str(), ev.loss,
              split.c_str(), 100.0 * ev.accuracy, (long long)ev.examples);
  return kOk;
}

}  // namespace focus::cli
