// Loader: coverage per epoch, seeded orders, background == inline, errors, shutdown, resume.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <ctime>
#include <mutex>
#include <set>
#include <thread>

#include "focus/data.h"
#include "test_util.h"

namespace focus::data {
namespace {

// Row i of x [N, 3] holds i, i + 0.25, i + 0.5, so a batch row tells which example it came from.
std::shared_ptr<TensorDataset> numbered(int64_t n) {
  std::vector<float> v;
  std::vector<int32_t> labels;
  for (int64_t i = 0; i < n; ++i) {
    for (float f : {0.0f, 0.25f, 0.5f}) v.push_back(float(i) + f);
    labels.push_back(int32_t(i % 5));
  }
  return std::make_shared<TensorDataset>(Tensor::from_vector(v, {n, 3}), labels);
}

// Images [N, 2, 5, 6] of random values, for transforms.
std::shared_ptr<TensorDataset> images(int64_t n) {
  std::vector<int32_t> labels(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) labels[size_t(i)] = int32_t(i % 3);
  return std::make_shared<TensorDataset>(test::random_tensor({n, 2, 5, 6}, 7), labels);
}

// Wraps a dataset: records which indices were loaded, optionally sleeps, throws or returns a
// different shape at one index.
class Probe : public Dataset {
 public:
  explicit Probe(std::shared_ptr<const Dataset> base) : base_(std::move(base)) {}
  int64_t size() const override { return base_->size(); }
  Example get(int64_t i) const override {
    if (sleep_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
    {
      std::lock_guard<std::mutex> lock(mu_);
      loaded_.push_back(i);
    }
    if (i == throw_at) throw std::runtime_error("disk on fire");
    Example ex = base_->get(i);
    if (i == odd_shape_at) ex.x = Tensor::zeros({4});
    return ex;
  }
  std::vector<int64_t> loaded() const {
    std::lock_guard<std::mutex> lock(mu_);
    return loaded_;
  }
  int sleep_ms = 0;
  int64_t throw_at = -1, odd_shape_at = -1;

 private:
  std::shared_ptr<const Dataset> base_;
  mutable std::mutex mu_;
  mutable std::vector<int64_t> loaded_;
};

std::vector<Batch> epoch_batches(Loader& loader, int64_t epoch) {
  loader.start_epoch(epoch);
  std::vector<Batch> out;
  for (Batch b; loader.next(b);) out.push_back(b);
  return out;
}

// Bitwise equality of two batches (values, shapes, labels, indices).
::testing::AssertionResult same_batches(const std::vector<Batch>& a, const std::vector<Batch>& b) {
  if (a.size() != b.size())
    return ::testing::AssertionFailure() << a.size() << " batches vs " << b.size();
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].indices != b[i].indices)
      return ::testing::AssertionFailure() << "batch " << i << ": different indices";
    if (a[i].x.shape() != b[i].x.shape())
      return ::testing::AssertionFailure()
             << "batch " << i << ": " << a[i].x.shape() << " vs " << b[i].x.shape();
    const std::vector<float> xa = a[i].x.to_vector(), xb = b[i].x.to_vector();
    if (std::memcmp(xa.data(), xb.data(), xa.size() * sizeof(float)) != 0)
      return ::testing::AssertionFailure() << "batch " << i << ": different x";
    const int32_t* ya = a[i].y.data_i32();
    const int32_t* yb = b[i].y.data_i32();
    if (!std::equal(ya, ya + a[i].y.numel(), yb))
      return ::testing::AssertionFailure() << "batch " << i << ": different y";
  }
  return ::testing::AssertionSuccess();
}

