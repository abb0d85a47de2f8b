// Ten SGD steps of a tiny two-layer network against PyTorch (the llm.c check): same init, same
// data; the loss at every step, the first step's gradients and the final weights must match.
#include "parity.h"

namespace focus {
namespace {

TEST(ParityTrain, MlpSgdTenSteps) {
  const io::TensorFile f = io::load_safetensors(test::fixture("train/mlp_sgd.safetensors"));
  const float lr = std::stof(f.metadata.at("lr"));
  const int steps = std::stoi(f.metadata.at("steps"));
  ASSERT_EQ(f.metadata.at("gelu"), "tanh");

  const Tensor x = f.at("x");              // [16,8]
  const Tensor targets = f.at("targets");  // [16] i32, 4 classes
  const std::vector<std::string> names = {"W1", "b1", "W2", "b2"};
  // W1 [32,8], b1 [32], W2 [4,32], b2 [4]; updated in place so each stays the same leaf.
  std::map<std::string, Tensor> p;
  for (const std::string& k : names) p[k] = f.at("init." + k).detach().clone().requires_grad_();

  std::vector<float> losses;
  for (int step = 0; step < steps; ++step) {
    for (auto& [k, w] : p) w.zero_grad();
    Tensor h = gelu(linear(x, p["W1"], p["b1"]), GeluApprox::tanh);  // [16,32]
    Tensor loss = cross_entropy(linear(h, p["W2"], p["b2"]), targets);
    loss.backward();
    losses.push_back(loss.item());
    if (step == 0)
      for (const std::string& k : names)
        FOCUS_EXPECT_CLOSE(p[k].grad(), f.at("step0.grad." + k), 1e-4f, 1e-6f)
            << "step 0 grad " << k;
    autograd::NoGradGuard no_grad;
    for (auto& [k, w] : p) {
      ASSERT_TRUE(w.grad().defined()) << k << " has no gradient at step " << step;
      const std::vector<float> next = (w - w.grad() * lr).to_vector();  // w = w - lr·grad
      std::copy(next.begin(), next.end(), w.data());
    }
  }

  FOCUS_EXPECT_CLOSE(Tensor::from_vector(losses, {steps}), f.at("losses"), 1e-4f, 1e-6f)
      << "(loss per step)";
  // Weights near zero have no relative scale; 1e-6 absolute is far below one step's change.
  for (const std::string& k : names)
    FOCUS_EXPECT_CLOSE(p[k], f.at("final." + k), 1e-4f, 1e-6f) << "final " << k;
}

}  // namespace
}  // namespace focus
