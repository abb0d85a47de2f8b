// Transforms on small hand-made images: exact pixels for fixed generators.
#include <map>
#include <set>

#include "focus/data.h"
#include "test_util.h"

namespace focus::data {
namespace {

// [2,3,4]: plane 0 is 1..12, plane 1 is 101..112.
//    1  2  3  4      101 102 103 104
//    5  6  7  8      105 106 107 108
//    9 10 11 12      109 110 111 112
Tensor image() {
  std::vector<float> v;
  for (float base : {0.0f, 100.0f})
    for (int i = 1; i <= 12; ++i) v.push_back(base + float(i));
  return Tensor::from_vector(v, {2, 3, 4});
}

// The image moved down by dy and right by dx, zeros where nothing moved in (the reference).
std::vector<float> moved(const Tensor& x, int64_t dy, int64_t dx) {
  const std::vector<float> v = x.to_vector();
  const int64_t h = x.size(-2), w = x.size(-1), planes = x.numel() / (h * w);
  std::vector<float> out(v.size(), 0.0f);
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t c = 0; c < w; ++c) {
        const int64_t sy = y - dy, sc = c - dx;
        if (sy >= 0 && sy < h && sc >= 0 && sc < w)
          out[(p * h + y) * w + c] = v[(p * h + sy) * w + sc];
      }
  return out;
}

TEST(Transforms, ReferenceShiftByHand) {
  // Checks the reference itself on one case written out.
  EXPECT_EQ(moved(image(), 1, -1), std::vector<float>({0,   0,   0,   0,  //
                                                       2,   3,   4,   0,  //
                                                       6,   7,   8,   0,  //
                                                       0,   0,   0,   0,  //
                                                       102, 103, 104, 0,  //
                                                       106, 107, 108, 0}));
}

// Which translation (dy, dx) in [-m, m]² a transform applied, or fails.
std::pair<int64_t, int64_t> which_shift(const Tensor& in, const Tensor& out, int64_t m) {
  const std::vector<float> got = out.to_vector();
  for (int64_t dy = -m; dy <= m; ++dy)
    for (int64_t dx = -m; dx <= m; ++dx)
      if (moved(in, dy, dx) == got) return {dy, dx};
  ADD_FAILURE() << "not a translation within " << m << ": " << out.str(24);
  return {99, 99};
}

TEST(Transforms, RandomShiftFixedGenerator) {
  const Tensor x = image();
  Transform shift = random_shift(1);
  Generator gen(1);
  // Generator(1) draws (dy, dx) = (-1, 0): everything moves up a row.
  EXPECT_EQ(shift(x, gen).to_vector(), std::vector<float>({5,   6,   7,   8,    //
                                                           9,   10,  11,  12,   //
                                                           0,   0,   0,   0,    //
                                                           105, 106, 107, 108,  //
                                                           109, 110, 111, 112,  //
                                                           0,   0,   0,   0}));
  EXPECT_EQ(gen.offset(), 2u);  // two draws: dy, dx
}

TEST(Transforms, RandomShiftCoversEveryOffsetAndNothingElse) {
  const Tensor x = image();
  const std::vector<float> before = x.to_vector();
  std::map<std::pair<int64_t, int64_t>, int> seen;
  Transform shift = random_shift(1);
  for (uint64_t seed = 0; seed < 300; ++seed) {
    Generator gen(seed);
    ++seen[which_shift(x, shift(x, gen), 1)];
  }
  EXPECT_EQ(seen.size(), 9u);
  for (auto& [d, count] : seen) EXPECT_GT(count, 10) << d.first << "," << d.second;
  EXPECT_EQ(x.to_vector(), before);  // the input is never written
  Generator gen(0);
  EXPECT_EQ(random_shift(0)(x, gen).to_vector(), before);
  // Shifts larger than the image leave nothing.
  std::set<std::vector<float>> big;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    Generator g(seed);
    big.insert(random_shift(9)(x, g).to_vector());
  }
  EXPECT_TRUE(big.count(std::vector<float>(24, 0.0f)));
}

TEST(Transforms, RandomCropFixedGenerator) {
  const Tensor x = image();
  Transform crop = random_crop(1);
  Generator gen(1);
  // Generator(1) crops the padded 5×6 image at offset (0, 1): everything moves down a row.
  EXPECT_EQ(crop(x, gen).to_vector(), std::vector<float>({0,   0,   0,   0,    //
                                                          1,   2,   3,   4,    //
                                                          5,   6,   7,   8,    //
                                                          0,   0,   0,   0,    //
                                                          101, 102, 103, 104,  //
                                                          105, 106, 107, 108}));
  std::map<std::pair<int64_t, int64_t>, int> seen;
  for (uint64_t seed = 0; seed < 300; ++seed) {
    Generator g(seed);
    const Tensor out = crop(x, g);
    EXPECT_EQ(out.shape(), x.shape());
    ++seen[which_shift(x, out, 1)];
  }
  EXPECT_EQ(seen.size(), 9u);  // offsets 0..2 in each direction of the padded 5×6 image
}

