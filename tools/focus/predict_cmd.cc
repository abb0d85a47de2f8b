// focus predict MODEL_DIR INPUT [--attention OUT]: class probabilities, and where the model looked.
#include <CLI/CLI.hpp>

#include "app.h"

namespace focus::cli {

int predict_main(int argc, char** argv) {
  CLI::App app{
      "Class probabilities for one input (what INPUT is depends on the model's task: "
      "token ids \"5,17,3\", an image, a mail, a sound file).",
      "focus predict"};
  std::string dir;
  PredictOptions opt;
  int threads = 0;
  app.add_option("model_dir", dir, "directory written by focus train")->required();
  app.add_option("input", opt.input, "the input: a file, or token ids")->required();
  app.add_option("--attention", opt.attention, "write where the model looked to this file");
  app.add_option("--top", opt.top, "how many classes to print");
  app.add_option("--threads", threads, "threads");
  std::string precision = "f32";
  app.add_option("--precision", precision,
                 "arithmetic of the linear layers and the attention's P·V: f32, or bf16 "
                 "(docs/precision.md)")
      ->check(CLI::IsMember({"f32", "bf16"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kOk : kUsage;
  }
  if (threads > 0) set_num_threads(threads);
  set_inference_precision(parse_precision(precision));
  Loaded l = load_model_dir(dir, /*need_data=*/false);
  return l.task->predict(l, opt);
}

}  // namespace focus::cli
