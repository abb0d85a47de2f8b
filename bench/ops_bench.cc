// The ops benchmark, Focus side (peer: bench/peers/ops_torch.py; driver: scripts/bench.py ops).
//   matmul N=.. threads=T     [N,N]·[N,N], GFLOP/s = 2N³/t
//   OP fwdbwd R=.. D=..       y = OP(x); y.backward(g) on x [R,D] (and layer_norm's weight and
//                             bias [D]) requiring grad; items_per_s counts the R·D elements
//   linear bf16 fwdbwd R=.. IN=.. OUT=..
//                             y = linear(x, w, b) at train.precision bf16, y.backward(g): the
//                             forward and both gradient products of a training step's linear
//                             layer (x [R,IN], w [OUT,IN]); GFLOP/s = 6·R·IN·OUT/t
// Runs every case at the thread count given by --threads (or FOCUS_THREADS, or all cores).
#include <string>

#include "bench_util.h"
#include "focus/focus.h"

using namespace focus;

int main(int argc, char** argv) {
  const bench::Options opt = bench::parse_args(argc, argv);
  const int t = opt.threads;
  Generator gen(1);

  for (int64_t n : {256, 512, 1024, 2048}) {
    const std::string name = "matmul N=" + std::to_string(n) + " threads=" + std::to_string(t);
    if (!bench::wanted(opt, name)) continue;
    Tensor a = Tensor::normal({n, n}, 0, 1, gen), b = Tensor::normal({n, n}, 0, 1, gen);
    const bench::Timing tm = bench::time_it(opt, [&] { matmul(a, b); });
    bench::emit("ops", name, tm, 2.0 * n * n * n / (tm.median_ms * 1e6), 0, t);
  }

  // One fwdbwd case: x [R,D] with a fixed upstream gradient g; the gradients are dropped
  // (zero_grad) before each repetition, as torch's x.grad = None.
  auto fwdbwd = [&](const char* op, int64_t rows, int64_t d) {
    const std::string name =
        std::string(op) + " fwdbwd R=" + std::to_string(rows) + " D=" + std::to_string(d);
    if (!bench::wanted(opt, name)) return;
    const std::string o = op;
    Tensor x = Tensor::normal({rows, d}, 0, 1, gen).requires_grad_();
    Tensor g = Tensor::normal({rows, d}, 0, 1, gen);
    Tensor w = Tensor::normal({d}, 1, 0.1f, gen).requires_grad_();
    Tensor b = Tensor::normal({d}, 0, 0.1f, gen).requires_grad_();
    auto run = [&] {
      Tensor y = o == "softmax"      ? softmax(x, -1)
                 : o == "layer_norm" ? layer_norm(x, w, b)
                                     : gelu(x);
      y.backward(g);
    };
    auto drop = [&] { x.zero_grad(), w.zero_grad(), b.zero_grad(); };
    const bench::Timing tm = bench::time_it(opt, run, drop);
    bench::emit("ops", name, tm, 0, rows * d / (tm.median_ms * 1e-3), t);
  };
  for (int64_t d : {64, 256, 512, 1024}) fwdbwd("softmax", 8192, d);
  for (int64_t d : {64, 256, 512, 1024}) fwdbwd("layer_norm", 8192, d);
  for (int64_t d : {512, 2048}) fwdbwd("gelu", 8192, d);

  // The text benchmark's layers (8,192 tokens): attention in and out, the MLP's two.
  auto linear_case = [&](int64_t rows, int64_t in, int64_t out_f) {
    const std::string name = "linear bf16 fwdbwd R=" + std::to_string(rows) +
                             " IN=" + std::to_string(in) + " OUT=" + std::to_string(out_f);
    if (!bench::wanted(opt, name)) return;
    TrainingPrecisionGuard guard(Precision::bf16);
    Tensor x = Tensor::normal({rows, in}, 0, 1, gen).requires_grad_();       // [R,IN]
    Tensor w = Tensor::normal({out_f, in}, 0, 0.05f, gen).requires_grad_();  // [OUT,IN]
    Tensor b = Tensor::zeros({out_f}).requires_grad_();
    Tensor g = Tensor::normal({rows, out_f}, 0, 1, gen);  // [R,OUT]
    auto run = [&] { linear(x, w, b).backward(g); };
    auto drop = [&] { x.zero_grad(), w.zero_grad(), b.zero_grad(); };
    const bench::Timing tm = bench::time_it(opt, run, drop);
    bench::emit("ops", name, tm, 6.0 * rows * in * out_f / (tm.median_ms * 1e6), 0, t);
  };
  for (const auto& [in, out_f] :
       {std::pair<int64_t, int64_t>{256, 768}, {256, 256}, {256, 1024}, {1024, 256}})
    linear_case(8192, in, out_f);
  return 0;
}
