// focus inspect MODEL_DIR: parameters, training state, and how focused each attention head is.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>

#include "app.h"
#include "focus/train.h"

namespace focus::cli {

int inspect_main(int argc, char** argv) {
  CLI::App app{"Parameters, training state and per-head attention entropy of a trained model.",
               "focus inspect"};
  std::string dir;
  int threads = 0;
  app.add_option("model_dir", dir, "directory written by focus train")->required();
  app.add_option("--threads", threads, "threads");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kOk : kUsage;
  }
  if (threads > 0) set_num_threads(threads);
  Loaded l = load_model_dir(dir);
  std::printf("parameters (%lld):\n", (long long)l.model->parameter_count());
  for (const auto& [name, t] : l.model->named_parameters())
    std::printf("  %-36s %-16s %lld\n", name.c_str(), t.shape().str().c_str(),
                (long long)t.numel());
  const auto last = std::filesystem::path(dir) / "last.safetensors";
  if (std::filesystem::exists(last)) try {
      train::Checkpoint ck = train::load_checkpoint(last.string());
      std::printf(
          "training state: step %lld, epoch %lld, best validation accuracy %.2f%% (epoch %lld)\n",
          (long long)ck.state.value("step", int64_t(0)),
          (long long)ck.state.value("epoch", int64_t(0)),
          100.0 * ck.state.value("best_accuracy", 0.0),
          (long long)ck.state.value("best_epoch", int64_t(-1)));
    } catch (const Error& e) {
      // The model itself came from best.safetensors; a broken last checkpoint is only reported.
      std::printf("training state: unreadable (%s)\n", e.what());
    }
  // Entropy in nats per head on validation examples: low = focused, log(N) = uniform.
  data::Loader loader(l.splits.validation, {.batch = 64, .background = false});
  loader.start_epoch(0);
  data::Batch b;
  loader.next(b);
  autograd::NoGradGuard no_grad;
  attention::Capture capture;
  (*l.model)(b.x);
  std::printf("attention entropy per head (nats; uniform would be %.2f):\n",
              capture.maps().empty() ? 0.0 : std::log(double(capture.maps()[0].probs.size(3))));
  for (const auto& m : capture.maps()) {
    std::printf("  %-28s", m.layer.c_str());
    for (float h : attention::head_entropy(m.probs).to_vector()) std::printf(" %6.3f", h);
    std::printf("\n");
  }
  return kOk;
}

}  // namespace focus::cli
