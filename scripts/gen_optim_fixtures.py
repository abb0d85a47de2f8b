#!/usr/bin/python3
"""Writes the optimiser and schedule fixtures under tests/fixtures/optim (committed; tests/optim
reads them).

Run with Debian's interpreter, which has python3-torch 1.13 and numpy (not a pyenv python3):

    /usr/bin/python3 scripts/gen_optim_fixtures.py [--out tests/fixtures/optim]

sgd.safetensors, adam.safetensors, adamw.safetensors: two parameters, "w" [4,8] (rank 2, a weight)
and "b" [16] (rank 1, a bias or norm scale), stepped 20 times by torch.optim with the same fixed
sequence of gradients. Tensors:
    init.w, init.b                 the parameters before the first step
    grads.w [20,4,8], grads.b [20,16]   the gradient set before step t (row t)
    <case>.w [21,4,8], <case>.b [21,16]  row 0 = init, row t+1 = the parameters after step t
__metadata__: "cases" (a JSON list), "<case>.options" (JSON: the optimiser's options, named as in
focus::optim), and "<case>.skip" (JSON {param: [steps]}: steps at which that parameter has no
gradient, so the optimiser must skip it; torch then leaves its state, step count included, alone).

Hyperparameters are float32 values (as Focus stores them) handed to torch as Python floats, so
both sides start from the same numbers. Sizes are multiples of 16 floats, so torch's CPU kernels
take their vectorised (FMA) paths for every element and Focus can match them to the bit.

AdamW's default in Focus decays rank-2+ parameters only; torch expresses that with two parameter
groups ({w: weight_decay}, {b: 0}). Case "decay_all" (decay_norms_and_biases) uses one group.

schedules.safetensors: the learning rate for steps 0..99 of each schedule, read off the torch
scheduler (the rate in force for step t, i.e. before the t-th scheduler.step()):
    constant       LambdaLR(lambda t: 1)
    step_decay     StepLR(step_size, gamma)
    cosine         CosineAnnealingLR(T_max=total, eta_min=min_lr)
    warmup_cosine  LambdaLR with Focus's formula (torch has no single scheduler for it):
                     t <  warmup:          base·(t+1)/warmup
                     warmup <= t < total:  min + (base−min)·(1 + cos(π·(t−warmup)/(total−warmup)))/2
                     t >= total:           min
    one_cycle      OneCycleLR(anneal_strategy="cos", three_phase=False, cycle_momentum=False)
    plateau_min, plateau_max   ReduceLROnPlateau(mode, factor, patience, threshold,
                   threshold_mode="rel", cooldown=0, min_lr) fed "<name>.metric" [100]; "<name>.lr"
                   [100] is the rate after observing metric t.
The curve of each is "<name>.lr" [100] (float32 of torch's double); "<name>.options" in the
metadata holds the arguments.

Everything is drawn from fixed seeds, so the files are byte-for-byte reproducible.
"""

import argparse
import json
import math
import os
import struct
import zlib

import numpy as np
import torch

F32 = torch.float32
STEPS = 20
SHAPES = {"w": (4, 8), "b": (16,)}
SCHEDULE_STEPS = 100


def f32(x):
    """The float32 value nearest x, as a Python float: what Focus's float options hold."""
    return float(np.float32(x))


# ---- a minimal safetensors writer (there is no safetensors package on Debian) ----------------------

def save_safetensors(path, tensors, metadata):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        if t.dtype != F32:
            raise TypeError(f"{path}: tensor {name} has dtype {t.dtype}; these fixtures hold f32")
        if not torch.isfinite(t).all():
            raise ValueError(f"{path}: tensor {name} has non-finite values")
        blob = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # keeps the data 8-byte aligned, as the reference writer does
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    return os.path.getsize(path)


def generator(name):
    return torch.Generator().manual_seed(zlib.crc32(name.encode()))


# ---- optimisers ---------------------------------------------------------------------------------

def problem():
    """Initial parameters and 20 gradients: a per-element drift (so momentum matters) times a
    per-element scale spanning ~2.5 decades (so Adam's normalisation matters), plus noise."""
    g = generator("optim.problem")
    init, grads = {}, {}
    for k, shape in SHAPES.items():
        init[k] = torch.randn(shape, generator=g, dtype=F32)
        drift = torch.randn(shape, generator=g, dtype=F32)
        scale = 10.0 ** (torch.rand(shape, generator=g, dtype=F32) * 2.5 - 2.0)
        noise = torch.randn((STEPS,) + shape, generator=g, dtype=F32)
        grads[k] = ((drift + 0.5 * noise) * scale).to(F32)
    return init, grads


