// Data: a Dataset interface, a Loader (seeded shuffling, batching, drop-last, a background thread
// preparing the next batch), transforms and a seeded train/validation split.
//
//   auto all = std::make_shared<data::TensorDataset>(images, labels);   // images [N,1,28,28]
//   auto [tr, va] = data::split(all->size(), 0.1f, /*seed=*/1, all->labels());
//   auto train = std::make_shared<data::Subset>(all, tr);
//   auto norm = data::Standardizer::fit(*train);                          // save norm.state()
//   data::Loader loader(train, {.batch = 128, .shuffle = true, .seed = 1,
//                               .transform = data::compose({norm, data::random_crop(2)})});
//   for (int64_t epoch = 0; epoch < epochs; ++epoch) {
//     loader.start_epoch(epoch);
//     for (data::Batch b; loader.next(b);) step(b.x, b.y);                // [B,1,28,28], i32 [B]
//   }
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "focus/rng.h"
#include "focus/tensor.h"

namespace focus::data {

struct Example {
  Tensor x;           // any shape and dtype (f32 features, i32 token ids); fixed within a dataset
  int32_t label = 0;  // class index
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // Must be safe to call from the loader's thread while the caller trains, and should not open
  // OpenMP parallel regions (they would compete with the training thread's). The returned x may
  // be a view of the dataset's memory: transforms never write into their input.
  virtual Example get(int64_t index) const = 0;
  // Where example `index` came from (a file's path), for reports that list examples; empty when
  // the dataset does not know.
  virtual std::string source(int64_t /*index*/) const { return {}; }
};

struct Batch {
  Tensor x;                      // [B, ...] contiguous, the examples' dtype
  Tensor y;                      // i32 [B]
  std::vector<int64_t> indices;  // dataset indices of the rows
};

// Per-example transform applied in the loader's thread; receives a generator seeded by
// example_seed(loader seed, epoch, index), so augmentation is deterministic whatever the timing.
// Returns a new tensor (or x itself, unchanged).
using Transform = std::function<Tensor(const Tensor& x, Generator& gen)>;

// The seed of the generator handed to the transform of dataset example `index` in `epoch`.
uint64_t example_seed(uint64_t seed, int64_t epoch, int64_t index);

struct LoaderOptions {
  int64_t batch = 32;
  bool shuffle = false;
  uint64_t seed = 0;
  bool drop_last = false;  // drop the last batch when it would be smaller than `batch`
  // Prepare the next batch on a thread; false gives the same batches inline.
  bool background = true;
  Transform transform;  // optional
};

// Reads a dataset in batches. The epoch's order is a pure function of (seed, epoch): Fisher–Yates
// driven by Generator(mix(seed, epoch)) when shuffling, else 0..N-1. With `background`, one thread
// loads batch b+1 while the caller works on batch b. An error while loading (a failing get() or
// transform, or an example whose shape disagrees with the batch's first) is rethrown by next() as
// a focus::Error naming the dataset index, and ends the epoch. Methods are for one calling thread.
class Loader {
 public:
  Loader(std::shared_ptr<const Dataset> dataset, LoaderOptions opt);
  ~Loader();  // stops the thread, abandoning any batch in preparation
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Starts epoch `epoch` (abandoning the current one), then next() returns its batches until it
  // returns false. next() without a start_epoch starts epoch 0.
  void start_epoch(int64_t epoch);
  bool next(Batch& batch);
  // Resumes inside an epoch: start_epoch(epoch) then skip `batches` batches without loading them.
  void resume(int64_t epoch, int64_t batches);

  int64_t batches_per_epoch() const;
  int64_t epoch() const { return epoch_; }
  int64_t batch_index() const { return next_batch_; }  // batches of this epoch handed out so far
  // The epoch's order, for tests and resumption.
  std::vector<int64_t> order(int64_t epoch) const;

 private:
  void begin(int64_t epoch, int64_t first_batch);
  std::vector<int64_t> batch_indices(int64_t b) const;
  Batch load(const std::vector<int64_t>& indices, int64_t epoch, int64_t b, uint64_t gen) const;
  void work();
  void stop_worker();

  std::shared_ptr<const Dataset> dataset_;
  LoaderOptions opt_;
  bool started_ = false;
  int64_t epoch_ = 0, next_batch_ = 0;
  std::vector<int64_t> order_;
  // Shared with the worker, under mu_. generation_ changes with every epoch started, so the
  // worker drops (and stops loading) a batch that belongs to an abandoned epoch.
  std::thread worker_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stop_{false};
  int64_t request_ = -1;  // batch the worker should load next; -1: none
  bool ready_ = false;    // prepared_ (or error_) holds batch next_batch_
  Batch prepared_;
  std::exception_ptr error_;
};

// ---- datasets ----------------------------------------------------------------------------------

// A dataset in memory: x [N, ...] (f32 or i32), labels [N] (empty: all 0). get() returns views.
class TensorDataset : public Dataset {
 public:
  TensorDataset(Tensor x, std::vector<int32_t> labels);
  int64_t size() const override { return x_.shape()[0]; }
  Example get(int64_t i) const override;
  const std::vector<int32_t>& labels() const { return labels_; }

