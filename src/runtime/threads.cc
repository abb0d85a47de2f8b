#include <omp.h>

#include <cstdlib>
#include <thread>

#include "focus/error.h"
#include "focus/runtime.h"

namespace focus {
namespace {

int initial_threads() {
  if (const char* env = std::getenv("FOCUS_THREADS")) {
    char* end = nullptr;
    long n = std::strtol(env, &end, 10);
    FOCUS_CHECK(end != env && *end == '\0' && n >= 1 && n <= 1024,
                "FOCUS_THREADS: expected a thread count >= 1, got '", env, "'");
    return static_cast<int>(n);
  }
  return std::max(1, omp_get_num_procs());
}

int& thread_count() {
  static int n = [] {
    int t = initial_threads();
    omp_set_num_threads(t);
    return t;
  }();
  return n;
}

// Reads FOCUS_THREADS before the first parallel region of any program linking Focus.
const int g_init = thread_count();

}  // namespace

void set_num_threads(int n) {
  FOCUS_CHECK(n >= 1, "set_num_threads: expected a thread count >= 1, got ", n);
  thread_count() = n;
  omp_set_num_threads(n);
}

int num_threads() { return thread_count(); }

}  // namespace focus