TEST(Transforms, RandomFlip) {
  const Tensor x = image();
  const std::vector<float> mirrored = {4,   3,   2,   1,   8,   7,   6,   5,   12,  11,  10,  9,
                                       104, 103, 102, 101, 108, 107, 106, 105, 112, 111, 110, 109};
  Generator gen(3);
  EXPECT_EQ(random_flip(1.0f)(x, gen).to_vector(), mirrored);
  EXPECT_EQ(random_flip(0.0f)(x, gen).to_vector(), x.to_vector());
  Generator fixed(1);
  EXPECT_EQ(random_flip(0.5f)(x, fixed).to_vector(), mirrored);  // Generator(1) draws a flip
  Generator other(6);
  EXPECT_EQ(random_flip(0.5f)(x, other).to_vector(), x.to_vector());  // and Generator(6) does not
  int flips = 0;
  for (uint64_t seed = 0; seed < 2000; ++seed) {
    Generator g(seed);
    flips += random_flip(0.5f)(x, g).to_vector() == mirrored;
  }
  EXPECT_NEAR(flips, 1000, 100);
  // A two-axis image [H, W] and a non-contiguous input (a transposed view) work too.
  const Tensor t = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {3, 2}).transpose(0, 1);  // [2,3]
  EXPECT_EQ(random_flip(1.0f)(t, gen).to_vector(), std::vector<float>({5, 3, 1, 6, 4, 2}));
}

// The erased pixels of one random_erase draw: a rectangle, the same on every plane.
struct Erased {
  int64_t y0 = -1, x0 = -1, h = 0, w = 0;
  bool rectangle = true;
};

Erased erased_region(const Tensor& in, const Tensor& out, int64_t planes, int64_t H, int64_t W) {
  const std::vector<float> a = in.to_vector(), b = out.to_vector();
  Erased e;
  int64_t y1 = -1, x1 = -1, count = 0;
  for (int64_t y = 0; y < H; ++y)
    for (int64_t x = 0; x < W; ++x)
      if (a[size_t(y * W + x)] != b[size_t(y * W + x)]) {
        if (e.y0 < 0 || y < e.y0) e.y0 = y;
        if (e.x0 < 0 || x < e.x0) e.x0 = x;
        y1 = std::max(y1, y), x1 = std::max(x1, x), ++count;
      }
  if (count == 0) return e;
  e.h = y1 - e.y0 + 1, e.w = x1 - e.x0 + 1;
  e.rectangle = count == e.h * e.w;
  // Every plane changes at the same pixels.
  for (int64_t p = 1; p < planes; ++p)
    for (int64_t i = 0; i < H * W; ++i) {
      const size_t k = size_t(p * H * W + i);
      const bool in_rect = i / W >= e.y0 && i / W <= y1 && i % W >= e.x0 && i % W <= x1;
      if ((a[k] != b[k]) != in_rect) e.rectangle = false;
    }
  return e;
}