TEST(Loader, EveryExampleOncePerEpoch) {
  for (int64_t n : {1, 10, 12, 13})
    for (int64_t batch : {1, 3, 4, 12, 20})
      for (bool shuffle : {false, true})
        for (bool drop_last : {false, true})
          for (bool background : {false, true}) {
            SCOPED_TRACE(::testing::Message()
                         << "n " << n << " batch " << batch << " shuffle " << shuffle
                         << " drop_last " << drop_last << " background " << background);
            auto ds = numbered(n);
            Loader loader(ds, {.batch = batch,
                               .shuffle = shuffle,
                               .seed = 3,
                               .drop_last = drop_last,
                               .background = background});
            const int64_t full = n / batch, expected = drop_last ? full : (n + batch - 1) / batch;
            EXPECT_EQ(loader.batches_per_epoch(), expected);
            for (int64_t epoch : {0, 1}) {
              const std::vector<Batch> batches = epoch_batches(loader, epoch);
              ASSERT_EQ(int64_t(batches.size()), expected);
              std::vector<int64_t> seen;
              for (size_t k = 0; k < batches.size(); ++k) {
                const Batch& b = batches[k];
                const int64_t rows = int64_t(b.indices.size());
                EXPECT_EQ(rows, int64_t(k) < full ? batch : n % batch);
                ASSERT_EQ(b.x.shape(), Shape({rows, 3}));
                ASSERT_EQ(b.y.shape(), Shape({rows}));
                ASSERT_EQ(b.y.dtype(), DType::i32);
                const float* x = b.x.data();
                for (int64_t r = 0; r < rows; ++r) {
                  const int64_t i = b.indices[size_t(r)];
                  EXPECT_EQ(x[r * 3], float(i));
                  EXPECT_EQ(x[r * 3 + 2], float(i) + 0.5f);
                  EXPECT_EQ(b.y.data_i32()[r], int32_t(i % 5));
                  seen.push_back(i);
                }
              }
              // In epoch order, each index at most once; all of them unless the tail was dropped.
              const std::vector<int64_t> order = loader.order(epoch);
              EXPECT_TRUE(std::equal(seen.begin(), seen.end(), order.begin()));
              std::sort(seen.begin(), seen.end());
              EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end());
              EXPECT_EQ(int64_t(seen.size()), drop_last ? full * batch : n);
              std::vector<int64_t> sorted = order;
              std::sort(sorted.begin(), sorted.end());
              for (int64_t i = 0; i < n; ++i) EXPECT_EQ(sorted[size_t(i)], i);
              if (!shuffle)
                for (int64_t i = 0; i < n; ++i) EXPECT_EQ(order[size_t(i)], i);
            }
          }
}

TEST(Loader, OrderIsAPureFunctionOfSeedAndEpoch) {
  auto ds = numbered(100);
  Loader a(ds, {.batch = 8, .shuffle = true, .seed = 11});
  Loader b(ds, {.batch = 8, .shuffle = true, .seed = 11, .background = false});
  Loader c(ds, {.batch = 8, .shuffle = true, .seed = 12});
  for (int64_t epoch : {0, 1, 7}) EXPECT_EQ(a.order(epoch), b.order(epoch));
  EXPECT_NE(a.order(0), a.order(1));
  EXPECT_NE(a.order(1), a.order(2));
  EXPECT_NE(a.order(0), c.order(0));
  // Asking in another sequence gives the same answer: no hidden state.
  const std::vector<int64_t> e3 = a.order(3);
  a.order(0);
  EXPECT_EQ(a.order(3), e3);
  std::vector<int64_t> identity(100);
  for (int64_t i = 0; i < 100; ++i) identity[size_t(i)] = i;
  EXPECT_NE(a.order(0), identity);
}

TEST(Loader, SameSeedSameAugmentedBatches) {
  auto ds = images(23);
  auto make = [&](uint64_t seed) {
    return std::make_unique<Loader>(
        ds, LoaderOptions{.batch = 5,
                          .shuffle = true,
                          .seed = seed,
                          .transform = compose({random_shift(2), random_flip(0.5f)})});
  };
  auto a = make(5), b = make(5), c = make(6);
  for (int64_t epoch : {0, 1}) {
    EXPECT_TRUE(same_batches(epoch_batches(*a, epoch), epoch_batches(*b, epoch)));
  }
  EXPECT_FALSE(same_batches(epoch_batches(*a, 0), epoch_batches(*c, 0)));
  // The same example gets different augmentation in different epochs.
  EXPECT_NE(example_seed(5, 0, 3), example_seed(5, 1, 3));
  EXPECT_NE(example_seed(5, 0, 3), example_seed(5, 0, 4));
  EXPECT_NE(example_seed(5, 0, 3), example_seed(6, 0, 3));
}

