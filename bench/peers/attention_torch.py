"""The attention benchmark, PyTorch side: the cases of bench/attention_bench.cc, one JSON line each.

Run by scripts/bench.py with Debian's /usr/bin/python3 (python3-torch) and OPENBLAS_CORETYPE,
OMP_WAIT_POLICY=PASSIVE, OPENBLAS_NUM_THREADS and OMP_NUM_THREADS already in the environment.
Two implementations of softmax(Q·Kᵀ/√D)·V on q, k, v [B,H,N,D] f32:

  torch      the computation in torch ops: s = (q·scale) @ kᵀ, masked_fill_ of the upper triangle
             when causal and of the padding keys (lengths=1), softmax, @ v. Materialises the
             [B,H,N,N] scores.
  torch_mha  nn.MultiheadAttention(E = H·D, H, batch_first) on x [B,N,E], need_weights=False, with
             a causal attn_mask when causal, key_padding_mask for lengths=1. It also does the input and output projections
             (2·B·N·E·4E more flops), so its gflops is null; compare times. torch 1.13's module
             materialises the scores as well.

fwd runs under torch.no_grad(); fwdbwd calls backward(dout) and drops the gradients (= None)
before each repetition. GFLOP/s as on the Focus side (FlashAttention's convention). Each
(case, impl) runs in a fresh process (this script with --child), so peak_rss_mb is its own
ru_maxrss; base_rss_mb is the RSS before its tensors were made (torch's own libraries: ~250 MB).
A case whose [B,H,N,N] tensors would need more than --max-gib (12) is not run; a line says so.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

# (bwd, n, b, h, d, causal, lengths): the small shapes of the applications first (as
# bench/attention_bench.cc), then the sweep.
CASES = ([(bwd, n, b, h, d, 0, lens) for bwd in (0, 1)
          for n, b, h, d, lens in ((50, 128, 4, 32, 0), (101, 64, 4, 64, 0), (256, 32, 4, 64, 1))]
         + [(bwd, n, 8, 8, 64, causal, 0) for n in (128, 512, 1024, 2048, 4096, 8192)
            for causal in (0, 1) for bwd in (0, 1)])
IMPLS = ("torch", "torch_mha")


def name(bwd, n, b, h, d, causal, lengths):
    return (f"{'fwdbwd' if bwd else 'fwd'} N={n} B={b} H={h} D={d} causal={causal}"
            + (" lengths=1" if lengths else ""))


def key_length(b, n):
    """Key lengths of the lengths=1 cases, in (N/4, N], as bench/attention_bench.cc."""
    return n - (b * 7919) % (n * 3 // 4)


def gflop(bwd, n, b, h, d, causal, lengths):
    fwd = 4.0 * b * h * n * n * d * (0.5 if causal else 1.0)
    return (3.5 if bwd else 1.0) * fwd * 1e-9


def score_gib(bwd, n, b, h, d, causal, lengths):
    """Estimated peak of the materialised [B,H,N,N] f32 tensors: measured 2.5 of them in the
    forward, 3.9 in forward + backward (N=1024)."""
    return (4 if bwd else 2.5) * b * h * n * n * 4 / 2**30


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def time_it(args, fn):
    """Warm-up (2 runs, 1 when a run takes over a second), then repetitions until --reps and
    --seconds are both reached; 3 when one run takes over 3 s."""
    t0 = time.perf_counter()
    fn()
    if time.perf_counter() - t0 < 1.0:
        fn()
    ms = []
    while len(ms) < 1000:
        if ms and ms[-1] > 3000:
            if len(ms) >= 3:
                break
        elif len(ms) >= args.reps and sum(ms) >= args.seconds * 1e3:
            break
        t0 = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ms), min(ms), max(ms)


def child(args):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    impl, case = args.child.split(":", 1)
    bwd, n, b, h, d, causal, lengths = next(c for c in CASES if name(*c) == case)
    base = rss_mb()
    gen = torch.Generator().manual_seed(1)
    mask = torch.ones(n, n, dtype=torch.bool).triu_(1) if causal else None
    pad = None  # [B,N], True for a padding key
    if lengths:
        lens = torch.tensor([key_length(i, n) for i in range(b)])
        pad = torch.arange(n)[None, :] >= lens[:, None]
    if impl == "torch":
        q, k, v, g = (torch.randn(b, h, n, d, generator=gen) for _ in range(4))
        scale = d ** -0.5

        def attention():
            s = (q * scale) @ k.transpose(-1, -2)
            if causal:
                s.masked_fill_(mask, float("-inf"))
            if pad is not None:
                s.masked_fill_(pad[:, None, None, :], float("-inf"))
            return F.softmax(s, -1) @ v

        leaves = (q, k, v)
    else:
        e = h * d
        mha = torch.nn.MultiheadAttention(e, h, batch_first=True)
        x = torch.randn(b, n, e, generator=gen)
        g = torch.randn(b, n, e, generator=gen)

        def attention():
            return mha(x, x, x, need_weights=False, attn_mask=mask, key_padding_mask=pad)[0]

        leaves = (x,) + tuple(mha.parameters())
    if bwd:
        for t in leaves:
            t.requires_grad_(True)

        def run():
            for t in leaves:
                t.grad = None
            attention().backward(g)
    else:
        def run():
            with torch.no_grad():
                attention()
    med, lo, hi = time_it(args, run)
    rec = {"bench": "attention", "case": case, "impl": impl, "median_ms": round(med, 4),
           "min_ms": round(lo, 4), "max_ms": round(hi, 4),
           "gflops": round(gflop(bwd, n, b, h, d, causal, lengths) / (med * 1e-3), 2)
           if impl == "torch" else None,
           "items_per_s": None,
           "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
           "threads": args.threads, "base_rss_mb": round(base, 1)}
    print(json.dumps(rec), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--filter", action="append", default=[])
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--max-gib", type=float, default=12.0)
    ap.add_argument("--child", help=argparse.SUPPRESS)  # IMPL:CASE, run in this process
    args = ap.parse_args()
    if args.child:
        return child(args)
    for c in CASES:
        case = name(*c)
        if not all(f in case for f in args.filter):
            continue
        need = score_gib(*c)
        if need > args.max_gib:
            print(f"torch: skipping '{case}': its [B,H,N,N] tensors would need ~{need:.0f} GiB "
                  f"(> {args.max_gib:g} GiB)", flush=True)
            continue
        for impl in IMPLS:
            cmd = [sys.executable, os.path.abspath(__file__), "--threads", str(args.threads),
                   "--seconds", str(args.seconds), "--reps", str(args.reps),
                   "--child", f"{impl}:{case}"]
            p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
            sys.stdout.write(p.stdout)
            sys.stdout.flush()
            if p.returncode != 0:
                return f"attention_torch: {impl} on '{case}' failed (exit status {p.returncode})"
    return 0


if __name__ == "__main__":
    sys.exit(main())
