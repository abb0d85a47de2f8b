// The image classifiers ("vit", "soft_image") against PyTorch (scripts/gen_vision_fixtures.py),
// their configs, capture of their attention, and determinism.
#include <cmath>
#include <map>
#include <string>
#include <thread>

#include "focus/models.h"
#include "focus/models/vision.h"
#include "parity.h"
#include "test_util.h"

namespace focus {
namespace {

using io::TensorFile;
constexpr float kRtol = 1e-4f, kAtol = 2e-5f;

const TensorFile& fixtures() {
  static const TensorFile f = io::load_safetensors(test::fixture("vision/models.safetensors"));
  return f;
}

// The model of fixture case `c`, built from its config through models::build as a user's JSON
// would be, with the fixture's weights loaded.
std::unique_ptr<models::Classifier> fixture_model(const std::string& c) {
  const TensorFile& f = fixtures();
  nlohmann::json config = nlohmann::json::parse(f.metadata.at(c + ".config"));
  nlohmann::json input = {{"channels", config["channels"]},
                          {"height", config["height"]},
                          {"width", config["width"]},
                          {"classes", config["classes"]}};
  for (const char* k : {"channels", "height", "width", "classes"}) config.erase(k);
  config["kind"] = c.rfind("vit", 0) == 0 ? "vit" : "soft_image";
  Generator gen(7);
  std::unique_ptr<models::Classifier> m = models::build(config, input, gen);
  std::map<std::string, Tensor> state;
  for (const std::string& name :
       nlohmann::json::parse(f.metadata.at(c + ".params")).get<std::vector<std::string>>())
    state[name] = f.at(c + ".param." + name);
  m->load_state_dict(state);  // strict: every parameter of the model is in the fixture
  return m;
}

void expect_parity(const std::string& c) {
  SCOPED_TRACE(c);
  const TensorFile& f = fixtures();
  std::unique_ptr<models::Classifier> m = fixture_model(c);
  Tensor x = f.at(c + ".in").detach().clone().requires_grad_();
  Tensor out = (*m)(x);
  FOCUS_EXPECT_CLOSE(out, f.at(c + ".out"), kRtol, kAtol) << "(logits)";
  out.backward(f.at(c + ".gout"));
  FOCUS_EXPECT_CLOSE(x.grad(), f.at(c + ".grad.in"), kRtol, kAtol) << "(gradient of the images)";
  for (const auto& [name, t] : m->named_parameters()) {
    SCOPED_TRACE(name);
    FOCUS_EXPECT_CLOSE(t.grad(), f.at(c + ".grad.param." + name), kRtol, kAtol);
  }
}

TEST(VisionParity, VitClassToken) { expect_parity("vit_cls"); }
TEST(VisionParity, VitMeanPoolingColourNonSquare) { expect_parity("vit_mean"); }
TEST(VisionParity, VitConvStemNonSquare) { expect_parity("vit_conv"); }
TEST(VisionParity, SoftImageConvAdditive) { expect_parity("soft_conv"); }
TEST(VisionParity, SoftImagePatchLinear) { expect_parity("soft_patch"); }

models::ViTOptions small_vit() {
  return {.channels = 1,
          .height = 8,
          .width = 8,
          .classes = 3,
          .patch = 2,
          .dim = 16,
          .depth = 3,
          .heads = 4,
          .mlp_ratio = 2};
}

TEST(Vision, VitCapturesEveryHeadOfEveryBlock) {
  models::ViT vit(small_vit());
  Tensor x = test::random_tensor({2, 1, 8, 8}, 3);
  attention::Capture capture;
  Tensor logits = vit(x);
  EXPECT_EQ(logits.shape(), Shape({2, 3}));
  std::vector<Tensor> maps = vit.attention_maps(capture);
  ASSERT_EQ(maps.size(), 3u);
  EXPECT_EQ(capture.maps()[0].layer, "block0.attention#0");
  const int64_t n = 1 + 16;  // class token + 4x4 patches
  for (const Tensor& m : maps) {
    ASSERT_EQ(m.shape(), Shape({2, 4, n, n}));
    Tensor rows = sum(m, {-1});
    for (float v : rows.to_vector()) EXPECT_NEAR(v, 1.0f, 1e-5f);
  }
  EXPECT_EQ(attention::rollout(maps).shape(), Shape({2, n, n}));
  // Without a capture the last block runs for the class token alone: the same logits.
  Tensor plain;
  std::thread other([&] { plain = vit(x); });  // a Capture records on its own thread only
  other.join();
  FOCUS_EXPECT_CLOSE(plain, logits, 1e-5f, 1e-6f);
  attention::Capture empty;
  test::expect_error([&] { vit.attention_maps(empty); }, {"vit", "block 0", "Capture"});
}

TEST(Vision, SoftImageCapturesItsWeights) {
  models::SoftImageClassifier m({.channels = 1, .height = 28, .width = 28, .classes = 10});
  EXPECT_EQ(m.grid_h(), 7);
  EXPECT_EQ(m.grid_w(), 7);
  Tensor x = test::random_tensor({3, 1, 28, 28}, 4);
  attention::Capture capture;
  models::SoftImageClassifier::Result r = m.forward(x);
  EXPECT_EQ(r.logits.shape(), Shape({3, 10}));
  Tensor w = m.attention_weights(capture);
  ASSERT_EQ(w.shape(), Shape({3, 49}));
  FOCUS_EXPECT_CLOSE(w, r.weights, 0.0f, 0.0f);
  for (float v : sum(w, {-1}).to_vector()) EXPECT_NEAR(v, 1.0f, 1e-5f);
}

TEST(Vision, VitInitialisedAsTimm) {
  models::ViT vit({.channels = 1, .height = 28, .width = 28, .classes = 10, .dim = 64, .depth = 2});
  for (const auto& [name, t] : vit.named_parameters()) {
    std::vector<float> v = t.to_vector();
    double mean = 0, sq = 0;
    for (float e : v) mean += e, sq += double(e) * e;
    mean /= double(v.size());
    const double sd = std::sqrt(sq / double(v.size()) - mean * mean);
    SCOPED_TRACE(name);
    if (name.find("ln") != std::string::npos || name.rfind("norm.", 0) == 0) continue;
    if (name.ends_with("bias") || name.ends_with("b_qkv") || name.ends_with("b_out")) {
      if (name.rfind("patches.", 0) != 0) EXPECT_EQ(sd + std::fabs(mean), 0.0);
    } else if (name.rfind("patches.", 0) != 0 && v.size() >= 64) {
      EXPECT_NEAR(sd, 0.02, 0.004);
      EXPECT_NEAR(mean, 0.0, 0.004);
    }
  }
}

TEST(Vision, ConfigErrorsNameTheKey) {
  const nlohmann::json input = {{"channels", 1}, {"height", 28}, {"width", 28}, {"classes", 10}};
  Generator gen(1);
  auto build = [&](const nlohmann::json& model) { models::build(model, input, gen); };
  test::expect_error(
      [&] {
        build({{"kind", "vit"}, {"patch", 5}});
      },
      {"model.patch 5", "height 28"});
  test::expect_error(
      [&] {
        build({{"kind", "vit"}, {"dim", 30}, {"heads", 4}});
      },
      {"model.dim 30", "model.heads 4"});
  test::expect_error([&] { build({{"kind", "vit"}, {"pool", "max"}}); }, {"pool"});
  test::expect_error([&] { build({{"kind", "vit"}, {"depht", 2}}); }, {"depht"});
  test::expect_error(
      [&] {
        build({{"kind", "vit"}, {"stem", "conv"}, {"patch", 7}});
      },
      {"stem", "power of two", "7"});
  test::expect_error([&] { build({{"kind", "vit"}, {"stem_channels", 16}}); }, {"stem_channels"});
  EXPECT_NO_THROW(build({{"kind", "vit"}, {"stem", "conv"}, {"patch", 4}, {"stem_channels", 8}}));
  test::expect_error([&] { build({{"kind", "soft_image"}, {"score", "dot"}}); }, {"score"});
  test::expect_error([&] { build({{"kind", "soft_image"}, {"patch", 4}}); }, {"patch"});
  test::expect_error(
      [&] {
        build({{"kind", "soft_image"}, {"score", "linear"}, {"attention_hidden", 16}});
      },
      {"unknown key", "attention_hidden"});
  EXPECT_NO_THROW(build({{"kind", "soft_image"}, {"attention_hidden", 16}}));
  test::expect_error(
      [&] {
        models::build({{"kind", "vit"}}, {{"classes", 10}}, gen);
      },
      {"vit", "channels"});
  EXPECT_NO_THROW(build({{"kind", "soft_image"}, {"features", "patch"}, {"patch", 7}}));
}

TEST(Vision, SameSeedSameLogits) {
  auto run = [] {
    Generator gen(11);
    models::ViT vit(small_vit(), gen);
    Tensor x = test::random_tensor({4, 1, 8, 8}, 5);
    Tensor y = make_tensor({4}, DType::i32);
    for (int i = 0; i < 4; ++i) y.data_i32()[i] = i % 3;
    Tensor loss = cross_entropy(vit(x), y);
    loss.backward();
    return vit.named_parameters()[0].second.grad().to_vector();
  };
  EXPECT_EQ(run(), run());
}

}  // namespace
}  // namespace focus
