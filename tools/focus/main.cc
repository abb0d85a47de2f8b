// focus: train, evaluate, run and inspect attention models.
#include <cstdio>
#include <cstring>
#include <string>

#include "app.h"

namespace {

void usage(std::FILE* out) {
  std::fprintf(out,
               "usage: focus <command> [options]\n\n"
               "commands:\n"
               "  train    train a model from a JSON config (focus train --help)\n"
               "  eval     evaluate a trained model on its test split\n"
               "  predict  class probabilities for one input\n"
               "  inspect  parameters, training state and attention focus of a model\n\n"
               "Threads: --threads N or FOCUS_THREADS (default: all cores).\n"
               "Exit codes: 0 success, 1 usage, 2 data or I/O.\n");
}

}  // namespace

int main(int argc, char** argv) {
  using namespace focus::cli;
  if (argc < 2) {
    usage(stderr);
    return kUsage;
  }
  const std::string cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    usage(stdout);
    return kOk;
  }
  try {
    if (cmd == "train") return train_main(argc - 1, argv + 1);
    if (cmd == "eval") return eval_main(argc - 1, argv + 1);
    if (cmd == "predict") return predict_main(argc - 1, argv + 1);
    if (cmd == "inspect") return inspect_main(argc - 1, argv + 1);
  } catch (const focus::config::ConfigError& e) {
    std::fprintf(stderr, "focus %s: %s\n", cmd.c_str(), e.what());
    return kUsage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "focus %s: %s\n", cmd.c_str(), e.what());
    return kData;
  }
  std::fprintf(stderr, "focus: unknown command '%s' (try focus --help)\n", cmd.c_str());
  return kUsage;
}
