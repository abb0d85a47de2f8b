#include "focus/config.h"
#include "focus/models.h"

namespace focus::models {

std::unique_ptr<Classifier> build(const nlohmann::json& model, const nlohmann::json& input,
                                  Generator& gen) {
  config::Reader r(model, "model");
  const std::string kind = r.string("kind", "sequence_transformer", {"sequence_transformer"});
  SequenceClassifierOptions o;
  o.vocab = input.at("vocab").get<int64_t>();
  o.max_len = input.at("length").get<int64_t>();
  o.classes = input.at("classes").get<int64_t>();
  o.dim = r.integer("dim", 64, 1, 1 << 16);
  o.depth = r.integer("depth", 2, 1, 256);
  o.heads = r.integer("heads", 4, 1, 1024);
  o.mlp_ratio = r.integer("mlp_ratio", 2, 1, 64);
  o.dropout = float(r.number("dropout", 0.0, 0.0, 0.99));
  o.pool = r.string("pool", "cls", {"cls", "mean"});
  if (o.dim % o.heads != 0)
    throw config::ConfigError(detail::cat("config: model.dim ", o.dim, " must be a multiple of ",
                                          "model.heads ", o.heads));
  r.finish();
  return std::make_unique<SequenceClassifier>(o, gen);
}

}  // namespace focus::models
