// The focus command line: a run killed with SIGKILL and resumed ends bit-identical to an
// uninterrupted one; bad configs are one-line errors with exit code 1; bad data exits 2.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "focus/focus.h"
#include "focus/train.h"
#include "test_util.h"

namespace focus {
namespace {

namespace fs = std::filesystem;
const std::string kFocus = std::string(FOCUS_BINARY_DIR) + "/focus";

using Result = ::focus::test::CliResult;
const auto& run = ::focus::test::run_cli;

std::string write_config(const std::string& dir, const std::string& text) {
  const std::string path = dir + "/config.in.json";
  std::ofstream(path) << text;
  return path;
}

const char* kSmall = R"({
  "data": {"task": "argmax_position", "length": 6, "vocab": 24, "train": 640, "validation": 64, "test": 64, "seed": 3},
  "model": {"dim": 16, "depth": 1, "heads": 2, "mlp_ratio": 2, "dropout": 0.1},
  "train": {"epochs": 3, "batch": 32, "lr": 0.003, "checkpoint_every": 4, "log_every": 5, "seed": 5}
})";

TEST(Cli, KillAndResumeIsBitIdentical) {
  const test::ScratchDir dir_a("cli_straight"), dir_b("cli_killed");
  const std::string a = dir_a.str(), b = dir_b.str();
  const std::string cfg = write_config(a, kSmall);
  Result straight = run("train --quiet --threads 1 --config " + cfg + " --out " + a);
  ASSERT_EQ(straight.status, 0) << straight.out;

  // Start the same run, SIGKILL it once a mid-run checkpoint exists, then resume it.
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl(kFocus.c_str(), kFocus.c_str(), "train", "--quiet", "--threads", "1", "--config",
          cfg.c_str(), "--out", b.c_str(), "--set", "train.max_steps=1000000", (char*)nullptr);
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  bool killed = false;
  while (std::chrono::steady_clock::now() < deadline) {
    std::error_code ec;
    if (fs::exists(b + "/last.safetensors", ec)) {
      kill(pid, SIGKILL);
      killed = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(killed) << "no checkpoint appeared within 60 s";
  if (WIFEXITED(status)) GTEST_SKIP() << "the run finished before it could be killed";
  const int64_t killed_at = train::load_checkpoint(b + "/last.safetensors").state.at("step");
  Result resumed = run("train --quiet --threads 1 --resume --config " + cfg + " --out " + b);
  ASSERT_EQ(resumed.status, 0) << resumed.out;

  train::Checkpoint x = train::load_checkpoint(a + "/last.safetensors");
  train::Checkpoint y = train::load_checkpoint(b + "/last.safetensors");
  EXPECT_GT(killed_at, 0);
  EXPECT_EQ(x.state.at("step"), y.state.at("step"));
  ASSERT_EQ(x.model.size(), y.model.size());
  for (const auto& [name, t] : x.model) {
    std::vector<float> u = t.to_vector(), v = y.model.at(name).to_vector();
    EXPECT_EQ(0, std::memcmp(u.data(), v.data(), u.size() * sizeof(float)))
        << name << " differs (killed at step " << killed_at << ")";
  }
  EXPECT_NE(straight.out.find("test accuracy:"), std::string::npos) << straight.out;
}

// --monitor-test logs the test split's accuracy after every epoch for time-to-accuracy
// benchmarks. It must never steer training: the weights and the final test accuracy equal a run
// without it, and its evaluation time is left out of the log's clock.
TEST(Cli, MonitorTestLogsEveryEpochAndChangesNothing) {
  const test::ScratchDir dir_a("cli_plain"), dir_b("cli_monitored");
  const std::string a = dir_a.str(), b = dir_b.str();
  const std::string cfg = write_config(a, kSmall);
  Result plain = run("train --quiet --threads 1 --config " + cfg + " --out " + a);
  ASSERT_EQ(plain.status, 0) << plain.out;
  Result mon = run("train --quiet --threads 1 --monitor-test --config " + cfg + " --out " + b);
  ASSERT_EQ(mon.status, 0) << mon.out;

  train::Checkpoint x = train::load_checkpoint(a + "/last.safetensors");
  train::Checkpoint y = train::load_checkpoint(b + "/last.safetensors");
  for (const auto& [name, t] : x.model) {
    std::vector<float> u = t.to_vector(), v = y.model.at(name).to_vector();
    EXPECT_EQ(0, std::memcmp(u.data(), v.data(), u.size() * sizeof(float))) << name;
  }
  const auto last_line = [](const std::string& out) { return out.substr(out.rfind("test acc")); };
  EXPECT_EQ(last_line(plain.out), last_line(mon.out));

  std::ifstream log(b + "/log.jsonl");
  std::string line;
  int64_t epochs = 0;
  double last_time = -1.0, epoch_time = -1.0;
  while (std::getline(log, line)) {
    const nlohmann::json j = nlohmann::json::parse(line);
    if (j.at("kind") == "epoch") epoch_time = j.at("time").get<double>();
    if (j.at("kind") != "monitor") continue;
    ++epochs;
    EXPECT_EQ(j.at("epoch").get<int64_t>(), epochs);
    const double acc = j.at("monitor_accuracy").get<double>();
    EXPECT_GE(acc, 0.0);
    EXPECT_LE(acc, 1.0);
    const double t = j.at("time").get<double>();
    EXPECT_GT(t, last_time);
    EXPECT_NEAR(t, epoch_time, 0.05) << "the monitor's own time counts in the clock";
    last_time = t;
  }
  EXPECT_EQ(epochs, 3);

  // A resumed run continues the clock rather than restarting it.
  Result more = run("train --quiet --threads 1 --monitor-test --resume --epochs 4 --config " + cfg +
                    " --out " + b);
  ASSERT_EQ(more.status, 0) << more.out;
  std::ifstream resumed_log(b + "/log.jsonl");
  double fourth = -1.0;
  while (std::getline(resumed_log, line)) {
    const nlohmann::json j = nlohmann::json::parse(line);
    if (j.at("kind") == "monitor" && j.at("epoch") == 4) fourth = j.at("time").get<double>();
  }
  EXPECT_GT(fourth, last_time);

  std::ifstream plain_log(a + "/log.jsonl");
  while (std::getline(plain_log, line)) EXPECT_EQ(line.find("monitor"), std::string::npos) << line;
}

// A run that max_steps stops inside its first epoch has nothing validated: it says so, and where
// --resume would continue (kSmall checkpoints every 4 steps; 20 steps make an epoch).
TEST(Cli, MaxStepsBeforeTheFirstEpochEndsSaysSo) {
  const test::ScratchDir dir("cli_max_steps");
  const std::string d = dir.str();
  const Result r = run("train --quiet --threads 1 --config " + write_config(d, kSmall) +
                       " --max-steps 6 --out " + d);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("trained 6 steps"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("stopped by max_steps before the first epoch ended: nothing validated or "
                       "tested (--resume continues from " +
                       d + "/last.safetensors)"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("test accuracy"), std::string::npos) << r.out;
}

// schedule "plateau" keeps a tracker (best validation accuracy, epochs without improvement): a run
// stopped by max_steps and resumed must carry it over, or its first evaluation after resuming
// counts as an improvement and the rate's cut comes late. Here epochs 6-8 do not improve on
// epoch 5, so the straight run halves the rate after epoch 8; the stop falls inside epoch 8.
TEST(Cli, PlateauScheduleResumesBitIdentical) {
  const test::ScratchDir dir_a("cli_plateau"), dir_b("cli_plateau_resumed");
  const std::string a = dir_a.str(), b = dir_b.str();
  const std::string cfg = write_config(a, R"({
  "data": {"task": "argmax_position", "length": 6, "vocab": 24, "train": 640, "validation": 64, "test": 64, "seed": 3},
  "model": {"dim": 16, "depth": 1, "heads": 2, "mlp_ratio": 2, "dropout": 0.1},
  "train": {"epochs": 10, "batch": 32, "lr": 0.001, "schedule": "plateau", "gamma": 0.5,
            "checkpoint_every": 4, "log_every": 5, "seed": 5}
})");
  Result straight = run("train --quiet --threads 1 --config " + cfg + " --out " + a);
  ASSERT_EQ(straight.status, 0) << straight.out;
  Result stopped = run("train --quiet --threads 1 --config " + cfg + " --max-steps 150 --out " + b);
  ASSERT_EQ(stopped.status, 0) << stopped.out;
  Result resumed = run("train --quiet --threads 1 --resume --config " + cfg + " --out " + b);
  ASSERT_EQ(resumed.status, 0) << resumed.out;

  // The straight run did cut the rate (else this test would show nothing).
  std::ifstream log(a + "/log.jsonl");
  std::string line;
  double last_lr = 0.0;
  while (std::getline(log, line)) {
    const nlohmann::json j = nlohmann::json::parse(line);
    if (j.at("kind") == "step") last_lr = j.at("lr").get<double>();
  }
  EXPECT_NEAR(last_lr, 0.0005, 1e-9);

  train::Checkpoint x = train::load_checkpoint(a + "/last.safetensors");
  train::Checkpoint y = train::load_checkpoint(b + "/last.safetensors");
  EXPECT_EQ(x.state.at("step"), y.state.at("step"));
  EXPECT_EQ(x.state.at("plateau"), y.state.at("plateau"));
  for (const auto& [name, t] : x.model) {
    std::vector<float> u = t.to_vector(), v = y.model.at(name).to_vector();
    EXPECT_EQ(0, std::memcmp(u.data(), v.data(), u.size() * sizeof(float))) << name;
  }
}

// A key that the chosen optimiser or schedule never reads is a config error naming it.
TEST(Cli, TrainKeysOfAnotherScheduleAreConfigErrors) {
  const test::ScratchDir dir("cli_schedule_keys");
  const std::string d = dir.str();
  const std::string cfg = write_config(d, kSmall);
  const std::pair<const char*, const char*> cases[] = {
      {"--set train.schedule=one_cycle --set train.warmup=0.1",
       "train.warmup applies to schedule 'warmup_cosine' (and pretraining) only"},
      {"--set train.schedule=step --set train.min_lr=0.0001",
       "train.min_lr applies to schedules 'cosine', 'warmup_cosine' and 'plateau' only"},
      {"--set train.gamma=0.5", "train.gamma applies to schedules 'step' and 'plateau' only"},
      {"--set train.step_epochs=2", "train.step_epochs applies to schedule 'step' only"},
      {"--set train.momentum=0.5", "train.momentum applies to optimizer 'sgd' only"}};
  for (const auto& [set, message] : cases) {
    Result r = run("train --quiet --config " + cfg + " " + set + " --out " + d);
    EXPECT_EQ(r.status, 1) << set << ": " << r.out;
    EXPECT_NE(r.out.find(message), std::string::npos) << set << ": " << r.out;
  }
}

TEST(Cli, UnknownConfigKeyIsAUsageError) {
  const test::ScratchDir dir("cli_badkey");
  const std::string d = dir.str();
  Result r = run("train --quiet --config " + write_config(d, R"({"train": {"lrate": 0.1}})") +
                 " --out " + d);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("unknown key 'train.lrate'"), std::string::npos) << r.out;
  Result v = run("train --quiet --config " + write_config(d, R"({"model": {"dim": "big"}})") +
                 " --out " + d);
  EXPECT_EQ(v.status, 1) << v.out;
  EXPECT_NE(v.out.find("model.dim"), std::string::npos) << v.out;
  Result s =
      run("train --quiet --config " + write_config(d, "{}") + " --set train.epochs=0 --out " + d);
  EXPECT_EQ(s.status, 1) << s.out;
  EXPECT_NE(s.out.find("train.epochs"), std::string::npos) << s.out;
}

// Masked-token pretraining needs a task whose data has a token to hide words behind: the
// argmax_position task's ids use every token, so asking for it is a usage error naming the key.
TEST(Cli, PretrainingWithoutAMaskTokenIsAConfigError) {
  const test::ScratchDir dir("cli_pretrain");
  const std::string d = dir.str();
  Result r = run("train --quiet --config " + write_config(d, kSmall) +
                 " --set train.pretrain_epochs=1 --out " + d);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("train.pretrain_epochs and train.init need a sequence_transformer"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  // focus pretrain refuses it too.
  r = run("pretrain --quiet --config " + write_config(d, kSmall) +
          " --set train.pretrain_epochs=1 --out " + d + "/pre");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("cannot be pretrained on masked tokens"), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  // --check finds both without the data, and writes nothing.
  for (const char* cmd : {"train", "pretrain"}) {
    r = run(std::string(cmd) + " --check --config " + write_config(d, kSmall) +
            " --set train.pretrain_epochs=1 --out " + d + "/checked");
    EXPECT_EQ(r.status, 1) << cmd << ": " << r.out;
    EXPECT_NE(r.out.find(cmd == std::string("train") ? "need a sequence_transformer model on token"
                                                     : "cannot be pretrained on masked tokens"),
              std::string::npos)
        << cmd << ": " << r.out;
    EXPECT_FALSE(fs::exists(d + "/checked")) << cmd;
  }
  // train.init must name a pretrain directory.
  r = run("train --quiet --config " + write_config(d, kSmall) + " --set train.init=" + d +
          "/nowhere --out " + d);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("is not a `focus pretrain` directory"), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
}

// A task checks its keys before it loads anything: a typo is a usage error (exit 1) even when the
// data would have failed to load (exit 2).
TEST(Cli, DataKeyTypoFailsBeforeLoading) {
  const test::ScratchDir dir("cli_typo");
  const std::string d = dir.str();
  const std::string cfg = write_config(d, R"({
    "data": {"task": "fashion_mnist", "dir": "/nonexistent/fashion", "crop_pda": 2},
    "model": {"kind": "vit", "patch": 7, "dim": 16, "depth": 1, "heads": 2}
  })");
  Result r = run("train --quiet --config " + cfg + " --out " + d);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("unknown key 'data.crop_pda'"), std::string::npos) << r.out;
}

