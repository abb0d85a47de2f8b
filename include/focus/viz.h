// Pictures of attention: colour maps and a small RGB canvas to compose figures on, written as PNG
// through focus/image.h.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "focus/image.h"
#include "focus/tensor.h"

namespace focus::viz {

using Rgb = std::array<uint8_t, 3>;

// Perceptually uniform maps, t in [0, 1] (clamped; NaN gives the map's low end).
Rgb inferno(float t);
Rgb viridis(float t);

// A map [H,W] (f32 tensor) as a colour image, scaled so that [lo, hi] spans the colour map;
// lo == hi: the map's own min and max.
Image heatmap(const Tensor& map, float lo = 0.0f, float hi = 0.0f, Rgb (*cmap)(float) = inferno);

// An RGB image to draw on.
class Canvas {
 public:
  Canvas(int64_t height, int64_t width, Rgb background = {255, 255, 255});
  int64_t height() const { return image_.height; }
  int64_t width() const { return image_.width; }
  void pixel(int64_t y, int64_t x, Rgb c);  // clipped to the canvas
  void fill(int64_t y, int64_t x, int64_t h, int64_t w, Rgb c);
  void line(double y0, double x0, double y1, double x1, Rgb c);  // 1 px, anti-aliasing off
  // Draws `image` (grey, RGB or RGBA: alpha blends) scaled by nearest neighbour to h×w at (y, x).
  void draw(const Image& image, int64_t y, int64_t x, int64_t h, int64_t w);
  // `image` blended over what is there: out = (1-alpha)·canvas + alpha·image.
  void blend(const Image& image, int64_t y, int64_t x, int64_t h, int64_t w, float alpha);
  const Image& image() const { return image_; }
  void save(const std::string& path) const { write_png(path, image_); }

 private:
  Image image_;
};

}  // namespace focus::viz

// ---- text, plots, grids and overlays (src/viz/font.cc, plot.cc, grid.cc) -----------------------
namespace focus::viz {

// A 5×7 bitmap font for printable ASCII (' ' to '~'; anything else is drawn as '?'). Each glyph
// sits in a 6×8 cell (one column and one row of spacing), scaled by `scale` (1, 2, ...).
// glyph(c)[k]: column k (0..4) of the glyph, bit r set = row r from the top lit.
const uint8_t* glyph(char c);
int64_t text_width(const std::string& text, int scale = 1);  // 6·scale per character
inline int64_t text_height(int scale = 1) { return 8 * int64_t(scale); }
// Draws `text` with its top-left corner at (y, x), clipped to the canvas.
void draw_text(Canvas& canvas, int64_t y, int64_t x, const std::string& text,
               Rgb colour = {0, 0, 0}, int scale = 1);

struct Series {
  std::string name;          // in the legend; empty: not listed
  std::vector<double> x, y;  // same length; non-finite points break the line
  Rgb colour = {31, 119, 180};
  bool markers = false;  // a 3×3 square at each point (for series with few points)
};

struct PlotOptions {
  std::string title, x_label, y_label;
  // The y range; NaN: from the data, padded by 5%.
  double y_min = std::numeric_limits<double>::quiet_NaN();
  double y_max = std::numeric_limits<double>::quiet_NaN();
};

// "Nice" tick values (multiples of 1, 2 or 5 × 10^k) covering [lo, hi], at most about max_ticks.
std::vector<double> nice_ticks(double lo, double hi, int max_ticks = 6);
// A line plot in the rectangle (y, x, h, w) of the canvas: frame, ticks with values, axis labels,
// title and a legend. Series without finite points are skipped.
void line_plot(Canvas& canvas, int64_t y, int64_t x, int64_t h, int64_t w,
               const std::vector<Series>& series, const PlotOptions& options);

struct GridOptions {
  int64_t cell = 84;  // each image is drawn cell×cell (nearest neighbour)
  int64_t gap = 6;    // between cells
  std::string title;
  std::vector<std::string> column_titles;  // above the first row; optional
  std::vector<std::string> row_labels;     // left of each row (may contain '\n'); optional
};
// Images in rows and columns on a white canvas; empty images leave their cell blank.
Canvas image_grid(const std::vector<std::vector<Image>>& rows, const GridOptions& options);

// A grey (or colour) image with `map` [h,w] (any size: attention over a grid of patches) laid
// over it in the inferno colours: both resized to height×width (bilinear), blended with `alpha`.
// The map is scaled from its own min to its max.
Image overlay(const Image& image, const Tensor& map, int64_t height, int64_t width,
              float alpha = 0.6f);

}  // namespace focus::viz

// ---- where a vision model looked (src/viz/attention_maps.cc) ------------------------------------
namespace focus::viz {

// Per image of a batch, attention over the image's grid of patches [gh,gw].
struct ImageAttention {
  std::vector<Tensor> heads;  // last self-attention layer, one [gh,gw] per head
  Tensor rollout;      // [gh,gw] rollout through every self-attention layer; undefined if none
  Tensor pooling;      // [gh,gw] soft-attention pooling weights; undefined if none
  int64_t layers = 0;  // self-attention layers seen
  bool class_token = false;  // rows read: the class token's; else the mean over all queries
};

// From what an attention::Capture recorded for a batch of B images of height×width: maps
// [B,H,N,N] (self-attention, first layer first) and [B,1,1,N] (pooling weights). Tokens lie on a
// grid of patches with the image's aspect ratio, preceded by a class token when N = patches + 1
// (its row is where the prediction looked; without one, the mean of the rows is used). Maps whose
// tokens do not form such a grid are an Error naming the layer.
std::vector<ImageAttention> image_attention(const std::vector<std::string>& layers,
                                            const std::vector<Tensor>& maps, int64_t height,
                                            int64_t width);

}  // namespace focus::viz
