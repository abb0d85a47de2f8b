// Fashion-MNIST end to end through the focus command line: a ViT trained briefly on a slice of
// the real data clears a bar on the official test images; training writes its reports; predict
// reads PNG and JPEG files a user might give it; bad files are one-line errors.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "focus/attention.h"
#include "focus/config.h"
#include "focus/focus.h"
#include "focus/idx.h"
#include "focus/image.h"
#include "focus/models.h"
#include "focus/train.h"
#include "test_util.h"

namespace focus {
namespace {

namespace fs = std::filesystem;

using Result = ::focus::test::CliResult;
const auto& run = ::focus::test::run_cli;

// The class probabilities of a `focus eval --probabilities` CSV, one row per example.
std::vector<std::vector<double>> read_probabilities(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::vector<double>> rows;
  std::string line;
  std::getline(in, line);  // example,label,<class>...
  while (std::getline(in, line)) {
    std::stringstream cells(line);
    std::string cell;
    std::getline(cells, cell, ',');
    std::getline(cells, cell, ',');
    rows.emplace_back();
    while (std::getline(cells, cell, ',')) rows.back().push_back(std::stod(cell));
  }
  return rows;
}

// The slice (slice.json): 4,500 training, 500 validation and 1,000 test images; a small ViT on
// 7×7 patches. ctest trains it once (setup.cmake); run alone, the first case trains it.
class FashionMnist : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists(data::fashion_mnist_dir() + "/train-images-idx3-ubyte.gz")) return;
    dir_ = std::string(FOCUS_BINARY_DIR) + "/vision_learning";
    if (!fs::exists(dir_ + "/train.status")) {
      fs::create_directories(dir_);
      fs::remove_all(dir_ + "/model");
      const Result r = run(std::string("train --config ") + FOCUS_VISION_SLICE + " --out " + dir_ +
                           "/model --threads 1 --quiet");
      std::ofstream(dir_ + "/train.out") << r.out;
      std::ofstream(dir_ + "/train.status") << r.status << "\n";
    }
    std::ifstream status(dir_ + "/train.status"), out(dir_ + "/train.out");
    status >> train_.status;
    train_.out.assign(std::istreambuf_iterator<char>(out), std::istreambuf_iterator<char>());
  }
  void SetUp() override {
    if (dir_.empty()) GTEST_SKIP() << "no Fashion-MNIST at " << data::fashion_mnist_dir();
    ASSERT_EQ(train_.status, 0) << train_.out;
  }
  static std::string model() { return dir_ + "/model"; }

  // The model as training left it, loaded through the library.
  static std::unique_ptr<models::Classifier> load() {
    const nlohmann::json cfg = config::load(model() + "/config.json");
    Generator gen(0);
    auto m = models::build(cfg.at("model"),
                           {{"channels", 1}, {"height", 28}, {"width", 28}, {"classes", 10}}, gen);
    m->load_state_dict(train::load_checkpoint(model() + "/best.safetensors").model);
    m->eval();
    return m;
  }

  // `focus eval` of the slice model with `flags`, its probabilities written to the scratch file
  // `name`: the command's result and the CSV's rows.
  std::pair<Result, std::vector<std::vector<double>>> eval_probabilities(const std::string& flags,
                                                                         const std::string& name) {
    const std::string csv = scratch_.file(name);
    Result r = run("eval " + model() + " " + flags + " --probabilities " + csv);
    return {r, read_probabilities(csv)};
  }

  static inline std::string dir_;
  static inline Result train_;
  test::ScratchDir scratch_{"fmnist"};  // files the case writes
};

