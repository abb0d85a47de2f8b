// Vision benchmark: images/s of the ViT of issue 5 (28×28×1, patch 4, dim 128, depth 6, heads 4,
// MLP 4×, 10 classes, batch 128) for a training step (forward, cross-entropy, backward, AdamW) and
// for inference; the conv-stem ViT of configs/fashion_mnist_stem.json (batch 64, its recipe's); and
// the soft-attention baseline's. The PyTorch peer is
// bench/peers/vision_torch.py.
#include <memory>

#include "bench_util.h"
#include "focus/autograd.h"
#include "focus/focus.h"
#include "focus/models/vision.h"
#include "focus/optim.h"

namespace {

using namespace focus;

struct Case {
  const char* name;
  bool vit;
  int64_t batch;
  models::ViTOptions vit_options;
};

models::ViTOptions issue_vit() {  // issue 5's benchmark ViT
  return {.channels = 1,
          .height = 28,
          .width = 28,
          .classes = 10,
          .patch = 4,
          .dim = 128,
          .depth = 6,
          .heads = 4,
          .mlp_ratio = 4};
}

models::ViTOptions stem_vit() {  // configs/fashion_mnist_stem.json's model
  models::ViTOptions v = issue_vit();
  v.dim = 96, v.depth = 4, v.mlp_ratio = 2, v.stem = "conv", v.stem_channels = 32;
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  bench::Options o = bench::parse_args(argc, argv);
  const Case cases[] = {
      {"vit p4 d128 L6 h4 b128", true, 128, issue_vit()},
      {"vit stem32 p4 d96 L4 h4 mlp2 b64", true, 64, stem_vit()},
      {"soft_image conv h32 d64 b128", false, 128, {}},
  };
  for (const Case& c : cases) {
    for (const std::string mode : {"train", "train bf16", "infer", "infer bf16"}) {
      const bool train = mode.starts_with("train"), bf16 = mode.ends_with("bf16");
      // bf16 (docs/precision.md) for the ViTs: training at mixed precision (the peer under
      // torch.autocast), inference with the peer's model cast to bfloat16.
      if (bf16 && !c.vit) continue;
      const std::string name = mode + " " + c.name;
      if (!bench::wanted(o, name)) continue;
      const Precision precision = bf16 ? Precision::bf16 : Precision::f32;
      PrecisionGuard inference(precision);
      TrainingPrecisionGuard training(precision);
      manual_seed(1);
      std::unique_ptr<models::Classifier> model;
      if (c.vit)
        model = std::make_unique<models::ViT>(c.vit_options);
      else
        model = std::make_unique<models::SoftImageClassifier>(models::SoftImageOptions{
            .channels = 1, .height = 28, .width = 28, .classes = 10, .hidden = 32, .dim = 64});
      // A few distinct batches, so no step sees exactly the inputs of the last.
      std::vector<Tensor> xs;
      std::vector<Tensor> ys;
      for (int i = 0; i < 4; ++i) {
        xs.push_back(Tensor::normal({c.batch, 1, 28, 28}, 0.0f, 1.0f));
        Tensor y = make_tensor({c.batch}, DType::i32);
        for (int64_t j = 0; j < c.batch; ++j) y.data_i32()[j] = int32_t((j * 7 + i) % 10);
        ys.push_back(y);
      }
      int at = 0;
      bench::Timing t{};
      if (train) {
        model->train();
        const nn::NamedTensors params = model->named_parameters();
        optim::AdamW opt(params, {.lr = 1e-3f, .weight_decay = 0.05f});
        t = bench::time_it(o, [&] {
          const int i = at++ % 4;
          Tensor loss = cross_entropy((*model)(xs[i]), ys[i]);
          loss.backward();
          opt.step();
          opt.zero_grad();
        });
      } else {
        model->eval();
        t = bench::time_it(o, [&] {
          autograd::NoGradGuard no_grad;
          Tensor logits = (*model)(xs[at++ % 4]);
        });
      }
      bench::emit("vision", name, t, 0, double(c.batch) * 1e3 / t.median_ms, o.threads);
    }
  }
  return 0;
}
