// The training step the train and speech benchmarks time, as their PyTorch peers' shuffled() +
// train_step() do: the next batch of a data set in a shuffled order (reshuffled each epoch),
// forward, cross-entropy, backward, gradient-norm clipping at 1, AdamW (lr 1e-3, weight decay
// 0.01), zero_grad.
#pragma once

#include <functional>
#include <memory>

#include "focus/focus.h"
#include "focus/models.h"
#include "focus/optim.h"

namespace focus::bench {

inline std::function<void()> shuffled_train_step(models::Classifier& model,
                                                 std::shared_ptr<const data::Dataset> data,
                                                 int64_t batch) {
  struct State {
    State(models::Classifier& m, std::shared_ptr<const data::Dataset> d, int64_t b)
        : params(m.named_parameters()),
          opt(params, {.lr = 1e-3f, .weight_decay = 0.01f}),
          loader(std::move(d), {.batch = b, .shuffle = true, .seed = 1, .drop_last = true}) {
      loader.start_epoch(0);
    }
    nn::NamedTensors params;
    optim::AdamW opt;
    data::Loader loader;
    int64_t epoch = 0;
    data::Batch batch;
  };
  auto s = std::make_shared<State>(model, std::move(data), batch);
  return [s, &model] {
    if (!s->loader.next(s->batch)) {
      s->loader.start_epoch(++s->epoch);
      s->loader.next(s->batch);
    }
    Tensor loss = cross_entropy(model(s->batch.x), s->batch.y);
    loss.backward();
    optim::clip_grad_norm(s->params, 1.0f);
    s->opt.step();
    s->opt.zero_grad();
  };
}

}  // namespace focus::bench
