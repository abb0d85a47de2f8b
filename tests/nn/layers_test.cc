// Layers against PyTorch (scripts/gen_nn_fixtures.py), module bookkeeping, and initialisers.
#include <cmath>
#include <map>

#include "focus/nn.h"
#include "test_util.h"

namespace focus {
namespace {

using io::TensorFile;
constexpr float kRtol = 1e-4f, kAtol = 1e-5f;

const TensorFile& fixtures() {
  static const TensorFile f = io::load_safetensors(test::fixture("nn/layers.safetensors"));
  return f;
}

// Loads torch's parameters (renamed through `names`: torch name -> Focus name) into `m`.
void load_params(nn::Module& m, const std::string& c,
                 const std::map<std::string, std::string>& names) {
  std::map<std::string, Tensor> state;
  for (const auto& [torch_name, focus_name] : names)
    state[focus_name] = fixtures().at(c + ".param." + torch_name);
  m.load_state_dict(state);
}

// Runs out = fn(inputs), backward(gout), and compares output, input grads and parameter grads.
void expect_matches(nn::Module& m, const std::string& c,
                    const std::map<std::string, std::string>& names, int n_inputs,
                    const std::function<Tensor(const std::vector<Tensor>&)>& fn) {
  const TensorFile& f = fixtures();
  load_params(m, c, names);
  std::vector<Tensor> in;
  for (int i = 0; i < n_inputs; ++i)
    in.push_back(f.at(c + ".in" + std::to_string(i)).detach().clone().requires_grad_());
  Tensor out = fn(in);
  out.backward(f.at(c + ".gout"));
  FOCUS_EXPECT_CLOSE(out, f.at(c + ".out"), kRtol, kAtol);
  for (int i = 0; i < n_inputs; ++i)
    FOCUS_EXPECT_CLOSE(in[i].grad(), f.at(c + ".grad.in" + std::to_string(i)), kRtol, kAtol);
  auto params = m.named_parameters();
  for (const auto& [torch_name, focus_name] : names) {
    SCOPED_TRACE(focus_name);
    for (auto& [name, t] : params)
      if (name == focus_name)
        FOCUS_EXPECT_CLOSE(t.grad(), f.at(c + ".grad.param." + torch_name), kRtol, kAtol);
  }
}

TEST(NnParity, Conv1dAndConv2d) {
  const std::map<std::string, std::string> names = {{"weight", "weight"}, {"bias", "bias"}};
  nn::Conv1d c1(3, 4, 3, 2, 1);
  expect_matches(c1, "conv1d", names, 1, [&](const auto& in) { return c1(in[0]); });
  nn::Conv1d c1k5(3, 2, 5, 1, 2);  // windows reaching two steps into the padding
  expect_matches(c1k5, "conv1d_k5", names, 1, [&](const auto& in) { return c1k5(in[0]); });
  nn::Conv1d c1k5s2(2, 3, 5, 2, 2);
  expect_matches(c1k5s2, "conv1d_k5_s2", names, 1, [&](const auto& in) { return c1k5s2(in[0]); });
  // The channels-last path against the same fixtures (fresh modules: gradients accumulate), rows
  // in and rows out through transposes outside it, so the input's gradient is compared too.
  const auto rows = [](const nn::Conv1d& c) {
    return [&c](const auto& in) {
      return c.over_rows(in[0].permute({0, 2, 1})).permute({0, 2, 1});
    };
  };
  nn::Conv1d r1(3, 4, 3, 2, 1), r1k5(3, 2, 5, 1, 2), r1k5s2(2, 3, 5, 2, 2);
  expect_matches(r1, "conv1d", names, 1, rows(r1));
  expect_matches(r1k5, "conv1d_k5", names, 1, rows(r1k5));
  expect_matches(r1k5s2, "conv1d_k5_s2", names, 1, rows(r1k5s2));
  nn::Conv2d c2(2, 3, 3, 1, 1);
  expect_matches(c2, "conv2d", names, 1, [&](const auto& in) { return c2(in[0]); });
  nn::Conv2d c3(1, 2, 2, 2, 0);
  expect_matches(c3, "conv2d_s2", names, 1, [&](const auto& in) { return c3(in[0]); });
}

std::map<std::string, std::string> block_names(const std::string& attn,
                                               const std::string& torch_attn) {
  return {{torch_attn + ".in_proj_weight", attn + ".w_qkv"},
          {torch_attn + ".in_proj_bias", attn + ".b_qkv"},
          {torch_attn + ".out_proj.weight", attn + ".w_out"},
          {torch_attn + ".out_proj.bias", attn + ".b_out"}};
}

TEST(NnParity, PreNormEncoderBlock) {
  nn::EncoderBlock block({.dim = 16, .heads = 4, .mlp_ratio = 2});
  const auto names = test::encoder_layer_names("", "");
  expect_matches(block, "encoder", names, 1, [&](const auto& in) { return block(in[0]); });
}

TEST(NnParity, PreNormDecoderBlock) {
  nn::DecoderBlock block({.dim = 16, .heads = 4, .mlp_ratio = 2});
  // torch keeps the cross-attention's q, k, v projections in one [3E,E] matrix; Focus splits it.
  const TensorFile& f = fixtures();
  auto names = block_names("self_attention", "layer.self_attn");
  names.insert({{"layer.multihead_attn.out_proj.weight", "cross_attention.w_out"},
                {"layer.multihead_attn.out_proj.bias", "cross_attention.b_out"},
                {"layer.linear1.weight", "mlp.fc1.weight"},
                {"layer.linear1.bias", "mlp.fc1.bias"},
                {"layer.linear2.weight", "mlp.fc2.weight"},
                {"layer.linear2.bias", "mlp.fc2.bias"},
                {"layer.norm1.weight", "ln1.weight"},
                {"layer.norm1.bias", "ln1.bias"},
                {"layer.norm2.weight", "ln2.weight"},
                {"layer.norm2.bias", "ln2.bias"},
                {"layer.norm3.weight", "ln3.weight"},
                {"layer.norm3.bias", "ln3.bias"}});
  std::map<std::string, Tensor> state;
  for (const auto& [t, n] : names) state[n] = f.at("decoder.param." + t);
  const Tensor w = f.at("decoder.param.layer.multihead_attn.in_proj_weight");
  const Tensor b = f.at("decoder.param.layer.multihead_attn.in_proj_bias");
  state["cross_attention.w_q"] = w.slice(0, 0, 16);
  state["cross_attention.w_kv"] = w.slice(0, 16, 48);
  state["cross_attention.b_q"] = b.slice(0, 0, 16);
  state["cross_attention.b_kv"] = b.slice(0, 16, 48);
  block.load_state_dict(state);
  Tensor x = f.at("decoder.in0").detach().clone().requires_grad_();
  Tensor memory = f.at("decoder.in1").detach().clone().requires_grad_();
  Tensor out = block(x, memory);
  out.backward(f.at("decoder.gout"));
  FOCUS_EXPECT_CLOSE(out, f.at("decoder.out"), kRtol, kAtol);
  FOCUS_EXPECT_CLOSE(x.grad(), f.at("decoder.grad.in0"), kRtol, kAtol);
  FOCUS_EXPECT_CLOSE(memory.grad(), f.at("decoder.grad.in1"), kRtol, kAtol);
}

TEST(Nn, PatchEmbeddingEqualsStridedConvolution) {
  nn::PatchEmbedding patches(2, 4, 8);
  nn::Conv2d conv(2, 8, 4, 4, 0);
  auto p = patches.named_parameters();  // proj.weight [8, 2·4·4], proj.bias [8]
  conv.load_state_dict({{"weight", p[0].second.reshape({8, 2, 4, 4})}, {"bias", p[1].second}});
  Tensor images = test::random_tensor({3, 2, 8, 12}, 1);
  Tensor via_conv = conv(images).flatten(2).transpose(1, 2);  // [B,N,D]
  FOCUS_EXPECT_CLOSE(patches(images), via_conv, 1e-5f, 1e-6f);
}

TEST(Nn, ModulesNameAndCountTheirParameters) {
  nn::EncoderBlock block({.dim = 8, .heads = 2, .mlp_ratio = 4});
  std::vector<std::string> names;
  for (auto& [name, t] : block.named_parameters()) names.push_back(name);
  const std::vector<std::string> expected = {
      "ln1.weight",      "ln1.bias",        "ln2.weight",      "ln2.bias",
      "attention.w_qkv", "attention.b_qkv", "attention.w_out", "attention.b_out",
      "mlp.fc1.weight",  "mlp.fc1.bias",    "mlp.fc2.weight",  "mlp.fc2.bias"};
  EXPECT_EQ(names, expected);
  // 4·8 (norms) + 3·8·8 + 3·8 + 8·8 + 8 (attention) + 32·8 + 32 + 8·32 + 8 (mlp)
  EXPECT_EQ(block.parameter_count(), 32 + 192 + 24 + 64 + 8 + 256 + 32 + 256 + 8);
  block.eval();
  EXPECT_FALSE(block.is_training());
}

TEST(Nn, LoadStateDictRejectsBadStateAndChangesNothing) {
  nn::Linear lin(3, 2);
  const std::vector<float> before = lin.weight.to_vector();
  test::expect_error(
      [&] {
        lin.load_state_dict({{"weight", Tensor::zeros({3, 2})}, {"bias", Tensor::zeros({2})}});
      },
      {"load_state_dict", "'weight'", "[3,2]", "[2,3]"});
  test::expect_error(
      [&] {
        lin.load_state_dict({{"weight", Tensor::zeros({2, 3})}});
      },
      {"load_state_dict", "missing 'bias'"});
  test::expect_error(
      [&] {
        lin.load_state_dict({{"weight", Tensor::zeros({2, 3})},
                             {"bias", Tensor::zeros({2})},
                             {"extra", Tensor::zeros({1})}});
      },
      {"load_state_dict", "unexpected 'extra'"});
  EXPECT_EQ(lin.weight.to_vector(), before);
}

TEST(Nn, InitialisersHaveTheRightSpread) {
  Generator gen(9);
  Tensor w = Tensor::zeros({256, 512});
  nn::init::xavier_uniform_(w, 1.0f, gen);
  const float bound = std::sqrt(6.0f / (256 + 512));
  double s2 = 0;
  for (float x : w.to_vector()) {
    ASSERT_LE(std::fabs(x), bound);
    s2 += double(x) * x;
  }
  EXPECT_NEAR(std::sqrt(s2 / w.numel()), bound / std::sqrt(3.0f), 0.01 * bound);
  nn::init::kaiming_normal_(w, 0.0f, nn::init::Mode::fan_in, gen);
  s2 = 0;
  for (float x : w.to_vector()) s2 += double(x) * x;
  EXPECT_NEAR(std::sqrt(s2 / w.numel()), std::sqrt(2.0f / 512), 0.02 * std::sqrt(2.0f / 512));
  nn::init::trunc_normal_(w, 0.0f, 0.02f, -0.04f, 0.04f, gen);
  for (float x : w.to_vector()) ASSERT_LE(std::fabs(x), 0.04f);
  test::expect_error([&] { nn::init::by_name(w, "glorot", gen); }, {"init", "unknown", "glorot"});
}

TEST(Nn, SinusoidalPositions) {
  Tensor p = nn::sinusoidal_positions(4, 6);
  EXPECT_FLOAT_EQ(p.data()[0], 0.0f);  // sin(0)
  EXPECT_FLOAT_EQ(p.data()[1], 1.0f);  // cos(0)
  EXPECT_NEAR(p.data()[6 * 3 + 0], std::sin(3.0), 1e-6);
  EXPECT_NEAR(p.data()[6 * 2 + 3], std::cos(2.0 / std::pow(10000.0, 2.0 / 6)), 1e-6);
}

}  // namespace
}  // namespace focus