TEST(Loader, TransformGetsGeneratorOfSeedEpochIndex) {
  auto ds = images(10);
  Transform t = compose({random_crop(1), random_flip(0.5f)});
  Loader loader(ds, {.batch = 4, .shuffle = true, .seed = 9, .transform = t});
  for (int64_t epoch : {0, 3}) {
    for (const Batch& b : epoch_batches(loader, epoch)) {
      for (size_t r = 0; r < b.indices.size(); ++r) {
        const int64_t i = b.indices[r];
        Generator gen(example_seed(9, epoch, i));
        const Tensor expected = t(ds->get(i).x, gen);
        EXPECT_TRUE(
            test::all_close(b.x.slice(0, int64_t(r), int64_t(r) + 1).squeeze(0), expected, 0, 0));
      }
    }
  }
}

TEST(Loader, BackgroundAndInlineGiveIdenticalBatches) {
  auto ds = images(37);
  for (bool drop_last : {false, true}) {
    LoaderOptions opt{.batch = 8,
                      .shuffle = true,
                      .seed = 21,
                      .drop_last = drop_last,
                      .transform = compose({random_crop(2), random_flip(), scale(0.5f)})};
    Loader bg(ds, opt);
    opt.background = false;
    Loader inl(ds, opt);
    for (int64_t epoch : {0, 1, 2})
      EXPECT_TRUE(same_batches(epoch_batches(bg, epoch), epoch_batches(inl, epoch)));
  }
}

TEST(Loader, IntegerExamplesStackAsI32) {
  std::vector<int32_t> ids = {1, 2, 3, 4, 5, 6, 7, 8};
  auto ds = std::make_shared<TensorDataset>(Tensor::from_indices(ids, {4, 2}),
                                            std::vector<int32_t>{0, 1, 0, 1});
  Loader loader(ds, {.batch = 3});
  Batch b;
  ASSERT_TRUE(loader.next(b));  // starts epoch 0 without start_epoch
  EXPECT_EQ(loader.epoch(), 0);
  ASSERT_EQ(b.x.dtype(), DType::i32);
  ASSERT_EQ(b.x.shape(), Shape({3, 2}));
  EXPECT_EQ(std::vector<int32_t>(b.x.data_i32(), b.x.data_i32() + 6),
            std::vector<int32_t>({1, 2, 3, 4, 5, 6}));
  ASSERT_TRUE(loader.next(b));
  EXPECT_EQ(b.x.shape(), Shape({1, 2}));
  EXPECT_FALSE(loader.next(b));
  EXPECT_FALSE(loader.next(b));  // stays finished until the next start_epoch
}

TEST(Loader, EmptyDatasetAndBadOptions) {
  auto ds = std::make_shared<TensorDataset>(Tensor::zeros({0, 2}), std::vector<int32_t>{});
  Loader loader(ds, {.batch = 4});
  EXPECT_EQ(loader.batches_per_epoch(), 0);
  Batch b;
  EXPECT_FALSE(loader.next(b));
  test::expect_error([&] { Loader bad(ds, {.batch = 0}); }, {"loader", "batch", "0"});
  test::expect_error([&] { Loader bad(nullptr, {}); }, {"loader", "dataset"});
  Loader small(numbered(10), {.batch = 4});
  test::expect_error([&] { small.resume(0, 4); }, {"loader", "resume", "4", "3 batches"});
}

TEST(Loader, WorkerErrorSurfacesWithIndex) {
  for (bool background : {false, true}) {
    SCOPED_TRACE(background ? "background" : "inline");
    auto probe = std::make_shared<Probe>(numbered(20));
    probe->throw_at = 13;
    Loader loader(probe, {.batch = 4, .background = background});
    loader.start_epoch(0);
    Batch b;
    for (int k = 0; k < 3; ++k) ASSERT_TRUE(loader.next(b));  // 0..11 load fine
    test::expect_error([&] { loader.next(b); },
                       {"loader: example 13", "epoch 0", "batch 3", "disk on fire"});
    EXPECT_FALSE(loader.next(b));  // the error ended the epoch
    // A new epoch runs again (and fails again at the same place).
    loader.start_epoch(1);
    ASSERT_TRUE(loader.next(b));
    EXPECT_EQ(b.indices.front(), 0);
  }
}

TEST(Loader, InconsistentShapeIsAOneLineError) {
  for (bool background : {false, true}) {
    auto probe = std::make_shared<Probe>(numbered(10));
    probe->odd_shape_at = 6;
    Loader loader(probe, {.batch = 4, .background = background});
    Batch b;
    ASSERT_TRUE(loader.next(b));
    test::expect_error([&] { loader.next(b); },
                       {"loader: example 6", "[4]", "example 4", "[3]", "batch 1"});
  }
}

