#include "pretrained.h"

#include <filesystem>
#include <map>

#include "focus/config.h"
#include "focus/error.h"
#include "focus/io/safetensors.h"

namespace focus::cli {
namespace {

namespace fs = std::filesystem;

// The first key whose value differs between a and b (objects), or "" when none does.
std::string first_difference(const nlohmann::json& a, const nlohmann::json& b) {
  for (const auto& [k, v] : a.items())
    if (!b.contains(k) || b.at(k) != v) return k;
  for (const auto& [k, v] : b.items())
    if (!a.contains(k)) return k;
  return "";
}

std::string shown(const nlohmann::json& object, const std::string& key) {
  return object.contains(key) ? object.at(key).dump() : std::string("(not set)");
}

}  // namespace

train::MaskedLmOptions masked_lm_options(const train::FitOptions& fit, int32_t mask_id,
                                         const std::string& out_dir, bool progress) {
  return {.epochs = fit.pretrain_epochs,
          .batch = fit.batch,
          .mask = fit.pretrain_mask,
          .mask_id = mask_id,
          .lr = fit.lr,
          .weight_decay = fit.weight_decay,
          .warmup = fit.warmup,
          .clip = fit.clip,
          .seed = fit.seed,
          .precision = fit.precision,
          .out_dir = out_dir,
          .progress = progress};
}

Pretrained open_pretrained_dir(const std::string& dir, const nlohmann::json& config) {
  const fs::path d(dir);
  if (!fs::is_regular_file(d / kPretrainedFile) || !fs::is_regular_file(d / "config.json"))
    throw config::ConfigError("config: train.init '" + dir + "' is not a `focus pretrain` " +
                              "directory (no " + kPretrainedFile + " and config.json there)");
  const nlohmann::json pre = config::load((d / "config.json").string());
  const nlohmann::json empty = nlohmann::json::object();
  const nlohmann::json& model = config.contains("model") ? config.at("model") : empty;
  const nlohmann::json& pre_model = pre.contains("model") ? pre.at("model") : empty;
  if (const std::string k = first_difference(model, pre_model); !k.empty())
    throw config::ConfigError("config: train.init '" + dir + "' was pretrained with model." + k +
                              " = " + shown(pre_model, k) + ", this config has " + shown(model, k) +
                              "; the model must be the same");
  auto text_keys = [&](const nlohmann::json& root) {
    nlohmann::json data = root.contains("data") ? root.at("data") : empty;
    for (const char* k : {"validation", "folds", "fold", "group_weights"}) data.erase(k);
    return data;
  };
  const nlohmann::json data = text_keys(config), pre_data = text_keys(pre);
  if (const std::string k = first_difference(data, pre_data); !k.empty())
    throw config::ConfigError(
        "config: train.init '" + dir + "' was pretrained with data." + k + " = " +
        shown(pre_data, k) + ", this config has " + shown(data, k) +
        "; only data.validation, folds, fold and group_weights may differ (the others move the "
        "test split or change the text)");
  return {dir, pre, io::load_safetensors((d / kPretrainedFile).string()).tensors};
}

void save_encoder(const models::SequenceClassifier& model, const std::string& dir) {
  std::map<std::string, Tensor> tensors;
  for (const auto& [name, t] : model.encoder_parameters()) tensors.emplace(name, t);
  io::save_safetensors((fs::path(dir) / kPretrainedFile).string(), tensors,
                       {{"format", "focus-pretrained-encoder"}});
}

void load_encoder(models::SequenceClassifier& model, const Pretrained& pre) {
  const std::string path = (fs::path(pre.dir) / kPretrainedFile).string();
  std::map<std::string, Tensor> encoder;
  for (const auto& [name, t] : model.encoder_parameters()) encoder.emplace(name, t);
  for (const auto& [name, t] : pre.encoder)
    FOCUS_CHECK(encoder.count(name), "train.init: ", path, " holds '", name, "' ", t.shape(),
                ", which is not a tensor of this model's encoder");
  for (const auto& [name, t] : encoder)
    FOCUS_CHECK(pre.encoder.count(name), "train.init: ", path, " lacks the encoder's '", name, "' ",
                t.shape());
  // Shapes and dtypes are checked before anything is copied.
  model.load_state_dict(pre.encoder, /*strict=*/false);
}

}  // namespace focus::cli
