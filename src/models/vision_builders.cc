// Config builders of the image classifiers: "vit" and "soft_image".
#include "builders.h"
#include "focus/models/vision.h"

namespace focus::models {
namespace {

struct ImageInput {
  int64_t channels, height, width, classes;
};

ImageInput image_input(const nlohmann::json& input, const char* kind) {
  ImageInput in{input_int(input, "channels", kind), input_int(input, "height", kind),
                input_int(input, "width", kind), input_int(input, "classes", kind)};
  if (in.channels < 1 || in.height < 1 || in.width < 1 || in.classes < 2)
    throw config::ConfigError(detail::cat("config: model.kind '", kind, "' needs images with ",
                                          "channels, height, width >= 1 and classes >= 2; this ",
                                          "task's data gives ", input.dump()));
  return in;
}

void check_patch(int64_t patch, const ImageInput& in) {
  if (in.height % patch != 0 || in.width % patch != 0)
    throw config::ConfigError(detail::cat("config: model.patch ", patch,
                                          " must divide the image's height ", in.height,
                                          " and width ", in.width));
}

}  // namespace

ModelSpec::Make read_vit(config::Reader& r) {
  ViTOptions o;
  o.patch = r.integer("patch", 4, 1, 1 << 12);
  o.dim = r.integer("dim", 128, 1, 1 << 16);
  o.depth = r.integer("depth", 6, 1, 256);
  o.heads = r.integer("heads", 4, 1, 1024);
  o.mlp_ratio = r.integer("mlp_ratio", 4, 1, 64);
  o.dropout = float(r.number("dropout", 0.0, 0.0, 0.99));
  o.attention_dropout = float(r.number("attention_dropout", 0.0, 0.0, 0.99));
  o.pool = r.string("pool", "cls", {"cls", "mean"});
  o.stem = r.string("stem", "patch", {"patch", "conv"});
  // Only the conv stem reads stem_channels, so with "patch" it is reported as unknown.
  if (o.stem == "conv") o.stem_channels = r.integer("stem_channels", 32, 1, 1 << 14);
  if (o.stem == "conv" && (o.patch < 2 || (o.patch & (o.patch - 1)) != 0))
    throw config::ConfigError(detail::cat("config: model.stem 'conv' halves the image log2(patch) ",
                                          "times, so model.patch must be a power of two >= 2; ",
                                          "got ", o.patch));
  if (o.dim % o.heads != 0)
    throw config::ConfigError(detail::cat("config: model.dim ", o.dim, " must be a multiple of ",
                                          "model.heads ", o.heads));
  return [o](const nlohmann::json& input, Generator& gen) -> std::unique_ptr<Classifier> {
    const ImageInput in = image_input(input, "vit");
    check_patch(o.patch, in);
    ViTOptions m = o;
    m.channels = in.channels, m.height = in.height, m.width = in.width, m.classes = in.classes;
    return std::make_unique<ViT>(m, gen);
  };
}

ModelSpec::Make read_soft_image(config::Reader& r) {
  SoftImageOptions o;
  o.features = r.string("features", "conv", {"conv", "patch"});
  // Each extractor reads only its own keys, so the other's are reported as unknown.
  if (o.features == "patch")
    o.patch = r.integer("patch", 4, 1, 1 << 12);
  else
    o.hidden = r.integer("hidden", 32, 1, 1 << 14);
  o.dim = r.integer("dim", 64, 1, 1 << 16);
  o.score = r.string("score", "additive", {"additive", "linear"});
  // The additive score's hidden size; the linear score has none, so the key is unknown there.
  if (o.score == "additive") o.attention_hidden = r.integer("attention_hidden", 0, 0, 1 << 16);
  o.positions = r.boolean("positions", true);
  o.dropout = float(r.number("dropout", 0.0, 0.0, 0.99));
  return [o](const nlohmann::json& input, Generator& gen) -> std::unique_ptr<Classifier> {
    const ImageInput in = image_input(input, "soft_image");
    if (o.features == "patch") check_patch(o.patch, in);
    if (o.features == "conv" && (in.height < 2 || in.width < 2))
      throw config::ConfigError(detail::cat("config: model.features 'conv' needs images of at ",
                                            "least 2x2; this task's are ", in.height, "x",
                                            in.width));
    SoftImageOptions m = o;
    m.channels = in.channels, m.height = in.height, m.width = in.width, m.classes = in.classes;
    return std::make_unique<SoftImageClassifier>(m, gen);
  };
}

}  // namespace focus::models