TEST(Loader, DestroyMidEpochDoesNotHang) {
  auto probe = std::make_shared<Probe>(numbered(400));
  probe->sleep_ms = 2;  // 64 ms a batch: the worker is surely inside a batch when we leave
  const auto t0 = std::chrono::steady_clock::now();
  {
    Loader loader(probe, {.batch = 32, .shuffle = true});
    Batch b;
    ASSERT_TRUE(loader.next(b));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  {
    Loader loader(probe, {.batch = 32});
    loader.start_epoch(0);  // destroyed while loading its first batch
  }
  { Loader never_started(probe, {.batch = 32}); }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // One batch (64 ms) plus abandoned rows; a loader that finished its batch first would also pass,
  // one that loaded ahead more than a batch or hung would not.
  EXPECT_LT(s, 1.0);
  EXPECT_LT(probe->loaded().size(), 32u + 10u + 10u + 10u);
}

TEST(Loader, AbandonedEpochThenNewEpochIsClean) {
  auto ds = images(50);
  LoaderOptions opt{.batch = 6, .shuffle = true, .seed = 2, .transform = random_flip()};
  Loader fresh(ds, opt);
  const std::vector<Batch> want = epoch_batches(fresh, 1);
  Loader loader(ds, opt);
  loader.start_epoch(0);
  Batch b;
  ASSERT_TRUE(loader.next(b));
  ASSERT_TRUE(loader.next(b));
  EXPECT_TRUE(same_batches(epoch_batches(loader, 1), want));
  // Restarting the same epoch repeatedly mid-way also lands on the same batches.
  for (int k = 0; k < 5; ++k) {
    loader.start_epoch(1);
    ASSERT_TRUE(loader.next(b));
  }
  EXPECT_TRUE(same_batches(epoch_batches(loader, 1), want));
}

TEST(Loader, ResumeSkipsWithoutLoading) {
  for (bool background : {false, true}) {
    SCOPED_TRACE(background ? "background" : "inline");
    auto ds = numbered(30);
    LoaderOptions opt{.batch = 4, .shuffle = true, .seed = 4, .background = background};
    Loader full(ds, opt);
    const std::vector<Batch> all = epoch_batches(full, 2);
    auto probe = std::make_shared<Probe>(ds);
    Loader loader(probe, opt);
    loader.resume(2, 3);
    EXPECT_EQ(loader.epoch(), 2);
    EXPECT_EQ(loader.batch_index(), 3);
    std::vector<Batch> rest;
    for (Batch b; loader.next(b);) rest.push_back(b);
    EXPECT_TRUE(same_batches(rest, std::vector<Batch>(all.begin() + 3, all.end())));
    const std::vector<int64_t> order = full.order(2);
    EXPECT_EQ(probe->loaded(), std::vector<int64_t>(order.begin() + 12, order.end()));
    loader.resume(2, loader.batches_per_epoch());  // at the end: nothing left
    Batch b;
    EXPECT_FALSE(loader.next(b));
  }
}

TEST(Loader, WaitsWithoutSpinning) {
  auto probe = std::make_shared<Probe>(numbered(6));
  probe->sleep_ms = 25;
  Loader loader(probe, {.batch = 1});
  const std::clock_t cpu0 = std::clock();
  const auto t0 = std::chrono::steady_clock::now();
  loader.start_epoch(0);
  int batches = 0;
  for (Batch b; loader.next(b);) ++batches;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = double(std::clock() - cpu0) / CLOCKS_PER_SEC;
  EXPECT_EQ(batches, 6);
  EXPECT_GE(wall, 0.14);
  EXPECT_LT(cpu, 0.5 * wall) << "cpu " << cpu << " s over " << wall << " s of waiting";
}

TEST(Loader, StandardizerAsTransform) {
  auto ds = images(12);
  const Standardizer norm = Standardizer::fit(*ds);
  Loader loader(ds, {.batch = 12, .transform = compose({norm})});
  Batch b;
  ASSERT_TRUE(loader.next(b));
  EXPECT_TRUE(test::all_close(b.x.slice(0, 5, 6).squeeze(0), norm(ds->get(5).x), 0, 0));
}

}  // namespace
}  // namespace focus::data
