// The figure pieces of focus/viz.h: the bitmap font, ticks, line plots, image grids, overlays and
// attention laid back on the patch grid.
#include <cstring>

#include "focus/attention.h"
#include "focus/viz.h"
#include "test_util.h"

namespace focus {
namespace {

using viz::Rgb;

bool is(const Image& img, int64_t y, int64_t x, Rgb c) {
  const uint8_t* p = img.at(y, x);
  return p[0] == c[0] && p[1] == c[1] && p[2] == c[2];
}

TEST(Font, GlyphsAreFiveBySevenColumns) {
  // 'L': a full left column and a bottom row.
  const uint8_t* l = viz::glyph('L');
  EXPECT_EQ(l[0], 0x7F);
  for (int k = 1; k < 5; ++k) EXPECT_EQ(l[k], 0x40);
  // Every printable glyph but the space lights something, inside 7 rows.
  for (char c = '!'; c <= '~'; ++c) {
    int lit = 0;
    for (int k = 0; k < 5; ++k) {
      EXPECT_EQ(viz::glyph(c)[k] & 0x80, 0) << c;
      lit += viz::glyph(c)[k] != 0;
    }
    EXPECT_GT(lit, 0) << "'" << c << "'";
  }
  EXPECT_EQ(viz::glyph('\n'), viz::glyph('?'));
  EXPECT_EQ(viz::glyph(char(200)), viz::glyph('?'));
  // Glyphs are distinct (a typo in the table would likely duplicate one).
  for (char a = '!'; a <= '~'; ++a)
    for (char b = char(a + 1); b <= '~'; ++b)
      EXPECT_NE(std::memcmp(viz::glyph(a), viz::glyph(b), 5), 0) << a << " " << b;
}

TEST(Font, DrawsScaledTextAtItsPlace) {
  viz::Canvas c(20, 40);
  const Rgb red = {255, 0, 0}, white = {255, 255, 255};
  EXPECT_EQ(viz::text_width("LI", 2), 24);
  viz::draw_text(c, 2, 3, "LI", red, 2);
  // 'L' at x = 3: column 0 lit over 7 rows of 2 px, the bottom row across 5 columns.
  for (int64_t y = 2; y < 16; ++y) EXPECT_TRUE(is(c.image(), y, 3, red)) << y;
  EXPECT_TRUE(is(c.image(), 1, 3, white));
  EXPECT_TRUE(is(c.image(), 16, 3, white));
  for (int64_t x = 3; x < 13; ++x) EXPECT_TRUE(is(c.image(), 15, x, red)) << x;
  EXPECT_TRUE(is(c.image(), 13, 5, white));
  // 'I' starts 12 px later: its middle column (2) is lit from top to bottom.
  for (int64_t y = 2; y < 16; ++y) EXPECT_TRUE(is(c.image(), y, 15 + 4, red)) << y;
  viz::draw_text(c, 15, 35, "clipped at the edge", red);  // must not write outside
}

TEST(Plot, NiceTicks) {
  EXPECT_EQ(viz::nice_ticks(0, 1, 6),
            (std::vector<double>{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1}));
  const std::vector<double> t = viz::nice_ticks(0.13, 0.87, 6);
  ASSERT_EQ(t.size(), 4u);
  EXPECT_NEAR(t[0], 0.2, 1e-12);
  EXPECT_NEAR(t[3], 0.8, 1e-12);
  const std::vector<double> big = viz::nice_ticks(12, 2470, 6);
  EXPECT_EQ(big, (std::vector<double>{500, 1000, 1500, 2000}));
  EXPECT_EQ(viz::nice_ticks(3, 3), std::vector<double>{3});
  EXPECT_TRUE(viz::nice_ticks(NAN, 1).empty());
}

TEST(Plot, DrawsSeriesInsideItsRectangle) {
  viz::Canvas c(200, 300, {255, 255, 255});
  const Rgb blue = {0, 0, 255};
  viz::Series s{"line", {0, 10}, {0, 1}, blue};
  viz::line_plot(c, 0, 0, 200, 300, {s},
                 {.title = "T", .x_label = "x", .y_label = "y", .y_min = 0, .y_max = 1});
  // The layout puts the plot area at x in [52, 288], y in [32, 170]: (0,0) is its bottom-left
  // corner and (10,1) its top-right; the middle of the line is at the centre.
  EXPECT_TRUE(is(c.image(), 101, 170, blue));
  int64_t blue_pixels = 0;
  for (int64_t y = 0; y < 200; ++y)
    for (int64_t x = 0; x < 300; ++x) blue_pixels += is(c.image(), y, x, blue);
  EXPECT_GT(blue_pixels, 200);  // the line, two pixels thick, and the legend's swatch
  // Nothing is drawn outside the rectangle given.
  viz::Canvas big(400, 400, {1, 2, 3});
  viz::line_plot(big, 100, 100, 200, 200, {s}, {.title = "T"});
  for (int64_t y = 0; y < 400; ++y)
    for (int64_t x = 0; x < 400; ++x)
      if (y < 100 || y >= 300 || x < 100 || x >= 300) ASSERT_TRUE(is(big.image(), y, x, {1, 2, 3}));
}

TEST(Grid, PlacesCellsBelowTitlesAndBesideLabels) {
  Image a(2, 2, 1, 200), b(3, 3, 3, 0);
  viz::GridOptions o;
  o.cell = 10, o.gap = 2;
  o.column_titles = {"a", "b"};
  o.row_labels = {"row", "two\nlines"};
  const viz::Canvas c = viz::image_grid({{a, b}, {b, Image()}}, o);
  // Label column: widest line (5 chars) · 6 + 8 = 38; header 8 + 6; rows of 20 px (two lines).
  const int64_t x0 = 2 + 38, y0 = 2 + 14;
  EXPECT_EQ(c.width(), x0 + 2 * (10 + 2));
  EXPECT_EQ(c.height(), y0 + 2 * (20 + 2));
  EXPECT_TRUE(is(c.image(), y0, x0, {200, 200, 200}));
  EXPECT_TRUE(is(c.image(), y0 + 9, x0 + 9, {200, 200, 200}));
  EXPECT_TRUE(is(c.image(), y0, x0 + 12, {0, 0, 0}));
  EXPECT_TRUE(is(c.image(), y0 + 22 + 5, x0 + 12 + 5, {255, 255, 255}));  // the empty cell
}

TEST(Overlay, BlendsTheHeatOverTheImage) {
  Image grey(4, 4, 1, 100);
  Tensor map = Tensor::zeros({2, 2});
  map.data()[3] = 1.0f;  // bottom-right patch
  const Image o = viz::overlay(grey, map, 8, 8, 0.5f);
  ASSERT_EQ(o.channels, 3);
  ASSERT_EQ(o.height, 8);
  const Rgb lo = viz::inferno(0.0f), hi = viz::inferno(1.0f);
  for (int k = 0; k < 3; ++k) {
    EXPECT_NEAR(o.at(0, 0)[k], 0.5 * 100 + 0.5 * lo[size_t(k)], 1.0);
    EXPECT_NEAR(o.at(7, 7)[k], 0.5 * 100 + 0.5 * hi[size_t(k)], 1.0);
  }
}

// probs [B,H,N,N], each row a softmax of random scores.
Tensor random_probs(int64_t b, int64_t h, int64_t n, uint64_t seed) {
  return softmax(test::random_tensor({b, h, n, n}, seed, -3, 3), -1);
}

TEST(AttentionMaps, ClassTokenRowsOnThePatchGrid) {
  const Tensor l0 = random_probs(2, 3, 7, 1), l1 = random_probs(2, 3, 7, 2);  // 1 + 2x3 patches
  const auto a = viz::image_attention({"block0#0", "block1#0"}, {l0, l1}, 20, 30);
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(a[1].heads.size(), 3u);
  EXPECT_TRUE(a[1].class_token);
  EXPECT_EQ(a[1].layers, 2);
  ASSERT_EQ(a[1].heads[2].shape(), Shape({2, 3}));
  // Head 2 of image 1: the class token's row (query 0) over keys 1..6 of the last layer.
  for (int64_t j = 0; j < 6; ++j)
    EXPECT_FLOAT_EQ(a[1].heads[2].data()[j], l1.data()[((1 * 3 + 2) * 7 + 0) * 7 + 1 + j]);
  // Rollout by hand: per layer 0.5·mean_h(A) + 0.5·I, rows renormalised, multiplied through.
  std::vector<double> r(49, 0.0);
  for (int64_t i = 0; i < 7; ++i) r[size_t(i * 8)] = 1;
  for (const Tensor& l : {l0, l1}) {
    std::vector<double> m(49), next(49, 0.0);
    for (int64_t i = 0; i < 7; ++i) {
      double row = 0;
      for (int64_t j = 0; j < 7; ++j) {
        double v = 0;
        for (int64_t h = 0; h < 3; ++h) v += l.data()[((3 + h) * 7 + i) * 7 + j] / 3;
        m[size_t(i * 7 + j)] = 0.5 * v + (i == j ? 0.5 : 0.0);
        row += m[size_t(i * 7 + j)];
      }
      for (int64_t j = 0; j < 7; ++j) m[size_t(i * 7 + j)] /= row;
    }
    for (int64_t i = 0; i < 7; ++i)
      for (int64_t j = 0; j < 7; ++j)
        for (int64_t k = 0; k < 7; ++k)
          next[size_t(i * 7 + j)] += m[size_t(i * 7 + k)] * r[size_t(k * 7 + j)];
    r = next;
  }
  for (int64_t j = 0; j < 6; ++j) EXPECT_NEAR(a[1].rollout.data()[j], r[size_t(1 + j)], 1e-5) << j;
  EXPECT_FALSE(a[1].pooling.defined());
}

TEST(AttentionMaps, MeanPoolingAndSoftPooling) {
  const Tensor l = random_probs(1, 2, 4, 3);  // 2x2 patches, no class token
  const auto a = viz::image_attention({"block0#0"}, {l}, 28, 28);
  EXPECT_FALSE(a[0].class_token);
  for (int64_t j = 0; j < 4; ++j) {
    double mean = 0;
    for (int64_t i = 0; i < 4; ++i) mean += l.data()[(1 * 4 + i) * 4 + j] / 4;
    EXPECT_NEAR(a[0].heads[1].data()[j], mean, 1e-6);
  }
  const Tensor w = softmax(test::random_tensor({2, 1, 1, 9}, 4), -1);  // soft pooling, 3x3
  const auto s = viz::image_attention({"soft_attention#0"}, {w}, 28, 28);
  ASSERT_TRUE(s[1].pooling.defined());
  EXPECT_TRUE(s[1].heads.empty());
  EXPECT_EQ(s[1].pooling.shape(), Shape({3, 3}));
  EXPECT_FLOAT_EQ(s[1].pooling.data()[4], w.data()[9 + 4]);
}

TEST(AttentionMaps, TokensOffTheGridAreAnError) {
  test::expect_error([] { viz::image_attention({"block0#0"}, {random_probs(1, 1, 7, 5)}, 28, 28); },
                     {"block0#0", "7 tokens are not a grid of patches of a 28x28 image"});
}

}  // namespace
}  // namespace focus
