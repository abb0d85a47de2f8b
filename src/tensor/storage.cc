// Storage allocation with a small cache of freed blocks, keyed by size. Training loops allocate the
// same sizes every step; without the cache each large block is a fresh mmap whose pages fault in
// on first touch, which costs more than the arithmetic of elementwise ops. Large blocks are sized
// in classes (eight per power of two), so that tensors whose size changes a little from step to
// step (text batches cut to their longest row, the pieces chosen for masked-token pretraining)
// still find a freed block: at most 1/8 more memory than asked for.
#include <cstdlib>
#include <iterator>
#include <map>
#include <mutex>

#include "focus/tensor.h"

namespace focus {
namespace {

constexpr size_t kAlign = 64;
constexpr size_t kMinCached = 1 << 16;  // smaller blocks are cheap for malloc

size_t cache_limit() {
  static const size_t limit = [] {
    const char* env = std::getenv("FOCUS_CACHE_MB");
    return (env ? std::strtoull(env, nullptr, 10) : 2048ull) << 20;
  }();
  return limit;
}

struct BlockCache {
  std::mutex mu;
  std::multimap<size_t, void*> free_blocks;
  size_t cached_bytes = 0;

  void* take(size_t bytes) {
    std::lock_guard<std::mutex> lock(mu);
    // The block of this size freed last: the likeliest to be still in the CPU's caches (and
    // what a test that frees and allocates one size expects back, whatever else is cached).
    const auto [lo, hi] = free_blocks.equal_range(bytes);
    if (lo == hi) return nullptr;
    const auto it = std::prev(hi);
    void* p = it->second;
    free_blocks.erase(it);
    cached_bytes -= bytes;
    return p;
  }
  bool give(void* p, size_t bytes) {
    std::lock_guard<std::mutex> lock(mu);
    if (cached_bytes + bytes > cache_limit()) return false;
    free_blocks.emplace(bytes, p);
    cached_bytes += bytes;
    return true;
  }
  ~BlockCache() {
    for (auto& [bytes, p] : free_blocks) std::free(p);
  }
};

BlockCache& cache() {
  static BlockCache* c = new BlockCache();  // never destroyed: storages may outlive statics
  return *c;
}

size_t round_up(size_t bytes) {
  const size_t aligned = (std::max<size_t>(bytes, 1) + kAlign - 1) / kAlign * kAlign;
  if (aligned < kMinCached) return aligned;
  size_t power = kMinCached;
  while (power * 2 <= aligned) power *= 2;
  const size_t step = power / 8;
  return (aligned + step - 1) / step * step;
}

}  // namespace

Storage::Storage(size_t bytes, Device device) : bytes_(bytes), device_(device) {
  FOCUS_CHECK(device == Device::cpu, "storage: only the CPU device is available in this build");
  size_t rounded = round_up(bytes);
  data_ = rounded >= kMinCached ? cache().take(rounded) : nullptr;
  if (!data_) data_ = std::aligned_alloc(kAlign, rounded);
  FOCUS_CHECK(data_ != nullptr, "storage: out of memory allocating ", bytes, " bytes");
}

Storage::~Storage() {
  size_t rounded = round_up(bytes_);
  if (rounded >= kMinCached && cache().give(data_, rounded)) return;
  std::free(data_);
}

}  // namespace focus