// A small ViT on Fashion-MNIST from a folder that does not exist: any data load fails (exit 2).
// `depth` is the model's depth key, misspelt or not; `train` is the train object.
std::string vit_without_data(const std::string& depth, const std::string& train = "{}") {
  return R"({"data": {"task": "fashion_mnist", "dir": "/nonexistent/fashion"},
             "model": {"kind": "vit", "patch": 7, "dim": 16, "heads": 2, ")" +
         depth + R"(": 1}, "train": )" + train + "}";
}

// The model's keys are checked with the rest of the config, before the data loads: a typo is a
// usage error (exit 1), not the missing data set's exit 2.
TEST(Cli, ModelKeyTypoFailsBeforeLoading) {
  const test::ScratchDir dir("cli_model_typo");
  const std::string d = dir.str();
  const std::string cfg = write_config(d, vit_without_data("dpeth"));
  Result r = run("train --quiet --config " + cfg + " --out " + d + "/out");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("unknown key 'model.dpeth'"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(d + "/out")) << "a config error created the output directory";
  // A pretraining key with a model that has no masked-token objective: also before the data.
  const std::string vit = write_config(d, vit_without_data("depth", R"({"pretrain_epochs": 1})"));
  Result p = run("train --quiet --config " + vit + " --out " + d + "/out");
  EXPECT_EQ(p.status, 1) << p.out;
  EXPECT_NE(p.out.find("train.pretrain_epochs and train.init need a sequence_transformer"),
            std::string::npos)
      << p.out;
}

