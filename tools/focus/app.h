// The focus command line: shared pieces of the subcommands.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "focus/focus.h"
#include "focus/models.h"
#include "focus/trainer.h"

namespace focus::cli {

// Exit codes: 0 success, 1 usage (bad flags or config), 2 data or I/O.
constexpr int kOk = 0, kUsage = 1, kData = 2;

struct Splits {
  std::shared_ptr<const data::Dataset> train, validation, test;
  nlohmann::json input;  // what the model needs to know of the data (vocab, length, classes)
};

// The data a config's "data" object names.
Splits load_data(config::Reader& data);

// A trained model directory: config.json (the resolved config) and best.safetensors.
struct Loaded {
  nlohmann::json config;
  std::unique_ptr<models::Classifier> model;
  Splits splits;
};
Loaded load_model_dir(const std::string& dir);

int train_main(int argc, char** argv);
int eval_main(int argc, char** argv);
int predict_main(int argc, char** argv);
int inspect_main(int argc, char** argv);

}  // namespace focus::cli
