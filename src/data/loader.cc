// The loader: epoch orders, batch assembly and the one-batch-ahead worker thread.
#include <cstring>
#include <numeric>

#include "data/random.h"
#include "focus/autograd.h"
#include "focus/data.h"

namespace focus::data {
namespace {

// Thrown inside load() when its epoch was abandoned; never leaves the worker.
struct Cancelled {};

// Distinct salts keep the order's generator and the examples' generators apart for equal seeds.
constexpr uint64_t kOrderSalt = 0x6F72646572ull;    // "order"
constexpr uint64_t kExampleSalt = 0x6578616D70ull;  // "examp"

}  // namespace

uint64_t example_seed(uint64_t seed, int64_t epoch, int64_t index) {
  using detail::mix64;
  return mix64(mix64(mix64(seed ^ kExampleSalt) ^ uint64_t(epoch)) ^ uint64_t(index));
}

Loader::Loader(std::shared_ptr<const Dataset> dataset, LoaderOptions opt)
    : dataset_(std::move(dataset)), opt_(std::move(opt)) {
  FOCUS_CHECK(dataset_ != nullptr, "loader: no dataset given");
  FOCUS_CHECK(opt_.batch >= 1, "loader: batch must be >= 1, got ", opt_.batch);
}

Loader::~Loader() { stop_worker(); }

void Loader::stop_worker() {
  if (!worker_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

int64_t Loader::batches_per_epoch() const {
  const int64_t n = dataset_->size();
  return opt_.drop_last ? n / opt_.batch : (n + opt_.batch - 1) / opt_.batch;
}

std::vector<int64_t> Loader::order(int64_t epoch) const {
  std::vector<int64_t> order(size_t(dataset_->size()));
  std::iota(order.begin(), order.end(), int64_t(0));
  if (opt_.shuffle) {
    using detail::mix64;
    detail::shuffle(order, Generator(mix64(mix64(opt_.seed ^ kOrderSalt) ^ uint64_t(epoch))));
  }
  return order;
}

void Loader::start_epoch(int64_t epoch) { begin(epoch, 0); }

void Loader::resume(int64_t epoch, int64_t batches) {
  FOCUS_CHECK(batches >= 0 && batches <= batches_per_epoch(), "loader: resume at batch ", batches,
              " of an epoch of ", batches_per_epoch(), " batches");
  begin(epoch, batches);
}

void Loader::begin(int64_t epoch, int64_t first_batch) {
  std::vector<int64_t> order = this->order(epoch);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++generation_;  // the worker drops whatever it is loading for the previous epoch
    started_ = true;
    epoch_ = epoch;
    next_batch_ = first_batch;
    order_ = std::move(order);
    ready_ = false;
    prepared_ = Batch{};
    error_ = nullptr;
    request_ = opt_.background && first_batch < batches_per_epoch() ? first_batch : -1;
  }
  if (!opt_.background) return;
  if (!worker_.joinable()) worker_ = std::thread([this] { work(); });
  cv_.notify_all();
}

std::vector<int64_t> Loader::batch_indices(int64_t b) const {
  const int64_t start = b * opt_.batch;
  const int64_t end = std::min<int64_t>(start + opt_.batch, int64_t(order_.size()));
  return {order_.begin() + start, order_.begin() + end};
}

bool Loader::next(Batch& batch) {
  if (!started_) start_epoch(0);
  const int64_t batches = batches_per_epoch();
  if (next_batch_ >= batches) return false;
  if (!opt_.background) {
    Batch b;
    try {
      b = load(batch_indices(next_batch_), epoch_, next_batch_, generation_);
    } catch (...) {
      next_batch_ = batches;  // an error ends the epoch, as in the background path
      throw;
    }
    batch = std::move(b);
    ++next_batch_;
    return true;
  }
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return ready_; });
  ready_ = false;
  if (error_) {
    std::exception_ptr error = std::exchange(error_, nullptr);
    next_batch_ = batches;
    std::rethrow_exception(error);
  }
  batch = std::move(prepared_);
  prepared_ = Batch{};
  ++next_batch_;
  if (next_batch_ < batches) {
    request_ = next_batch_;  // one batch ahead: load it while the caller trains on this one
    lock.unlock();
    cv_.notify_all();
  }
  return true;
}

