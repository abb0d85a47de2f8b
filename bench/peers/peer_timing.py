"""Timing and reporting shared by the PyTorch peers: the same loop and JSON line as Focus's side.

timed(fn, reps, seconds) runs fn twice as warm-up, then at least `reps` times and at least
`seconds` in all (at most 1000 times); emit() prints one record in DESIGN.md's convention.
"""
import json
import resource
import statistics
import time


def timed(fn, reps, seconds):
    ms, r = [], -2
    while r < 1000 and (r < reps or sum(ms) < seconds * 1e3):
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
