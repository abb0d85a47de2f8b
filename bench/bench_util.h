// Shared by the bench/*.cc programs: command line, timing and the JSON line each case prints.
// Record format (docs/benchmarks.md, DESIGN.md "Benchmarks: one convention"), one line per case:
//   {"bench","case","impl","median_ms","min_ms","max_ms","gflops","items_per_s","peak_rss_mb",
//    "threads"}
// scripts/bench.py runs the programs, collects the lines and prints the table.
#pragma once

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "focus/runtime.h"

namespace focus::bench {

struct Options {
  int threads = 0;                   // --threads T (default: FOCUS_THREADS or all cores)
  std::vector<std::string> filters;  // --filter S (repeatable): only cases containing every S
  double min_seconds = 1.0;          // --seconds S: time each case for at least S seconds ...
  int min_reps = 5;  // --reps R: ... and at least R repetitions (after 2 warm-up runs)
};

inline Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const char* next = i + 1 < argc ? argv[i + 1] : nullptr;
    if (!std::strcmp(argv[i], "--threads") && next)
      o.threads = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--filter") && next)
      o.filters.push_back(argv[++i]);
    else if (!std::strcmp(argv[i], "--seconds") && next)
      o.min_seconds = std::atof(argv[++i]);
    else if (!std::strcmp(argv[i], "--reps") && next)
      o.min_reps = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: %s [--threads T] [--filter S] [--seconds S] [--reps R]\n",
                   argv[0]);
      std::exit(2);
    }
  }
  if (o.threads > 0) set_num_threads(o.threads);
  o.threads = num_threads();
  return o;
}

struct Timing {
  double median_ms, min_ms, max_ms;
};

// Two warm-up calls, then repetitions until both min_reps and min_seconds are reached (at most
// 1000). `between` runs before each call, untimed (e.g. dropping gradients).
inline Timing time_it(const Options& o, const std::function<void()>& fn,
                      const std::function<void()>& between = nullptr) {
  using clock = std::chrono::steady_clock;
  std::vector<double> ms;
  double total = 0;
  for (int r = -2; r < 1000 && (r < o.min_reps || total < o.min_seconds * 1e3); ++r) {
    if (between) between();
    const auto t0 = clock::now();
    fn();
    const double t = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
    if (r >= 0) ms.push_back(t), total += t;
  }
  std::sort(ms.begin(), ms.end());
  const size_t n = ms.size();
  return {n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]), ms.front(), ms.back()};
}

inline double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;  // ru_maxrss is in KiB on Linux
}

inline bool wanted(const Options& o, const std::string& name) {
  for (const std::string& f : o.filters)
    if (name.find(f) == std::string::npos) return false;
  return true;
}

// Prints one record; gflops / items_per_s <= 0 print as null.
inline void emit(const char* bench, const std::string& name, const Timing& t, double gflops,
                 double items_per_s, int threads) {
  auto num = [](double v) { return v > 0 ? std::to_string(v) : std::string("null"); };
  std::printf(
      "{\"bench\": \"%s\", \"case\": \"%s\", \"impl\": \"focus\", \"median_ms\": %.4f, "
      "\"min_ms\": %.4f, \"max_ms\": %.4f, \"gflops\": %s, \"items_per_s\": %s, "
      "\"peak_rss_mb\": %.1f, \"threads\": %d}\n",
      bench, name.c_str(), t.median_ms, t.min_ms, t.max_ms, num(gflops).c_str(),
      num(items_per_s).c_str(), peak_rss_mb(), threads);
  std::fflush(stdout);
}

}  // namespace focus::bench
