// Same seed and thread count give bit-identical training: a two-layer network with dropout and
// layer_norm trained for 10 SGD steps, twice with 1 thread and twice with 2 threads.
#include <cstring>

#include "test_util.h"

namespace focus {
namespace {

std::vector<uint32_t> bits_of(const Tensor& t) {
  std::vector<float> v = t.to_vector();
  std::vector<uint32_t> b(v.size());
  std::memcpy(b.data(), v.data(), v.size() * sizeof(float));
  return b;
}

// Returns every parameter's bits after 10 steps; sizes cross the kernels' parallel thresholds.
std::vector<std::vector<uint32_t>> train(int threads, uint64_t seed) {
  const int prev = num_threads();
  set_num_threads(threads);
  Generator gen(seed);
  Tensor x = Tensor::normal({256, 96}, 0.0f, 1.0f, gen);
  std::vector<int32_t> labels(256);
  for (int i = 0; i < 256; ++i) labels[i] = int32_t(gen.bits(gen.advance(1)) % 10);
  Tensor y = Tensor::from_indices(labels, {256});
  std::vector<Tensor> p = {Tensor::normal({256, 96}, 0.0f, 0.1f, gen).requires_grad_(),
                           Tensor::zeros({256}).requires_grad_(),
                           Tensor::ones({256}).requires_grad_(),
                           Tensor::zeros({256}).requires_grad_(),
                           Tensor::normal({10, 256}, 0.0f, 0.1f, gen).requires_grad_(),
                           Tensor::zeros({10}).requires_grad_()};
  for (int step = 0; step < 10; ++step) {
    Tensor h = gelu(layer_norm(linear(x, p[0], p[1]), p[2], p[3]));
    h = dropout(h, 0.1f, true, gen);
    Tensor loss = cross_entropy(linear(h, p[4], p[5]), y, {.label_smoothing = 0.1f});
    for (Tensor& t : p) t.zero_grad();
    loss.backward();
    autograd::NoGradGuard no_grad;
    for (Tensor& t : p) {
      Tensor updated = t - t.grad() * 0.1f;
      std::memcpy(t.data(), updated.data(), t.numel() * sizeof(float));
    }
  }
  std::vector<std::vector<uint32_t>> out;
  for (const Tensor& t : p) out.push_back(bits_of(t));
  set_num_threads(prev);
  return out;
}

TEST(Determinism, SameSeedSameThreadsBitIdentical) {
  for (int threads : {1, 2}) {
    auto a = train(threads, 42), b = train(threads, 42);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i)
      EXPECT_EQ(a[i], b[i]) << "parameter " << i << ", threads " << threads;
  }
}

TEST(Determinism, DifferentSeedDiffers) { EXPECT_NE(train(2, 42)[0], train(2, 43)[0]); }

// Focus's own kernels fix their summation order independently of the thread count (OpenBLAS's
// GEMM does not: its edge tiles differ in the last bits between 1 and 2 threads), so every op but
// matmul/linear gives the same bits on 1 and 2 threads.
TEST(Determinism, OwnKernelsIndependentOfThreadCount) {
  auto run = [](int threads) {
    const int prev = num_threads();
    set_num_threads(threads);
    Generator gen(3);
    Tensor x = Tensor::normal({512, 384}, 0.0f, 2.0f, gen).requires_grad_();
    Tensor w = Tensor::normal({384}, 1.0f, 0.1f, gen).requires_grad_();
    Tensor b = Tensor::normal({384}, 0.0f, 0.1f, gen).requires_grad_();
    Tensor h = gelu(layer_norm(x, w, b)) * sigmoid(x) + exp(mul(x, -0.5f));
    h = dropout(softmax(h, -1) + log_softmax(h, 0), 0.2f, true, gen);
    Tensor loss = sum(h * h) + mean(max(h, {1})) + sum(sum(h, {0}));
    loss.backward();
    std::vector<std::vector<uint32_t>> out = {bits_of(loss), bits_of(x.grad()), bits_of(w.grad()),
                                              bits_of(b.grad())};
    set_num_threads(prev);
    return out;
  };
  auto a = run(1), b = run(2);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "result " << i;
}

}  // namespace
}  // namespace focus
