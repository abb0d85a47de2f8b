#!/usr/bin/env python3
"""Runs a benchmark, Focus and then its PyTorch peer, and prints them side by side.

  python3 scripts/bench.py NAME|all [--filter S] [--seconds S] [--reps R]

NAME is a key of BENCHES. Each program prints one JSON line per case (DESIGN.md, "Benchmarks: one
convention"); the lines go to bench/out/NAME.jsonl and into a table whose ratio column is the
speed-up of Focus over each peer (peer_ms / focus_ms). The Focus programs come from
$FOCUS_BUILD (default build/release, what `make bench` builds). The peer runs under Debian's
/usr/bin/python3 (python3-torch) with OpenBLAS and OpenMP set up to run at their best.
Standard library only.
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = "/usr/bin/python3"

# NAME -> focus command, peer command, and the runs: (threads, case filter or "" for every case).
# Both commands get --threads T, then any of --filter S (repeatable: a case must contain each),
# --seconds S, --reps R; {build} is $FOCUS_BUILD.
BENCHES = {
    "ops": {
        "focus": ["{build}/bench/ops_bench"],
        "peer": [PYTHON, "bench/peers/ops_torch.py"],
        "runs": [(2, ""), (1, "matmul")],
    },
    "train": {
        "focus": ["{build}/bench/train_bench"],
        "peer": [PYTHON, "bench/peers/train_torch.py"],
        "runs": [(2, ""), (1, "small")],
    },
    "attention": {
        "focus": ["{build}/bench/attention_bench"],
        "peer": [PYTHON, "bench/peers/attention_torch.py"],
        # The applications' short sequences again on one thread (their training may run so).
        "runs": [(2, ""), (1, "N=50 "), (1, "N=101 "), (1, "lengths=1")],
    },
    "text": {
        "focus": ["{build}/bench/text_bench"],
        "peer": [PYTHON, "bench/peers/text_torch.py"],
        "runs": [(2, "")],
    },
    "speech": {
        "focus": ["{build}/bench/speech_bench"],
        "peer": [PYTHON, "bench/peers/speech_torch.py"],
        "runs": [(2, ""), (1, "train")],
    },
    "vision": {
        "focus": ["{build}/bench/vision_bench"],
        "peer": [PYTHON, "bench/peers/vision_torch.py"],
        "runs": [(2, "")],
    },
}


def cpuinfo(key):
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    return ""


def cpu_flags():
    return cpuinfo("flags").split()


def machine():
    """One line naming the machine and how busy it is: other work skews every number."""
    load = os.getloadavg()[0]
    line = f"{os.cpu_count()} cores, {cpuinfo('model name')}, load {load:.2f}"
    if load > 0.5 * os.cpu_count():
        line += "  (busy: timings will be noisy)"
    return line


def peer_env(threads):
    env = dict(os.environ)
    env.update(OPENBLAS_CORETYPE="SkylakeX" if "avx512f" in cpu_flags() else "Haswell",
               OMP_WAIT_POLICY="PASSIVE", OPENBLAS_NUM_THREADS=str(threads),
               OMP_NUM_THREADS=str(threads))
    return env


def run(cmd, env):
    """Runs one program; returns its JSON records (other output passes through to stderr)."""
    print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
    p = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    records = []
    for line in p.stdout.splitlines():
        if line.startswith("{"):
            records.append(json.loads(line))
        elif line.strip():
            print(line, file=sys.stderr)
    if p.returncode != 0:
        sys.exit(f"bench: {cmd[0]} failed with exit status {p.returncode}")
    return records


def table(records):
    """One row per case: Focus's median with its GFLOP/s or items/s (images, tokens, clips: what
    the issue's targets are written in), each peer's, and peer_ms / focus_ms."""
    cases, by = [], {}
    for r in records:
        if r["case"] not in by:
            cases.append(r["case"])
        by.setdefault(r["case"], {})[r["impl"]] = r
    width = max([len(c) for c in cases] + [4])
    lines = []
    for c in cases:
        impls = by[c]
        focus = impls.get("focus")
        cells = []
        for name, r in impls.items():
            rate = f" {r['gflops']:.1f} GF/s" if r.get("gflops") else ""
            if r.get("items_per_s"):
                rate += f" {r['items_per_s']:,.0f}/s"
            cell = f"{name} {r['median_ms']:.3f} ms{rate}"
            if focus and name != "focus":
                cell += f" (x{r['median_ms'] / focus['median_ms']:.2f})"
            cells.append(cell)
        lines.append(f"{c:<{width}}  " + " | ".join(cells))
    return "\n".join(lines)


def bench(name, args):
    spec = BENCHES[name]
    where = machine()  # before our own load
    build = os.environ.get("FOCUS_BUILD", os.path.join(ROOT, "build", "release"))
    extra = []
    for flag in ("seconds", "reps"):
        if getattr(args, flag) is not None:
            extra += [f"--{flag}", str(getattr(args, flag))]
    records = []
    for threads, only in spec["runs"]:
        filters = [f for f in (only, args.filter) if f]  # a case must match both
        common = ["--threads", str(threads)] + [a for f in filters for a in ("--filter", f)] + extra
        focus_env = dict(os.environ, FOCUS_THREADS=str(threads), FOCUS_BUILD=build)
        records += run([a.format(build=build) for a in spec["focus"]] + common, focus_env)
        records += run(spec["peer"] + common, dict(peer_env(threads), FOCUS_BUILD=build))
    os.makedirs(os.path.join(ROOT, "bench", "out"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "out", f"{name}.jsonl"), "w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    print(f"== {name} on {where}\n   (xR: peer_ms / focus_ms, > 1 means Focus is faster)")
    print(table(records), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("name", choices=sorted(BENCHES) + ["all"])
    ap.add_argument("--filter", default="", help="only cases whose name contains this")
    ap.add_argument("--seconds", type=float, help="time each case for at least this long")
    ap.add_argument("--reps", type=int, help="and at least this many repetitions")
    args = ap.parse_args()
    for name in sorted(BENCHES) if args.name == "all" else [args.name]:
        bench(name, args)


if __name__ == "__main__":
    main()
