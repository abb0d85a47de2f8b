#include "app.h"

#include <filesystem>

#include "focus/tasks.h"
#include "focus/train.h"

namespace focus::cli {

Splits load_data(config::Reader& r) {
  const std::string task = r.string("task", "argmax_position", {"argmax_position"});
  Splits s;
  const int64_t length = r.integer("length", 12, 2, 4096);
  const int64_t vocab = r.integer("vocab", 64, 2, 1 << 24);
  const uint64_t seed = uint64_t(r.integer("seed", 7, 0));
  const int64_t n_train = r.integer("train", 6000, 1), n_val = r.integer("validation", 1000, 1);
  const int64_t n_test = r.integer("test", 2000, 1);
  if (vocab < length)
    throw config::ConfigError(detail::cat("config: data.vocab ", vocab, " must be >= data.length ",
                                          length, " (the tokens of a sequence are distinct)"));
  // Disjoint seeds per split, so no test sequence is generated for training by construction.
  s.train = std::make_shared<tasks::ArgmaxPosition>(n_train, length, vocab, seed * 3 + 0);
  s.validation = std::make_shared<tasks::ArgmaxPosition>(n_val, length, vocab, seed * 3 + 1);
  s.test = std::make_shared<tasks::ArgmaxPosition>(n_test, length, vocab, seed * 3 + 2);
  s.input = {{"vocab", vocab}, {"length", length}, {"classes", length}};
  return s;
}

Loaded load_model_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  FOCUS_CHECK(fs::is_directory(dir), "model directory ", dir, " does not exist");
  Loaded l;
  l.config = config::load((fs::path(dir) / "config.json").string());
  config::Reader root(l.config);
  config::Reader data = root.object("data");
  l.splits = load_data(data);
  Generator gen(0);
  l.model = models::build(l.config.value("model", nlohmann::json::object()), l.splits.input, gen);
  train::Checkpoint ck = train::load_checkpoint((fs::path(dir) / "best.safetensors").string());
  l.model->load_state_dict(ck.model);
  l.model->eval();
  return l;
}

}  // namespace focus::cli