TEST(Transforms, RandomErase) {
  // Two planes of 28x28 at 1000 + index: no N(0, 1) draw lands on an original value.
  const int64_t H = 28, W = 28;
  std::vector<float> v(size_t(2 * H * W));
  for (size_t i = 0; i < v.size(); ++i) v[i] = 1000.0f + float(i);
  const Tensor x = Tensor::from_vector(v, {2, H, W});

  int erased = 0;
  double noise_sum = 0, noise_sq = 0, noise_n = 0, area_sum = 0;
  double min_area = 1, max_area = 0, min_aspect = 100, max_aspect = 0;
  for (uint64_t seed = 0; seed < 2000; ++seed) {
    Generator g(seed);
    const Tensor out = random_erase({.p = 0.5f})(x, g);
    EXPECT_EQ(g.offset(), 42u);  // a fixed number of counters, erased or not
    ASSERT_EQ(out.shape(), x.shape());
    const Erased e = erased_region(x, out, 2, H, W);
    if (e.h == 0) continue;
    ++erased;
    ASSERT_TRUE(e.rectangle) << "seed " << seed;
    const double area = double(e.h * e.w) / double(H * W), aspect = double(e.h) / double(e.w);
    area_sum += area;
    min_area = std::min(min_area, area), max_area = std::max(max_area, area);
    min_aspect = std::min(min_aspect, aspect), max_aspect = std::max(max_aspect, aspect);
    const std::vector<float> o = out.to_vector();
    for (size_t i = 0; i < o.size(); ++i)
      if (o[i] != v[i]) noise_sum += o[i], noise_sq += double(o[i]) * o[i], ++noise_n;
  }
  EXPECT_NEAR(erased, 1000, 100);
  // Areas 0.02-0.4 of the image (rounding the sides moves them a little), mean near 0.21.
  EXPECT_GE(min_area, 0.015);
  EXPECT_LE(max_area, 0.45);
  EXPECT_NEAR(area_sum / erased, 0.21, 0.02);
  // Aspects reach both ends of [1/3.3, 3.3].
  EXPECT_LT(min_aspect, 0.4);
  EXPECT_GT(max_aspect, 2.5);
  // The fill is N(0, 1).
  const double mean = noise_sum / noise_n;
  EXPECT_NEAR(mean, 0.0, 0.01);
  EXPECT_NEAR(noise_sq / noise_n - mean * mean, 1.0, 0.02);

  // The same generator state gives the same image; p = 0 leaves it alone.
  Generator a(5), b(5), c(5);
  EXPECT_EQ(random_erase({.p = 1.0f})(x, a).to_vector(),
            random_erase({.p = 1.0f})(x, b).to_vector());
  EXPECT_EQ(random_erase({.p = 0.0f})(x, c).to_vector(), v);
  // A rectangle that can never fit leaves the image as it is.
  const Tensor line = Tensor::from_vector({1, 2, 3, 4, 5, 6, 7, 8}, {1, 8});
  Generator d(3);
  EXPECT_EQ(
      random_erase({.p = 1.0f, .min_area = 0.9f, .max_area = 1.0f, .max_aspect = 1.0f})(line, d)
          .to_vector(),
      line.to_vector());
  EXPECT_THROW(random_erase({.p = 1.5f}), Error);
  EXPECT_THROW(random_erase({.min_area = 0.5f, .max_area = 0.4f}), Error);
  EXPECT_THROW(random_erase({.max_aspect = 0.5f}), Error);
}

TEST(Transforms, ComposeDrawsFreshNumbersPerTransform) {
  const Tensor x = image();
  Generator gen(8);
  // Two certain flips cancel; the generator moved on by one draw each.
  EXPECT_EQ(compose({random_flip(1.0f), Transform{}, random_flip(1.0f)})(x, gen).to_vector(),
            x.to_vector());
  EXPECT_EQ(gen.offset(), 2u);
  // Two coin flips with p = 0.5 would always cancel if they shared a draw.
  int changed = 0;
  for (uint64_t seed = 0; seed < 2000; ++seed) {
    Generator g(seed);
    changed += compose({random_flip(0.5f), random_flip(0.5f)})(x, g).to_vector() != x.to_vector();
  }
  EXPECT_NEAR(changed, 1000, 100);
}

TEST(Transforms, Scale) {
  Generator gen;
  EXPECT_EQ(scale(0.5f)(Tensor::from_vector({2, 4, -6}, {3}), gen).to_vector(),
            std::vector<float>({1, 2, -3}));
  const Tensor bytes = Tensor::from_indices({0, 51, 255}, {1, 3});
  const Tensor out = scale(1.0f / 255)(bytes, gen);
  EXPECT_EQ(out.dtype(), DType::f32);
  EXPECT_EQ(out.shape(), Shape({1, 3}));
  FOCUS_EXPECT_CLOSE(out, Tensor::from_vector({0, 0.2f, 1}, {1, 3}), 1e-6f, 1e-7f);
}

TEST(Transforms, Errors) {
  Generator gen;
  test::expect_error([&] { random_crop(2)(Tensor::zeros({5}), gen); },
                     {"random_crop", "[..., H, W]", "[5]"});
  test::expect_error(
      [&] {
        random_flip()(Tensor::from_indices({1, 2, 3, 4}, {2, 2}), gen);
      },
      {"random_flip", "f32", "i32", "[2,2]"});
  test::expect_error([] { random_flip(1.5f); }, {"random_flip", "[0, 1]", "1.5"});
  test::expect_error([] { random_crop(-1); }, {"random_crop", "pad", "-1"});
  test::expect_error([] { random_shift(-2); }, {"random_shift", "-2"});
}

}  // namespace
}  // namespace focus::data