TEST_F(FashionMnist, ASliceTrainedBrieflyClearsTheBar) {
  std::smatch m;
  ASSERT_TRUE(std::regex_search(train_.out, m, std::regex("test accuracy: ([0-9.]+)%")))
      << train_.out;
  const double accuracy = std::stod(m[1]);
  std::smatch t;
  std::regex_search(train_.out, t, std::regex("trained [0-9]+ steps in ([0-9.]+) s"));
  std::printf("test accuracy %.2f%% on 1,000 test images, trained in %s s\n", accuracy,
              t.size() > 1 ? t[1].str().c_str() : "?");
  EXPECT_GT(accuracy, 75.0) << train_.out;
  // The report: confusion matrix, per-class table, and where the files are.
  EXPECT_NE(train_.out.find("confusion matrix"), std::string::npos);
  EXPECT_NE(train_.out.find("Ankle boot"), std::string::npos);
  EXPECT_NE(train_.out.find("outputs in " + model()), std::string::npos);
  // Per-class figures add up to the test accuracy.
  std::ifstream f(model() + "/per_class_accuracy.json");
  const nlohmann::json j = nlohmann::json::parse(f);
  int64_t correct = 0, total = 0;
  for (const auto& c : j.at("classes"))
    correct += c.at("correct").get<int64_t>(), total += c.at("total").get<int64_t>();
  EXPECT_EQ(total, 1000);
  EXPECT_NEAR(100.0 * double(correct) / double(total), accuracy, 0.006);
  EXPECT_EQ(j.at("classes").at(9).at("name"), "Ankle boot");
}

TEST_F(FashionMnist, ReportsArePictures) {
  EXPECT_NE(train_.out.find("attention maps: " + model() + "/attention_maps.png"),
            std::string::npos)
      << train_.out;
  const Image grid = read_image(model() + "/attention_maps.png");
  // Ten rows of 84-pixel cells (one test image per class), columns: image, 4 heads, rollout.
  EXPECT_GT(grid.height, 10 * 84);
  EXPECT_GT(grid.width, 6 * 84);
  const Image curves = read_image(model() + "/learning_curves.png");
  EXPECT_EQ(curves.width, 1040);
  EXPECT_TRUE(fs::exists(model() + "/preprocess.json"));
}

TEST_F(FashionMnist, AttentionRowsAreProbabilities) {
  const auto m = load();
  const data::FashionMnist fm = data::read_fashion_mnist();
  const nlohmann::json pre = config::load(model() + "/preprocess.json");
  const auto test = fm.test->normalised(pre.at("mean"), pre.at("stddev"));
  Tensor x = Tensor::empty({4, 1, 28, 28});
  for (int64_t b = 0; b < 4; ++b) {
    const Tensor e = test->get(b).x;
    std::copy(e.data(), e.data() + 784, x.data() + b * 784);
  }
  autograd::NoGradGuard no_grad;
  attention::Capture capture;
  (*m)(x);
  ASSERT_EQ(capture.maps().size(), 2u);  // one per block
  for (const auto& map : capture.maps()) {
    ASSERT_EQ(map.probs.shape(), Shape({4, 4, 17, 17})) << map.layer;  // 1 + 4x4 patches
    const Tensor p = map.probs.contiguous();
    for (int64_t r = 0; r < p.numel() / 17; ++r) {
      double s = 0;
      for (int64_t k = 0; k < 17; ++k) {
        ASSERT_GE(p.data()[r * 17 + k], 0.0f);
        s += p.data()[r * 17 + k];
      }
      ASSERT_NEAR(s, 1.0, 1e-5) << map.layer << " row " << r;
    }
  }
}

