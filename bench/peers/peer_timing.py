"""Timing and reporting shared by the PyTorch peers: the same loop and JSON line as Focus's side.

timed(fn, reps, seconds) runs fn twice as warm-up, then at least `reps` times and at least
`seconds` in all (at most 1000 times); emit() prints one record in DESIGN.md's convention;
parse_args() reads the flags every peer takes; train_step() is the step the training cases time.
"""
import argparse
import json
import resource
import statistics
import time

import torch


def parse_args():
    """--threads (applied to torch here), --filter (repeatable), --seconds, --reps."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--filter", action="append", default=[])
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    return a


def train_step(model, opt, next_batch, clip=1.0, bf16=False):
    """One training step on next_batch() -> (x, y): forward, cross-entropy, backward, gradient-norm
    clipping (unless clip is None), the optimiser, zero_grad. bf16: the forward under
    torch.autocast("cpu", bfloat16), PyTorch's mixed precision (Focus: train.precision bf16)."""
    def step():
        x, y = next_batch()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
    return step


def shuffled(x, y, batch):
    """next_batch() over (x, y): consecutive batches of a shuffled order, reshuffled when spent
    (indexing pre-made tensors: PyTorch's cheapest loader)."""
    n = len(x)
    state = {"order": torch.randperm(n), "at": 0}

    def next_batch():
        if state["at"] + batch > n:
            state["order"], state["at"] = torch.randperm(n), 0
        idx = state["order"][state["at"]:state["at"] + batch]
        state["at"] += batch
        return x[idx], y[idx]
    return next_batch


def timed(fn, reps, seconds, between=None):
    """Milliseconds per call of fn; between(), if given, runs untimed before each call."""
    ms, r = [], -2
    while r < 1000 and (r < reps or sum(ms) < seconds * 1e3):
        if between:
            between()
        t0 = time.perf_counter()
        fn()
        t = (time.perf_counter() - t0) * 1e3
        if r >= 0:
            ms.append(t)
        r += 1
    return ms


def emit(bench, case, ms, items, threads):
    """items: what one call processes (images, tokens, clips), for items_per_s."""
    med = statistics.median(ms)
    print(json.dumps({"bench": bench, "case": case, "impl": "torch",
                      "median_ms": round(med, 4), "min_ms": round(min(ms), 4),
                      "max_ms": round(max(ms), 4), "gflops": None,
                      "items_per_s": round(items * 1e3 / med, 1),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                      "threads": threads}), flush=True)
