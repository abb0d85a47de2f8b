// focus: train, evaluate, run and inspect attention models.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "app.h"

namespace {

void usage(std::FILE* out) {
  std::fprintf(out,
               "usage: focus <command> [options]\n\n"
               "commands:\n"
               "  train    train a model from a JSON config (focus train --help)\n"
               "  pretrain pretrain a text model's encoder on masked tokens, for train.init\n"
               "  eval     evaluate a trained model on its test split\n"
               "  predict  class probabilities for one input\n"
               "  inspect  parameters, training state and attention focus of a model\n\n"
               "Threads: --threads N or FOCUS_THREADS (default: all cores). Threads wait\n"
               "passively (OMP_WAIT_POLICY=PASSIVE) when the machine is busy, unless\n"
               "OMP_WAIT_POLICY is set.\n"
               "Exit codes: 0 success, 1 usage, 2 data or I/O.\n");
}

// Whether other threads are runnable right now on at least `cores` cores: /proc/loadavg's fourth
// field is "runnable/total", this process included. Busy only if every one of a few samples says
// so, which ignores a momentary blip (and an idle machine stops at the first read); the load
// average would still count jobs that ended a minute ago.
bool others_runnable_on(long cores) {
  for (int i = 0; i < 5; ++i) {
    if (i > 0) usleep(2000);
    std::FILE* f = std::fopen("/proc/loadavg", "r");
    if (!f) return false;
    double avg[3];
    int runnable = 0, total = 0;
    const int n = std::fscanf(f, "%lf %lf %lf %d/%d", &avg[0], &avg[1], &avg[2], &runnable, &total);
    std::fclose(f);
    if (n != 5 || runnable - 1 < cores) return false;
  }
  return true;
}

// Threads that spin while they wait are fastest on an idle machine; when other processes compete
// for the cores, a thread spinning at a barrier burns the time slice its partner needs (measured
// on 2 cores at load 5: 60 training steps took 11.8 s with two spinning threads, 1.6 s with two
// passive ones, 2.1 s with one thread). libgomp reads OMP_WAIT_POLICY once, when it loads, so
// when the user has not chosen and other work holds at least half the cores, focus starts itself
// again with passive waiting.
void wait_passively_when_busy(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
  const long cores = sysconf(_SC_NPROCESSORS_ONLN);
  if (cores <= 0 || !others_runnable_on(std::max<long>(1, cores / 2))) return;
  setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  execv("/proc/self/exe", argv);  // returns only if it failed: carry on as we are
}

}  // namespace

int main(int argc, char** argv) {
  using namespace focus::cli;
  wait_passively_when_busy(argv);
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
    if (cmd == "pretrain") return pretrain_main(argc - 1, argv + 1);
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
