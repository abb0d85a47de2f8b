#include "focus/pretrain.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "focus/autograd.h"
#include "focus/ops.h"
#include "focus/optim.h"
#include "focus/train.h"

namespace focus::train {
namespace {

constexpr const char* kOp = "pretrain_masked";
constexpr uint64_t kMaskSalt = 0x6d61736b65646c6dull;  // "maskedlm": draws apart from augmentation

// One batch prepared for the objective: the corrupted ids, and for each chosen token its row and
// column and the id it had.
struct Masked {
  Tensor ids;                                   // i32 [B,N]
  std::vector<int32_t> rows, columns, targets;  // [M] each
};

Masked corrupt(const data::Batch& batch, const MaskedLmOptions& opt, int64_t vocab, int32_t pad,
               int64_t epoch) {
  const Tensor x = batch.x.contiguous();
  const int64_t b = x.size(0), n = x.size(1);
  std::vector<int32_t> ids(x.data_i32(), x.data_i32() + b * n);
  const std::vector<int32_t> lens =
      pad >= 0 ? models::unpadded_lengths(x, pad) : std::vector<int32_t>(size_t(b), int32_t(n));
  Masked m;
  for (int64_t i = 0; i < b; ++i) {
    const Generator gen(data::example_seed(opt.seed ^ kMaskSalt, epoch, batch.indices[size_t(i)]));
    for (int64_t j = 0; j < lens[size_t(i)]; ++j) {
      const uint64_t c = uint64_t(j) * 3;  // three draws per position: chosen, how, which token
      if (gen.uniform(c) >= opt.mask) continue;
      int32_t& id = ids[size_t(i * n + j)];
      m.rows.push_back(int32_t(i));
      m.columns.push_back(int32_t(j));
      m.targets.push_back(id);
      const float how = gen.uniform(c + 1);
      if (how < 0.8f) {
        id = opt.mask_id;
      } else if (how < 0.9f) {
        int32_t r = int32_t(gen.bits(c + 2) % uint64_t(vocab));
        if (r == pad) r = opt.mask_id;  // padding inside a row would be read as a word
        id = r;
      }
    }
  }
  m.ids = Tensor::from_indices(ids, {b, n});
  return m;
}

// Mean cross-entropy over the chosen tokens, and how many the decoder predicts right.
struct Scored {
  Tensor loss;  // scalar
  int64_t chosen = 0, correct = 0;
};

Scored score(const models::SequenceClassifier& model, const nn::Linear& decoder, const Masked& m) {
  Scored s;
  s.chosen = int64_t(m.targets.size());
  if (s.chosen == 0) return s;
  const Tensor h = model.encode(m.ids);  // [B,N',D]: the encoder cuts the batch to N' columns
  std::vector<int32_t> flat_positions(m.targets.size());
  for (size_t k = 0; k < flat_positions.size(); ++k)
    flat_positions[k] = m.rows[k] * int32_t(h.size(1)) + m.columns[k];
  const Tensor flat = h.reshape({h.size(0) * h.size(1), h.size(2)});  // [B·N',D]
  const Tensor picked =
      embedding(flat, Tensor::from_indices(flat_positions, {s.chosen}));  // [M,D], a gather
  const Tensor logits = decoder(picked);                                  // [M,V]
  s.loss = cross_entropy(logits, Tensor::from_indices(m.targets, {s.chosen}));
  const Tensor l = logits.contiguous();
  const int64_t v = l.size(1);
  for (int64_t i = 0; i < s.chosen; ++i) {
    const float* row = l.data() + i * v;
    s.correct += int32_t(std::max_element(row, row + v) - row) == m.targets[size_t(i)];
  }
  return s;
}

struct ValScore {  // NaN without validation examples
  double loss = std::nan(""), accuracy = std::nan("");
};

// The objective on `data` with draws of their own (epoch -1: the same tokens at every call, none
// of a training epoch's), no dropout, no gradients.
ValScore validate(models::SequenceClassifier& model, const nn::Linear& decoder,
                  std::shared_ptr<const data::Dataset> data, const MaskedLmOptions& opt,
                  int64_t vocab, int32_t pad) {
  ValScore v;
  if (!data || data->size() == 0) return v;
  const bool was_training = model.is_training();
  model.eval();
  autograd::NoGradGuard no_grad;
  data::Loader loader(std::move(data), {.batch = 64, .background = true});
  loader.start_epoch(0);
  double loss_sum = 0.0;
  int64_t chosen = 0, correct = 0;
  for (data::Batch b; loader.next(b);) {
    const Scored s = score(model, decoder, corrupt(b, opt, vocab, pad, /*epoch=*/-1));
    if (s.chosen == 0) continue;
    loss_sum += double(s.loss.item()) * double(s.chosen);
    chosen += s.chosen;
    correct += s.correct;
  }
  model.train(was_training);
  if (chosen > 0) v = {loss_sum / double(chosen), double(correct) / double(chosen)};
  return v;
}

}  // namespace

MaskedLmResult pretrain_masked(models::SequenceClassifier& model,
                               std::shared_ptr<const data::Dataset> train,
                               std::shared_ptr<const data::Dataset> validation,
                               const MaskedLmOptions& opt) {
  const TrainingPrecisionGuard precision(opt.precision);
  const auto& mo = model.options();
  const int64_t vocab = mo.vocab;
  const int32_t pad = mo.pad_id;
  FOCUS_CHECK(opt.epochs >= 1 && opt.batch >= 1, kOp, ": epochs ", opt.epochs, " and batch ",
              opt.batch, " must be >= 1");
  FOCUS_CHECK(opt.mask > 0.0f && opt.mask < 1.0f, kOp, ": mask fraction ", opt.mask,
              " outside (0, 1)");
  FOCUS_CHECK(opt.mask_id >= 0 && opt.mask_id < vocab && opt.mask_id != pad, kOp, ": mask id ",
              opt.mask_id, " must be in [0, ", vocab, ") and not the padding id ", pad);
  FOCUS_CHECK(train && train->size() > 0, kOp, ": the training set is empty");
  // A mask id that also occurs as a word would teach the encoder that the word is unknowable.
  for (int64_t i = 0; i < train->size(); ++i) {
    const Tensor x = train->get(i).x.contiguous();
    FOCUS_CHECK(x.dtype() == DType::i32 && x.dim() == 1, kOp, ": expected i32 token ids [N] per ",
                "example, got ", dtype_name(x.dtype()), " ", x.shape(), " at example ", i);
    const int32_t* p = x.data_i32();
    FOCUS_CHECK(std::find(p, p + x.numel(), opt.mask_id) == p + x.numel(), kOp, ": the mask id ",
                opt.mask_id, " occurs in training example ", i, "; choose a token the data lacks");
  }
  const auto start = std::chrono::steady_clock::now();

  nn::Linear decoder(mo.dim, vocab, nn::LinearOptions{}, default_generator());
  // Only what encode() reads: the pooling and head get no gradient here and must not decay.
  nn::NamedTensors params = model.encoder_parameters();
  for (auto& [name, t] : decoder.named_parameters()) params.emplace_back("decoder." + name, t);
  optim::AdamW optimizer(params,
                         optim::AdamOptions{.lr = opt.lr, .weight_decay = opt.weight_decay});

  data::Loader loader(train, {.batch = opt.batch,
                              .shuffle = true,
                              .seed = opt.seed ^ kMaskSalt,
                              .drop_last = train->size() > opt.batch});
  const int64_t per_epoch = loader.batches_per_epoch(), total = per_epoch * opt.epochs;
  auto schedule =
      optim::warmup_cosine(opt.lr, int64_t(std::ceil(opt.warmup * float(total))), total);

  std::unique_ptr<JsonlLog> log;
  if (!opt.out_dir.empty())
    log = std::make_unique<JsonlLog>(
        (std::filesystem::path(opt.out_dir) / "pretrain.jsonl").string());

  MaskedLmResult r;
  r.first_val_loss = float(validate(model, decoder, validation, opt, vocab, pad).loss);
  Progress progress(stderr, total, opt.epochs);
  const bool was_training = model.is_training();
  for (int64_t epoch = 0; epoch < opt.epochs; ++epoch) {
    model.train();
    loader.start_epoch(epoch);
    double loss_sum = 0.0;
    int64_t chosen = 0, correct = 0, step_in_epoch = 0, seen = 0;
    const auto epoch_start = std::chrono::steady_clock::now();
    for (data::Batch b; loader.next(b);) {
      const Scored s = score(model, decoder, corrupt(b, opt, vocab, pad, epoch));
      ++step_in_epoch;
      seen += b.x.size(0);
      if (s.chosen == 0) continue;
      s.loss.backward();
      if (opt.clip > 0) optim::clip_grad_norm(params, opt.clip);
      optimizer.set_lr(schedule->lr(r.steps));
      optimizer.step();
      optimizer.zero_grad();
      ++r.steps;
      loss_sum += double(s.loss.item()) * double(s.chosen);
      chosen += s.chosen;
      correct += s.correct;
      if (opt.progress)
        progress.update(epoch + 1, step_in_epoch, s.loss.item(),
                        float(double(correct) / double(chosen)), seen);
    }
    const ValScore val = validate(model, decoder, validation, opt, vocab, pad);
    r.train_loss = float(loss_sum / double(std::max<int64_t>(chosen, 1)));
    r.val_loss = float(val.loss);
    r.val_accuracy = float(val.accuracy);
    const double accuracy = double(correct) / double(std::max<int64_t>(chosen, 1));
    r.train_accuracy = float(accuracy);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
    const bool validated = !std::isnan(val.loss);
    char summary[200], val_part[64] = "";
    if (validated)
      std::snprintf(val_part, sizeof val_part, "  val loss %.4f acc %.2f%%", val.loss,
                    100.0 * val.accuracy);
    std::snprintf(summary, sizeof summary,
                  "pretrain epoch %lld/%lld  masked-token loss %.4f acc %.2f%%%s  %.1f s",
                  (long long)(epoch + 1), (long long)opt.epochs, double(r.train_loss),
                  100.0 * accuracy, val_part, seconds);
    if (opt.progress) progress.end_epoch(summary);
    if (log) {
      nlohmann::json rec = {{"kind", "pretrain_epoch"},
                            {"epoch", epoch + 1},
                            {"step", r.steps},
                            {"loss", r.train_loss},
                            {"accuracy", accuracy}};
      if (validated) {
        rec["val_loss"] = val.loss;
        rec["val_accuracy"] = val.accuracy;
      }
      rec["lr"] = optimizer.lr();
      rec["time"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      log->write(rec);
    }
  }
  model.train(was_training);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace focus::train
