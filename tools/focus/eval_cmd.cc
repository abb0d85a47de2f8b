// focus eval MODEL_DIR: the trained model on its test split.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "app.h"

namespace focus::cli {

int eval_main(int argc, char** argv) {
  CLI::App app{"Evaluate a trained model (MODEL_DIR from focus train --out) on its test split.",
               "focus eval"};
  std::string dir, split = "test";
  int threads = 0;
  bool report = false;
  app.add_option("model_dir", dir, "directory written by focus train")->required();
  app.add_flag("--report", report,
               "on the test split, also the task's report, as at the end of focus train "
               "(rewritten in MODEL_DIR)");
  app.add_option("--split", split, "test, validation or train")
      ->check(CLI::IsMember({"test", "validation", "train"}));
  app.add_option("--threads", threads, "threads");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kOk : kUsage;
  }
  if (threads > 0) set_num_threads(threads);
  Loaded l = load_model_dir(dir);
  auto data = split == "test"         ? l.splits.test
              : split == "validation" ? l.splits.validation
                                      : l.splits.train;
  if (report && split != "test") {
    std::fprintf(stderr, "eval: --report is for the test split\n");
    return kUsage;
  }
  train::Evaluation ev = train::evaluate(*l.model, data);
  print_confusion(ev, l.splits.class_names);
  if (report) l.task->report(l, ev);
  std::printf("%s loss: %.4f\n%s accuracy: %.2f%% (%lld examples)\n", split.c_str(), ev.loss,
              split.c_str(), 100.0 * ev.accuracy, (long long)ev.examples);
  return kOk;
}

}  // namespace focus::cli
