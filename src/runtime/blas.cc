// Loads OpenBLAS with dlopen instead of linking it. Debian's OpenBLAS 0.3.21 mis-detects recent
// AMD cores (as "Prescott": ~65 GFLOP/s instead of ~300 on two cores) and reads
// OPENBLAS_CORETYPE only while the library loads, which for a linked library is before main().
// Loading it ourselves lets us set the core type from CPUID first; the user's own
// OPENBLAS_CORETYPE still wins. The OpenMP build is preferred: it runs on Focus's OpenMP pool, so
// the BLAS and Focus's kernels never keep two busy-waiting pools on the same cores.
#include "runtime/blas.h"

#include <dlfcn.h>
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <string>

#include "focus/error.h"
#include "focus/runtime.h"

namespace focus {
namespace {

enum CblasOrder { kRowMajor = 101 };
enum CblasTranspose { kNoTrans = 111, kTrans = 112 };
using SgemmFn = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int,
                         float, float*, int);
using SetThreadsFn = void (*)(int);
using CharFn = char* (*)();

struct Blas {
  SgemmFn sgemm = nullptr;
  SetThreadsFn set_threads = nullptr;  // only for the pthreads build
  std::string info;
};

const char* best_core_type() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  return nullptr;  // let OpenBLAS decide
}

Blas load() {
  if (!std::getenv("OPENBLAS_CORETYPE"))
    if (const char* core = best_core_type()) setenv("OPENBLAS_CORETYPE", core, 0);
  std::string candidates[] = {
      std::getenv("FOCUS_BLAS") ? std::getenv("FOCUS_BLAS") : "",
      "/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0",
      "/usr/lib/aarch64-linux-gnu/openblas-openmp/libopenblas.so.0",
      "libopenblas.so.0",
      "libblas.so.3",
  };
  for (const std::string& path : candidates) {
    if (path.empty()) continue;
    void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) continue;
    Blas b;
    b.sgemm = reinterpret_cast<SgemmFn>(dlsym(h, "cblas_sgemm"));
    if (!b.sgemm) continue;
    auto config = reinterpret_cast<CharFn>(dlsym(h, "openblas_get_config"));
    auto core = reinterpret_cast<CharFn>(dlsym(h, "openblas_get_corename"));
    auto parallel = reinterpret_cast<int (*)()>(dlsym(h, "openblas_get_parallel"));
    const bool pthreads = parallel && parallel() == 1;
    if (pthreads)
      b.set_threads = reinterpret_cast<SetThreadsFn>(dlsym(h, "openblas_set_num_threads"));
    b.info = std::string(config ? config() : path.c_str()) + " [" + path + "]" +
             (core ? std::string(", ") + core() + " kernels" : "") +
             (pthreads ? ", own pthread pool" : "");
    return b;
  }
  throw Error(
      "blas: no BLAS with cblas_sgemm could be loaded (tried FOCUS_BLAS, OpenBLAS's OpenMP build, "
      "libopenblas.so.0, libblas.so.3); install libopenblas0-openmp (scripts/deps.sh does)");
}

Blas& library() {
  static Blas b = load();
  return b;
}

}  // namespace

std::string blas_info() { return library().info; }

namespace blas {

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
           int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  constexpr int64_t kMax = 0x7fffffff;
  FOCUS_CHECK(m <= kMax && n <= kMax && k <= kMax && lda <= kMax && ldb <= kMax && ldc <= kMax,
              "matmul: dimensions M=", m, " N=", n, " K=", k, " exceed the BLAS's 32-bit range");
  Blas& lib = library();
  auto call = [&](int64_t m, int64_t n, const float* a, const float* b, float* c) {
    lib.sgemm(kRowMajor, trans_a ? kTrans : kNoTrans, trans_b ? kTrans : kNoTrans, int(m), int(n),
              int(k), alpha, a, int(lda), b, int(ldb), beta, c, int(ldc));
  };
  // OpenBLAS threads a tall-skinny product (a transformer's [B·N,128] x [128,512]) poorly: two
  // threads reach ~105-135 GFLOP/s where each alone reaches ~85. Splitting the longer side of C
  // into one contiguous part per thread, each a serial GEMM (OpenBLAS's OpenMP build runs serially
  // inside a parallel region), measured ~140-160 on the two-core machine and never slower on
  // square ones. The split is static, so results are deterministic for a given thread count.
  const int threads = num_threads();
  constexpr int64_t kAlign = 16;  // whole micro-kernel tiles per part
  const int64_t side = std::max(m, n);
  if (lib.set_threads || threads < 2 || omp_in_parallel() || side < 2 * kAlign * threads ||
      m * n * k < (int64_t(1) << 21)) {
    if (lib.set_threads) lib.set_threads(threads);
    call(m, n, a, b, c);
    return;
  }
  const bool by_rows = m >= n;
  const int64_t part = (side / threads + kAlign - 1) / kAlign * kAlign;
#pragma omp parallel num_threads(threads)
  {
    const int64_t lo = std::min(side, omp_get_thread_num() * part);
    const int64_t hi = std::min(side, lo + part);
    if (hi > lo) {
      if (by_rows)  // rows lo..hi of op(A) and C
        call(hi - lo, n, a + (trans_a ? lo : lo * lda), b, c + lo * ldc);
      else  // columns lo..hi of op(B) and C
        call(m, hi - lo, a, b + (trans_b ? lo * ldb : lo), c + lo);
    }
  }
}

}  // namespace blas
}  // namespace focus
