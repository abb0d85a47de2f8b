#include <string>
#include <utility>
#include <vector>

#include "builders.h"

namespace focus::models {

namespace {

const std::vector<std::pair<std::string, Builder>>& kinds() {
  static const std::vector<std::pair<std::string, Builder>> table = {
      {"sequence_transformer", read_sequence_transformer},
      {"keyword_transformer", read_keyword_transformer},
      {"soft_frames", read_soft_frames},
      {"vit", read_vit},
      {"soft_image", read_soft_image},
  };
  return table;
}

}  // namespace

int64_t input_int(const nlohmann::json& input, const char* key, const char* kind) {
  if (!input.contains(key) || !input.at(key).is_number_integer())
    throw config::ConfigError(detail::cat("config: model.kind '", kind, "' needs data that gives '",
                                          key, "'; this task's data gives ", input.dump()));
  return input.at(key).get<int64_t>();
}

ModelSpec read_model(const nlohmann::json& model) {
  config::Reader r(model, "model");
  std::vector<std::string> names;
  for (const auto& [name, b] : kinds()) names.push_back(name);
  const std::string kind = r.string("kind", "sequence_transformer", names);
  for (const auto& [name, read] : kinds())
    if (name == kind) {
      ModelSpec spec(kind, read(r));
      r.finish();
      return spec;
    }
  // Unreachable: string() checked the choice.
  throw config::ConfigError("config: model.kind '" + kind + "' has no builder");
}

std::unique_ptr<Classifier> build(const nlohmann::json& model, const nlohmann::json& input,
                                  Generator& gen) {
  return read_model(model).make(input, gen);
}

ModelSpec::Make read_sequence_transformer(config::Reader& r) {
  SequenceClassifierOptions o;
  o.dim = r.integer("dim", 64, 1, 1 << 16);
  // depth 0 is the soft-attention baseline: each piece's embedding and position, pooled by
  // soft attention, with no encoder block between.
  o.depth = r.integer("depth", 2, 0, 256);
  o.heads = r.integer("heads", 4, 1, 1024);
  o.mlp_ratio = r.integer("mlp_ratio", 2, 1, 64);
  o.dropout = float(r.number("dropout", 0.0, 0.0, 0.99));
  o.pool = r.string("pool", "cls", {"cls", "mean", "soft"});
  o.conv = r.integer("conv", 0, 0, 63);
  if (o.conv % 2 == 0 && o.conv != 0)
    throw config::ConfigError(detail::cat("config: model.conv (a kernel centred on each piece) ",
                                          "must be 0 or odd, got ", o.conv));
  if (o.depth == 0 && o.pool != "soft")
    throw config::ConfigError(detail::cat("config: model.depth 0 (no encoder block) needs ",
                                          "model.pool 'soft', got '", o.pool, "'"));
  if (o.dim % o.heads != 0)
    throw config::ConfigError(detail::cat("config: model.dim ", o.dim, " must be a multiple of ",
                                          "model.heads ", o.heads));
  return [o](const nlohmann::json& input, Generator& gen) -> std::unique_ptr<Classifier> {
    SequenceClassifierOptions m = o;
    m.vocab = input_int(input, "vocab", "sequence_transformer");
    m.max_len = input_int(input, "length", "sequence_transformer");
    m.classes = input_int(input, "classes", "sequence_transformer");
    if (input.contains("pad")) m.pad_id = int32_t(input_int(input, "pad", "sequence_transformer"));
    return std::make_unique<SequenceClassifier>(m, gen);
  };
}

}  // namespace focus::models
