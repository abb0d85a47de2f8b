#!/usr/bin/env python3
"""Out-of-fold figures of an ensemble of cross-validation runs, to judge an ensemble without the test split.

    python3 scripts/oof_mix.py RUN [RUN ...] [--focus BIN] [--threshold T] [--errors]

Each RUN is an output folder of scripts/cross_validate.py (RUN/fold0, RUN/fold1, ...), of any
config. Every fold model scores its own validation fold (`focus eval FOLD --split validation
--probabilities`, kept as FOLD/val_probs.csv, so a second call costs nothing): per run, every
training and validation example is scored once, by a model that did not train on it. The runs'
class probabilities are averaged per example with equal weight per run, as `focus eval` of all
their fold models averages them on the test split, and it prints, for each run alone and for the
mix: the errors, the log loss, and for two classes the errors of each kind at the decision
threshold (the second class is the positive one, as `focus eval --threshold`). The runs must score
the same examples (the same data config and folds). The test split is never read.

--errors lists the mix's misclassified examples (one run's, for one run), each with its true
class, the mixed probability of that class and every run's, and counts them by the folder of
their source file (the corpus's groups, for the spam task: hard-ham-1, spam-2, ...).
"""
import argparse
import collections
import csv
import math
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fold_dirs(run):
    folds = sorted((d for d in os.listdir(run) if d.startswith("fold") and d[4:].isdigit()),
                   key=lambda d: int(d[4:]))
    dirs = [os.path.join(run, d) for d in folds if os.path.isdir(os.path.join(run, d))]
    if not dirs:
        sys.exit(f"oof_mix: no fold folders in {run} (an output of scripts/cross_validate.py)")
    return dirs


def fold_probabilities(fold, focus):
    """{example key: (label, [p per class])} and the class names, for one fold model."""
    path = os.path.join(fold, "val_probs.csv")
    if not os.path.exists(path):
        if not os.path.exists(os.path.join(fold, "best.safetensors")):
            sys.exit(f"oof_mix: {fold} has no trained model (is its cross-validation finished?)")
        tmp = path + ".tmp"
        rc = subprocess.call([focus, "eval", fold, "--split", "validation", "--threads", "1",
                              "--probabilities", tmp], stdout=subprocess.DEVNULL)
        if rc != 0:
            sys.exit(f"oof_mix: focus eval {fold} --split validation failed ({rc})")
        os.replace(tmp, path)
    with open(path) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.exit(f"oof_mix: {path} is empty")
    classes = [c for c in rows[0] if c not in ("example", "label", "source")]
    # The source file names an example across configs; without one, its index in the split does.
    key = "source" if "source" in rows[0] else "example"
    return {r[key]: (r["label"], [float(r[c]) for c in classes]) for r in rows}, classes


def run_probabilities(run, focus):
    out, classes = {}, None
    for fold in fold_dirs(run):
        probs, cls = fold_probabilities(fold, focus)
        if classes is not None and cls != classes:
            sys.exit(f"oof_mix: {fold} has classes {cls}, the other folds {classes}")
        classes = cls
        twice = set(probs) & set(out)
        if twice:
            sys.exit(f"oof_mix: {len(twice)} examples are in two folds of {run}")
        out.update(probs)
    return out, classes


def guess_of(p, classes, threshold):
    """The predicted class: for two classes the second above the threshold, else the likeliest."""
    if len(classes) == 2:
        return 1 if p[1] > threshold else 0
    return max(range(len(p)), key=lambda c: p[c])


def score(probs, classes, threshold):
    """(errors, [false positives, false negatives] for two classes, log loss)."""
    errors, kinds, loss = 0, [0, 0], 0.0
    for label, p in probs.values():
        truth = classes.index(label)
        if guess_of(p, classes, threshold) != truth:
            errors += 1
            if len(classes) == 2:
                kinds[0 if truth == 0 else 1] += 1
        loss -= math.log(max(p[truth], 1e-7))
    return errors, kinds, loss / len(probs)


def list_errors(mix, runs, classes, threshold):
    """One line per misclassified example of `mix`, nearest the decision first, then the count by
    folder."""
    wrong = []
    for key, (label, p) in mix.items():
        truth = classes.index(label)
        if guess_of(p, classes, threshold) != truth:
            each = " ".join(f"{r[key][1][truth]:.3f}" for r in runs)
            wrong.append((-p[truth], key, label, each))
    folders = collections.Counter()
    for minus_p, key, label, each in sorted(wrong):
        folders[os.path.basename(os.path.dirname(key)) or "-"] += 1
        print(f"error: {label} {-minus_p:.3f} (runs: {each}) {key}")
    print("errors by folder: " +
          (", ".join(f"{f} {n}" for f, n in folders.most_common()) if folders else "none"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", metavar="RUN")
    ap.add_argument("--focus", default=os.path.join(ROOT, "build", "release", "focus"))
    ap.add_argument("--threshold", type=float, default=0.5,
                    help="two classes: the second is predicted above it (as focus eval's)")
    ap.add_argument("--errors", action="store_true",
                    help="list the mix's misclassified examples and count them by folder")
    args = ap.parse_args()
    if not 0.0 < args.threshold < 1.0:
        sys.exit("oof_mix: --threshold must be in (0, 1)")
    if not os.access(args.focus, os.X_OK):
        sys.exit(f"oof_mix: no focus binary at {args.focus} (make build)")
    runs = []
    for run in args.runs:
        if not os.path.isdir(run):
            sys.exit(f"oof_mix: no folder {run}")
        runs.append(run_probabilities(run, args.focus))
    keys, classes = sorted(runs[0][0]), runs[0][1]
    for run, (probs, cls) in zip(args.runs, runs):
        if sorted(probs) != keys or cls != classes:
            sys.exit(f"oof_mix: {run} scores other examples or classes than {args.runs[0]}: "
                     "the runs must share their data config and folds")
    mix = {k: (runs[0][0][k][0],
               [sum(r[0][k][1][c] for r in runs) / len(runs) for c in range(len(classes))])
           for k in keys}
    rows = [(run, probs) for run, (probs, _) in zip(args.runs, runs)]
    if len(runs) > 1:
        rows.append((f"mix of {len(runs)} runs", mix))
    for name, probs in rows:
        errors, kinds, loss = score(probs, classes, args.threshold)
        what = (f" ({kinds[0]} false {classes[1]}, {kinds[1]} {classes[1]} missed)"
                if len(classes) == 2 else "")
        print(f"{name}: {errors} errors of {len(probs)}{what}, log loss {loss:.4f}")
    if args.errors:
        list_errors(rows[-1][1], [p for p, _ in runs], classes, args.threshold)


if __name__ == "__main__":
    main()
