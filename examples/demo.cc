// The main job until the image-recognition app lands: a small network learns to tell three
// interleaved spirals apart, trained with plain SGD + momentum written against the core API.
// It prints the loss falling and the final accuracy.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "focus/focus.h"

using namespace focus;

namespace {

// points [n·classes, 2] on `classes` noisy spiral arms; labels [n·classes] i32.
void make_spirals(int n, int classes, Generator& gen, Tensor& points, Tensor& labels) {
  std::vector<float> xy;
  std::vector<int32_t> y;
  Tensor noise = Tensor::normal({int64_t(n) * classes, 2}, 0.0f, 0.08f, gen);
  for (int c = 0; c < classes; ++c)
    for (int i = 0; i < n; ++i) {
      const float r = float(i) / float(n), t = 4.0f * r + 2.0944f * float(c);
      const int64_t k = int64_t(c) * n + i;
      xy.push_back(r * std::sin(t) + noise.data()[2 * k]);
      xy.push_back(r * std::cos(t) + noise.data()[2 * k + 1]);
      y.push_back(c);
    }
  points = Tensor::from_vector(xy, {int64_t(xy.size() / 2), 2});
  labels = Tensor::from_indices(y, {int64_t(y.size())});
}

struct Mlp {
  std::vector<Tensor> params;  // w1 [H,2], b1 [H], w2 [H,H], b2 [H], w3 [C,H], b3 [C]

  Mlp(int hidden, int classes, Generator& gen) {
    auto layer = [&](int64_t out, int64_t in) {
      const float bound = std::sqrt(6.0f / float(in + out));  // Xavier-uniform
      params.push_back(Tensor::uniform({out, in}, -bound, bound, gen).requires_grad_());
      params.push_back(Tensor::zeros({out}).requires_grad_());
    };
    layer(hidden, 2);
    layer(hidden, hidden);
    layer(classes, hidden);
  }
  Tensor operator()(const Tensor& x) const {  // x [B,2] -> logits [B,C]
    Tensor h = gelu(linear(x, params[0], params[1]));
    h = gelu(linear(h, params[2], params[3]));
    return linear(h, params[4], params[5]);
  }
};

}  // namespace

int main(int argc, char** argv) {
  try {
    const int steps = argc > 1 ? std::atoi(argv[1]) : 600;
    FOCUS_CHECK(steps >= 1, "demo: expected a positive step count, got '", argv[1], "'");
    Generator gen(7);
    Tensor x, y;
    make_spirals(300, 3, gen, x, y);
    Mlp model(64, 3, gen);
    std::vector<Tensor> velocity;
    for (const Tensor& p : model.params) velocity.push_back(Tensor::zeros(p.shape()));
    std::printf("focus demo: a 2-64-64-3 GELU network learns 3 spirals (%lld points); BLAS: %s\n",
                static_cast<long long>(x.shape()[0]), blas_info().c_str());
    const auto start = std::chrono::steady_clock::now();
    float first = 0, last = 0;
    for (int step = 1; step <= steps; ++step) {
      Tensor loss = cross_entropy(model(x), y);
      for (Tensor& p : model.params) p.zero_grad();
      loss.backward();
      {
        autograd::NoGradGuard no_grad;
        for (size_t i = 0; i < model.params.size(); ++i) {
          Tensor& p = model.params[i];
          velocity[i] = velocity[i] * 0.9f + p.grad();
          Tensor updated = p - velocity[i] * 0.2f;
          std::copy_n(updated.data(), p.numel(), p.data());
        }
      }
      last = loss.item();
      if (step == 1) first = last;
      if (step == 1 || step % 50 == 0) {
        const int width = static_cast<int>(40.0f * last / first + 0.5f);
        std::printf("step %4d  loss %.4f  %.*s\n", step, last, std::max(width, 1),
                    "########################################");
      }
    }
    Tensor logits;
    {
      autograd::NoGradGuard no_grad;
      logits = model(x);
    }
    Tensor best = max(logits, {1}, true);
    int correct = 0;
    for (int64_t i = 0; i < x.shape()[0]; ++i)
      correct += logits.data()[i * 3 + y.data_i32()[i]] == best.data()[i];
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("loss %.4f -> %.4f, training accuracy %.1f%%, %.1f s on %d threads\n", first, last,
                100.0 * correct / double(x.shape()[0]), secs, num_threads());
    return last < first ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "demo: %s\n", e.what());
    return 2;
  }
}
