// The attention benchmark, Focus side (peer: bench/peers/attention_torch.py; driver:
// scripts/bench.py attention). Scaled dot-product attention through the public API, q, k, v
// [B,H,N,D] f32:
//   fwd N=.. B=.. H=.. D=.. causal=c      forward only, no autograd recording
//   fwdbwd N=.. B=.. H=.. D=.. causal=c   forward, then backward from a fixed dout into q, k, v
//   ... lengths=1                         key padding: batch b attends keys j < lengths(b)
// impl "focus" is the dispatcher's choice (Path::automatic, what models get); at N <= 512 the
// same case also runs as "focus_math" (Path::math) and "focus_fused" (Path::fused), the data the
// dispatcher's crossover is set from. The small shapes are those of the applications: a ViT on
// 28×28 images (N = 50 with the class token, D = 32), a keyword spotter (N = 101, D = 64), a
// text classifier (N = 256, D = 64, padded batches).
// GFLOP/s in FlashAttention's convention: forward 4·B·H·N²·D, backward 2.5× forward (fwdbwd 3.5×),
// halved when causal.
//
// Each case runs in a fresh process (this program runs itself with --case NAME), so peak_rss_mb,
// the child's getrusage ru_maxrss, is that case's own peak; base_rss_mb is the same process just
// before it allocated the case's tensors, so peak − base is what the case itself needed (inputs,
// outputs, gradients and the kernel's scratch).
//
// Timing: warm-up (2 runs, 1 when a run takes over a second), then repetitions until --reps and
// --seconds are both reached; 3 repetitions when one takes over 3 s (the N=8192 cases take tens of
// seconds each).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "attention/cpu/flash.h"
#include "focus/focus.h"

using namespace focus;

namespace {

struct Case {
  bool backward;
  int64_t n, b, h, d;
  bool causal;
  bool lengths = false;
  std::string name() const {
    return std::string(backward ? "fwdbwd" : "fwd") + " N=" + std::to_string(n) +
           " B=" + std::to_string(b) + " H=" + std::to_string(h) + " D=" + std::to_string(d) +
           " causal=" + std::to_string(causal ? 1 : 0) + (lengths ? " lengths=1" : "");
  }
  double gflop() const {
    const double fwd = 4.0 * b * h * double(n) * n * d * (causal ? 0.5 : 1.0);
    return (backward ? 3.5 : 1.0) * fwd * 1e-9;
  }
};

// Key lengths of the lengths=1 cases, in (N/4, N] (the peer computes the same).
int32_t key_length(int64_t b, int64_t n) {
  return static_cast<int32_t>(n - (b * 7919) % (n * 3 / 4));
}

// --crossover: the cases the dispatcher's threshold (attention::choose_path) is set from, short
// sequences at B·H = 512, run as focus_math and focus_fused only.
std::vector<Case> crossover_cases() {
  std::vector<Case> out;
  for (int64_t d : {32, 64})
    for (int64_t n : {4, 8, 16, 24, 32, 48, 64})
      for (bool bwd : {false, true}) out.push_back({bwd, n, 128, 4, d, false});
  return out;
}

std::vector<Case> cases(bool crossover) {
  if (crossover) return crossover_cases();
  std::vector<Case> out;
  for (bool bwd : {false, true}) {
    out.push_back({bwd, 50, 128, 4, 32, false});
    out.push_back({bwd, 101, 64, 4, 64, false});
    out.push_back({bwd, 256, 32, 4, 64, false, true});
  }
  for (int64_t n : {128, 512, 1024, 2048, 4096, 8192})
    for (bool causal : {false, true})
      for (bool bwd : {false, true}) out.push_back({bwd, n, 8, 8, 64, causal});
  out.push_back({true, 32768, 1, 8, 64, false});  // Focus only: the memory case
  return out;
}

struct Args {
  int threads = 0;
  std::vector<std::string> filters;
  double seconds = 1.0;
  int reps = 5;
  std::string only;           // --case NAME: run this one case in this process
  std::string path = "auto";  // with --case: auto, math or fused
  bool crossover = false;     // the dispatcher's cases instead of the benchmark's
};

double rss_mb(bool peak) {
  if (peak) {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss / 1024.0;  // KiB on Linux
  }
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return resident * 4096.0 / (1024.0 * 1024.0);
}

struct Timing {
  double median_ms, min_ms, max_ms;
};

Timing time_it(const Args& a, const std::function<void()>& fn) {
  using clock = std::chrono::steady_clock;
  auto once = [&] {
    const auto t0 = clock::now();
    fn();
    return std::chrono::duration<double, std::milli>(clock::now() - t0).count();
  };
  if (once() < 1000.0) once();  // warm-up
  std::vector<double> ms;
  double total = 0;
  while (ms.size() < 1000) {
    const bool long_runs = !ms.empty() && ms.back() > 3000.0;
    if (long_runs ? ms.size() >= 3
                  : (static_cast<int>(ms.size()) >= a.reps && total >= a.seconds * 1e3))
      break;
    ms.push_back(once());
    total += ms.back();
  }
  std::sort(ms.begin(), ms.end());
  const size_t n = ms.size();
  return {n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]), ms.front(), ms.back()};
}

