#include <algorithm>
#include <cmath>

#include "focus/error.h"
#include "focus/viz.h"

namespace focus::viz {

namespace {

// Degree-6 polynomial fits of matplotlib's maps (Matt Zucker's, public domain): within one level
// of 8-bit colour of the tabulated maps, without a 256-entry table.
using Poly = double[7][3];
constexpr Poly kViridis = {{0.2777273272234177, 0.005407344544966578, 0.3340998053353061},
                           {0.1050930431085774, 1.404613529898575, 1.384590162594685},
                           {-0.3308618287255563, 0.214847559468213, 0.09509516302823659},
                           {-4.634230498983486, -5.799100973351585, -19.33244095627987},
                           {6.228269936347081, 14.17993336680509, 56.69055260068105},
                           {4.776384997670288, -13.74514537774601, -65.35303263337234},
                           {-5.435455855934631, 4.645852612178535, 26.3124352495832}};
constexpr Poly kInferno = {{0.0002189403691192265, 0.001651004631001012, -0.01948089843709184},
                           {0.1065134194856116, 0.5639564367884091, 3.932712388889277},
                           {11.60249308247187, -3.972853965665698, -15.9423941062914},
                           {-41.70399613139459, 17.43639888205313, 44.35414519872813},
                           {77.162935699427, -33.40235894210092, -81.80730925738993},
                           {-71.31942824499214, 32.62606426397723, 73.20951985803202},
                           {25.13112622477341, -12.24266895238567, -23.07032500287172}};

Rgb eval(const Poly& c, float t) {
  const double x = std::isnan(t) ? 0.0 : std::clamp(double(t), 0.0, 1.0);
  Rgb out;
  for (int k = 0; k < 3; ++k) {
    double v = c[6][k];
    for (int i = 5; i >= 0; --i) v = v * x + c[i][k];
    out[size_t(k)] = uint8_t(std::lround(std::clamp(v, 0.0, 1.0) * 255.0));
  }
  return out;
}

}  // namespace

Rgb inferno(float t) { return eval(kInferno, t); }
Rgb viridis(float t) { return eval(kViridis, t); }

Image heatmap(const Tensor& map, float lo, float hi, Rgb (*cmap)(float)) {
  FOCUS_CHECK(map.dim() == 2, "heatmap: want a map [H,W], got ", map.shape().str());
  const Tensor m = map.contiguous();
  const float* p = m.data();
  const int64_t n = m.numel();
  if (lo == hi && n > 0) {
    lo = *std::min_element(p, p + n);
    hi = *std::max_element(p, p + n);
  }
  const float span = hi > lo ? hi - lo : 1.0f;
  Image img(m.size(0), m.size(1), 3);
  for (int64_t i = 0; i < n; ++i) {
    const Rgb c = cmap((p[i] - lo) / span);
    std::copy(c.begin(), c.end(), img.pixels.begin() + 3 * i);
  }
  return img;
}

Canvas::Canvas(int64_t height, int64_t width, Rgb bg) : image_(height, width, 3) {
  for (int64_t i = 0; i < height * width; ++i)
    std::copy(bg.begin(), bg.end(), image_.pixels.begin() + 3 * i);
}

void Canvas::pixel(int64_t y, int64_t x, Rgb c) {
  if (y < 0 || x < 0 || y >= image_.height || x >= image_.width) return;
  std::copy(c.begin(), c.end(), image_.at(y, x));
}

void Canvas::fill(int64_t y, int64_t x, int64_t h, int64_t w, Rgb c) {
  for (int64_t i = std::max<int64_t>(y, 0); i < std::min(y + h, image_.height); ++i)
    for (int64_t j = std::max<int64_t>(x, 0); j < std::min(x + w, image_.width); ++j)
      std::copy(c.begin(), c.end(), image_.at(i, j));
}

void Canvas::line(double y0, double x0, double y1, double x1, Rgb c) {
  const int64_t steps = int64_t(std::ceil(std::max(std::abs(y1 - y0), std::abs(x1 - x0)))) + 1;
  for (int64_t s = 0; s <= steps; ++s) {
    const double t = double(s) / double(steps);
    pixel(std::lround(y0 + t * (y1 - y0)), std::lround(x0 + t * (x1 - x0)), c);
  }
}

void Canvas::draw(const Image& img, int64_t y, int64_t x, int64_t h, int64_t w) {
  blend(img, y, x, h, w, 1.0f);
}

void Canvas::blend(const Image& img, int64_t y, int64_t x, int64_t h, int64_t w, float alpha) {
  if (img.height == 0 || img.width == 0) return;
  for (int64_t i = 0; i < h; ++i)
    for (int64_t j = 0; j < w; ++j) {
      const int64_t yy = y + i, xx = x + j;
      if (yy < 0 || xx < 0 || yy >= image_.height || xx >= image_.width) continue;
      const uint8_t* s = img.at(i * img.height / h, j * img.width / w);
      float a = alpha;
      uint8_t rgb[3];
      if (img.channels <= 2) {
        rgb[0] = rgb[1] = rgb[2] = s[0];
        if (img.channels == 2) a *= s[1] / 255.0f;
      } else {
        std::copy(s, s + 3, rgb);
        if (img.channels == 4) a *= s[3] / 255.0f;
      }
      uint8_t* d = image_.at(yy, xx);
      for (int k = 0; k < 3; ++k) d[k] = uint8_t(std::lround((1.0f - a) * d[k] + a * rgb[k]));
    }
}

}  // namespace focus::viz
