// Text-classifier benchmark (issue 6): training and inference tokens/s of the spam model's shape,
// a transformer encoder over subword ids (sequence 256, dim 256, depth 4, heads 4, MLP 4x,
// batch 32, vocab 8000, class token). The PyTorch peer (bench/peers/text_torch.py) builds the
// same model. Every row is full length, so both sides do the same work (no padding).
#include <memory>

#include "bench_util.h"
#include "focus/focus.h"
#include "focus/models.h"
#include "focus/optim.h"

namespace {

using namespace focus;

constexpr int64_t kSeq = 256, kDim = 256, kDepth = 4, kHeads = 4, kBatch = 32, kVocab = 8000;

}  // namespace

int main(int argc, char** argv) {
  bench::Options o = bench::parse_args(argc, argv);
  const std::string shape =
      "seq=256 dim=256 depth=4 heads=4 batch=32 threads=" + std::to_string(o.threads);
  manual_seed(1);
  models::SequenceClassifier model({.vocab = kVocab,
                                    .max_len = kSeq,
                                    .classes = 2,
                                    .dim = kDim,
                                    .depth = kDepth,
                                    .heads = kHeads,
                                    .mlp_ratio = 4,
                                    .pool = "cls",
                                    .pad_id = 0});
  // Ten batches of ids in [1, vocab): no padding.
  Generator gen(3);
  std::vector<Tensor> xs;
  std::vector<Tensor> ys;
  for (int i = 0; i < 10; ++i) {
    Tensor u = Tensor::uniform({kBatch, kSeq}, 1.0f, float(kVocab) - 0.01f, gen);
    std::vector<int32_t> ids(static_cast<size_t>(kBatch * kSeq)),
        labels(static_cast<size_t>(kBatch));
    for (size_t j = 0; j < ids.size(); ++j) ids[j] = int32_t(u.data()[j]);
    for (size_t j = 0; j < labels.size(); ++j) labels[j] = ids[j * size_t(kSeq)] % 2;
    xs.push_back(Tensor::from_indices(ids, {kBatch, kSeq}));
    ys.push_back(Tensor::from_indices(labels, {kBatch}));
  }
  const double tokens = double(kBatch * kSeq);
  size_t at = 0;
  // Training at f32, and mixed precision: bf16 products in the linear layers (train.precision;
  // the peer trains under torch.autocast bfloat16).
  for (const Precision precision : {Precision::f32, Precision::bf16}) {
    const std::string name =
        std::string(precision == Precision::bf16 ? "train bf16 " : "train ") + shape;
    if (!bench::wanted(o, name)) continue;
    model.train();
    TrainingPrecisionGuard guard(precision);
    const nn::NamedTensors params = model.named_parameters();
    optim::AdamW opt(params, {.lr = 1e-4f, .weight_decay = 0.01f});
    auto step = [&] {
      at = (at + 1) % xs.size();
      Tensor loss = cross_entropy(model(xs[at]), ys[at]);
      loss.backward();
      optim::clip_grad_norm(params, 1.0f);
      opt.step();
      opt.zero_grad();
    };
    bench::Timing t = bench::time_it(o, step);
    bench::emit("text", name, t, 0, tokens * 1e3 / t.median_ms, o.threads);
  }
  // Inference at f32, and with bf16 linear layers and P·V (docs/precision.md; the peer casts its
  // model to bfloat16).
  for (const Precision precision : {Precision::f32, Precision::bf16}) {
    const std::string name =
        std::string(precision == Precision::bf16 ? "infer bf16 " : "infer ") + shape;
    if (!bench::wanted(o, name)) continue;
    model.eval();
    PrecisionGuard guard(precision);
    auto step = [&] {
      autograd::NoGradGuard no_grad;
      at = (at + 1) % xs.size();
      Tensor logits = model(xs[at]);
      (void)logits.data();
    };
    bench::Timing t = bench::time_it(o, step);
    bench::emit("text", name, t, 0, tokens * 1e3 / t.median_ms, o.threads);
  }
  return 0;
}
