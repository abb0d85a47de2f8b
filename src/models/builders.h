// One builder per model kind, registered in build.cc. A builder reads and checks its keys from `r`
// (the config's "model" object, "kind" already read; read_model calls finish()) with no data at
// hand, and returns what makes the model once the data's description `input` ({"classes": C, ...}
// as the task wrote it) is known; checks that need `input` run there.
#pragma once

#include <memory>

#include <nlohmann/json.hpp>

#include "focus/config.h"
#include "focus/models.h"

namespace focus::models {

using Builder = ModelSpec::Make (*)(config::Reader& r);

ModelSpec::Make read_sequence_transformer(config::Reader& r);

ModelSpec::Make read_keyword_transformer(config::Reader& r);
ModelSpec::Make read_soft_frames(config::Reader& r);

// The data's value `key` from `input`, with an error naming the model kind that needs it.
int64_t input_int(const nlohmann::json& input, const char* key, const char* kind);

}  // namespace focus::models

namespace focus::models {
// Image classifiers (include/focus/models/vision.h); input {"channels", "height", "width",
// "classes"}.
ModelSpec::Make read_vit(config::Reader& r);
ModelSpec::Make read_soft_image(config::Reader& r);
}  // namespace focus::models
