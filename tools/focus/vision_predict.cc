// Image models at prediction time: the saved preprocessing, any PNG/JPEG turned into the model's
// input, top classes and the attention overlay.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "focus/attention.h"
#include "focus/viz.h"
#include "vision.h"

namespace focus::cli::vision {

namespace fs = std::filesystem;

void save_preprocess(const std::string& dir, const Preprocess& p) {
  const nlohmann::json j = {{"height", p.height},
                            {"width", p.width},
                            {"mean", p.mean},
                            {"stddev", p.stddev},
                            {"class_names", p.class_names}};
  write_text_atomic((fs::path(dir) / "preprocess.json").string(), j.dump(2) + "\n");
}

Preprocess load_preprocess(const std::string& dir) {
  const std::string path = (fs::path(dir) / "preprocess.json").string();
  if (!fs::exists(path))
    throw Error(detail::cat(path,
                            " is missing: the model directory was not written by focus "
                            "train for an image task"));
  try {
    const nlohmann::json j = config::load(path);
    Preprocess p;
    p.height = j.at("height"), p.width = j.at("width");
    p.mean = j.at("mean"), p.stddev = j.at("stddev");
    p.class_names = j.at("class_names").get<std::vector<std::string>>();
    FOCUS_CHECK(p.height > 0 && p.width > 0 && p.stddev > 0, "bad sizes or stddev");
    return p;
  } catch (const std::exception& e) {
    throw Error(detail::cat(path, ": not a valid preprocessing file (", e.what(), ")"));
  }
}

PreparedImage prepare_image(const std::string& path, const Preprocess& p) {
  PreparedImage r;
  r.original = read_image(path);
  FOCUS_CHECK(r.original.height > 0 && r.original.width > 0, "image: ", path, ": no pixels");
  Image grey = to_grey(r.original);
  // The mean of the outermost pixels decides what the background is.
  double border = 0;
  int64_t count = 0;
  for (int64_t y = 0; y < grey.height; ++y)
    for (int64_t x = 0; x < grey.width; ++x)
      if (y == 0 || x == 0 || y == grey.height - 1 || x == grey.width - 1)
        border += *grey.at(y, x), ++count;
  r.inverted = border / double(count) > 127.5;
  if (r.inverted)
    for (uint8_t& v : grey.pixels) v = uint8_t(255 - v);
  r.grey = resize(grey, p.height, p.width);
  r.x = to_tensor(r.grey).reshape({1, 1, p.height, p.width});  // [1,1,H,W]
  float* d = r.x.data();
  for (int64_t i = 0; i < r.x.numel(); ++i) d[i] = (d[i] - p.mean) / p.stddev;
  return r;
}

namespace {

// Fits an image inside size×size, keeping its aspect ratio.
Image fit(const Image& img, int64_t size) {
  const double s = double(size) / double(std::max(img.height, img.width));
  return resize(to_rgb(img), std::max<int64_t>(1, std::llround(img.height * s)),
                std::max<int64_t>(1, std::llround(img.width * s)));
}

std::string layer_name(const std::string& captured) {
  return captured.substr(0, captured.rfind('#'));
}

void write_overlay(const std::string& out, const PreparedImage& img, const viz::ImageAttention& a,
                   const std::string& last_layer, const std::string& caption) {
  constexpr int64_t kPanel = 224, kGap = 12, kTop = 48;
  std::vector<std::pair<std::string, Image>> panels;
  const Image shown = fit(img.original, kPanel);
  panels.push_back({"your image", shown});
  panels.push_back({detail::cat("model input ", img.grey.height, "x", img.grey.width,
                                img.inverted ? " (inverted)" : ""),
                    resize(to_rgb(img.grey), kPanel, kPanel)});
  if (a.rollout.defined())
    panels.push_back({detail::cat("rollout, ", a.layers, " layers"),
                      viz::overlay(img.grey, a.rollout, kPanel, kPanel)});
  if (!a.heads.empty()) {
    Tensor mean = Tensor::zeros(a.heads[0].shape());
    for (const Tensor& h : a.heads)
      for (int64_t i = 0; i < mean.numel(); ++i) mean.data()[i] += h.data()[i] / a.heads.size();
    panels.push_back({detail::cat(last_layer, ": mean of ", a.heads.size(), " heads"),
                      viz::overlay(img.grey, mean, kPanel, kPanel)});
  }
  if (a.pooling.defined())
    panels.push_back({"soft-attention pooling", viz::overlay(img.grey, a.pooling, kPanel, kPanel)});
  viz::Canvas c(kTop + kPanel + kGap + 14, kGap + int64_t(panels.size()) * (kPanel + kGap));
  viz::draw_text(c, 10, kGap, caption, {20, 20, 20}, 2);
  for (size_t i = 0; i < panels.size(); ++i) {
    const int64_t x = kGap + int64_t(i) * (kPanel + kGap);
    const Image& im = panels[i].second;
    c.draw(im, kTop + (kPanel - im.height) / 2, x + (kPanel - im.width) / 2, im.height, im.width);
    std::string t = panels[i].first;
    if (viz::text_width(t) > kPanel) t.resize(size_t(kPanel / 6));
    viz::draw_text(c, kTop + kPanel + 6, x + (kPanel - viz::text_width(t)) / 2, t, {40, 40, 40});
  }
  c.save(out);
}

}  // namespace

int predict_image(const Loaded& l, const Preprocess& p, const PredictOptions& opt) {
  const PreparedImage img = prepare_image(opt.input, p);
  autograd::NoGradGuard no_grad;
  attention::Capture capture;
  const Tensor probs = softmax((*l.model)(img.x), -1);  // [1,C]
  const std::vector<float> pr = probs.to_vector();
  std::vector<int> order(pr.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = int(i);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return pr[a] > pr[b]; });
  auto name = [&](int c) {
    return size_t(c) < p.class_names.size() ? p.class_names[size_t(c)] : std::to_string(c);
  };
  std::printf("%s: %lldx%lld, %lld channel%s -> %lldx%lld grey%s\n", opt.input.c_str(),
              (long long)img.original.width, (long long)img.original.height,
              (long long)img.original.channels, img.original.channels == 1 ? "" : "s",
              (long long)p.width, (long long)p.height,
              img.inverted ? ", inverted (light background; the model knows dark ones)" : "");
  for (int i = 0; i < opt.top && i < int(order.size()); ++i)
    std::printf("  %-12s %6.2f%%\n", name(order[i]).c_str(), 100.0 * pr[size_t(order[i])]);
  if (opt.attention.empty()) return kOk;
  std::vector<std::string> layers;
  std::vector<Tensor> maps;
  for (const auto& m : capture.maps()) layers.push_back(m.layer), maps.push_back(m.probs);
  if (maps.empty())
    throw Error("predict: this model records no attention, so there is no overlay to write");
  const std::vector<viz::ImageAttention> a = viz::image_attention(layers, maps, p.height, p.width);
  std::string last;
  for (const auto& m : capture.maps())
    if (m.probs.size(2) > 1) last = layer_name(m.layer);
  write_overlay(opt.attention, img, a[0], last,
                detail::cat(name(order[0]), " ", std::lround(100.0 * pr[size_t(order[0])]), "%"));
  std::printf("attention overlay: %s\n", opt.attention.c_str());
  return kOk;
}

}  // namespace focus::cli::vision
