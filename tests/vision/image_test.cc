// PNG/JPEG decoding, grey conversion and resizing (focus/image.h) against PIL, which wrote the
// images and what it decodes and resizes them to (scripts/gen_image_fixtures.py).
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "focus/image.h"
#include "test_util.h"

namespace focus {
namespace {

namespace fs = std::filesystem;

std::string dir() { return test::fixture("vision/images"); }

nlohmann::json manifest() {
  std::ifstream f(dir() + "/manifest.json");
  return nlohmann::json::parse(f);
}

Image expected(const nlohmann::json& e) {
  Image img(e.at("height"), e.at("width"), e.at("channels"));
  std::ifstream f(dir() + "/" + e.at("file").get<std::string>(), std::ios::binary);
  f.read(reinterpret_cast<char*>(img.pixels.data()), std::streamsize(img.pixels.size()));
  EXPECT_TRUE(f.good()) << e.dump();
  return img;
}

// Largest |a - b| over the pixels; -1 when the shapes differ.
int max_diff(const Image& a, const Image& b) {
  if (a.height != b.height || a.width != b.width || a.channels != b.channels) return -1;
  int worst = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i)
    worst = std::max(worst, std::abs(int(a.pixels[i]) - int(b.pixels[i])));
  return worst;
}

std::string shape(const Image& a) { return detail::cat(a.height, "x", a.width, "x", a.channels); }

TEST(Image, DecodesLikePil) {
  const nlohmann::json m = manifest();  // alive through the loop
  ASSERT_EQ(m.at("decode").size(), 16u);
  for (const auto& c : m.at("decode")) {
    const std::string name = c.at("image");
    const Image got = read_image(dir() + "/" + name), want = expected(c.at("expect"));
    // Lossless formats and the same libjpeg: the same bytes.
    EXPECT_EQ(max_diff(got, want), 0) << name << ": got " << shape(got) << ", PIL " << shape(want);
  }
}

TEST(Image, GreyIsLumaLikePil) {
  const nlohmann::json m = manifest();  // alive through the loop
  ASSERT_EQ(m.at("grey").size(), 4u);
  for (const auto& c : m.at("grey")) {
    const std::string name = c.at("image");
    const Image got = to_grey(read_image(dir() + "/" + name)), want = expected(c.at("expect"));
    // PIL rounds in 16-bit fixed point, Focus in float: one level apart at most.
    EXPECT_LE(max_diff(got, want), 1) << name;
    EXPECT_GE(max_diff(got, want), 0) << name << ": got " << shape(got) << ", PIL " << shape(want);
  }
}

TEST(Image, ResizesLikePilBilinear) {
  const nlohmann::json m = manifest();  // alive through the loop
  ASSERT_EQ(m.at("resize").size(), 7u);
  for (const auto& c : m.at("resize")) {
    const std::string name = c.at("image");
    Image src = read_image(dir() + "/" + name);
    const Image want = expected(c.at("expect"));
    if (want.channels == 1) src = to_grey(src);
    const Image got = resize(src, c.at("height"), c.at("width"));
    // PIL rounds to 8 bits between its horizontal and vertical passes and works in fixed point;
    // Focus keeps floats: one level apart at most.
    const int d = max_diff(got, want);
    EXPECT_GE(d, 0) << name << ": got " << shape(got) << ", PIL " << shape(want);
    EXPECT_LE(d, 1) << name << " -> " << c.at("height") << "x" << c.at("width");
  }
}

TEST(Image, ResizeToTheSameSizeIsTheIdentity) {
  const Image src = read_image(dir() + "/rgb_23x37.png");
  EXPECT_EQ(max_diff(resize(src, 23, 37), src), 0);
}

TEST(Image, PngRoundTrip) {
  const test::ScratchDir tmp("image_png");
  const std::string p = tmp.file("round_trip.png");
  for (const char* name : {"rgb_23x37.png", "grey_20x16.png", "rgba_13x19.png"}) {
    const Image src = read_image(dir() + "/" + name);
    write_png(p, src);
    EXPECT_EQ(max_diff(read_image(p), src), 0) << name;
  }
}

TEST(Image, TensorsAreChwInUnitRange) {
  const Image src = read_image(dir() + "/rgb_23x37.png");
  const Tensor t = to_tensor(src);
  ASSERT_EQ(t.shape(), Shape({3, 23, 37}));
  EXPECT_FLOAT_EQ(t.data()[1 * 23 * 37 + 5 * 37 + 7], src.at(5, 7)[1] / 255.0f);
  EXPECT_EQ(max_diff(from_tensor(t), src), 0);
}

TEST(Image, BadFilesAreOneLineErrorsNamingTheFile) {
  const test::ScratchDir scratch("image_bad");
  const fs::path& tmp = scratch.path();
  auto write = [&](const std::string& name, const std::string& bytes) {
    std::ofstream((tmp / name).string(), std::ios::binary) << bytes;
    return (tmp / name).string();
  };
  auto slurp = [&](const std::string& name) {
    std::ifstream f(dir() + "/" + name, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  };
  test::expect_error([&] { read_image((tmp / "none.png").string()); }, {"cannot open", "none.png"});
  test::expect_error([&] { read_image(write("empty.png", "")); },
                     {"empty.png", "not a PNG or JPEG", "empty"});
  test::expect_error([&] { read_image(write("text.jpg", "hello, world")); },
                     {"text.jpg", "not a PNG or JPEG"});
  const std::string png = slurp("rgb_23x37.png"), jpg = slurp("rgb_30x40.jpg");
  test::expect_error([&] { read_image(write("cut.png", png.substr(0, png.size() / 2))); },
                     {"cut.png", "PNG"});
  test::expect_error([&] { read_image(write("header.png", png.substr(0, 20))); },
                     {"header.png", "PNG"});
  test::expect_error([&] { read_image(write("cut.jpg", jpg.substr(0, 200))); },
                     {"cut.jpg", "JPEG"});
  test::expect_error([&] { read_image(write("head.jpg", jpg.substr(0, 3))); },
                     {"head.jpg", "JPEG"});
  for (const std::string name : {"empty.png", "text.jpg", "cut.png", "header.png", "cut.jpg"}) {
    try {
      read_image((tmp / name).string());
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace focus