def run(init, grads, make_opt, skip=None):
    skip = skip or {}
    ps = {k: init[k].clone().requires_grad_() for k in SHAPES}
    opt = make_opt(ps)
    traj = {k: [ps[k].detach().clone()] for k in SHAPES}
    for t in range(STEPS):
        for k, p in ps.items():
            p.grad = None if t in skip.get(k, []) else grads[k][t].clone()
        opt.step()
        for k, p in ps.items():
            traj[k].append(p.detach().clone())
    return {k: torch.stack(v) for k, v in traj.items()}


def optimiser_file(kind, cases):
    """cases: {name: (options, make_opt(ps, options), skip)}"""
    init, grads = problem()
    tensors = {f"init.{k}": init[k] for k in SHAPES}
    tensors.update({f"grads.{k}": grads[k] for k in SHAPES})
    meta = {"cases": json.dumps(list(cases)), "optimizer": kind, "steps": str(STEPS)}
    for name, (options, make_opt, skip) in cases.items():
        traj = run(init, grads, lambda ps: make_opt(ps, options), skip)
        tensors.update({f"{name}.{k}": traj[k] for k in SHAPES})
        meta[f"{name}.options"] = json.dumps(options, sort_keys=True)
        if skip:
            meta[f"{name}.skip"] = json.dumps(skip, sort_keys=True)
    return tensors, meta


def sgd(ps, o):
    return torch.optim.SGD([ps["w"], ps["b"]], lr=o["lr"], momentum=o["momentum"],
                           dampening=o["dampening"], weight_decay=o["weight_decay"],
                           nesterov=o["nesterov"])


def adam(ps, o):
    return torch.optim.Adam([ps["w"], ps["b"]], lr=o["lr"], betas=(o["beta1"], o["beta2"]),
                            eps=o["eps"], weight_decay=o["weight_decay"])


def adamw(ps, o):
    groups = ([{"params": [ps["w"], ps["b"]]}] if o["decay_norms_and_biases"] else
              [{"params": [ps["w"]]}, {"params": [ps["b"]], "weight_decay": 0.0}])
    return torch.optim.AdamW(groups, lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["eps"],
                             weight_decay=o["weight_decay"])


def sgd_options(**kw):
    o = {"lr": 0.05, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False}
    o.update(kw)
    return {k: (f32(v) if isinstance(v, float) else v) for k, v in o.items()}


def adam_options(**kw):
    o = {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0,
         "decay_norms_and_biases": False}
    o.update(kw)
    return {k: (f32(v) if isinstance(v, float) else v) for k, v in o.items()}


# ---- schedules ----------------------------------------------------------------------------------

def curve(make_sched, base):
    # A parameter without a gradient: optimizer.step() is a no-op but keeps torch from warning
    # about the call order.
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base)
    sched = make_sched(opt)
    lrs = []
    for _ in range(SCHEDULE_STEPS):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return torch.tensor(lrs, dtype=torch.float64).to(F32)


def warmup_cosine_lr(t, base, warmup, total, min_lr):
    if t < warmup:
        return base * (t + 1) / warmup
    if t >= total:
        return min_lr
    progress = (t - warmup) / (total - warmup)
    return min_lr + (base - min_lr) * (1 + math.cos(math.pi * progress)) / 2


def metrics():
    """A validation loss that falls, then stalls with noise: plateaus to reduce on."""
    g = generator("optim.plateau")
    t = torch.arange(SCHEDULE_STEPS, dtype=torch.float64)
    loss = 0.05 + torch.exp(-t / 12) + 0.01 * torch.randn(SCHEDULE_STEPS, generator=g, dtype=torch.float64)
    return loss.to(F32)


