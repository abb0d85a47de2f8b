// Reports of an image model after training: an attention grid of test images, per-class
// accuracy and learning curves, all into the model directory.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "focus/attention.h"
#include "focus/viz.h"
#include "vision.h"

namespace focus::cli::vision {

namespace fs = std::filesystem;

namespace {

// One test image per class (the first of each in test order), up to 10 rows.
std::vector<int64_t> pick_examples(const data::Dataset& test, int64_t classes) {
  std::vector<int64_t> picked, seen(size_t(classes), 0);
  for (int64_t i = 0; i < test.size() && int64_t(picked.size()) < std::min<int64_t>(classes, 10);
       ++i) {
    const int32_t y = test.get(i).label;
    if (y >= 0 && y < classes && !seen[size_t(y)]++) picked.push_back(i);
  }
  return picked;
}

std::string write_attention_grid(const Loaded& l, const Preprocess& p, const data::Dataset& test,
                                 const std::string& dir) {
  const int64_t classes = l.model->classes();
  const std::vector<int64_t> picked = pick_examples(test, classes);
  if (picked.empty()) return "";
  const int64_t n = int64_t(picked.size()), hw = p.height * p.width;
  Tensor x = Tensor::empty({n, 1, p.height, p.width});  // [B,1,H,W]
  std::vector<Image> images;
  std::vector<int32_t> labels;
  for (int64_t b = 0; b < n; ++b) {
    const data::Example e = test.get(picked[size_t(b)]);
    const Tensor ex = e.x.contiguous();
    std::copy(ex.data(), ex.data() + hw, x.data() + b * hw);
    // Back to [0, 1] for display.
    Tensor raw = Tensor::empty({1, p.height, p.width});
    for (int64_t i = 0; i < hw; ++i) raw.data()[i] = ex.data()[i] * p.stddev + p.mean;
    images.push_back(from_tensor(raw));
    labels.push_back(e.label);
  }
  autograd::NoGradGuard no_grad;
  attention::Capture capture;
  const std::vector<float> probs = softmax((*l.model)(x), -1).to_vector();  // [B,C]
  std::vector<std::string> layers;
  std::vector<Tensor> maps;
  std::string last;
  for (const auto& m : capture.maps()) {
    layers.push_back(m.layer), maps.push_back(m.probs);
    if (m.probs.size(2) > 1) last = m.layer.substr(0, m.layer.rfind('#'));
  }
  if (maps.empty()) return "";
  const std::vector<viz::ImageAttention> att =
      viz::image_attention(layers, maps, p.height, p.width);
  constexpr int64_t kCell = 84;
  viz::GridOptions o;
  o.cell = kCell;
  o.column_titles.push_back("image");
  const viz::ImageAttention& a0 = att[0];
  for (size_t h = 0; h < a0.heads.size(); ++h)
    o.column_titles.push_back(detail::cat("head ", h + 1));
  if (a0.rollout.defined()) o.column_titles.push_back("rollout");
  if (a0.pooling.defined()) o.column_titles.push_back("pooling");
  o.title = a0.heads.empty() ? std::string("Soft-attention pooling weights on test images")
                             : detail::cat("Attention: each head of ", last,
                                           a0.class_token ? " (class token)" : "",
                                           ", rollout over ", a0.layers, " layers");
  std::vector<std::vector<Image>> rows;
  auto name = [&](int64_t c) {
    return size_t(c) < p.class_names.size() ? p.class_names[size_t(c)] : std::to_string(c);
  };
  for (int64_t b = 0; b < n; ++b) {
    const viz::ImageAttention& a = att[size_t(b)];
    std::vector<Image> row = {images[size_t(b)]};
    for (const Tensor& h : a.heads) row.push_back(viz::overlay(images[size_t(b)], h, kCell, kCell));
    if (a.rollout.defined())
      row.push_back(viz::overlay(images[size_t(b)], a.rollout, kCell, kCell));
    if (a.pooling.defined())
      row.push_back(viz::overlay(images[size_t(b)], a.pooling, kCell, kCell));
    rows.push_back(std::move(row));
    const float* pb = probs.data() + b * classes;
    const int64_t pred = std::max_element(pb, pb + classes) - pb;
    o.row_labels.push_back(detail::cat("true ", name(labels[size_t(b)]), "\npred ", name(pred),
                                       pred == labels[size_t(b)] ? "" : " (x)", "\n",
                                       std::lround(100.0 * pb[pred]), "%"));
  }
  const std::string path = (fs::path(dir) / "attention_maps.png").string();
  viz::image_grid(rows, o).save(path);
  return path;
}

std::string write_per_class(const Preprocess& p, const train::Evaluation& ev,
                            const std::string& dir, const Views& views,
                            const nlohmann::json& members = nullptr) {
  nlohmann::json classes = nlohmann::json::array(), confusion = nlohmann::json::array();
  std::printf("per-class test accuracy:\n");
  for (int64_t c = 0; c < ev.classes; ++c) {
    int64_t total = 0;
    std::vector<int64_t> row;
    for (int64_t j = 0; j < ev.classes; ++j) {
      total += ev.confusion[size_t(c * ev.classes + j)];
      row.push_back(ev.confusion[size_t(c * ev.classes + j)]);
    }
    const int64_t correct = ev.confusion[size_t(c * ev.classes + c)];
    const double acc = total ? double(correct) / double(total) : 0.0;
    const std::string name =
        size_t(c) < p.class_names.size() ? p.class_names[size_t(c)] : std::to_string(c);
    std::printf("  %2lld %-12s %6.2f%%  (%lld of %lld)\n", (long long)c, name.c_str(), 100.0 * acc,
                (long long)correct, (long long)total);
    classes.push_back(
        {{"class", c}, {"name", name}, {"correct", correct}, {"total", total}, {"accuracy", acc}});
    confusion.push_back(row);
  }
  nlohmann::json j = {{"test_accuracy", ev.accuracy},
                      {"test_loss", ev.loss},
                      {"examples", ev.examples},
                      {"classes", classes},
                      {"confusion", confusion}};
  if (!views.none()) j["views"] = views.json();
  if (!members.is_null()) j["members"] = members;
  const std::string path = (fs::path(dir) / "per_class_accuracy.json").string();
  write_text_atomic(path, j.dump(2) + "\n");
  return path;
}

}  // namespace

bool write_learning_curves(const std::string& log_path, const std::string& png_path) {
  std::ifstream f(log_path);
  if (!f) return false;
  struct Point {
    double step, loss, acc;
  };
  std::vector<Point> steps;
  std::vector<double> ep, tl, ta, vl, va, ep_step;
  for (std::string line; std::getline(f, line);) {
    const nlohmann::json r = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!r.is_object()) continue;  // a line cut by a kill: skip it
    const std::string kind = r.value("kind", "");
    if (kind == "step")
      steps.push_back({r.value("step", 0.0), r.value("loss", NAN), r.value("accuracy", NAN)});
    else if (kind == "epoch") {
      ep.push_back(r.value("epoch", 0.0)), ep_step.push_back(r.value("step", 0.0));
      tl.push_back(r.value("train_loss", NAN)), ta.push_back(r.value("train_accuracy", NAN));
      vl.push_back(r.value("val_loss", NAN)), va.push_back(r.value("val_accuracy", NAN));
    }
  }
  if (steps.empty() && ep.empty()) return false;
  // x in epochs: steps are placed by the steps per epoch the first epoch record shows.
  const double per_epoch = !ep.empty() && ep[0] > 0 && ep_step[0] > 0 ? ep_step[0] / ep[0] : 0.0;
  const std::string xlabel = per_epoch > 0 ? "epoch" : "step";
  // Step records hold the last batch's loss and the accuracy of the epoch so far.
  viz::Series sl{"train (batch)", {}, {}, {158, 202, 225}},
      sa{"train (epoch so far)", {}, {}, {158, 202, 225}};
  for (const Point& s : steps) {
    const double x = per_epoch > 0 ? s.step / per_epoch : s.step;
    sl.x.push_back(x), sl.y.push_back(s.loss);
    sa.x.push_back(x), sa.y.push_back(100.0 * s.acc);
  }
  auto pct = [](std::vector<double> v) {
    for (double& x : v) x *= 100.0;
    return v;
  };
  const viz::Series etl{"train (epoch)", ep, tl, {31, 119, 180}, true},
      evl{"validation", ep, vl, {214, 39, 40}, true};
  const viz::Series eta{"train (epoch)", ep, pct(ta), {31, 119, 180}, true},
      eva{"validation", ep, pct(va), {214, 39, 40}, true};
  constexpr int64_t kW = 520, kH = 340;
  viz::Canvas c(kH, 2 * kW);
  viz::line_plot(c, 0, 0, kH, kW, {sl, etl, evl},
                 {.title = "Loss", .x_label = xlabel, .y_label = "loss"});
  viz::line_plot(c, 0, kW, kH, kW, {sa, eta, eva},
                 {.title = "Accuracy", .x_label = xlabel, .y_label = "accuracy %"});
  c.save(png_path);
  return true;
}

void report_images(const Loaded& l, const Preprocess& p, const train::Evaluation& test,
                   const std::string& dir, const Views& views) {
  const std::string per_class = write_per_class(p, test, dir, views);
  const std::string grid = l.splits.test ? write_attention_grid(l, p, *l.splits.test, dir) : "";
  const std::string curves = (fs::path(dir) / "learning_curves.png").string();
  const bool have_curves = write_learning_curves((fs::path(l.dir) / "log.jsonl").string(), curves);
  std::printf("per-class accuracy: %s\n", per_class.c_str());
  if (!grid.empty()) std::printf("attention maps: %s\n", grid.c_str());
  if (have_curves) std::printf("learning curves: %s\n", curves.c_str());
}

void report_ensemble(const Report& r, const Preprocess& p) {
  const std::string per_class = write_per_class(p, r.test, r.dir, r.views, member_dirs(r));
  std::printf("per-class accuracy: %s\n", per_class.c_str());
  std::printf("attention maps and learning curves: each member's own, in its directory\n");
}

}  // namespace focus::cli::vision