// Every config the project ships passes `focus train --check`, which loads no data and writes
// nothing; where the task knows the data's sizes without loading it, the model is built.
TEST(Cli, CheckReadsEveryShippedConfig) {
  const test::ScratchDir dir("cli_check");
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(std::string(FOCUS_SOURCE_DIR) + "/configs")) {
    if (entry.path().extension() != ".json") continue;
    ++checked;
    const std::string out = dir.str() + "/" + entry.path().stem().string();
    Result r = run("train --check --config " + entry.path().string() + " --out " + out);
    EXPECT_EQ(r.status, 0) << entry.path() << ": " << r.out;
    EXPECT_EQ(r.out.rfind("config ok: task ", 0), 0u) << entry.path() << ": " << r.out;
    EXPECT_FALSE(fs::exists(out)) << entry.path() << ": --check wrote " << out;
    const bool spam = entry.path().stem().string().rfind("spam", 0) == 0;
    EXPECT_EQ(r.out.find("parameters") != std::string::npos, !spam)
        << entry.path() << ": only spam's sizes wait for its tokenizer: " << r.out;
    if (entry.path().stem() != "spam") continue;  // the one shipped config that pretrains
    Result p = run("pretrain --check --config " + entry.path().string() + " --out " + out);
    EXPECT_EQ(p.status, 0) << entry.path() << ": " << p.out;
    EXPECT_EQ(p.out.rfind("config ok: task spam, model sequence_transformer", 0), 0u) << p.out;
    EXPECT_FALSE(fs::exists(out)) << entry.path() << ": pretrain --check wrote " << out;
  }
  EXPECT_GE(checked, 8);
}