void Loader::work() {
  autograd::NoGradGuard no_grad;  // transforms built from ops must not record a graph
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || (request_ >= 0 && !ready_); });
    if (stop_) return;
    const int64_t b = std::exchange(request_, -1);
    const uint64_t generation = generation_;
    const int64_t epoch = epoch_;
    const std::vector<int64_t> indices = batch_indices(b);  // order_ may change once unlocked
    lock.unlock();
    Batch batch;
    std::exception_ptr error;
    try {
      batch = load(indices, epoch, b, generation);
    } catch (const Cancelled&) {
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    if (stop_) return;
    if (generation != generation_) continue;  // that epoch was abandoned
    prepared_ = std::move(batch);
    error_ = error;
    ready_ = true;
    cv_.notify_all();
  }
}

Batch Loader::load(const std::vector<int64_t>& indices, int64_t epoch, int64_t b,
                   uint64_t generation) const {
  autograd::NoGradGuard no_grad;
  const int64_t rows = int64_t(indices.size());
  Batch batch;
  batch.indices = indices;
  batch.y = make_tensor(Shape{rows}, DType::i32);
  int32_t* y = batch.y.data_i32();  // [B]
  Shape row_shape;
  DType dtype = DType::f32;
  size_t row_bytes = 0;
  char* x = nullptr;  // [B, ...] as bytes
  for (int64_t r = 0; r < rows; ++r) {
    if (stop_ || generation_ != generation) throw Cancelled{};
    const int64_t index = indices[size_t(r)];
    Example ex;
    try {
      ex = dataset_->get(index);
      FOCUS_CHECK(ex.x.defined(), "the dataset returned an undefined tensor");
      if (opt_.transform) {
        Generator gen(example_seed(opt_.seed, epoch, index));
        ex.x = opt_.transform(ex.x, gen);
        FOCUS_CHECK(ex.x.defined(), "the transform returned an undefined tensor");
      }
    } catch (const std::exception& e) {
      throw Error(::focus::detail::cat("loader: example ", index, " (epoch ", epoch, ", batch ", b,
                                       "): ", e.what()));
    } catch (...) {
      throw Error(::focus::detail::cat("loader: example ", index, " (epoch ", epoch, ", batch ", b,
                                       "): unknown exception"));
    }
    if (r == 0) {
      row_shape = ex.x.shape();
      dtype = ex.x.dtype();
      FOCUS_CHECK(row_shape.rank() < kMaxRank, "loader: example ", index, " has shape ", row_shape,
                  ": a batch of it would exceed rank ", kMaxRank);
      Shape shape{rows};
      for (int64_t d : row_shape) shape.push_back(d);
      batch.x = make_tensor(shape, dtype);
      row_bytes = size_t(row_shape.numel()) * dtype_size(dtype);
      x = static_cast<char*>(batch.x.impl().storage->data());
    } else {
      FOCUS_CHECK(ex.x.shape() == row_shape && ex.x.dtype() == dtype, "loader: example ", index,
                  " has shape ", ex.x.shape(), " ", dtype_name(ex.x.dtype()), " but example ",
                  indices[0], " of the same batch has ", row_shape, " ", dtype_name(dtype),
                  " (epoch ", epoch, ", batch ", b, ")");
    }
    const Tensor src = ex.x.contiguous();
    const auto* p = static_cast<const char*>(src.impl().storage->data());
    std::memcpy(x + size_t(r) * row_bytes, p + src.offset() * int64_t(dtype_size(dtype)),
                row_bytes);
    y[r] = ex.label;
  }
  return batch;
}

}  // namespace focus::data
