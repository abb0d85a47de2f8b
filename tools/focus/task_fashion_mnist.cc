// The fashion_mnist task: Fashion-MNIST from Debian's dataset-fashion-mnist, a stratified seeded
// validation split of the 60,000 training images, the official 10,000 test images, and light
// augmentation. Predict reads any PNG/JPEG.
#include <cmath>
#include <cstdio>
#include <tuple>

#include "app.h"
#include "focus/idx.h"
#include "vision.h"

namespace focus::cli {
namespace {

// A stratified subset of about n of `set`'s examples, chosen by seed (all when n is 0 or more).
std::vector<int64_t> stratified(const data::GreyImages& set, const std::vector<int64_t>& from,
                                int64_t n, uint64_t seed) {
  if (n <= 0 || n >= int64_t(from.size())) return from;
  std::vector<int32_t> labels;
  for (int64_t i : from) labels.push_back(set.labels()[size_t(i)]);
  const auto [rest, chosen] =
      data::split(int64_t(from.size()), float(double(n) / double(from.size())), seed, labels);
  std::vector<int64_t> out;
  for (int64_t k : chosen) out.push_back(from[size_t(k)]);
  return out;
}

std::vector<int64_t> all(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[size_t(i)] = i;
  return v;
}

// Adds `v` to every element: moves the background (a 0 pixel, normalised) to 0 and back, so the
// padding random_crop adds is background rather than mid-grey.
data::Transform add(float v) {
  return [v](const Tensor& x, Generator&) {
    const Tensor src = x.contiguous();
    Tensor out = make_tensor(x.shape());
    for (int64_t i = 0; i < x.numel(); ++i) out.data()[i] = src.data()[i] + v;
    return out;
  };
}

class FashionMnistTask : public Task {
 public:
  Splits load(config::Reader& r, const TaskContext& ctx) const override {
    const std::string dir = r.string("dir", data::fashion_mnist_dir());
    const double validation = r.number("validation", 0.1, 0.0, 0.9);
    const uint64_t seed = uint64_t(r.integer("seed", 1, 0));
    const int64_t n_train = r.integer("train", 0, 0, 60000);
    const int64_t n_test = r.integer("test", 0, 0, 10000);
    const int64_t crop_pad = r.integer("crop_pad", 2, 0, 14);
    const double flip = r.number("flip", 0.5, 0.0, 1.0);
    const double erase = r.number("erase", 0.0, 0.0, 1.0);
    const double erase_max_area = r.number("erase_max_area", 0.4, 0.02, 1.0);
    r.finish();
    if (n_train > 0 && validation > 0 && std::llround(validation * double(n_train)) < 10)
      throw config::ConfigError(detail::cat("config: data.validation ", validation,
                                            " of data.train ", n_train,
                                            " leaves fewer than 10 validation images"));
    Splits s;
    s.class_names = data::fashion_mnist_classes();
    s.input = {{"channels", 1}, {"height", 28}, {"width", 28}, {"classes", 10}};
    if (ctx.check_only) return s;
    vision::Preprocess pre;
    pre.class_names = s.class_names;
    if (!ctx.training) {
      pre = vision::load_preprocess(ctx.model_dir);
      if (!ctx.need_data) return s;
    }
    const data::FashionMnist fm = data::read_fashion_mnist(dir);
    // The pool of training images (all 60,000, or a stratified subset), split into training and
    // validation; the test images are the official 10,000 (or a stratified subset).
    const std::vector<int64_t> pool = stratified(*fm.train, all(fm.train->size()), n_train, seed);
    std::vector<int32_t> pool_labels;
    for (int64_t i : pool) pool_labels.push_back(fm.train->labels()[size_t(i)]);
    const auto [tr, va] =
        data::split(int64_t(pool.size()), float(validation), seed + 1, pool_labels);
    std::vector<int64_t> train_idx, val_idx;
    for (int64_t k : tr) train_idx.push_back(pool[size_t(k)]);
    for (int64_t k : va) val_idx.push_back(pool[size_t(k)]);
    if (ctx.training) {
      std::tie(pre.mean, pre.stddev) = fm.train->pixel_stats(train_idx);
      vision::save_preprocess(ctx.model_dir, pre);
    }
    const auto train_set = fm.train->normalised(pre.mean, pre.stddev);
    const auto test_set = fm.test->normalised(pre.mean, pre.stddev);
    s.train = std::make_shared<data::Subset>(train_set, train_idx);
    // Without a validation split, model choice falls back on the training images themselves.
    s.validation = val_idx.empty() ? s.train : std::make_shared<data::Subset>(train_set, val_idx);
    s.test = std::make_shared<data::Subset>(
        test_set, stratified(*fm.test, all(fm.test->size()), n_test, seed + 2));
    const float background = -pre.mean / pre.stddev;
    std::vector<data::Transform> aug;
    if (crop_pad > 0) aug = {add(-background), data::random_crop(crop_pad), add(background)};
    if (flip > 0) aug.push_back(data::random_flip(float(flip)));
    if (erase > 0)
      aug.push_back(data::random_erase({.p = float(erase), .max_area = float(erase_max_area)}));
    if (!aug.empty()) s.augment = data::compose(aug);
    return s;
  }

  int predict(const Loaded& l, const PredictOptions& opt) const override {
    return vision::predict_image(l, vision::load_preprocess(l.dir), opt);
  }

  void report(const Report& r) const override {
    const Loaded& l = *r.members.front();
    const vision::Preprocess p = vision::load_preprocess(l.dir);
    if (r.members.size() > 1)
      vision::report_ensemble(r, p);
    else
      vision::report_images(l, p, r.test, r.dir, r.views);
  }
  bool reports_ensembles() const override { return true; }

  // The images as they are, and mirrored: training flips at random (data.flip), so a mirrored
  // garment is one the model was taught to know.
  std::vector<std::shared_ptr<const data::Dataset>> views(const Loaded& l, const std::string& split,
                                                          const Views& v) const override {
    if (v.heard())
      throw config::ConfigError("--shifts and --warps are for speech models; " + l.dir +
                                " is an image model (its view: --mirror)");
    const auto base = l.splits.named(split);
    FOCUS_CHECK(base != nullptr, "fashion_mnist: ", l.dir, " has no ", split, " split loaded");
    const nlohmann::json data = l.config.value("data", nlohmann::json::object());
    if (data.value("flip", 0.5) == 0.0)
      std::fprintf(stderr,
                   "eval: note: %s was trained without data.flip, so mirrored images are new to "
                   "it; --mirror is likely to cost accuracy\n",
                   l.dir.c_str());
    return {base, std::make_shared<data::Mapped>(base, data::random_flip(1.0f))};
  }
};

}  // namespace

std::unique_ptr<Task> make_fashion_mnist_task() { return std::make_unique<FashionMnistTask>(); }

}  // namespace focus::cli
