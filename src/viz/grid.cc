// Image grids with titles and row labels, and attention overlays.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "focus/error.h"
#include "focus/viz.h"

namespace focus::viz {

namespace {

constexpr Rgb kInk = {40, 40, 40};

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string l; std::getline(ss, l);) out.push_back(l);
  return out;
}

}  // namespace

Canvas image_grid(const std::vector<std::vector<Image>>& rows, const GridOptions& o) {
  FOCUS_CHECK(o.cell > 0 && o.gap >= 0, "image_grid: cell ", o.cell, " and gap ", o.gap);
  size_t cols = 0;
  for (const auto& r : rows) cols = std::max(cols, r.size());
  for (size_t i = 0; i < o.column_titles.size(); ++i) cols = std::max(cols, i + 1);
  int64_t label_w = 0, label_lines = 1;
  for (const std::string& l : o.row_labels)
    for (const std::string& line : lines(l)) label_w = std::max(label_w, text_width(line) + 8);
  for (const std::string& l : o.row_labels)
    label_lines = std::max<int64_t>(label_lines, int64_t(lines(l).size()));
  const int64_t title_h = o.title.empty() ? 0 : text_height(2) + 10;
  const int64_t header_h = o.column_titles.empty() ? 0 : text_height() + 6;
  const int64_t row_h = std::max(o.cell, label_lines * 10), col_w = o.cell;
  const int64_t width = o.gap + label_w + int64_t(cols) * (col_w + o.gap);
  const int64_t height = o.gap + title_h + header_h + int64_t(rows.size()) * (row_h + o.gap);
  Canvas c(height, std::max(width, text_width(o.title, 2) + 2 * o.gap));
  if (!o.title.empty()) draw_text(c, o.gap, o.gap, o.title, kInk, 2);
  const int64_t x0 = o.gap + label_w, y0 = o.gap + title_h;
  for (size_t j = 0; j < o.column_titles.size(); ++j) {
    std::string t = o.column_titles[j];
    const size_t fit = size_t(std::max<int64_t>(col_w / 6, 1));
    if (t.size() > fit) t.resize(fit);  // clipped rather than overlapping the next column
    draw_text(c, y0, x0 + int64_t(j) * (col_w + o.gap) + (col_w - text_width(t)) / 2, t, kInk);
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    const int64_t ry = y0 + header_h + int64_t(i) * (row_h + o.gap);
    if (i < o.row_labels.size()) {
      const std::vector<std::string> ls = lines(o.row_labels[i]);
      const int64_t ty = ry + (row_h - int64_t(ls.size()) * 10) / 2;
      for (size_t k = 0; k < ls.size(); ++k) draw_text(c, ty + int64_t(k) * 10, o.gap, ls[k], kInk);
    }
    for (size_t j = 0; j < rows[i].size(); ++j)
      if (rows[i][j].height > 0 && rows[i][j].width > 0)
        c.draw(rows[i][j], ry, x0 + int64_t(j) * (col_w + o.gap), o.cell, o.cell);
  }
  return c;
}

Image overlay(const Image& image, const Tensor& map, int64_t height, int64_t width, float alpha) {
  FOCUS_CHECK(map.dim() == 2 && map.numel() > 0, "overlay: want a map [h,w], got ",
              map.shape().str());
  const Image base = resize(to_rgb(image), height, width);
  const Image heat = resize(heatmap(map), height, width);
  Image out = base;
  for (size_t i = 0; i < out.pixels.size(); ++i)
    out.pixels[i] = uint8_t(std::lround((1.0f - alpha) * base.pixels[i] + alpha * heat.pixels[i]));
  return out;
}

}  // namespace focus::viz
