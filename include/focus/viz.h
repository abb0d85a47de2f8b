// Pictures of attention: colour maps and a small RGB canvas to compose figures on, written as PNG
// through focus/image.h.
#pragma once

#include <array>
#include <cstdint>
#include <string>

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