// focus eval --mirror: a test image's probabilities are the mean of the model's on the image and
// on its mirror image, both computed here through the library for every official test image. Rows
// of the CSV are found among those by their plain probabilities, so the test does not restate how
// the task draws its test subset.
TEST_F(FashionMnist, MirrorViewAveragesEachImageAndItsMirrorImage) {
  const auto [plain, p] = eval_probabilities("--threads 1", "plain.csv");
  const auto [mirror, m] = eval_probabilities("--mirror --threads 1", "mirror.csv");
  ASSERT_EQ(plain.status, 0) << plain.out;
  ASSERT_EQ(mirror.status, 0) << mirror.out;
  EXPECT_NE(mirror.out.find("test-time views: 2 per example"), std::string::npos) << mirror.out;
  // The slice trains without data.flip.
  EXPECT_NE(mirror.out.find("trained without data.flip"), std::string::npos) << mirror.out;
  ASSERT_EQ(p.size(), 1000u);
  ASSERT_EQ(m.size(), p.size());

  const auto net = load();
  const data::FashionMnist fm = data::read_fashion_mnist();
  const nlohmann::json pre = config::load(model() + "/preprocess.json");
  const auto images = fm.test->normalised(pre.at("mean"), pre.at("stddev"));
  const int64_t n = images->size(), chunk = 500;
  std::vector<float> as_is(size_t(n * 10)), mirrored(size_t(n * 10));  // [n, 10] probabilities
  autograd::NoGradGuard no_grad;
  for (int64_t start = 0; start < n; start += chunk) {
    Tensor x = Tensor::empty({chunk, 1, 28, 28}), xm = Tensor::empty({chunk, 1, 28, 28});
    for (int64_t b = 0; b < chunk; ++b) {
      const Tensor e = images->get(start + b).x.contiguous();
      for (int64_t y = 0; y < 28; ++y)
        for (int64_t c = 0; c < 28; ++c) {
          x.data()[b * 784 + y * 28 + c] = e.data()[y * 28 + c];
          xm.data()[b * 784 + y * 28 + c] = e.data()[y * 28 + 27 - c];
        }
    }
    const Tensor pa = softmax((*net)(x)).contiguous(), pm = softmax((*net)(xm)).contiguous();
    std::copy(pa.data(), pa.data() + chunk * 10, as_is.begin() + start * 10);
    std::copy(pm.data(), pm.data() + chunk * 10, mirrored.begin() + start * 10);
  }
  int differ = 0;
  for (size_t r = 0; r < 50; ++r) {
    ASSERT_EQ(p[r].size(), 10u);
    int64_t best = -1;
    double best_dist = 1e9;
    for (int64_t j = 0; j < n; ++j) {
      double d = 0;
      for (int64_t c = 0; c < 10; ++c)
        d = std::max(d, std::abs(as_is[size_t(j * 10 + c)] - p[r][size_t(c)]));
      if (d < best_dist) best_dist = d, best = j;
    }
    ASSERT_LT(best_dist, 1e-5) << "row " << r << " matches no test image";
    for (int64_t c = 0; c < 10; ++c) {
      const double want = 0.5 * (as_is[size_t(best * 10 + c)] + mirrored[size_t(best * 10 + c)]);
      EXPECT_NEAR(m[r][size_t(c)], want, 1e-5) << "row " << r << " class " << c;
    }
    differ += std::abs(m[r][0] - p[r][0]) > 1e-4;
  }
  EXPECT_GT(differ, 10);  // the mirror view is not the plain one
}

// An ensemble's report (focus eval DIR DIR --report --out ENS): the per-class table of the
// averaged probabilities, listing its members. A model with itself is that model, so its figures
// are the single model's, which focus eval prints on its own.
TEST_F(FashionMnist, EnsembleReportListsItsMembers) {
  const std::string ens = scratch_.file("ensemble");
  const Result one = run("eval " + model() + " --mirror --threads 1");
  const Result two =
      run("eval " + model() + " " + model() + " --mirror --report --out " + ens + " --threads 1");
  ASSERT_EQ(one.status, 0) << one.out;
  ASSERT_EQ(two.status, 0) << two.out;
  EXPECT_NE(two.out.find("ensemble of 2 models"), std::string::npos) << two.out;
  EXPECT_NE(two.out.find("each member's own, in its directory"), std::string::npos) << two.out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(one.out, m, std::regex("test accuracy: ([0-9.]+)%"))) << one.out;
  const double single = std::stod(m[1]) / 100.0;
  const nlohmann::json j = config::load(ens + "/per_class_accuracy.json");
  EXPECT_EQ(j.at("members"), nlohmann::json::array({model(), model()}));
  EXPECT_EQ(j.at("views"), nlohmann::json({{"mirror", true}}));
  EXPECT_NEAR(double(j.at("test_accuracy")), single, 5e-5);
  int64_t correct = 0;
  for (const auto& c : j.at("classes")) correct += int64_t(c.at("correct"));
  EXPECT_EQ(correct, int64_t(std::llround(single * 1000)));
  EXPECT_FALSE(fs::exists(ens + "/attention_maps.png"));  // one network's, not the ensemble's
}

