// IDX files (the MNIST / Fashion-MNIST format), plain or gzip'd, and grey image data sets kept as
// bytes: 60,000 28×28 images stay 47 MB in memory instead of 188 MB of floats.
//
//   data::IdxArray a = data::read_idx("train-images-idx3-ubyte.gz");   // dims {60000, 28, 28}
//   auto train = data::read_idx_images("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz");
//   auto [mean, stddev] = train->pixel_stats(indices);                 // of x/255
//   auto norm = train->normalised(mean, stddev);                       // get(i): f32 [1,28,28]
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "focus/data.h"

namespace focus::data {

// The element type byte of the magic number 0x0000TTDD (TT the type, DD the number of dims).
enum class IdxType : uint8_t {
  u8 = 0x08,
  i8 = 0x09,
  i16 = 0x0B,
  i32 = 0x0C,
  f32 = 0x0D,
  f64 = 0x0E
};
const char* idx_type_name(IdxType t);
size_t idx_type_size(IdxType t);

struct IdxArray {
  IdxType type = IdxType::u8;
  std::vector<int64_t> dims;   // from the header, e.g. {60000, 28, 28}
  std::vector<uint8_t> bytes;  // the elements, row-major, multi-byte types in host byte order
  int64_t numel() const;
};

// Reads an IDX file, gunzipping it when it starts with gzip's magic bytes (not by extension).
// A bad magic number, a dimension of 0, a truncated file or gzip stream, or bytes after the data
// throw focus::Error naming the file and what is wrong ("idx: x.gz: truncated: the header
// promises 47040000 bytes of u8 data [60000,28,28], the file holds 1000").
IdxArray read_idx(const std::string& path);
IdxArray decode_idx(const std::vector<uint8_t>& bytes, const std::string& name = "idx data");

// The file's bytes; gunzipped when they start with gzip's magic (a truncated or corrupt stream
// throws naming the file).
std::vector<uint8_t> read_maybe_gzip(const std::string& path);

// Grey 8-bit images [N,H,W] with labels, served as f32 [1,H,W] = (x/255 - mean) / stddev.
// Copies share the pixel memory.
class GreyImages : public Dataset {
 public:
  GreyImages(std::shared_ptr<const std::vector<uint8_t>> pixels, int64_t n, int64_t height,
             int64_t width, std::vector<int32_t> labels, float mean = 0.0f, float stddev = 1.0f);
  int64_t size() const override { return n_; }
  Example get(int64_t index) const override;  // f32 [1,H,W]
  int64_t height() const { return h_; }
  int64_t width() const { return w_; }
  float mean() const { return mean_; }
  float stddev() const { return stddev_; }
  const std::vector<int32_t>& labels() const { return labels_; }
  const uint8_t* pixels(int64_t index) const;  // H·W bytes
  // Mean and standard deviation of x/255 over the pixels of `indices` (all examples when empty).
  std::pair<float, float> pixel_stats(const std::vector<int64_t>& indices = {}) const;
  // The same images served with another normalisation.
  std::shared_ptr<GreyImages> normalised(float mean, float stddev) const;

 private:
  std::shared_ptr<const std::vector<uint8_t>> pixels_;
  int64_t n_, h_, w_;
  std::vector<int32_t> labels_;
  float mean_, stddev_;
};

// An images file ([N,H,W] u8) and its labels file ([N] u8, each < classes) as one data set;
// disagreeing counts, other types or dims, or a label >= classes throw naming the file.
std::shared_ptr<GreyImages> read_idx_images(const std::string& images_path,
                                            const std::string& labels_path, int64_t classes);

// ---- Fashion-MNIST (Debian's dataset-fashion-mnist) --------------------------------------------

// $FOCUS_FASHION_MNIST when set, else /usr/share/datasets/fashion-mnist.
std::string fashion_mnist_dir();
// The 10 class names in label order: "T-shirt/top", "Trouser", ..., "Ankle boot".
const std::vector<std::string>& fashion_mnist_classes();
struct FashionMnist {
  std::shared_ptr<GreyImages> train, test;  // 60,000 and 10,000 images, not normalised
};
// Reads {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz from `dir`; a missing file names the
// package to install.
FashionMnist read_fashion_mnist(const std::string& dir = fashion_mnist_dir());

}  // namespace focus::data
