// Speech benchmark: training steps and inference of the commands models on log-mel features
// [B,40,98] (clips/s), and feature extraction (seconds of audio per second). The PyTorch peer
// (bench/peers/speech_torch.py) builds the same models and computes the same log-mel.
#include <memory>

#include "bench_util.h"
#include "focus/audio.h"
#include "focus/focus.h"
#include "focus/models.h"
#include "focus/optim.h"
#include "focus/speech.h"
#include "train_step.h"

namespace {

using namespace focus;

constexpr int64_t kMels = 40, kFrames = 98;

struct Case {
  const char* name;
  const char* model;  // JSON of the model object
  int64_t batch;
};

const Case kCases[] = {
    // Tokens as linear projections of 2-frame patches (configs/commands.json's model until
    // 2026-12-07; the conv front below is its model now).
    {"keyword_transformer front=linear patch=2 dim=64 depth=3 heads=4 batch=64",
     R"({"kind": "keyword_transformer", "front": "linear", "patch": 2, "dim": 64, "depth": 3,
         "heads": 4, "mlp_ratio": 2})",
     64},
    {"keyword_transformer front=conv kernel=5 patch=2 dim=64 depth=3 heads=4 batch=64",
     R"({"kind": "keyword_transformer", "front": "conv", "kernel": 5, "patch": 2, "dim": 64,
         "depth": 3, "heads": 4, "mlp_ratio": 2})",
     64},
    {"soft_frames dim=64 kernel=5 layers=2 batch=64",
     R"({"kind": "soft_frames", "dim": 64, "kernel": 5, "layers": 2})", 64},
};

}  // namespace

int main(int argc, char** argv) {
  using namespace focus;
  bench::Options o = bench::parse_args(argc, argv);
  const std::string threads = " threads=" + std::to_string(o.threads);
  const nlohmann::json input = {{"classes", 22}, {"mels", kMels}, {"frames", kFrames}};
  for (const Case& c : kCases) {
    const std::string train_name = std::string("train ") + c.name + threads;
    const std::string infer_name = std::string("infer ") + c.name + threads;
    if (!bench::wanted(o, train_name) && !bench::wanted(o, infer_name)) continue;
    manual_seed(1);
    Generator gen(1);
    auto model = models::build(nlohmann::json::parse(c.model), input, gen);
    // Materialised features, so both sides time the model, not data preparation.
    const int64_t n = c.batch * 20;
    Tensor x = Tensor::normal({n, kMels, kFrames}, 0.0f, 1.0f, gen);
    std::vector<int32_t> labels(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) labels[size_t(i)] = int32_t(i % 22);
    auto data = std::make_shared<data::TensorDataset>(x, labels);
    if (bench::wanted(o, train_name)) {
      model->train();
      const auto step = bench::shuffled_train_step(*model, data, c.batch);
      bench::Timing t = bench::time_it(o, step);
      bench::emit("speech", train_name, t, 0, double(c.batch) * 1e3 / t.median_ms, o.threads);
    }
    if (bench::wanted(o, infer_name)) {
      model->eval();
      autograd::NoGradGuard no_grad;
      const Tensor xb = x.slice(0, 0, c.batch).contiguous();
      bench::Timing t = bench::time_it(o, [&] { (*model)(xb); });
      bench::emit("speech", infer_name, t, 0, double(c.batch) * 1e3 / t.median_ms, o.threads);
    }
  }
  // Log-mel of 64 one-second clips, one thread (the loader's): items_per_s is seconds of audio
  // per second.
  const std::string feat_name = "features log-mel 40 bands 64 clips of 1 s" + threads;
  if (bench::wanted(o, feat_name)) {
    Generator gen(2);
    const Tensor audio = Tensor::normal({64, speech::kClipSamples}, 0.0f, 1.0f, gen);
    audio::LogMel mel({.mels = kMels});
    bench::Timing t = bench::time_it(o, [&] {
      for (int64_t i = 0; i < 64; ++i)
        mel(audio.data() + i * speech::kClipSamples, speech::kClipSamples);
    });
    bench::emit("speech", feat_name, t, 0, 64.0 * 1e3 / t.median_ms, o.threads);
  }
  // Focus only (no peer): augmentation + log-mel per clip, what the loader thread does per
  // training example.
  const std::string aug_name = "features augment+log-mel 64 clips of 1 s (focus only)" + threads;
  if (bench::wanted(o, aug_name)) {
    Generator gen(3);
    const Tensor audio = mul(Tensor::normal({64, speech::kClipSamples}, 0.0f, 1.0f, gen), 0.1f);
    auto mel = std::make_shared<const audio::LogMel>(audio::LogMelOptions{.mels = kMels});
    data::Transform tr = speech::augmentation_transform({}, mel, nullptr);
    int64_t round = 0;
    bench::Timing t = bench::time_it(o, [&] {
      for (int64_t i = 0; i < 64; ++i) {
        Generator g(uint64_t(round * 64 + i));
        tr(audio.slice(0, i, i + 1).squeeze(0), g);
      }
      ++round;
    });
    bench::emit("speech", aug_name, t, 0, 64.0 * 1e3 / t.median_ms, o.threads);
  }
  return 0;
}