// focus eval --precision bf16 (bf16 linear layers, docs/precision.md) answers as f32 does, within
// bf16's error: the same class for (almost) every test image, probabilities within 0.02.
TEST_F(FashionMnist, Bf16EvalAgreesWithF32) {
  const auto [f32, p] = eval_probabilities("--threads 2", "f32.csv");
  const auto [bf16, q] = eval_probabilities("--precision bf16 --threads 2", "bf16.csv");
  ASSERT_EQ(f32.status, 0) << f32.out;
  ASSERT_EQ(bf16.status, 0) << bf16.out;
  EXPECT_NE(bf16.out.find("precision: bf16 (linear layers"), std::string::npos) << bf16.out;
  ASSERT_EQ(p.size(), 1000u);
  ASSERT_EQ(q.size(), p.size());
  int flips = 0, moved = 0;
  double worst = 0;
  for (size_t r = 0; r < p.size(); ++r) {
    ASSERT_EQ(q[r].size(), 10u);
    double d = 0;
    for (size_t c = 0; c < 10; ++c) d = std::max(d, std::abs(p[r][c] - q[r][c]));
    worst = std::max(worst, d);
    moved += d > 1e-6;
    flips += std::max_element(p[r].begin(), p[r].end()) - p[r].begin() !=
             std::max_element(q[r].begin(), q[r].end()) - q[r].begin();
  }
  EXPECT_LT(worst, 0.02);
  EXPECT_LE(flips, 5) << "of 1000 test images";
  EXPECT_GT(moved, 500) << "bf16 should not give f32's probabilities";
  const Result bad = run("eval " + model() + " --precision fp16");
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.out.find("--precision"), std::string::npos) << bad.out;
  // A decision threshold is for two classes.
  const Result ten = run("eval " + model() + " --threshold 0.7");
  EXPECT_EQ(ten.status, 1) << ten.out;
  EXPECT_NE(ten.out.find("eval: --threshold decides between two classes; this model has 10"),
            std::string::npos)
      << ten.out;
}

// Mixed precision (train.precision bf16): the slice learns as at f32, and two runs give the same
// weights bit for bit.
TEST_F(FashionMnist, TrainsAtBf16MixedPrecision) {
  std::smatch m;
  ASSERT_TRUE(std::regex_search(train_.out, m, std::regex("test accuracy: ([0-9.]+)%")));
  const double f32 = std::stod(m[1]);
  auto train = [&](const std::string& name) {
    return run(std::string("train --config ") + FOCUS_VISION_SLICE + " --out " +
               scratch_.file(name) + " --threads 2 --quiet --set train.precision=bf16");
  };
  const Result a = train("a"), b = train("b");
  ASSERT_EQ(a.status, 0) << a.out;
  ASSERT_EQ(b.status, 0) << b.out;
  ASSERT_TRUE(std::regex_search(a.out, m, std::regex("test accuracy: ([0-9.]+)%"))) << a.out;
  const double bf16 = std::stod(m[1]);
  std::printf("test accuracy %.2f%% at bf16, %.2f%% at f32 (1,000 test images)\n", bf16, f32);
  EXPECT_GT(bf16, 75.0) << a.out;
  EXPECT_NEAR(bf16, f32, 3.0);
  const auto wa = train::load_checkpoint(scratch_.file("a") + "/best.safetensors").model;
  const auto wb = train::load_checkpoint(scratch_.file("b") + "/best.safetensors").model;
  ASSERT_EQ(wa.size(), wb.size());
  for (const auto& [name, t] : wa) {
    const Tensor& u = wb.at(name);
    ASSERT_EQ(t.numel(), u.numel()) << name;
    EXPECT_EQ(std::memcmp(t.data(), u.data(), size_t(t.numel()) * sizeof(float)), 0) << name;
  }
  const Result bad = run(std::string("train --config ") + FOCUS_VISION_SLICE + " --out " +
                         scratch_.file("c") + " --quiet --set train.precision=fp16");
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.out.find("precision"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("bf16"), std::string::npos) << bad.out;
}