 private:
  Tensor x_;
  std::vector<int32_t> labels_;
};

// Indices [0, n) split into (train, validation), each sorted, with round(validation·n) held out
// (validation in [0, 1)), chosen by seed. With labels ([n]) the split is stratified: each class is
// split in the same proportion, round(validation·n_class) of it held out.
std::pair<std::vector<int64_t>, std::vector<int64_t>> split(
    int64_t n, float validation, uint64_t seed, const std::vector<int32_t>& labels = {});

// Indices [0, n) split into (train, validation) for fold `fold` of k-fold cross-validation: every
// index is in the validation split of exactly one of the k folds, chosen by seed. With labels
// ([n]) the folds are stratified: each class is dealt round-robin over the folds after a seeded
// shuffle, so fold sizes differ by at most one per class. Both lists are sorted.
std::pair<std::vector<int64_t>, std::vector<int64_t>> kfold(
    int64_t n, int64_t k, int64_t fold, uint64_t seed, const std::vector<int32_t>& labels = {});

// A view of some indices of a dataset.
class Subset : public Dataset {
 public:
  Subset(std::shared_ptr<const Dataset> base, std::vector<int64_t> indices);
  int64_t size() const override { return int64_t(indices_.size()); }
  Example get(int64_t i) const override;

 private:
  std::shared_ptr<const Dataset> base_;
  std::vector<int64_t> indices_;
};

// A fixed view of a dataset: `transform` applied to each example as get() returns it, with the
// generator of example_seed(seed, 0, index), so example i is the same at every call (a test-time
// view, such as the mirrored test images). Labels are the base's.
class Mapped : public Dataset {
 public:
  Mapped(std::shared_ptr<const Dataset> base, Transform transform, uint64_t seed = 0);
  int64_t size() const override { return base_->size(); }
  Example get(int64_t i) const override;

 private:
  std::shared_ptr<const Dataset> base_;
  Transform transform_;
  uint64_t seed_;
};

// ---- transforms --------------------------------------------------------------------------------

// Per-channel statistics (channel = axis 0 of an example; every feature of a rank-1 example),
// fitted on the training split and saved with the model. Applied as (x - mean) / stddev to f32
// examples as get() returns them: use it before other transforms, in place of scale().
struct Standardizer {
  std::vector<float> mean, stddev;  // [C] each; stddev >= 1e-6 so constant channels stay finite
  // Fits in double on up to max_examples examples spread evenly over the dataset.
  static Standardizer fit(const Dataset& train, int64_t max_examples = 10000);
  Tensor operator()(const Tensor& x) const;  // x [C, ...] f32 -> [C, ...]
  Tensor operator()(const Tensor& x, Generator&) const { return (*this)(x); }  // a Transform
  // For checkpoints: {prefix + "mean": [C], prefix + "stddev": [C]}.
  std::map<std::string, Tensor> state(const std::string& prefix = "standardizer/") const;
  static Standardizer from_state(const std::map<std::string, Tensor>& tensors,
                                 const std::string& prefix = "standardizer/");
};

Transform scale(float factor);  // f32 or i32 -> f32 x·factor; e.g. 1/255 maps bytes to [0, 1]
// Images [..., H, W] (e.g. [C,H,W]); vacated pixels are zero.
// random_crop: pad by `pad` with zeros on every side, then crop H×W at a uniform offset (the
// torchvision RandomCrop(padding)). random_flip: mirror left-right with probability p.
// random_shift: out[y,x] = x[y-dy, x-dx] with dy, dx each uniform in [-max_shift, max_shift].
Transform random_crop(int64_t pad);
Transform random_flip(float p = 0.5f);
Transform random_shift(int64_t max_shift);
// random_erase: with probability p, one rectangle of every plane is replaced by N(0, 1) noise
// (standardised units: use it after the Standardizer). Its area is uniform in [min_area,
// max_area] of the image and its aspect h/w log-uniform in [1/max_aspect, max_aspect]; a draw
// that does not fit is drawn again, up to 10 times, then the image stays as it is (Zhong et al.
// 2017, "Random Erasing Data Augmentation"; torchvision RandomErasing(value="random")).
struct EraseOptions {
  float p = 0.5f;
  float min_area = 0.02f, max_area = 0.4f;
  float max_aspect = 3.3f;
};
Transform random_erase(EraseOptions o = {});
Transform compose(std::vector<Transform> transforms);  // applied in order; empty ones skipped

}  // namespace focus::data
