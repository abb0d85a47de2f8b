// The keyword transformer (models::build, kind keyword_transformer) against PyTorch with both
// front ends (scripts/gen_nn_fixtures.py -> nn/keyword_transformer.safetensors): output, the
// features' gradient and every parameter's gradient; and where each front's tokens sit in time.
#include <map>

#include "focus/models.h"
#include "test_util.h"

namespace focus {
namespace {

const io::TensorFile& fixtures() {
  static const io::TensorFile f =
      io::load_safetensors(test::fixture("nn/keyword_transformer.safetensors"));
  return f;
}

// torch name -> Focus name, for the parts both fronts share.
std::map<std::string, std::string> shared_names() {
  std::map<std::string, std::string> names = {{"cls", "cls"},
                                              {"pos", "pos.table"},
                                              {"norm.weight", "norm.weight"},
                                              {"norm.bias", "norm.bias"},
                                              {"head.weight", "head.weight"},
                                              {"head.bias", "head.bias"}};
  names.merge(test::encoder_layer_names("block.", "blocks.0."));
  return names;
}

void expect_matches_torch(const nlohmann::json& model_json, const std::string& c,
                          std::map<std::string, std::string> names) {
  const io::TensorFile& f = fixtures();
  Generator gen(1);
  const nlohmann::json input = {{"classes", 3}, {"mels", 6}, {"frames", 11}};
  auto model = models::build(model_json, input, gen);
  for (const auto& kv : shared_names()) names.insert(kv);
  std::map<std::string, Tensor> state;
  for (const auto& [torch_name, focus_name] : names)
    state[focus_name] = f.at(c + ".param." + torch_name);
  model->load_state_dict(state);  // every parameter named: a missing or extra one throws

  Tensor x = f.at(c + ".in0").detach().clone().requires_grad_();  // [B,M,T]
  Tensor out = (*model)(x);                                       // [B,3]
  out.backward(f.at(c + ".gout"));
  FOCUS_EXPECT_CLOSE(out, f.at(c + ".out"), 1e-4f, 1e-5f);
  FOCUS_EXPECT_CLOSE(x.grad(), f.at(c + ".grad.in0"), 1e-4f, 1e-5f);
  for (auto& [name, t] : model->named_parameters())
    for (const auto& [torch_name, focus_name] : names)
      if (name == focus_name) {
        SCOPED_TRACE(name);
        FOCUS_EXPECT_CLOSE(t.grad(), f.at(c + ".grad.param." + torch_name), 1e-4f, 1e-5f);
      }
}

TEST(KeywordTransformer, ConvFrontMatchesTorch) {
  // 11 frames, kernel 3, stride 2, padding 1: ⌈11/2⌉ = 6 tokens, each centred on frame 2n.
  expect_matches_torch({{"kind", "keyword_transformer"},
                        {"front", "conv"},
                        {"kernel", 3},
                        {"patch", 2},
                        {"dim", 8},
                        {"depth", 1},
                        {"heads", 2},
                        {"mlp_ratio", 2}},
                       "conv", {{"conv.weight", "conv.weight"}, {"conv.bias", "conv.bias"}});
}

TEST(KeywordTransformer, LinearFrontMatchesTorch) {
  // 11 frames in patches of 2: 5 tokens, the last frame dropped.
  expect_matches_torch({{"kind", "keyword_transformer"},
                        {"front", "linear"},
                        {"patch", 2},
                        {"dim", 8},
                        {"depth", 1},
                        {"heads", 2},
                        {"mlp_ratio", 2}},
                       "linear", {{"proj.weight", "proj.weight"}, {"proj.bias", "proj.bias"}});
}

TEST(KeywordTransformer, KernelBelongsToTheConvFront) {
  Generator gen(1);
  const nlohmann::json input = {{"classes", 3}, {"mels", 6}, {"frames", 11}};
  try {
    models::build({{"kind", "keyword_transformer"}, {"front", "linear"}, {"kernel", 5}}, input,
                  gen);
    FAIL() << "a kernel with the linear front was accepted";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("model.kernel applies to model.front 'conv' only"),
              std::string::npos)
        << e.what();
  }
}

// Where each front's tokens sit in time, for drawing attention over frames: the conv front's token
// k is centred on frame k·p (kernel 5, padding 2), the linear front's covers frames [k·p, k·p+p).
TEST(KeywordTransformer, KeySpansPlaceTokensOnTheirFrames) {
  Generator gen(1);
  const nlohmann::json input = {{"classes", 3}, {"mels", 6}, {"frames", 11}};
  const auto conv = models::build(
      {{"kind", "keyword_transformer"}, {"front", "conv"}, {"kernel", 5}, {"patch", 3}}, input,
      gen);
  const models::KeySpan c = conv->key_span();
  EXPECT_EQ(c.first, -2);
  EXPECT_EQ(c.stride, 3);
  EXPECT_EQ(c.width, 5);
  const auto linear = models::build(
      {{"kind", "keyword_transformer"}, {"front", "linear"}, {"patch", 2}}, input, gen);
  const models::KeySpan l = linear->key_span();
  EXPECT_EQ(l.first, 0);
  EXPECT_EQ(l.stride, 2);
  EXPECT_EQ(l.width, 2);
}

TEST(KeywordTransformer, AttentionSpreadsOverTheFramesATokenReads) {
  // All weight on conv token 2 of stride 2, kernel 5: frames 2..6, centred on frame 4.
  std::vector<float> a = models::spread_over_positions({0, 0, 1, 0}, 8, {-2, 2, 5});
  const std::vector<float> want2 = {0, 0, 0.2f, 0.2f, 0.2f, 0.2f, 0.2f, 0};
  for (size_t t = 0; t < want2.size(); ++t) EXPECT_FLOAT_EQ(a[t], want2[t]) << t;
  // Token 0 reads frames -2..2: the two before the clip are dropped, the rest scaled to sum to 1.
  a = models::spread_over_positions({1, 0, 0, 0}, 8, {-2, 2, 5});
  for (size_t t = 0; t < 8; ++t) EXPECT_FLOAT_EQ(a[t], t < 3 ? 1.0f / 3 : 0.0f) << t;
  // Overlapping windows add up: tokens 1 and 2 (frames 0..4 and 2..6) share frames 2..4.
  a = models::spread_over_positions({0, 0.5f, 0.5f, 0}, 8, {-2, 2, 5});
  const std::vector<float> want12 = {0.1f, 0.1f, 0.2f, 0.2f, 0.2f, 0.1f, 0.1f, 0};
  for (size_t t = 0; t < want12.size(); ++t) EXPECT_FLOAT_EQ(a[t], want12[t]) << t;
  // Linear patches of 3 over 10 frames (3 tokens; the last frame is read by none).
  a = models::spread_over_positions({0.5f, 0.25f, 0.25f}, 10, {0, 3, 3});
  const float third = 1.0f / 3;
  const std::vector<float> want = {
      0.5f * third,  0.5f * third,  0.5f * third,  0.25f * third, 0.25f * third,
      0.25f * third, 0.25f * third, 0.25f * third, 0.25f * third, 0};
  for (size_t t = 0; t < want.size(); ++t) EXPECT_FLOAT_EQ(a[t], want[t]) << t;
}

}  // namespace
}  // namespace focus
