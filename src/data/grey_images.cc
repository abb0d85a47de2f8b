// Grey byte images as a data set, and the IDX images + labels pair that makes one.
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "focus/error.h"
#include "focus/idx.h"

namespace focus::data {

GreyImages::GreyImages(std::shared_ptr<const std::vector<uint8_t>> pixels, int64_t n,
                       int64_t height, int64_t width, std::vector<int32_t> labels, float mean,
                       float stddev)
    : pixels_(std::move(pixels)),
      n_(n),
      h_(height),
      w_(width),
      labels_(std::move(labels)),
      mean_(mean),
      stddev_(stddev) {
  FOCUS_CHECK(pixels_ && n >= 0 && height > 0 && width > 0 &&
                  int64_t(pixels_->size()) == n * height * width,
              "grey_images: ", pixels_ ? pixels_->size() : 0, " bytes of pixels for ", n,
              " images ", height, "x", width);
  FOCUS_CHECK(int64_t(labels_.size()) == n, "grey_images: ", n, " images but ", labels_.size(),
              " labels");
  FOCUS_CHECK(stddev > 0.0f && std::isfinite(mean), "grey_images: bad normalisation mean ", mean,
              " stddev ", stddev);
}

const uint8_t* GreyImages::pixels(int64_t i) const {
  FOCUS_CHECK(i >= 0 && i < n_, "grey_images: index ", i, " outside [0, ", n_, ")");
  return pixels_->data() + i * h_ * w_;
}

Example GreyImages::get(int64_t i) const {
  const uint8_t* p = pixels(i);
  Tensor x = Tensor::empty({1, h_, w_});  // [1,H,W]
  float* o = x.data();
  const float a = 1.0f / (255.0f * stddev_), b = -mean_ / stddev_;
  for (int64_t k = 0; k < h_ * w_; ++k) o[k] = float(p[k]) * a + b;
  return {x, labels_[size_t(i)]};
}

std::pair<float, float> GreyImages::pixel_stats(const std::vector<int64_t>& indices) const {
  // Exact integer sums: 60,000 images of 784 bytes stay far below 2^63.
  uint64_t count[256] = {};
  auto add = [&](int64_t i) {
    const uint8_t* p = pixels(i);
    for (int64_t k = 0; k < h_ * w_; ++k) ++count[p[k]];
  };
  if (indices.empty())
    for (int64_t i = 0; i < n_; ++i) add(i);
  else
    for (int64_t i : indices) add(i);
  double n = 0, sum = 0, sq = 0;
  for (int v = 0; v < 256; ++v) {
    const double x = v / 255.0, c = double(count[v]);
    n += c;
    sum += c * x;
    sq += c * x * x;
  }
  FOCUS_CHECK(n > 0, "grey_images: pixel_stats of no images");
  const double mean = sum / n, var = std::max(0.0, sq / n - mean * mean);
  return {float(mean), float(std::max(std::sqrt(var), 1e-6))};
}

std::shared_ptr<GreyImages> GreyImages::normalised(float mean, float stddev) const {
  return std::make_shared<GreyImages>(pixels_, n_, h_, w_, labels_, mean, stddev);
}

std::shared_ptr<GreyImages> read_idx_images(const std::string& images_path,
                                            const std::string& labels_path, int64_t classes) {
  IdxArray images = read_idx(images_path);
  if (images.type != IdxType::u8 || images.dims.size() != 3)
    throw Error(detail::cat("idx: ", images_path, ": want u8 images [N,H,W], got ",
                            idx_type_name(images.type), " with ", images.dims.size(), " dims"));
  IdxArray labels = read_idx(labels_path);
  if (labels.type != IdxType::u8 || labels.dims.size() != 1)
    throw Error(detail::cat("idx: ", labels_path, ": want u8 labels [N], got ",
                            idx_type_name(labels.type), " with ", labels.dims.size(), " dims"));
  const int64_t n = images.dims[0];
  if (labels.dims[0] != n)
    throw Error(detail::cat("idx: ", labels_path, ": ", labels.dims[0], " labels for the ", n,
                            " images of ", images_path));
  std::vector<int32_t> y(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    y[size_t(i)] = labels.bytes[size_t(i)];
    if (y[size_t(i)] >= classes)
      throw Error(detail::cat("idx: ", labels_path, ": label ", y[size_t(i)], " of example ", i,
                              " is not below the ", classes, " classes"));
  }
  auto pixels = std::make_shared<const std::vector<uint8_t>>(std::move(images.bytes));
  return std::make_shared<GreyImages>(pixels, n, images.dims[1], images.dims[2], std::move(y));
}

std::string fashion_mnist_dir() {
  const char* env = std::getenv("FOCUS_FASHION_MNIST");
  return env && *env ? env : "/usr/share/datasets/fashion-mnist";
}

const std::vector<std::string>& fashion_mnist_classes() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                                 "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                                 "Bag",         "Ankle boot"};
  return names;
}

FashionMnist read_fashion_mnist(const std::string& dir) {
  namespace fs = std::filesystem;
  auto path = [&](const char* file) {
    const std::string p = (fs::path(dir) / file).string();
    if (!fs::exists(p))
      throw Error(detail::cat("fashion_mnist: ", p,
                              " not found (install Debian's dataset-fashion-mnist, or point "
                              "FOCUS_FASHION_MNIST at a folder holding the four .gz files)"));
    return p;
  };
  FashionMnist f;
  f.train =
      read_idx_images(path("train-images-idx3-ubyte.gz"), path("train-labels-idx1-ubyte.gz"), 10);
  f.test =
      read_idx_images(path("t10k-images-idx3-ubyte.gz"), path("t10k-labels-idx1-ubyte.gz"), 10);
  for (const auto& [set, p] : {std::pair{f.train.get(), "train"}, std::pair{f.test.get(), "t10k"}})
    if (set->height() != 28 || set->width() != 28)
      throw Error(detail::cat("fashion_mnist: ", dir, "/", p, "-images-idx3-ubyte.gz: images are ",
                              set->height(), "x", set->width(), ", not 28x28"));
  return f;
}

}  // namespace focus::data
