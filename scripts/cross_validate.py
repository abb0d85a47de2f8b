#!/usr/bin/env python3
"""k-fold cross-validation of one config, to choose between configs on more than one small split.

    python3 scripts/cross_validate.py CONFIG OUT [--folds 5] [--jobs 2] [--focus BIN]
                                      [--set key=value ...] [--seed S]

Fold f is `focus train --config CONFIG --set data.folds=K --set data.fold=f --threads 1 --quiet
--out OUT/foldF`: its validation split is the f-th of K stratified folds of the training and
validation mails, and the test split is the one every run of the config has (tasks with a
data.folds option: spam). JOBS folds train at once. A fold whose log.jsonl already has its last
epoch is not trained again, so an interrupted run picks up where it stopped.

It prints, pooled over the folds (every training and validation example scored once, by the
model that did not train on it):
  - the last epoch's validation accuracy and loss: the figure to compare configs by, since
    nothing was chosen on it;
  - the best epoch's, per fold, as the trainer chooses its checkpoint (optimistic, shown for
    reference);
and writes them with the per-fold figures to OUT/cv.json. The folds are trained with
`--no-test`: no fold model is scored on the test split, so that choices made by cross-validation
stay blind to it (the test split is the config's, the same in every fold; `focus eval` of the
fold models reads it once the choice is made).
"""
import argparse
import json
import math
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def epochs_of(log_path):
    """The epoch records of a focus log.jsonl, in order."""
    out = []
    with open(log_path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            rec = json.loads(line)
            if rec.get("kind") == "epoch":
                out.append(rec)
    return out


def planned_epochs(config, sets):
    epochs = config.get("train", {}).get("epochs")
    for s in sets:
        key, _, value = s.partition("=")
        if key == "train.epochs":
            epochs = int(value)
    return epochs


def fold_done(fold_dir, epochs):
    log = os.path.join(fold_dir, "log.jsonl")
    if not os.path.exists(log) or not os.path.exists(os.path.join(fold_dir, "best.safetensors")):
        return False
    recs = epochs_of(log)
    return bool(recs) and recs[-1]["epoch"] >= epochs


def train_fold(args, fold, epochs):
    fold_dir = os.path.join(args.out, f"fold{fold}")
    if fold_done(fold_dir, epochs):
        return fold, "trained already"
    cmd = [args.focus, "train", "--config", args.config, "--out", fold_dir, "--threads", "1",
           "--quiet", "--no-test", "--set", f"data.folds={args.folds}",
           "--set", f"data.fold={fold}"]
    if args.seed is not None:
        cmd += ["--seed", str(args.seed)]
    for s in args.set:
        cmd += ["--set", s]
    with open(os.path.join(args.out, f"fold{fold}.log"), "w") as log:
        rc = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT)
    if rc != 0:
        with open(os.path.join(args.out, f"fold{fold}.log")) as log:
            lines = [l.rstrip() for l in log if l.startswith("focus ")]
        raise RuntimeError(f"fold {fold}: focus train failed ({rc}): " +
                           (lines[0] if lines else f"see {args.out}/fold{fold}.log"))
    return fold, "trained"


def pool(out, folds):
    per_fold = []
    for f in range(folds):
        recs = epochs_of(os.path.join(out, f"fold{f}", "log.jsonl"))
        meta = json.load(open(os.path.join(out, f"fold{f}", "data.json")))
        n = int(meta["validation"])
        last = recs[-1]
        best = max(recs, key=lambda r: (r["val_accuracy"], -r["epoch"]))
        per_fold.append({"fold": f, "examples": n,
                         "last": {"epoch": last["epoch"], "accuracy": last["val_accuracy"],
                                  "loss": last["val_loss"]},
                         "best": {"epoch": best["epoch"], "accuracy": best["val_accuracy"],
                                  "loss": best["val_loss"]}})
    total = sum(p["examples"] for p in per_fold)
    summary = {"folds": folds, "examples": total, "per_fold": per_fold}
    for which in ("last", "best"):
        correct = sum(round(p[which]["accuracy"] * p["examples"]) for p in per_fold)
        loss = sum(p[which]["loss"] * p["examples"] for p in per_fold) / total
        acc = correct / total
        summary[which] = {"accuracy": acc, "errors": total - correct, "loss": loss,
                          # binomial standard error of the pooled accuracy
                          "stderr": math.sqrt(acc * (1 - acc) / total)}
    return summary


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("config")
    ap.add_argument("out")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--focus", default=os.path.join(ROOT, "build", "release", "focus"))
    ap.add_argument("--seed", type=int, default=None, help="overrides train.seed in every fold")
    ap.add_argument("--set", action="append", default=[], help="config value, as focus train's")
    args = ap.parse_args()
    if args.folds < 2:
        sys.exit("cross_validate: --folds must be >= 2")
    if args.jobs < 1:
        sys.exit("cross_validate: --jobs must be >= 1")
    if not os.path.isfile(args.config):
        sys.exit(f"cross_validate: no config at {args.config}")
    if not os.access(args.focus, os.X_OK):
        sys.exit(f"cross_validate: no focus binary at {args.focus} (make build)")
    config = json.load(open(args.config))
    epochs = planned_epochs(config, args.set)
    os.makedirs(args.out, exist_ok=True)
    with ThreadPoolExecutor(max_workers=args.jobs) as ex:
        futures = [ex.submit(train_fold, args, f, epochs) for f in range(args.folds)]
        try:
            for fut in futures:
                fold, what = fut.result()
                print(f"fold {fold}: {what}", flush=True)
        except RuntimeError as e:
            sys.exit(f"cross_validate: {e}")
    s = pool(args.out, args.folds)
    s["config"] = os.path.abspath(args.config)
    s["set"] = args.set
    s["seed"] = args.seed
    tmp = os.path.join(args.out, "cv.json.tmp")
    with open(tmp, "w") as f:
        json.dump(s, f, indent=1)
    os.replace(tmp, os.path.join(args.out, "cv.json"))
    for p in s["per_fold"]:
        print(f"fold {p['fold']}: {p['examples']} validation, last epoch {p['last']['epoch']}: "
              f"{100 * p['last']['accuracy']:.2f}% / {p['last']['loss']:.4f}; best epoch "
              f"{p['best']['epoch']}: {100 * p['best']['accuracy']:.2f}%")
    for which, what in (("last", "last epoch (compare by this)"), ("best", "best epoch per fold")):
        w = s[which]
        print(f"cross-validation, {what}: accuracy {100 * w['accuracy']:.2f}% "
              f"(± {100 * w['stderr']:.2f}), {w['errors']} errors of {s['examples']}, "
              f"loss {w['loss']:.4f}")


if __name__ == "__main__":
    main()