// --check finds what only the data's sizes reveal (a patch that does not divide a 28x28 image)
// and the task's own typos, with the usual exit code 1.
TEST(Cli, CheckFindsDataDependentAndDataKeyErrors) {
  const test::ScratchDir dir("cli_check_bad");
  const std::string d = dir.str();
  const std::string cfg = write_config(d, vit_without_data("depth"));
  Result ok = run("train --check --config " + cfg);
  EXPECT_EQ(ok.status, 0) << ok.out;
  EXPECT_NE(ok.out.find("config ok: task fashion_mnist, model vit with "), std::string::npos)
      << ok.out;
  Result patch = run("train --check --config " + cfg + " --set model.patch=5");
  EXPECT_EQ(patch.status, 1) << patch.out;
  EXPECT_NE(patch.out.find("model.patch 5 must divide the image's height 28"), std::string::npos)
      << patch.out;
  Result typo = run("train --check --config " + cfg + " --set data.flpi=0.5");
  EXPECT_EQ(typo.status, 1) << typo.out;
  EXPECT_NE(typo.out.find("unknown key 'data.flpi'"), std::string::npos) << typo.out;
}

TEST(Cli, MissingFilesAreDataErrors) {
  Result r = run("train --config /nonexistent/config.json");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("/nonexistent/config.json"), std::string::npos) << r.out;
  Result e = run("eval /nonexistent/model");
  EXPECT_EQ(e.status, 2) << e.out;
  Result u = run("frobnicate");
  EXPECT_EQ(u.status, 1) << u.out;
  Result h = run("--help");
  EXPECT_EQ(h.status, 0);
  EXPECT_NE(h.out.find("train"), std::string::npos);
}

