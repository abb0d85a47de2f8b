// state()/load(): a resumed optimiser continues bit for bit; bad state is refused, naming the key.
// Also the behaviours every optimiser shares: skipping parameters without a gradient, zero_grad,
// and checks on construction.
#include <functional>
#include <memory>

#include "optim_fixture.h"

namespace focus {
namespace {

using nlohmann::json;
using optim::NamedTensors;
using test::expect_error;
using Make = std::function<std::unique_ptr<optim::Optimizer>(NamedTensors)>;

NamedTensors copies(const NamedTensors& params) {
  NamedTensors out;
  for (const auto& [k, p] : params) out.emplace_back(k, p.detach().clone().requires_grad_());
  return out;
}

void run_steps(optim::Optimizer& opt, const io::TensorFile& f, int64_t from, int64_t to) {
  for (int64_t t = from; t < to; ++t) {
    test::set_step_grads(opt.params(), f, json::object(), t);
    opt.step();
  }
}

// 10 steps, state() (optionally through a safetensors file), 10 more; against a fresh optimiser on
// the saved parameters that loads the state and runs the same 10 steps.
void expect_resume_bit_identical(const Make& make, bool through_file) {
  const io::TensorFile f = io::load_safetensors(test::fixture("optim/adam.safetensors"));
  auto a = make(test::initial_params(f));
  run_steps(*a, f, 0, 10);
  a->set_lr(a->lr() * 0.5f);  // a scheduled rate must come back too
  std::map<std::string, Tensor> state = a->state();
  const NamedTensors saved = copies(a->params());
  run_steps(*a, f, 10, 20);

  if (through_file) {
    const test::ScratchDir dir("optim_state");
    io::save_safetensors(dir.file("state.safetensors"), state);
    state = io::load_safetensors(dir.file("state.safetensors")).tensors;
  }
  auto b = make(copies(saved));
  b->load(state);
  EXPECT_EQ(b->steps(), 10);
  EXPECT_EQ(b->lr(), a->lr());
  run_steps(*b, f, 10, 20);
  for (size_t i = 0; i < a->params().size(); ++i)
    EXPECT_TRUE(test::bit_identical(a->params()[i].second, b->params()[i].second))
        << "parameter " << a->params()[i].first;
  // And the state itself continues identically.
  const auto sa = a->state(), sb = b->state();
  ASSERT_EQ(sa.size(), sb.size());
  for (const auto& [k, t] : sa) {
    ASSERT_TRUE(sb.count(k)) << k;
    if (t.dtype() == DType::f32) EXPECT_TRUE(test::bit_identical(t, sb.at(k))) << k;
  }
}

const Make kSgd = [](NamedTensors p) {
  return std::make_unique<optim::Sgd>(
      std::move(p),
      optim::SgdOptions{.lr = 0.05f, .momentum = 0.9f, .weight_decay = 0.01f, .nesterov = true});
};
const Make kAdam = [](NamedTensors p) {
  return std::make_unique<optim::Adam>(std::move(p),
                                       optim::AdamOptions{.lr = 0.01f, .weight_decay = 0.1f});
};
const Make kAdamW = [](NamedTensors p) {
  return std::make_unique<optim::AdamW>(std::move(p),
                                        optim::AdamOptions{.lr = 0.01f, .weight_decay = 0.1f});
};

TEST(OptimState, SgdResumesBitIdentical) { expect_resume_bit_identical(kSgd, false); }
TEST(OptimState, AdamResumesBitIdentical) { expect_resume_bit_identical(kAdam, false); }
TEST(OptimState, AdamWResumesBitIdenticalThroughSafetensors) {
  expect_resume_bit_identical(kAdamW, true);
}

TEST(OptimState, KeysAndShapes) {
  const io::TensorFile f = io::load_safetensors(test::fixture("optim/adam.safetensors"));
  auto opt = kAdam(test::initial_params(f));
  run_steps(*opt, f, 0, 3);
  const auto s = opt->state();
  EXPECT_EQ(s.size(), 2u + 2u * 3u);
  EXPECT_EQ(s.at("w.exp_avg").shape(), Shape({4, 8}));
  EXPECT_EQ(s.at("b.exp_avg_sq").shape(), Shape({16}));
  EXPECT_EQ(s.at("w.step").dtype(), DType::i32);
  EXPECT_EQ(*s.at("w.step").data_i32(), 3);
  EXPECT_EQ(*s.at("step").data_i32(), 3);
  EXPECT_EQ(s.at("lr").item(), 0.01f);
  // state() hands out copies: changing them does not reach the optimiser.
  Tensor m = s.at("w.exp_avg");
  m.data()[0] += 1.0f;
  EXPECT_NE(opt->state().at("w.exp_avg").to_vector()[0], m.data()[0]);
}

TEST(OptimState, LoadWithWrongShapeNamesKeyAndBothShapes) {
  const io::TensorFile f = io::load_safetensors(test::fixture("optim/adam.safetensors"));
  auto opt = kAdam(test::initial_params(f));
  run_steps(*opt, f, 0, 2);
  auto good = opt->state();
  auto bad = good;
  bad["w.exp_avg_sq"] = Tensor::zeros({8, 4});
  expect_error([&] { opt->load(bad); }, {"Adam load", "'w.exp_avg_sq'", "[8,4]", "[4,8]"});
  // A refused load changes nothing.
  EXPECT_TRUE(test::bit_identical(opt->state().at("w.exp_avg_sq"), good.at("w.exp_avg_sq")));
  EXPECT_EQ(opt->steps(), 2);
}

TEST(OptimState, LoadRefusesUnknownMissingAndMistypedKeys) {
  const io::TensorFile f = io::load_safetensors(test::fixture("optim/sgd.safetensors"));
  auto opt = kSgd(test::initial_params(f));
  run_steps(*opt, f, 0, 1);
  const auto good = opt->state();
  auto s = good;
  s["conv.weight.momentum"] = Tensor::zeros({3});
  expect_error([&] { opt->load(s); }, {"Sgd load", "unknown key", "'conv.weight.momentum'"});
  s = good;
  s.erase("step");
  expect_error([&] { opt->load(s); }, {"Sgd load", "missing 'step'"});
  s = good;
  s["step"] = Tensor::scalar(1.0f);
  expect_error([&] { opt->load(s); }, {"Sgd load", "'step'", "f32", "i32"});
  s = good;
  s["lr"] = Tensor::scalar(-1.0f);
  expect_error([&] { opt->load(s); }, {"Sgd load", "'lr'", "-1"});

  auto adam = kAdam(test::initial_params(f));
  run_steps(*adam, f, 0, 1);
  auto partial = adam->state();
  partial.erase("b.exp_avg_sq");
  expect_error([&] { adam->load(partial); }, {"Adam load", "missing 'b.exp_avg_sq'"});
}

TEST(OptimState, LoadIntoFreshOptimiserWithoutSlotsIsFine) {
  // A parameter never updated has no slots; loading such a state leaves it without any.
  const io::TensorFile f = io::load_safetensors(test::fixture("optim/adam.safetensors"));
  auto a = kAdam(test::initial_params(f));
  Tensor w = a->params()[0].second;
  w.set_grad(Tensor::ones({4, 8}));
  a->step();
  const auto s = a->state();
  EXPECT_TRUE(s.count("w.exp_avg"));
  EXPECT_FALSE(s.count("b.exp_avg"));
  auto b = kAdam(test::initial_params(f));
  b->load(s);
  EXPECT_EQ(b->state().size(), s.size());
}

TEST(OptimBehaviour, ParametersWithoutGradientAreLeftAlone) {
  const io::TensorFile f = io::load_safetensors(test::fixture("optim/sgd.safetensors"));
  for (const Make& make : {kSgd, kAdam, kAdamW}) {
    auto opt = make(test::initial_params(f));
    Tensor w = opt->params()[0].second, b = opt->params()[1].second;
    const Tensor b0 = b.detach().clone();
    w.set_grad(Tensor::ones({4, 8}));
    opt->step();
    EXPECT_TRUE(test::bit_identical(b, b0));
    EXPECT_FALSE(test::bit_identical(w, f.at("init.w")));
    for (const auto& [k, t] : opt->state()) EXPECT_NE(k.rfind("b.", 0), 0u) << k;
  }
}

TEST(OptimBehaviour, ZeroGradDropsGradients) {
  auto opt = kAdam({{"w", Tensor::ones({2, 2}).requires_grad_()}});
  Tensor w = opt->params()[0].second;
  w.set_grad(Tensor::ones({2, 2}));
  opt->zero_grad();
  EXPECT_FALSE(w.grad().defined());
  opt->step();  // nothing to do
  EXPECT_TRUE(test::bit_identical(w, Tensor::ones({2, 2})));
}

TEST(OptimBehaviour, UpdatesInPlaceOutsideAutograd) {
  Tensor w = Tensor::ones({3}).requires_grad_();
  const float* storage = w.data();
  optim::Sgd opt({{"w", w}}, {.lr = 0.5f});
  w.set_grad(Tensor::full({3}, 2.0f));
  opt.step();
  EXPECT_EQ(w.data(), storage);
  EXPECT_TRUE(w.is_leaf());
  EXPECT_TRUE(test::bit_identical(w, Tensor::zeros({3})));
}

TEST(OptimBehaviour, AdamWLeavesRank1AloneUnlessAsked) {
  // With zero gradients Adam's step is 0/(0 + eps) = 0, so only the decoupled decay moves.
  for (bool all : {false, true}) {
    optim::AdamW opt({{"w", Tensor::ones({2, 2}).requires_grad_()},
                      {"scale", Tensor::ones({2}).requires_grad_()}},
                     {.lr = 0.1f, .weight_decay = 0.5f, .decay_norms_and_biases = all});
    for (auto& [k, p] : opt.params()) Tensor(p).set_grad(Tensor::zeros(p.shape()));
    opt.step();
    EXPECT_TRUE(test::bit_identical(opt.params()[0].second, Tensor::full({2, 2}, 0.95f)));
    EXPECT_TRUE(test::bit_identical(opt.params()[1].second, Tensor::full({2}, all ? 0.95f : 1.0f)))
        << "decay_norms_and_biases " << all;
  }
}

TEST(OptimBehaviour, ConstructionChecks) {
  expect_error(
      [] {
        optim::Sgd({{"w", Tensor::ones({2})}}, {.momentum = 0.0f, .nesterov = true});
      },
      {"Sgd", "Nesterov", "momentum"});
  expect_error(
      [] {
        optim::Sgd({{"w", Tensor::ones({2})}, {"w", Tensor::ones({3})}}, {});
      },
      {"Sgd", "'w'", "twice"});
  expect_error(
      [] {
        optim::Adam({{"w.t", Tensor::ones({2, 3}).transpose(0, 1)}}, {});
      },
      {"Adam", "'w.t'", "[3,2]", "non-contiguous"});
  expect_error(
      [] {
        optim::AdamW({{"w", Tensor::ones({2})}}, {.beta2 = 1.0f});
      },
      {"AdamW", "betas"});
  expect_error(
      [] {
        optim::Adam({{"w", Tensor::ones({2})}}, {.lr = -1.0f});
      },
      {"Adam", "learning rate", "-1"});
}

}  // namespace
}  // namespace focus
