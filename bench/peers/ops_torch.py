"""The ops benchmark, PyTorch side: the same cases as bench/ops_bench.cc, one JSON line each.

Run by scripts/bench.py with Debian's /usr/bin/python3 (python3-torch) and OPENBLAS_CORETYPE,
OMP_WAIT_POLICY=PASSIVE, OPENBLAS_NUM_THREADS and OMP_NUM_THREADS already in the environment.

  matmul: two peers. "torch" is torch.matmul; "openblas" is raw cblas_sgemm from OpenBLAS's
  OpenMP build (bench/peers/openblas_gemm.c, compiled here with gcc into $FOCUS_BUILD/peers/),
  run once per OPENBLAS_CORETYPE this CPU can execute and per OMP_WAIT_POLICY (PASSIVE, ACTIVE),
  keeping the fastest (its setup is recorded in an extra "setup" field).
  OP fwdbwd: y = OP(x); y.backward(g), x.grad (and weight.grad, bias.grad) set to None between
  repetitions.
  linear bf16 fwdbwd: F.linear under torch.autocast("cpu", dtype=torch.bfloat16), backward with
  an f32 gradient (autocast's mixed precision: bf16 products, f32 weights and gradients).
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys

import torch
import torch.nn.functional as F

from peer_timing import timed

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OPENBLAS = "/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0"


def stats(ms):
    return statistics.median(ms), min(ms), max(ms)


def time_it(args, fn, between=None):
    """Two warm-up calls, then repetitions until --reps and --seconds are both reached."""
    return stats(timed(fn, args.reps, args.seconds, between))


def emit(case, impl, timing, threads, gflops=None, items_per_s=None, rss=None, **extra):
    """One record; rss (MB) defaults to this process's peak."""
    med, lo, hi = timing
    if rss is None:
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rec = {"bench": "ops", "case": case, "impl": impl, "median_ms": round(med, 4),
           "min_ms": round(lo, 4), "max_ms": round(hi, 4), "gflops": gflops,
           "items_per_s": items_per_s, "peak_rss_mb": round(rss, 1), "threads": threads}
    rec.update(extra)
    print(json.dumps(rec), flush=True)


def core_types():
    """OPENBLAS_CORETYPE values worth trying here (None: let OpenBLAS detect)."""
    with open("/proc/cpuinfo") as f:
        avx512 = any(line.startswith("flags") and " avx512f" in line for line in f)
    return ["Haswell", "Zen"] + (["SkylakeX"] if avx512 else []) + [None]


def openblas_harness():
    build = os.environ.get("FOCUS_BUILD", os.path.join(ROOT, "build", "release"))
    exe = os.path.join(build, "peers", "openblas_gemm")
    src = os.path.join(ROOT, "bench", "peers", "openblas_gemm.c")
    if not os.path.exists(exe) or os.path.getmtime(exe) < os.path.getmtime(src):
        os.makedirs(os.path.dirname(exe), exist_ok=True)
        subprocess.run(["gcc", "-O2", "-o", exe, src, "-ldl"], check=True)
    return exe


def bench_openblas(args, n, threads):
    """Best raw OpenBLAS timing over core types and OpenMP wait policies, with the setup that
    gave it; None when none ran."""
    exe = openblas_harness()
    reps = max(args.reps, min(200, int(args.seconds * 1e3 / max(2 * n**3 / 150e6, 0.01))))
    best = None
    for core in core_types():
        for wait in ("PASSIVE", "ACTIVE"):
            env = dict(os.environ, OMP_NUM_THREADS=str(threads),
                       OPENBLAS_NUM_THREADS=str(threads), OMP_WAIT_POLICY=wait)
            env.pop("OPENBLAS_CORETYPE", None)
            if core:
                env["OPENBLAS_CORETYPE"] = core
            p = subprocess.run([exe, OPENBLAS, str(n), str(reps)], env=env, capture_output=True,
                               text=True)
            if p.returncode != 0:  # e.g. SIGILL: kernels this CPU cannot run
                continue
            lines = p.stdout.split()  # core NAME ms... rss_mb PEAK
            t = stats([float(x) for x in lines[2:-2]])
            if best is None or t[0] < best[0][0]:
                best = (t, float(lines[-1]),
                        f"OPENBLAS_CORETYPE={core or 'unset (' + lines[1] + ')'} "
                        f"OMP_WAIT_POLICY={wait}")
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--filter", action="append", default=[])
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    t = args.threads
    torch.set_num_threads(t)
    gen = torch.Generator().manual_seed(1)

    for n in (256, 512, 1024, 2048):
        case = f"matmul N={n} threads={t}"
        if not all(f in case for f in args.filter):
            continue
        a = torch.randn(n, n, generator=gen)
        b = torch.randn(n, n, generator=gen)
        timing = time_it(args, lambda: torch.matmul(a, b))
        emit(case, "torch", timing, t, gflops=2 * n**3 / (timing[0] * 1e6))
        best = bench_openblas(args, n, t)
        if best:
            timing, rss, setup = best
            emit(case, "openblas", timing, t, gflops=2 * n**3 / (timing[0] * 1e6), rss=rss,
                 setup=setup)

    def fwdbwd(op, rows, d):
        case = f"{op} fwdbwd R={rows} D={d}"
        if not all(f in case for f in args.filter):
            return
        x = torch.randn(rows, d, generator=gen).requires_grad_()
        g = torch.randn(rows, d, generator=gen)
        w = (1 + 0.1 * torch.randn(d, generator=gen)).requires_grad_()
        b = (0.1 * torch.randn(d, generator=gen)).requires_grad_()
        if op == "softmax":
            f = lambda: F.softmax(x, -1)
        elif op == "layer_norm":
            f = lambda: F.layer_norm(x, (d,), w, b)
        else:
            f = lambda: F.gelu(x)

        def run():
            f().backward(g)

        def drop():
            x.grad = w.grad = b.grad = None

        timing = time_it(args, run, drop)
        emit(case, "torch", timing, t, items_per_s=rows * d / (timing[0] * 1e-3))

    for d in (64, 256, 512, 1024):
        fwdbwd("softmax", 8192, d)
    for d in (64, 256, 512, 1024):
        fwdbwd("layer_norm", 8192, d)
    for d in (512, 2048):
        fwdbwd("gelu", 8192, d)

    def linear_case(rows, d_in, d_out):
        case = f"linear bf16 fwdbwd R={rows} IN={d_in} OUT={d_out}"
        if not all(f in case for f in args.filter):
            return
        x = torch.randn(rows, d_in, generator=gen).requires_grad_()
        w = (0.05 * torch.randn(d_out, d_in, generator=gen)).requires_grad_()
        b = torch.zeros(d_out).requires_grad_()
        g = torch.randn(rows, d_out, generator=gen)

        def run():
            with torch.autocast("cpu", dtype=torch.bfloat16):
                y = F.linear(x, w, b)
            y.backward(g.to(y.dtype))

        def drop():
            x.grad = w.grad = b.grad = None

        timing = time_it(args, run, drop)
        emit(case, "torch", timing, t, gflops=6 * rows * d_in * d_out / (timing[0] * 1e6))

    for d_in, d_out in ((256, 768), (256, 256), (256, 1024), (1024, 256)):
        linear_case(8192, d_in, d_out)


if __name__ == "__main__":
    sys.exit(main())
