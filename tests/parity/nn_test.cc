// Normalisation, probabilities, lookup and losses against PyTorch.
#include "parity.h"

namespace focus {
namespace {

using test::check_parity;
using test::ParityCase;

constexpr float kRtol = 1e-4f, kAtol = 1e-5f;

TEST(ParityNn, Softmax) {
  check_parity(
      "ops/softmax.safetensors",
      [](ParityCase& c) { return softmax(c.in("x"), c.param_int("axis")); }, kRtol, kAtol);
}

TEST(ParityNn, LogSoftmax) {
  check_parity(
      "ops/log_softmax.safetensors",
      [](ParityCase& c) { return log_softmax(c.in("x"), c.param_int("axis")); }, kRtol, kAtol);
}

TEST(ParityNn, LayerNorm) {
  check_parity(
      "ops/layer_norm.safetensors",
      [](ParityCase& c) {
        // x [..,D], weight [D] and bias [D] absent in the "noaffine" case.
        return layer_norm(c.in("x"), c.in_opt("weight"), c.in_opt("bias"), c.param_float("eps"));
      },
      kRtol, kAtol);
}

// Forward is a copy and the weight gradient sums at most a few rows: elementwise tolerances.
TEST(ParityNn, Embedding) {
  check_parity(
      "ops/embedding.safetensors",
      [](ParityCase& c) {
        Tensor ids = c.in("ids");  // i32 [..], with repeats
        EXPECT_EQ(ids.dtype(), DType::i32);
        return embedding(c.in("weight"), ids);
      },
      1e-5f, 1e-6f);
}

// Logits [N,C] or [B,T,C]; the generator gives torch the latter as logits.reshape(-1, C).
TEST(ParityNn, CrossEntropy) {
  check_parity(
      "ops/cross_entropy.safetensors",
      [](ParityCase& c) {
        CrossEntropyOptions opt;
        opt.label_smoothing = c.param_float("label_smoothing");
        opt.ignore_index = c.param_int("ignore_index");
        const std::string r = c.param("reduction");
        opt.reduction = r == "mean"  ? Reduction::mean
                        : r == "sum" ? Reduction::sum
                                     : Reduction::none;
        EXPECT_TRUE(r == "mean" || r == "sum" || r == "none") << r;
        return cross_entropy(c.in("logits"), c.in("targets"), opt);
      },
      kRtol, kAtol);
}

}  // namespace
}  // namespace focus