def plateau(metric, base, o):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, mode="max" if o["maximize"] else "min", factor=o["factor"], patience=o["patience"],
        threshold=o["threshold"], threshold_mode="rel", cooldown=0, min_lr=o["min_lr"])
    lrs = []
    for m in metric.tolist():  # float32 values as Python floats, as Focus passes them
        opt.step()
        sched.step(m)
        lrs.append(opt.param_groups[0]["lr"])
    return torch.tensor(lrs, dtype=torch.float64).to(F32)


def schedules_file():
    S = torch.optim.lr_scheduler
    tensors, meta, names = {}, {}, []

    def add(name, options, lrs, metric=None):
        names.append(name)
        tensors[f"{name}.lr"] = lrs
        if metric is not None:
            tensors[f"{name}.metric"] = metric
        meta[f"{name}.options"] = json.dumps(options, sort_keys=True)

    base = f32(0.1)
    add("constant", {"base": base}, curve(lambda o: S.LambdaLR(o, lambda t: 1.0), base))
    o = {"base": base, "step_size": 30, "gamma": f32(0.1)}
    add("step_decay", o, curve(lambda opt: S.StepLR(opt, o["step_size"], o["gamma"]), base))
    o = {"base": base, "total": SCHEDULE_STEPS, "min_lr": f32(1e-4)}
    add("cosine", o, curve(lambda opt: S.CosineAnnealingLR(opt, o["total"], o["min_lr"]), base))
    o = {"base": base, "warmup": 10, "total": 90, "min_lr": f32(1e-4)}  # 10 steps past the end
    add("warmup_cosine", o, curve(lambda opt: S.LambdaLR(
        opt, lambda t: warmup_cosine_lr(t, base, o["warmup"], o["total"], o["min_lr"]) / base), base))
    o = {"max_lr": base, "total": SCHEDULE_STEPS, "pct_start": f32(0.3), "div_factor": 25.0,
         "final_div_factor": 1e4}
    add("one_cycle", o, curve(lambda opt: S.OneCycleLR(
        opt, max_lr=o["max_lr"], total_steps=o["total"], pct_start=o["pct_start"],
        anneal_strategy="cos", cycle_momentum=False, div_factor=o["div_factor"],
        final_div_factor=o["final_div_factor"], three_phase=False), base))

    loss = metrics()
    o = {"base": base, "factor": f32(0.5), "patience": 3, "maximize": False, "min_lr": f32(1e-3),
         "threshold": f32(1e-2)}
    add("plateau_min", o, plateau(loss, base, o), loss)
    accuracy = (1.0 - loss).to(F32)
    o = {"base": base, "factor": f32(0.1), "patience": 5, "maximize": True, "min_lr": 0.0,
         "threshold": f32(1e-4)}
    add("plateau_max", o, plateau(accuracy, base, o), accuracy)

    meta["schedules"] = json.dumps(names)
    meta["steps"] = str(SCHEDULE_STEPS)
    return tensors, meta


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "tests", "fixtures", "optim"))
    args = ap.parse_args()
    torch.set_num_threads(1)

    files = {
        "sgd": optimiser_file("Sgd", {
            "plain": (sgd_options(), sgd, None),
            "momentum": (sgd_options(momentum=0.9, dampening=0.1), sgd, None),
            "nesterov": (sgd_options(momentum=0.9, nesterov=True), sgd, None),
            "weight_decay": (sgd_options(momentum=0.9, weight_decay=0.1), sgd, None),
        }),
        "adam": optimiser_file("Adam", {
            "plain": (adam_options(), adam, None),
            "weight_decay": (adam_options(lr=0.05, beta1=0.8, beta2=0.99, weight_decay=0.1), adam, None),
            # b has no gradient at steps 5-7: its bias correction runs on its own step count.
            "skip": (adam_options(), adam, {"b": [5, 6, 7]}),
        }),
        "adamw": optimiser_file("AdamW", {
            "default": (adam_options(weight_decay=0.1), adamw, None),
            "decay_all": (adam_options(lr=0.05, weight_decay=0.3, decay_norms_and_biases=True), adamw, None),
        }),
        "schedules": schedules_file(),
    }
    total = 0
    for name, (tensors, meta) in files.items():
        path = os.path.join(args.out, f"{name}.safetensors")
        size = save_safetensors(path, tensors, meta)
        total += size
        print(f"{os.path.relpath(path)}: {len(tensors)} tensors, {size} bytes")
    print(f"total {total} bytes")


if __name__ == "__main__":
    main()
