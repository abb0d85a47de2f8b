// Training support: checkpoints (one safetensors file, written atomically), the JSON-lines log and
// the progress display.
//
//   train::Checkpoint ck{model.state_dict(), opt.state(), {{"step", step}, {"config", cfg}}};
//   train::save_checkpoint("run/last.safetensors", ck);
//   ck = train::load_checkpoint("run/last.safetensors");
//   model.load_state_dict(ck.model);  // shape mismatches are errors naming the key
//   opt.load(ck.optimizer);
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "focus/tensor.h"

namespace focus::train {

// A checkpoint is one safetensors file: the model's tensors under their own names, the optimiser's
// under "optimizer/<name>", and a JSON document (config, step, epoch, RNG states, schedule, best
// metric, ...) in the metadata key "focus", beside "format": "focus-checkpoint-1". One file renamed
// into place: a crash never leaves a model and a state that disagree, and a failed save leaves the
// previous file intact. Python's safetensors and PyTorch read the weights directly
// (scripts/check_checkpoint.py shows how without the safetensors package).
struct Checkpoint {
  std::map<std::string, Tensor> model;
  std::map<std::string, Tensor> optimizer;
  nlohmann::json state = nlohmann::json::object();
};

inline constexpr const char* kCheckpointFormat = "focus-checkpoint-1";

// Refuses, before touching the disk: model names starting with "optimizer/", tensors that are not
// f32/i32 on the CPU, non-finite values in a tensor or in `state` (JSON has no NaN; a diverged run
// must not overwrite the last good checkpoint).
void save_checkpoint(const std::string& path, const Checkpoint& ckpt);
// Errors (missing, truncated, wrong magic or header, NaN weights, no Focus format metadata, state
// that is not JSON) name the file and what was wrong, in one line.
Checkpoint load_checkpoint(const std::string& path);

// Appends one compact JSON object per line, flushed each record so a killed run keeps its log.
// NaN and infinities are written as null (JSON has no NaN).
class JsonlLog {
 public:
  JsonlLog() = default;  // closed: write() is an error
  // Truncates unless `append`. A missing directory or unwritable file is an error naming the path.
  explicit JsonlLog(const std::string& path, bool append = false);
  ~JsonlLog();
  JsonlLog(JsonlLog&& o) noexcept;
  JsonlLog& operator=(JsonlLog&& o) noexcept;
  void write(const nlohmann::json& record);
  bool is_open() const { return file_ != nullptr; }
  const std::string& path() const { return path_; }

 private:
  std::FILE* file_ = nullptr;
  std::string path_;
};

// A progress bar redrawn in place on a terminal, at most every 100 ms:
//   epoch 2/10 [########............] 312/600 loss 0.4120 acc 87.5% 1450 samples/s ETA 12:42
// and, when the stream is not a terminal, plain lines ("epoch 2/10 step 312/600 loss ...") every
// `plain_every` steps and at the end of each epoch. The rate comes from the samples and steps
// since the epoch's clock started (construction or the last end_epoch); the ETA is for the rest
// of the run at that rate.
class Progress {
 public:
  // total_steps: over all epochs (steps_per_epoch · epochs); <= 0 when unknown (no bar, no ETA).
  // A terminal when isatty(fileno(out)); the second form says, for tests.
  Progress(std::FILE* out, int64_t total_steps, int64_t epochs, int plain_every = 50);
  Progress(std::FILE* out, bool is_terminal, int64_t total_steps, int64_t epochs,
           int plain_every = 50);
  // epoch and step count from 1, step within the epoch; samples since the epoch began (or since
  // the run resumed). accuracy is a fraction in [0, 1]; NaN or negative leaves it out.
  void update(int64_t epoch, int64_t step, float loss, float accuracy, int64_t samples);
  // Finishes the bar (or prints the epoch's last plain line), then the summary on its own line
  // (none when empty), and restarts the clock for the next epoch.
  void end_epoch(const std::string& summary);

 private:
  using Clock = std::chrono::steady_clock;
  std::string render(int bar_width) const;  // bar_width 0: the plain line
  void draw(Clock::time_point now);

  std::FILE* out_;
  bool tty_;
  int64_t per_epoch_, epochs_;  // steps per epoch (0: unknown)
  int plain_every_;
  Clock::time_point start_, last_draw_{};
  // The latest update. first_step_: the epoch's first step since the clock started (0: none yet);
  // drawn_step_: the step last shown (0: none this epoch).
  int64_t epoch_ = 0, step_ = 0, samples_ = 0, first_step_ = 0, drawn_step_ = 0;
  float loss_ = 0, accuracy_ = -1;
  double elapsed_ = 0;  // seconds since the clock started, at the latest update
};

}  // namespace focus::train
