// One builder per model kind, registered in build.cc. A builder reads its keys from `r` (the
// config's "model" object, "kind" already read; finish() is called by build) and the data's
// description from `input` ({"classes": C, ...} as the task wrote it).
#pragma once

#include <memory>

#include <nlohmann/json.hpp>

#include "focus/config.h"
#include "focus/models.h"

namespace focus::models {

using Builder = std::unique_ptr<Classifier> (*)(config::Reader& r, const nlohmann::json& input,
                                                Generator& gen);

std::unique_ptr<Classifier> build_sequence_transformer(config::Reader& r,
                                                       const nlohmann::json& input, Generator& gen);

// The data's value `key` from `input`, with an error naming the model kind that needs it.
int64_t input_int(const nlohmann::json& input, const char* key, const char* kind);

}  // namespace focus::models

namespace focus::models {
// Image classifiers (include/focus/models/vision.h); input {"channels", "height", "width",
// "classes"}.
std::unique_ptr<Classifier> build_vit(config::Reader& r, const nlohmann::json& input,
                                      Generator& gen);
std::unique_ptr<Classifier> build_soft_image(config::Reader& r, const nlohmann::json& input,
                                             Generator& gen);
}  // namespace focus::models
