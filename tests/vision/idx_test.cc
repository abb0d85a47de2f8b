// The IDX reader on files written here (plain and gzip'd, good and broken) and on Debian's
// Fashion-MNIST (checked against numpy's reading of the same files).
#include <zlib.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "focus/idx.h"
#include "test_util.h"

namespace focus {
namespace {

namespace fs = std::filesystem;

// Files the cases write, in one directory for the process, removed when it exits.
std::string temp_path(const std::string& name) {
  static const test::ScratchDir dir("idx");
  return dir.file(name);
}

std::vector<uint8_t> header(uint8_t type, const std::vector<uint32_t>& dims) {
  std::vector<uint8_t> b = {0, 0, type, uint8_t(dims.size())};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) b.push_back(uint8_t(d >> s));
  return b;
}

// 3 images 2x4 with pixel values 10·i + k, and their labels 2, 0, 1.
std::vector<uint8_t> images_bytes() {
  std::vector<uint8_t> b = header(0x08, {3, 2, 4});
  for (int i = 0; i < 3; ++i)
    for (int k = 0; k < 8; ++k) b.push_back(uint8_t(10 * i + k));
  return b;
}
std::vector<uint8_t> labels_bytes() {
  std::vector<uint8_t> b = header(0x08, {3});
  for (uint8_t y : {2, 0, 1}) b.push_back(y);
  return b;
}

std::string write(const std::string& name, const std::vector<uint8_t>& bytes) {
  const std::string p = temp_path(name);
  std::ofstream(p, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  return p;
}

std::string write_gz(const std::string& name, const std::vector<uint8_t>& bytes) {
  const std::string p = temp_path(name);
  gzFile f = gzopen(p.c_str(), "wb");
  gzwrite(f, bytes.data(), unsigned(bytes.size()));
  gzclose(f);
  return p;
}

std::vector<uint8_t> file_bytes(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

TEST(Idx, ReadsPlainAndGzipped) {
  for (const std::string& p :
       {write("a.idx", images_bytes()), write_gz("a.idx.gz", images_bytes())}) {
    const data::IdxArray a = data::read_idx(p);
    EXPECT_EQ(a.type, data::IdxType::u8);
    EXPECT_EQ(a.dims, (std::vector<int64_t>{3, 2, 4}));
    ASSERT_EQ(a.bytes.size(), 24u);
    EXPECT_EQ(a.bytes[0], 0);
    EXPECT_EQ(a.bytes[23], 27);
  }
}

TEST(Idx, MultiByteTypesAreBigEndianInTheFile) {
  std::vector<uint8_t> b = header(0x0C, {2});
  for (uint8_t v : {0x00, 0x00, 0x01, 0x02, 0xFF, 0xFF, 0xFF, 0xFE}) b.push_back(v);
  const data::IdxArray a = data::decode_idx(b, "i32");
  int32_t v[2];
  std::memcpy(v, a.bytes.data(), 8);
  EXPECT_EQ(v[0], 0x0102);
  EXPECT_EQ(v[1], -2);
}

TEST(Idx, RejectsBadMagic) {
  std::vector<uint8_t> b = images_bytes();
  b[0] = 0x01;
  test::expect_error([&] { data::read_idx(write("magic0.idx", b)); },
                     {"magic0.idx", "bad magic number 0x01000803"});
  b = images_bytes();
  b[2] = 0x07;  // no such type
  test::expect_error([&] { data::read_idx(write("magic1.idx", b)); }, {"magic1.idx", "bad magic"});
  b = images_bytes();
  b[3] = 0;  // no dims
  test::expect_error([&] { data::read_idx(write("magic2.idx", b)); }, {"magic2.idx", "bad magic"});
  test::expect_error(
      [&] {
        data::read_idx(write("short.idx", {0, 0}));
      },
      {"short.idx", "too short"});
  // A PNG handed to the IDX reader.
  test::expect_error([&] { data::read_idx(test::fixture("vision/images/grey_20x16.png")); },
                     {"grey_20x16.png", "bad magic number 0x89504e47"});
}

TEST(Idx, RejectsTruncatedData) {
  std::vector<uint8_t> b = images_bytes();
  b.resize(b.size() - 5);
  test::expect_error(
      [&] { data::read_idx(write("trunc.idx", b)); },
      {"trunc.idx", "truncated", "promises 24 bytes of u8 data [3,2,4]", "holds 19"});
  b.resize(10);  // inside the dims
  test::expect_error([&] { data::read_idx(write("trunc_header.idx", b)); },
                     {"trunc_header.idx", "truncated header"});
  // A gzip stream cut short: the zlib trailer and part of the data are missing.
  std::vector<uint8_t> gz = file_bytes(write_gz("full.idx.gz", images_bytes()));
  gz.resize(gz.size() - 12);
  test::expect_error([&] { data::read_idx(write("trunc.idx.gz", gz)); },
                     {"trunc.idx.gz", "truncated gzip"});
  // Corrupt deflate data.
  gz = file_bytes(write_gz("full2.idx.gz", images_bytes()));
  for (size_t i = 10; i < gz.size() - 8; ++i) gz[i] ^= 0x5a;
  test::expect_error([&] { data::read_idx(write("corrupt.idx.gz", gz)); }, {"corrupt.idx.gz"});
}

TEST(Idx, RejectsWrongSizes) {
  std::vector<uint8_t> b = images_bytes();
  b.push_back(0);  // one byte more than the dims say
  test::expect_error([&] { data::read_idx(write("extra.idx", b)); },
                     {"extra.idx", "1 bytes after the 24 bytes"});
  test::expect_error(
      [&] {
        data::read_idx(write("zero.idx", header(0x08, {3, 0, 4})));
      },
      {"zero.idx", "dimension 1 is 0"});
  test::expect_error([&] { data::read_idx(temp_path("missing.idx")); },
                     {"cannot open", "missing.idx"});
}

TEST(Idx, ImagesAndLabelsMakeADataset) {
  const auto set = data::read_idx_images(write_gz("img.gz", images_bytes()),
                                         write("lab.idx", labels_bytes()), 3);
  ASSERT_EQ(set->size(), 3);
  EXPECT_EQ(set->labels(), (std::vector<int32_t>{2, 0, 1}));
  const auto norm = set->normalised(0.5f, 0.25f);
  const data::Example e = norm->get(1);
  EXPECT_EQ(e.label, 0);
  ASSERT_EQ(e.x.shape(), Shape({1, 2, 4}));
  EXPECT_NEAR(e.x.data()[3], (13 / 255.0 - 0.5) / 0.25, 1e-5);
  // pixel_stats in double: mean and population stddev of x/255.
  double s = 0, q = 0;
  for (int k = 0; k < 24; ++k) s += (k / 8 * 10 + k % 8) / 255.0;
  const double mean = s / 24;
  for (int k = 0; k < 24; ++k) q += std::pow((k / 8 * 10 + k % 8) / 255.0 - mean, 2);
  const auto [m, sd] = set->pixel_stats();
  EXPECT_NEAR(m, mean, 1e-6);
  EXPECT_NEAR(sd, std::sqrt(q / 24), 1e-6);
  const auto [m1, sd1] = set->pixel_stats({1});
  EXPECT_NEAR(m1, (10 + 3.5) / 255.0, 1e-6);
}

TEST(Idx, ImagesAndLabelsMustAgree) {
  const std::string img = write("img2.idx", images_bytes());
  std::vector<uint8_t> lab = header(0x08, {2});
  lab.push_back(0), lab.push_back(1);
  test::expect_error([&] { data::read_idx_images(img, write("lab2.idx", lab), 10); },
                     {"lab2.idx", "2 labels for the 3 images"});
  test::expect_error([&] { data::read_idx_images(img, write("lab3.idx", labels_bytes()), 2); },
                     {"lab3.idx", "label 2 of example 0", "2 classes"});
  test::expect_error(
      [&] { data::read_idx_images(write("lab_as_img.idx", labels_bytes()), img, 10); },
      {"lab_as_img.idx", "want u8 images [N,H,W]", "1 dims"});
}

TEST(FashionMnist, MatchesNumpysReading) {
  const std::string dir = data::fashion_mnist_dir();
  if (!fs::exists(dir + "/train-images-idx3-ubyte.gz")) GTEST_SKIP() << "no " << dir;
  const data::FashionMnist f = data::read_fashion_mnist(dir);
  ASSERT_EQ(f.train->size(), 60000);
  ASSERT_EQ(f.test->size(), 10000);
  EXPECT_EQ(f.train->height(), 28);
  // Figures from numpy on the same files (gzip + frombuffer).
  const std::vector<int32_t> first = {9, 0, 0, 3, 0, 2, 7, 2, 5, 5},
                             first_test = {9, 2, 1, 1, 6, 1, 4, 6, 5, 7};
  EXPECT_EQ(std::vector<int32_t>(f.train->labels().begin(), f.train->labels().begin() + 10), first);
  EXPECT_EQ(std::vector<int32_t>(f.test->labels().begin(), f.test->labels().begin() + 10),
            first_test);
  int64_t sum0 = 0, sum_last = 0;
  for (int k = 0; k < 784; ++k)
    sum0 += f.train->pixels(0)[k], sum_last += f.train->pixels(59999)[k];
  EXPECT_EQ(sum0, 76247);
  EXPECT_EQ(sum_last, 16684);
  std::vector<int> counts(10);
  for (int32_t y : f.train->labels()) ++counts[size_t(y)];
  EXPECT_EQ(counts, std::vector<int>(10, 6000));
  const auto [mean, sd] = f.train->pixel_stats();
  EXPECT_NEAR(mean, 0.2860406, 1e-6);
  EXPECT_NEAR(sd, 0.3530242, 1e-6);
  EXPECT_EQ(data::fashion_mnist_classes().at(9), "Ankle boot");
}

TEST(FashionMnist, MissingFolderNamesThePackage) {
  test::expect_error([] { data::read_fashion_mnist(temp_path("nowhere")); },
                     {"nowhere", "dataset-fashion-mnist"});
}

}  // namespace
}  // namespace focus
