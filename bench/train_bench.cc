// Training-step benchmark: the framework's cost per optimiser step (loader, forward, autograd
// bookkeeping, backward, clipping, AdamW) on small models where overhead dominates, and one where
// arithmetic does. The PyTorch peer (bench/peers/train_torch.py) builds the same models.
#include <memory>

#include "bench_util.h"
#include "focus/focus.h"
#include "focus/models.h"
#include "focus/optim.h"
#include "focus/tasks.h"
#include "train_step.h"

namespace {

using namespace focus;

// Materialised examples, so both sides time training, not data generation.
std::shared_ptr<data::Dataset> dataset(int64_t n, int64_t len, int64_t vocab) {
  tasks::ArgmaxPosition gen(n, len, vocab, 1);
  Tensor x = make_tensor({n, len}, DType::i32);
  std::vector<int32_t> labels;
  for (int64_t i = 0; i < n; ++i) {
    data::Example e = gen.get(i);
    std::copy_n(e.x.data_i32(), len, x.data_i32() + i * len);
    labels.push_back(e.label);
  }
  return std::make_shared<data::TensorDataset>(x, labels);
}

struct Case {
  const char* name;
  int64_t len, vocab, dim, depth, heads, batch;
};

}  // namespace

int main(int argc, char** argv) {
  using namespace focus;
  bench::Options o = bench::parse_args(argc, argv);
  const Case cases[] = {
      {"step small seq=12 dim=64 depth=2 heads=4 batch=64", 12, 64, 64, 2, 4, 64},
      {"step small seq=8 dim=32 depth=1 heads=2 batch=16", 8, 32, 32, 1, 2, 16},
      {"step medium seq=64 dim=128 depth=4 heads=4 batch=32", 64, 256, 128, 4, 4, 32},
  };
  for (const Case& c : cases) {
    const std::string name = std::string(c.name) + " threads=" + std::to_string(o.threads);
    if (!bench::wanted(o, name)) continue;
    manual_seed(1);
    models::SequenceClassifier model({.vocab = c.vocab,
                                      .max_len = c.len,
                                      .classes = c.len,
                                      .dim = c.dim,
                                      .depth = c.depth,
                                      .heads = c.heads,
                                      .mlp_ratio = 4});
    const auto step =
        bench::shuffled_train_step(model, dataset(c.batch * 50, c.len, c.vocab), c.batch);
    bench::Timing t = bench::time_it(o, step);
    bench::emit("train", name, t, 0, double(c.batch) * 1e3 / t.median_ms, o.threads);
  }
  return 0;
}
