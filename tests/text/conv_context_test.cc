// The sequence transformer's convolution over neighbouring pieces (model.conv) against PyTorch
// (scripts/gen_nn_fixtures.py -> nn/text_conv.safetensors) on a padded batch: logits and every
// parameter's gradient, for the soft-attention baseline (depth 0) and for a class token before
// one block (the convolution then reads the class token as position 0). Padding invariance with
// the convolution is in padding_test.cc.
#include <map>

#include "focus/config.h"
#include "focus/models.h"
#include "test_util.h"

namespace focus {
namespace {

const io::TensorFile& fixtures() {
  static const io::TensorFile f = io::load_safetensors(test::fixture("nn/text_conv.safetensors"));
  return f;
}

// torch name -> Focus name.
std::map<std::string, std::string> names(const std::string& pool) {
  std::map<std::string, std::string> n = {
      {"embed.weight", "embed.weight"}, {"pos", "pos.table"},
      {"conv.weight", "conv.weight"},   {"conv.bias", "conv.bias"},
      {"norm.weight", "norm.weight"},   {"norm.bias", "norm.bias"},
      {"head.weight", "head.weight"},   {"head.bias", "head.bias"}};
  if (pool == "soft") {
    n.insert({{"w", "pool.w"}, {"b", "pool.b"}, {"v", "pool.v"}});
  } else {
    n.insert({"cls", "cls"});
    n.merge(test::encoder_layer_names("blocks.0.", "blocks.0."));
  }
  return n;
}

void expect_matches_torch(const std::string& pool, int64_t depth, int64_t kernel) {
  const io::TensorFile& f = fixtures();
  Generator gen(1);
  const nlohmann::json input = {{"vocab", 13}, {"length", 7}, {"classes", 3}, {"pad", 0}};
  auto model = models::build({{"kind", "sequence_transformer"},
                              {"dim", 8},
                              {"depth", depth},
                              {"heads", 2},
                              {"mlp_ratio", 2},
                              {"pool", pool},
                              {"conv", kernel}},
                             input, gen);
  const auto map = names(pool);
  std::map<std::string, Tensor> state;
  for (const auto& [torch_name, focus_name] : map)
    state[focus_name] = f.at(pool + ".param." + torch_name);
  model->load_state_dict(state);  // every parameter named: a missing or extra one throws

  const Tensor ids_f = f.at(pool + ".ids").contiguous();  // [3,7], ids stored as f32
  std::vector<int32_t> ids(size_t(ids_f.numel()));
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = int32_t(ids_f.data()[i]);
  Tensor out = (*model)(Tensor::from_indices(ids, ids_f.shape()));  // [3,3]
  out.backward(f.at(pool + ".gout"));
  FOCUS_EXPECT_CLOSE(out, f.at(pool + ".out"), 1e-4f, 1e-5f);
  for (auto& [name, t] : model->named_parameters())
    for (const auto& [torch_name, focus_name] : map)
      if (name == focus_name) {
        SCOPED_TRACE(name);
        FOCUS_EXPECT_CLOSE(t.grad(), f.at(pool + ".grad.param." + torch_name), 1e-4f, 1e-5f);
      }
}

}  // namespace

TEST(TextConv, SoftBaselineMatchesTorch) { expect_matches_torch("soft", 0, 3); }

TEST(TextConv, ClassTokenAndBlockMatchTorch) { expect_matches_torch("cls", 1, 5); }

TEST(TextConv, KernelMustBeOdd) {
  Generator gen(1);
  const nlohmann::json input = {{"vocab", 13}, {"length", 7}, {"classes", 3}, {"pad", 0}};
  try {
    models::build({{"kind", "sequence_transformer"}, {"depth", 0}, {"pool", "soft"}, {"conv", 4}},
                  input, gen);
    FAIL() << "an even kernel was accepted";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("model.conv"), std::string::npos) << e.what();
  }
  EXPECT_THROW(models::build({{"kind", "sequence_transformer"}, {"conv", -1}}, input, gen),
               config::ConfigError);
  EXPECT_NO_THROW(models::build(
      {{"kind", "sequence_transformer"}, {"depth", 0}, {"pool", "soft"}, {"conv", 3}}, input, gen));
}

}  // namespace focus
