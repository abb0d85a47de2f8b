// The keyword transformer (models::build, kind keyword_transformer) against PyTorch with both
// front ends (scripts/gen_nn_fixtures.py -> nn/keyword_transformer.safetensors): output, the
// features' gradient and every parameter's gradient.
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
  return {{"cls", "cls"},
          {"pos", "pos.table"},
          {"block.self_attn.in_proj_weight", "blocks.0.attention.w_qkv"},
          {"block.self_attn.in_proj_bias", "blocks.0.attention.b_qkv"},
          {"block.self_attn.out_proj.weight", "blocks.0.attention.w_out"},
          {"block.self_attn.out_proj.bias", "blocks.0.attention.b_out"},
          {"block.linear1.weight", "blocks.0.mlp.fc1.weight"},
          {"block.linear1.bias", "blocks.0.mlp.fc1.bias"},
          {"block.linear2.weight", "blocks.0.mlp.fc2.weight"},
          {"block.linear2.bias", "blocks.0.mlp.fc2.bias"},
          {"block.norm1.weight", "blocks.0.ln1.weight"},
          {"block.norm1.bias", "blocks.0.ln1.bias"},
          {"block.norm2.weight", "blocks.0.ln2.weight"},
          {"block.norm2.bias", "blocks.0.ln2.bias"},
          {"norm.weight", "norm.weight"},
          {"norm.bias", "norm.bias"},
          {"head.weight", "head.weight"},
          {"head.bias", "head.bias"}};
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

}  // namespace
}  // namespace focus