const char* impl_name(attention::Path path) {
  return path == attention::Path::math    ? "focus_math"
         : path == attention::Path::fused ? "focus_fused"
                                          : "focus";
}

int run_case(const Args& a, const Case& c, attention::Path path) {
  const double base = rss_mb(false);
  Generator gen(1);
  const Shape shape{c.b, c.h, c.n, c.d};
  Tensor q = Tensor::normal(shape, 0, 1, gen), k = Tensor::normal(shape, 0, 1, gen);
  Tensor v = Tensor::normal(shape, 0, 1, gen), g = Tensor::normal(shape, 0, 1, gen);
  attention::SdpaOptions opt{.causal = c.causal, .path = path};
  if (c.lengths) {
    std::vector<int32_t> len(c.b);
    for (int64_t b = 0; b < c.b; ++b) len[b] = key_length(b, c.n);
    opt.key_lengths = Tensor::from_indices(len, {c.b});
  }
  std::function<void()> fn;
  if (c.backward) {
    q.requires_grad_(), k.requires_grad_(), v.requires_grad_();
    fn = [&] {
      q.zero_grad(), k.zero_grad(), v.zero_grad();
      attention::scaled_dot_product_attention(q, k, v, opt).backward(g);
    };
  } else {
    fn = [&] {
      autograd::NoGradGuard no_grad;
      attention::scaled_dot_product_attention(q, k, v, opt);
    };
  }
  const Timing t = time_it(a, fn);
  std::printf(
      "{\"bench\": \"attention\", \"case\": \"%s\", \"impl\": \"%s\", \"median_ms\": %.4f, "
      "\"min_ms\": %.4f, \"max_ms\": %.4f, \"gflops\": %.2f, \"items_per_s\": null, "
      "\"peak_rss_mb\": %.1f, \"threads\": %d, \"base_rss_mb\": %.1f, \"isa\": \"%s\"}\n",
      c.name().c_str(), impl_name(path), t.median_ms, t.min_ms, t.max_ms,
      c.gflop() / (t.median_ms * 1e-3), rss_mb(true), num_threads(), base,
      attention::cpu::flash_isa());
  return 0;
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const char* next = i + 1 < argc ? argv[i + 1] : nullptr;
    if (!std::strcmp(argv[i], "--threads") && next)
      a.threads = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--filter") && next)
      a.filters.push_back(argv[++i]);
    else if (!std::strcmp(argv[i], "--seconds") && next)
      a.seconds = std::atof(argv[++i]);
    else if (!std::strcmp(argv[i], "--reps") && next)
      a.reps = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--case") && next)
      a.only = argv[++i];
    else if (!std::strcmp(argv[i], "--path") && next)
      a.path = argv[++i];
    else if (!std::strcmp(argv[i], "--crossover"))
      a.crossover = true;
    else {
      std::fprintf(stderr,
                   "usage: %s [--threads T] [--filter S]... [--seconds S] [--reps R] [--crossover] "
                   "[--case NAME [--path auto|math|fused]]\n",
                   argv[0]);
      std::exit(2);
    }
  }
  if (a.threads > 0) set_num_threads(a.threads);
  a.threads = num_threads();
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  for (const Case& c : cases(a.crossover)) {
    const std::string name = c.name();
    if (!a.only.empty()) {
      if (name != a.only) continue;
      if (a.path == "auto") return run_case(a, c, attention::Path::automatic);
      if (a.path == "math") return run_case(a, c, attention::Path::math);
      if (a.path == "fused") return run_case(a, c, attention::Path::fused);
      std::fprintf(stderr, "attention_bench: --path must be auto, math or fused, got '%s'\n",
                   a.path.c_str());
      return 2;
    }
    bool wanted = true;
    for (const std::string& f : a.filters) wanted = wanted && name.find(f) != std::string::npos;
    if (!wanted) continue;
    std::vector<std::string> paths{"auto"};
    if (a.crossover) paths.clear();
    if (c.n <= 512) paths.insert(paths.end(), {"math", "fused"});
    for (const std::string& path : paths) {
      // A fresh process per case: its ru_maxrss is this case's peak alone.
      const std::string cmd =
          std::string("'") + argv[0] + "' --threads " + std::to_string(a.threads) + " --seconds " +
          std::to_string(a.seconds) + " --reps " + std::to_string(a.reps) + " --case '" + name +
          "' --path " + path + (a.crossover ? " --crossover" : "");
      FILE* child = popen(cmd.c_str(), "r");
      if (!child) {
        std::perror("popen");
        return 1;
      }
      char line[4096];
      while (std::fgets(line, sizeof line, child)) std::fputs(line, stdout), std::fflush(stdout);
      if (pclose(child) != 0) {
        std::fprintf(stderr, "attention_bench: case '%s' (%s) failed\n", name.c_str(),
                     path.c_str());
        return 1;
      }
    }
  }
  if (!a.only.empty()) {
    std::fprintf(stderr, "attention_bench: no case named '%s'\n", a.only.c_str());
    return 2;
  }
  return 0;
}