// A test image as a user might have it: upscaled, in colour.
Image user_image() {
  const data::FashionMnist fm = data::read_fashion_mnist();
  Image img(28, 28, 1);
  std::copy(fm.test->pixels(0), fm.test->pixels(0) + 784, img.pixels.begin());  // an ankle boot
  return resize(to_rgb(img), 112, 140);
}

std::vector<double> probabilities(const std::string& out) {
  std::vector<double> p;
  const std::regex line(R"(\n  \S.*? +([0-9.]+)%)");
  for (auto it = std::sregex_iterator(out.begin(), out.end(), line); it != std::sregex_iterator();
       ++it)
    p.push_back(std::stod((*it)[1]));
  return p;
}

TEST_F(FashionMnist, PredictsAPngAndWritesTheOverlay) {
  const std::string png = scratch_.file("boot.png"), overlay = scratch_.file("boot_attention.png");
  write_png(png, user_image());
  const Result r = run("predict " + model() + " " + png + " --top 10 --attention " + overlay);
  ASSERT_EQ(r.status, 0) << r.out;
  const std::vector<double> p = probabilities(r.out);
  ASSERT_EQ(p.size(), 10u) << r.out;
  double sum = 0;
  for (double v : p) sum += v;
  EXPECT_NEAR(sum, 100.0, 0.06) << r.out;
  EXPECT_TRUE(std::is_sorted(p.rbegin(), p.rend())) << r.out;
  EXPECT_NE(r.out.find("140x112, 3 channels -> 28x28 grey\n  Ankle boot"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("attention overlay: " + overlay), std::string::npos) << r.out;
  const Image o = read_image(overlay);
  EXPECT_EQ(o.channels, 3);
  EXPECT_GT(o.width, 3 * 224);
  // At bf16 (docs/precision.md): the same first class, each probability within 2 points.
  const Result b = run("predict " + model() + " " + png + " --top 10 --precision bf16");
  ASSERT_EQ(b.status, 0) << b.out;
  EXPECT_NE(b.out.find("28x28 grey\n  Ankle boot"), std::string::npos) << b.out;
  const std::vector<double> q = probabilities(b.out);
  ASSERT_EQ(q.size(), 10u) << b.out;
  EXPECT_NEAR(q[0], p[0], 2.0) << b.out;
}

TEST_F(FashionMnist, PredictsAJpegWithALightBackground) {
  // The same ankle boot, dark on light and tinted, as a JPEG (scripts/gen_image_fixtures.py).
  const std::string jpg = test::fixture("vision/images/boot_light_112x140.jpg");
  const Result r = run("predict " + model() + " " + jpg);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(probabilities(r.out).size(), 5u) << r.out;
  EXPECT_NE(r.out.find("140x112, 3 channels -> 28x28 grey, inverted (light background; the "
                       "model knows dark ones)\n  Ankle boot"),
            std::string::npos)
      << r.out;
}

TEST_F(FashionMnist, BadImagesAreOneLineErrorsWithExitCode2) {
  const std::string bad = scratch_.file("bad.png"), cut = scratch_.file("cut.png");
  std::ofstream(bad) << "this is not an image";
  write_png(scratch_.file("full.png"), user_image());
  fs::copy_file(scratch_.file("full.png"), cut);
  fs::resize_file(cut, fs::file_size(cut) / 2);
  for (const std::string& file : {bad, cut, scratch_.file("missing.jpg")}) {
    const Result r = run("predict " + model() + " " + file);
    EXPECT_EQ(r.status, 2) << file << ": " << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
    EXPECT_NE(r.out.find(file), std::string::npos) << r.out;
  }
}

}  // namespace
}  // namespace focus
