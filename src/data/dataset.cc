// In-memory datasets, subsets and the seeded (stratified) train/validation split.
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "data/random.h"
#include "focus/data.h"

namespace focus::data {

TensorDataset::TensorDataset(Tensor x, std::vector<int32_t> labels) : labels_(std::move(labels)) {
  FOCUS_CHECK(x.defined() && x.dim() >= 1, "tensor_dataset: x must be [N, ...], got ",
              x.defined() ? x.shape().str() : "an undefined tensor");
  FOCUS_CHECK(x.dtype() == DType::f32 || x.dtype() == DType::i32,
              "tensor_dataset: x must be f32 or i32, got ", dtype_name(x.dtype()));
  const int64_t n = x.shape()[0];
  if (labels_.empty()) labels_.assign(size_t(n), 0);
  FOCUS_CHECK(int64_t(labels_.size()) == n, "tensor_dataset: x ", x.shape(), " has ", n,
              " examples but ", labels_.size(), " labels were given");
  // Detached and contiguous so that get() is a cheap view the loader's thread can copy.
  x_ = x.detach().contiguous();
}

Example TensorDataset::get(int64_t i) const {
  FOCUS_CHECK(i >= 0 && i < size(), "tensor_dataset: index ", i, " outside [0, ", size(), ")");
  return {x_.slice(0, i, i + 1).squeeze(0), labels_[size_t(i)]};
}

Subset::Subset(std::shared_ptr<const Dataset> base, std::vector<int64_t> indices)
    : base_(std::move(base)), indices_(std::move(indices)) {
  FOCUS_CHECK(base_ != nullptr, "subset: no base dataset given");
  const int64_t n = base_->size();
  for (int64_t i : indices_)
    FOCUS_CHECK(i >= 0 && i < n, "subset: index ", i, " outside the base dataset's [0, ", n, ")");
}

Example Subset::get(int64_t i) const {
  FOCUS_CHECK(i >= 0 && i < size(), "subset: index ", i, " outside [0, ", size(), ")");
  return base_->get(indices_[size_t(i)]);
}

Mapped::Mapped(std::shared_ptr<const Dataset> base, Transform transform, uint64_t seed)
    : base_(std::move(base)), transform_(std::move(transform)), seed_(seed) {
  FOCUS_CHECK(base_ != nullptr, "mapped: no base dataset given");
  FOCUS_CHECK(transform_ != nullptr, "mapped: no transform given");
}

Example Mapped::get(int64_t i) const {
  FOCUS_CHECK(i >= 0 && i < size(), "mapped: index ", i, " outside [0, ", size(), ")");
  Example e = base_->get(i);
  Generator gen(example_seed(seed_, 0, i));
  e.x = transform_(e.x, gen);
  return e;
}

namespace {

// Indices [0, n) by class (one group, everything, without labels), each group shuffled by its
// own generator, so adding a class leaves the others' splits and folds unchanged.
std::map<int64_t, std::vector<int64_t>> shuffled_classes(int64_t n, uint64_t seed,
                                                         const std::vector<int32_t>& labels) {
  std::map<int64_t, std::vector<int64_t>> groups;
  for (int64_t i = 0; i < n; ++i) groups[labels.empty() ? 0 : labels[size_t(i)]].push_back(i);
  for (auto& [key, members] : groups)
    detail::shuffle(members, Generator(detail::mix64(detail::mix64(seed) ^ uint64_t(key))));
  return groups;
}

}  // namespace

std::pair<std::vector<int64_t>, std::vector<int64_t>> split(int64_t n, float validation,
                                                            uint64_t seed,
                                                            const std::vector<int32_t>& labels) {
  FOCUS_CHECK(n >= 0, "split: n must be >= 0, got ", n);
  FOCUS_CHECK(validation >= 0.0f && validation < 1.0f,
              "split: the validation fraction must be in [0, 1), got ", validation);
  FOCUS_CHECK(labels.empty() || int64_t(labels.size()) == n, "split: ", labels.size(),
              " labels given for n = ", n);
  std::vector<int64_t> train, val;
  for (const auto& [key, members] : shuffled_classes(n, seed, labels)) {
    const auto held = size_t(std::llround(double(validation) * double(members.size())));
    val.insert(val.end(), members.begin(), members.begin() + held);
    train.insert(train.end(), members.begin() + held, members.end());
  }
  std::sort(train.begin(), train.end());
  std::sort(val.begin(), val.end());
  return {std::move(train), std::move(val)};
}

std::pair<std::vector<int64_t>, std::vector<int64_t>> kfold(int64_t n, int64_t k, int64_t fold,
                                                            uint64_t seed,
                                                            const std::vector<int32_t>& labels) {
  FOCUS_CHECK(n >= 0, "kfold: n must be >= 0, got ", n);
  FOCUS_CHECK(k >= 2, "kfold: k must be >= 2, got ", k);
  FOCUS_CHECK(fold >= 0 && fold < k, "kfold: fold must be in [0, ", k, "), got ", fold);
  FOCUS_CHECK(labels.empty() || int64_t(labels.size()) == n, "kfold: ", labels.size(),
              " labels given for n = ", n);
  std::vector<int64_t> train, val;
  // Each class's deal starts where the last one ended, so that the folds' total sizes also
  // differ by at most one.
  int64_t next = 0;
  for (const auto& [key, members] : shuffled_classes(n, seed, labels)) {
    for (int64_t m : members) {
      (next == fold ? val : train).push_back(m);
      next = (next + 1) % k;
    }
  }
  std::sort(train.begin(), train.end());
  std::sort(val.begin(), val.end());
  return {std::move(train), std::move(val)};
}

}  // namespace focus::data
