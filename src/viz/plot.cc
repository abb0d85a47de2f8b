// Line plots with axes, for learning curves: ticks at round values, labels, a legend.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "focus/viz.h"

namespace focus::viz {

namespace {

constexpr Rgb kInk = {40, 40, 40}, kGrid = {225, 225, 225};

std::string tick_label(double v, double step) {
  const int decimals = std::clamp(int(-std::floor(std::log10(step) + 1e-9)), 0, 6);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, std::abs(v) < step * 1e-6 ? 0.0 : v);
  return buf;
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int max_ticks) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {};
  if (hi < lo) std::swap(lo, hi);
  if (hi == lo) return {lo};
  const double raw = (hi - lo) / std::max(max_ticks - 1, 1);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw - 1e-12 * mag) {
      step = m * mag;
      break;
    }
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step)
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  return ticks;
}

void line_plot(Canvas& c, int64_t y, int64_t x, int64_t h, int64_t w,
               const std::vector<Series>& series, const PlotOptions& opt) {
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (const Series& s : series)
    for (size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i)
      if (std::isfinite(s.x[i]) && std::isfinite(s.y[i])) {
        xlo = std::min(xlo, s.x[i]), xhi = std::max(xhi, s.x[i]);
        ylo = std::min(ylo, s.y[i]), yhi = std::max(yhi, s.y[i]);
      }
  if (!std::isfinite(xlo)) xlo = 0, xhi = 1, ylo = 0, yhi = 1;
  if (xhi == xlo) xlo -= 0.5, xhi += 0.5;
  const double pad = (yhi > ylo ? yhi - ylo : std::max(std::abs(yhi), 1.0)) * 0.05;
  ylo = std::isnan(opt.y_min) ? ylo - pad : opt.y_min;
  yhi = std::isnan(opt.y_max) ? yhi + pad : opt.y_max;
  if (yhi <= ylo) yhi = ylo + 1;

  // Plot area inside the rectangle: room for the title and y label above, tick labels left and
  // below, the x label at the bottom.
  const int64_t top = y + 32, bottom = y + h - 30, left = x + 52, right = x + w - 12;
  if (bottom - top < 10 || right - left < 10) return;
  auto px = [&](double v) { return left + (v - xlo) / (xhi - xlo) * double(right - left); };
  auto py = [&](double v) { return bottom - (v - ylo) / (yhi - ylo) * double(bottom - top); };

  draw_text(c, y + 4, x + (w - text_width(opt.title, 2)) / 2, opt.title, kInk, 2);
  draw_text(c, top - 12, x + 4, opt.y_label, kInk);
  draw_text(c, bottom + 18, left + (right - left - text_width(opt.x_label)) / 2, opt.x_label, kInk);

  const std::vector<double> yt = nice_ticks(ylo, yhi, 6), xt = nice_ticks(xlo, xhi, 8);
  const double ystep = yt.size() > 1 ? yt[1] - yt[0] : 1, xstep = xt.size() > 1 ? xt[1] - xt[0] : 1;
  for (double t : yt) {
    const int64_t py_t = std::lround(py(t));
    c.fill(py_t, left + 1, 1, right - left - 1, kGrid);
    c.fill(py_t, left - 4, 1, 4, kInk);
    const std::string s = tick_label(t, ystep);
    draw_text(c, py_t - 3, left - 7 - text_width(s), s, kInk);
  }
  for (double t : xt) {
    const int64_t px_t = std::lround(px(t));
    c.fill(top, px_t, bottom - top, 1, kGrid);
    c.fill(bottom + 1, px_t, 4, 1, kInk);
    const std::string s = tick_label(t, xstep);
    draw_text(c, bottom + 7, px_t - text_width(s) / 2 + 1, s, kInk);
  }
  c.fill(top, left, bottom - top + 1, 1, kInk);
  c.fill(bottom, left, 1, right - left + 1, kInk);

  for (const Series& s : series) {
    const size_t n = std::min(s.x.size(), s.y.size());
    for (size_t i = 0; i < n; ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      const double x1 = px(s.x[i]), y1 = std::clamp(py(s.y[i]), double(top), double(bottom));
      if (i > 0 && std::isfinite(s.x[i - 1]) && std::isfinite(s.y[i - 1])) {
        const double x0 = px(s.x[i - 1]),
                     y0 = std::clamp(py(s.y[i - 1]), double(top), double(bottom));
        c.line(y0, x0, y1, x1, s.colour);  // two pixels thick
        c.line(y0 + 1, x0, y1 + 1, x1, s.colour);
      }
      if (s.markers) c.fill(std::lround(y1) - 2, std::lround(x1) - 2, 5, 5, s.colour);
    }
  }

  // Legend in the plot's top-right corner, on white.
  int64_t rows = 0, widest = 0;
  for (const Series& s : series)
    if (!s.name.empty()) ++rows, widest = std::max(widest, text_width(s.name));
  if (rows == 0) return;
  const int64_t lw = widest + 26, lh = rows * 12 + 6, lx = right - lw - 4;
  // Top-right unless more of the data lies there than bottom-right.
  auto covered = [&](int64_t ly) {
    int64_t n = 0;
    for (const Series& s : series)
      for (size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i) {
        const double u = px(s.x[i]), v = py(s.y[i]);
        n += u >= double(lx) && u < double(lx + lw) && v >= double(ly) && v < double(ly + lh);
      }
    return n;
  };
  const int64_t ly = covered(top + 4) <= covered(bottom - lh - 4) ? top + 4 : bottom - lh - 4;
  c.fill(ly, lx, lh, lw, {255, 255, 255});
  c.fill(ly, lx, 1, lw, kGrid), c.fill(ly + lh - 1, lx, 1, lw, kGrid);
  c.fill(ly, lx, lh, 1, kGrid), c.fill(ly, lx + lw - 1, lh, 1, kGrid);
  int64_t row = 0;
  for (const Series& s : series) {
    if (s.name.empty()) continue;
    const int64_t ry = ly + 4 + row++ * 12;
    c.fill(ry + 2, lx + 4, 3, 14, s.colour);
    draw_text(c, ry, lx + 22, s.name, kInk);
  }
}

}  // namespace focus::viz
