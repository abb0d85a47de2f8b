// Pieces shared by image tasks: preprocessing saved with the model, the image a user gives to
// predict, and the reports written after training (attention grid, per-class accuracy, learning
// curves).
#pragma once

#include <string>
#include <vector>

#include "app.h"
#include "focus/image.h"

namespace focus::cli::vision {

// What turns pixels into the model's input, saved as MODEL_DIR/preprocess.json by training.
struct Preprocess {
  int64_t height = 28, width = 28;
  float mean = 0.0f, stddev = 1.0f;  // of x/255 over the training split
  std::vector<std::string> class_names;
};
void save_preprocess(const std::string& dir, const Preprocess& p);
Preprocess load_preprocess(const std::string& dir);

// Any PNG/JPEG as the model's input: grey, resized, normalised -> f32 [1,1,H,W]. Fashion-MNIST
// shows light objects on black; a photo with a light background (mean of its border > 50%) is
// inverted first, and `inverted` says so.
struct PreparedImage {
  Image original;  // as read
  Image grey;      // height×width, as the model sees it before normalisation
  Tensor x;        // [1,1,H,W]
  bool inverted = false;
};
PreparedImage prepare_image(const std::string& path, const Preprocess& p);

// `focus predict` for image models: top classes with probabilities; with `attention`, a PNG of
// the image with where the model looked.
int predict_image(const Loaded& model, const Preprocess& p, const PredictOptions& opt);

// After training: attention_maps.png, per_class_accuracy.json and learning_curves.png (from
// MODEL_DIR/log.jsonl) in `dir`; prints the per-class table and each path. `views`: those the
// test figures were averaged over (focus eval --mirror), recorded in the JSON.
void report_images(const Loaded& model, const Preprocess& p, const train::Evaluation& test,
                   const std::string& dir, const Views& views = {});

// An ensemble's report: per_class_accuracy.json in `dir`, listing the members; the attention maps
// and learning curves are each member's own (one network's), in its directory.
void report_ensemble(const Report& r, const Preprocess& p);

// The learning curves of MODEL_DIR/log.jsonl as a PNG; false when the log has no records.
bool write_learning_curves(const std::string& log_path, const std::string& png_path);

}  // namespace focus::cli::vision