TEST(Cli, TruncatedCheckpointIsAClearErrorAndResumeRefuses) {
  const test::ScratchDir dir("cli_trunc");
  const std::string d = dir.str();
  const std::string cfg = write_config(d, kSmall);
  ASSERT_EQ(
      run("train --quiet --threads 1 --config " + cfg + " --out " + d + " --set train.epochs=1")
          .status,
      0);
  const std::string last = d + "/last.safetensors";
  fs::resize_file(last, fs::file_size(last) / 2);
  Result r = run("train --quiet --resume --config " + cfg + " --out " + d);
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("last.safetensors"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("truncated"), std::string::npos) << r.out;
  // best.safetensors, written by the same run, is untouched and still serves eval and predict.
  Result e = run("eval " + d);
  EXPECT_EQ(e.status, 0) << e.out;
  // This task has no ensemble report.
  Result ens = run("eval " + d + " " + d + " --report --out " + d + "/ensemble");
  EXPECT_EQ(ens.status, 1) << ens.out;
  EXPECT_NE(ens.out.find("report describes one model"), std::string::npos) << ens.out;
  // Test-time views are for speech and image models; a warp outside 0.5..2 is a usage error.
  for (const char* view : {" --shifts -40,40", " --mirror"}) {
    Result views = run("eval " + d + view);
    EXPECT_EQ(views.status, 1) << views.out;
    EXPECT_NE(views.out.find("(--shifts, --warps: speech; --mirror: images) do not apply to " + d +
                             ", a model of task 'argmax_position'"),
              std::string::npos)
        << views.out;
  }
  Result warp = run("eval " + d + " --warps 0.9,3");
  EXPECT_EQ(warp.status, 1) << warp.out;
  EXPECT_NE(warp.out.find("--warps"), std::string::npos) << warp.out;
  Result p = run("predict " + d + " 3,17,5,9,22,1");
  EXPECT_EQ(p.status, 0) << p.out;
  EXPECT_NE(p.out.find("class"), std::string::npos) << p.out;
  Result bad = run("predict " + d + " 3,17,x");
  EXPECT_EQ(bad.status, 1) << bad.out;
  Result i = run("inspect " + d);
  EXPECT_EQ(i.status, 0) << i.out;
  EXPECT_NE(i.out.find("attention entropy per head"), std::string::npos) << i.out;
}

}  // namespace
}  // namespace focus
