#!/usr/bin/python3
"""Writes the PyTorch parity fixtures under tests/fixtures (committed; tests/parity reads them).

Run with Debian's interpreter, which has python3-torch and numpy (not a pyenv python3):

    /usr/bin/python3 scripts/gen_fixtures.py [--out tests/fixtures]

Layout of tests/fixtures/ops/<op>.safetensors: one file per op, several cases per file. Tensors are
named "<case>.<what>": the inputs ("<case>.a", "<case>.x", ...), a random upstream gradient
"<case>.gout" of the output's shape, the output "<case>.out" and the gradient of every
differentiable input "<case>.grad.<input>" (= d(sum(out * gout))/d input, from out.backward(gout)).
An input without a "grad." entry is not differentiable (ids, targets, conditions, masks).
__metadata__ holds "cases" (a JSON list, in order), "op", and each case's parameters as
"<case>.<param>": JSON text for numbers, lists and booleans ("[0,2]", "true", "1e-05"), the bare
string for strings ("tanh", "mean").

Inputs are drawn in float32; the reference output and gradients are computed in float64 from those
float32 values and rounded to float32 once, so the fixtures carry only one rounding and the
tolerances in tests/parity measure Focus's error alone.

Every op file is generated from its own seed (torch.manual_seed(crc32(op))), so the output is
byte-for-byte reproducible and adding an op does not change the others.
Dropout has no fixture: its mask cannot match torch's RNG; it is checked statistically elsewhere.
"""

import argparse
import json
import os
import struct
import zlib

import numpy as np
import torch
import torch.nn.functional as F

F32 = torch.float32
F64 = torch.float64


# ---- a minimal safetensors writer (there is no safetensors package on Debian) ----------------------

def save_safetensors(path, tensors, metadata, allow_nonfinite=False):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        if t.dtype == F32:
            dtype, arr = "F32", t.numpy().astype("<f4")
        elif t.dtype == torch.int32:
            dtype, arr = "I32", t.numpy().astype("<i4")
        else:
            raise TypeError(f"{path}: tensor {name} has dtype {t.dtype}; fixtures hold f32 and i32")
        if t.dtype == F32 and not allow_nonfinite and not torch.isfinite(t).all():
            raise ValueError(f"{path}: tensor {name} has non-finite values")
        blob = arr.tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
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


# ---- helpers ------------------------------------------------------------------------------------

def randn(*shape):
    return torch.randn(tuple(shape), dtype=F32)


def uniform(lo, hi, *shape):
    return lo + (hi - lo) * torch.rand(tuple(shape), dtype=F32)


def away_from_zero(*shape):
    """Values in ±[0.5, 2): safe divisors and bases for negative exponents."""
    sign = torch.where(torch.rand(tuple(shape)) < 0.5, -1.0, 1.0).to(F32)
    return sign * uniform(0.5, 2.0, *shape)


def mask01(*shape):
    return (torch.rand(tuple(shape)) < 0.5).to(F32)


def param_text(v):
    return v if isinstance(v, str) else json.dumps(v)


class OpFile:
    """Collects the cases of one op and writes them to <out>/ops/<op>.safetensors."""

    def __init__(self, out_dir, op):
        self.path = os.path.join(out_dir, "ops", op + ".safetensors")
        self.op = op
        self.tensors, self.meta, self.cases = {}, {"op": op}, []
        torch.manual_seed(zlib.crc32(op.encode()))

    def case(self, name, fn, inputs, grads=None, params=None):
        """inputs: {name: f32 or i32 tensor}; grads: the inputs that are differentiable (default:
        every f32 input); fn(**inputs as float64 leaves) -> output."""
        assert name not in self.cases and "." not in name
        if grads is None:
            grads = [k for k, v in inputs.items() if v.dtype == F32]
        leaves = {}
        for k, v in inputs.items():
            if v.dtype == F32:
                leaves[k] = v.to(F64).requires_grad_(k in grads)
            else:
                leaves[k] = v
        out = fn(**leaves)
        gout = randn(*out.shape)
        out.backward(gout.to(F64))
        for k, v in inputs.items():
            self.tensors[f"{name}.{k}"] = v
        self.tensors[f"{name}.gout"] = gout
        self.tensors[f"{name}.out"] = out.detach().to(F32)
        for k in grads:
            self.tensors[f"{name}.grad.{k}"] = leaves[k].grad.to(F32)
        for k, v in (params or {}).items():
            self.meta[f"{name}.{k}"] = param_text(v)
        self.cases.append(name)

    def save(self):
        self.meta["cases"] = json.dumps(self.cases)
        self.meta["generator"] = "scripts/gen_fixtures.py (torch %s, float64 reference)" % torch.__version__
        save_safetensors(self.path, self.tensors, self.meta)


# ---- elementwise --------------------------------------------------------------------------------

def binary_ops(out):
    fns = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div}
    for op, fn in fns.items():
        f = OpFile(out, op)
        rhs = away_from_zero if op == "div" else randn
        shapes = {
            "same": ([3, 4], [3, 4]),
            "bcast_row": ([3, 4], [4]),         # [3,4] op [4]
            "bcast_both": ([2, 1, 4], [3, 1]),  # [2,1,4] op [3,1] -> [2,3,4]
            "scalar_rhs": ([3, 4], []),         # rank-0 right operand
            "scalar_lhs": ([], [2, 3]),         # rank-0 left operand
            "one_rhs": ([5], [1]),
            "odd": ([7, 129], [129]),
        }
        for name, (sa, sb) in shapes.items():
            f.case(name, lambda a, b: fn(a, b), {"a": randn(*sa), "b": rhs(*sb)})
        f.save()


def unary_ops(out):
    positive = lambda *s: uniform(0.1, 3.0, *s)
    ops = {
        "neg": (torch.neg, randn),
        "exp": (torch.exp, randn),
        "log": (torch.log, positive),
        "sqrt": (torch.sqrt, positive),
        "tanh": (torch.tanh, lambda *s: 2 * randn(*s)),
        "sigmoid": (torch.sigmoid, lambda *s: 3 * randn(*s)),
        "relu": (torch.relu, randn),
    }
    shapes = {"r2": [3, 4], "r3": [2, 3, 5], "odd": [129], "r0": []}
    for op, (fn, gen) in ops.items():
        f = OpFile(out, op)
        for name, s in shapes.items():
            f.case(name, lambda x: fn(x), {"x": gen(*s)})
        f.save()

    f = OpFile(out, "gelu")
    for approx in ["none", "tanh"]:
        for name, s in {"r2": [3, 4], "r3": [2, 3, 5], "odd": [129]}.items():
            f.case(f"{approx}_{name}", lambda x: F.gelu(x, approximate=approx), {"x": 2 * randn(*s)},
                   params={"approximate": approx})
    f.save()

    f = OpFile(out, "pow")
    for name, e, gen in [("sq", 2.0, randn), ("cube", 3.0, randn), ("half", 0.5, positive),
                         ("inv", -1.0, away_from_zero), ("odd_sq", 2.0, randn)]:
        s = [129] if name.startswith("odd") else [3, 4]
        f.case(name, lambda x: torch.pow(x, e), {"x": gen(*s)}, params={"exponent": e})
    f.save()


# ---- reductions ---------------------------------------------------------------------------------

def reduce_ops(out):
    def amax(x, dim, keepdim):
        return torch.amax(x, dim=dim, keepdim=keepdim)

    fns = {"sum": torch.sum, "mean": torch.mean, "max": amax}
    cases = {
        "axis1": ([3, 4, 5], [1], False),
        "axis1_keep": ([3, 4, 5], [1], True),
        "axis_last": ([3, 4, 5], [-1], False),
        "axes02": ([3, 4, 5], [0, 2], False),
        "axes02_keep": ([3, 4, 5], [0, 2], True),
        "all": ([3, 4, 5], [], False),           # empty axes: every axis, rank-0 output
        "all_keep": ([3, 4, 5], [], True),
        "r1": ([6], [0], False),
        "odd": ([7, 129], [1], False),
        "odd_axis0": ([7, 129], [0], True),
    }
    for op, fn in fns.items():
        f = OpFile(out, op)
        for name, (s, axes, keep) in cases.items():
            dims = axes if axes else list(range(len(s)))
            # Random inputs have no ties, so amax's gradient equals torch.max(x, dim)'s.
            f.case(name, lambda x: fn(x, dim=dims, keepdim=keep), {"x": randn(*s)},
                   params={"axes": axes, "keepdim": keep})
        f.save()


# ---- linear algebra -----------------------------------------------------------------------------

def matmul_ops(out):
    f = OpFile(out, "matmul")
    for name, sa, sb in [("d2", [3, 4], [4, 5]),
                         ("batched", [2, 3, 4, 5], [2, 3, 5, 6]),
                         ("bcast_rhs", [2, 3, 4, 5], [5, 6]),   # batch axes of a only
                         ("bcast_lhs", [4, 5], [3, 5, 2]),      # batch axes of b only
                         ("bcast_both", [2, 1, 3, 4], [5, 4, 2]),
                         ("odd", [7, 129], [129, 3])]:
        f.case(name, lambda a, b: torch.matmul(a, b), {"a": randn(*sa), "b": randn(*sb)})
    f.save()

    f = OpFile(out, "linear")
    for name, sx, o, bias in [("x2_bias", [5, 8], 6, True), ("x2_nobias", [5, 8], 6, False),
                              ("x3_bias", [2, 3, 8], 6, True), ("x3_nobias", [2, 3, 8], 6, False),
                              ("odd", [7, 129], 3, True)]:
        inputs = {"x": randn(*sx), "w": randn(o, sx[-1]) / sx[-1] ** 0.5}
        if bias:
            inputs["b"] = randn(o)
        f.case(name, lambda x, w, b=None: F.linear(x, w, b), inputs, params={"bias": bias})
    f.save()


# ---- normalisation and probabilities ------------------------------------------------------------

def norm_ops(out):
    for op, fn in [("softmax", torch.softmax), ("log_softmax", torch.log_softmax)]:
        f = OpFile(out, op)
        for name, s, axis, scale in [("last", [2, 3, 5], -1, 1.0), ("axis1", [2, 3, 5], 1, 1.0),
                                     ("axis0", [4, 3], 0, 1.0), ("odd", [3, 129], -1, 1.0),
                                     ("large", [4, 7], -1, 30.0)]:  # large: needs max-subtraction
            f.case(name, lambda x: fn(x, dim=axis), {"x": scale * randn(*s)}, params={"axis": axis})
        f.save()

    f = OpFile(out, "layer_norm")
    for name, s, affine in [("affine", [4, 6], True), ("affine_r3", [2, 3, 8], True),
                            ("noaffine", [3, 5], False), ("odd", [3, 129], True)]:
        d = s[-1]
        inputs = {"x": 2 * randn(*s) + 0.5}
        if affine:
            inputs["weight"] = 1 + 0.5 * randn(d)
            inputs["bias"] = randn(d)
        f.case(name, lambda x, weight=None, bias=None: F.layer_norm(x, (d,), weight, bias, eps=1e-5),
               inputs, params={"eps": 1e-5})
    f.save()


# ---- lookup and losses --------------------------------------------------------------------------

def embedding_ops(out):
    f = OpFile(out, "embedding")
    # Repeated ids: their rows' gradients must accumulate.
    for name, v, ids in [("r1", 10, torch.tensor([1, 3, 1, 0, 9, 3])),
                         ("r2", 7, torch.tensor([[2, 2, 5], [0, 6, 2]])),
                         ("r0", 5, torch.tensor(4))]:
        f.case(name, lambda weight, ids: F.embedding(ids.long(), weight),
               {"weight": randn(v, 4), "ids": ids.to(torch.int32)})
    f.save()


def cross_entropy_ops(out):
    """logits [N,C] (or [B,T,C], which Focus takes as-is and torch as logits.reshape(-1, C) with
    targets.reshape(-1); "none" is reshaped back to [B,T]), targets i32."""
    f = OpFile(out, "cross_entropy")

    def ce(smoothing, ignore, reduction):
        def fn(logits, targets):
            c = logits.shape[-1]
            loss = F.cross_entropy(logits.reshape(-1, c), targets.reshape(-1).long(),
                                   ignore_index=ignore, reduction=reduction,
                                   label_smoothing=smoothing)
            return loss.reshape(targets.shape) if reduction == "none" else loss
        return fn

    def targets(shape, c, ignored=(), ignore_value=-100):
        t = torch.randint(0, c, shape)
        flat = t.view(-1)
        for i in ignored:
            flat[i] = ignore_value
        return t.to(torch.int32)

    specs = [
        # name, logits shape, smoothing, ignore_index, reduction, ignored positions
        ("mean", [6, 5], 0.0, -100, "mean", ()),
        ("sum", [6, 5], 0.0, -100, "sum", ()),
        ("none", [6, 5], 0.0, -100, "none", ()),
        ("smooth_mean", [6, 5], 0.1, -100, "mean", ()),
        ("smooth_sum", [6, 5], 0.1, -100, "sum", ()),
        ("smooth_none", [6, 5], 0.1, -100, "none", ()),
        ("ignore_mean", [8, 5], 0.0, -100, "mean", (1, 4, 5)),
        ("ignore_none", [8, 5], 0.0, -100, "none", (0, 7)),
        ("ignore3_mean", [8, 5], 0.0, 3, "mean", (2, 6)),     # a non-default ignore_index
        ("ignore_smooth_mean", [8, 5], 0.1, -100, "mean", (3,)),
        ("ignore_smooth_sum", [8, 5], 0.1, -100, "sum", (3, 4)),
        ("r3_mean", [2, 3, 5], 0.0, -100, "mean", ()),
        ("r3_none", [2, 3, 5], 0.1, -100, "none", (2,)),
        ("odd", [5, 129], 0.0, -100, "mean", ()),
    ]
    for name, s, sm, ig, red, ignored in specs:
        logits = 2 * randn(*s)
        t = targets(s[:-1], s[-1], ignored, ig)
        f.case(name, ce(sm, ig, red), {"logits": logits, "targets": t},
               params={"label_smoothing": sm, "ignore_index": ig, "reduction": red})
    f.save()


# ---- shape and selection ------------------------------------------------------------------------

def shape_ops(out):
    f = OpFile(out, "concat")
    for name, shapes, axis in [("axis0", [[2, 3], [1, 3], [4, 3]], 0),
                               ("axis1", [[2, 3, 4], [2, 1, 4], [2, 5, 4]], 1),
                               ("axis_last", [[2, 2], [2, 3], [2, 1]], -1)]:
        inputs = {k: randn(*s) for k, s in zip("abc", shapes)}
        f.case(name, lambda a, b, c: torch.cat([a, b, c], dim=axis), inputs, params={"axis": axis})
    f.save()

    f = OpFile(out, "slice")
    for name, s, axis, start, end, step in [("axis0_step2", [6, 5], 0, 1, 5, 2),
                                            ("axis1_step3", [4, 7], 1, 0, 7, 3),
                                            ("axis2", [2, 5, 3], 2, 1, 3, 1),
                                            ("odd_step4", [3, 129], 1, 2, 129, 4)]:
        def fn(x, axis=axis, start=start, end=end, step=step):
            idx = [slice(None)] * x.dim()
            idx[axis] = slice(start, end, step)
            return x[tuple(idx)]
        f.case(name, fn, {"x": randn(*s)},
               params={"axis": axis, "start": start, "end": end, "step": step})
    f.save()

    f = OpFile(out, "reshape")
    for name, s, perm, target in [("merge", [2, 3, 4], None, [6, 4]),
                                  ("split", [4, 6], None, [2, 2, 6]),
                                  ("to_r1", [3, 5], None, [15]),
                                  ("after_permute", [2, 3, 4], [1, 0, 2], [3, 8])]:  # copies
        def fn(x, perm=perm, target=target):
            return (x.permute(*perm) if perm else x).reshape(*target)
        params = {"shape": target}
        if perm:
            params["perm"] = perm
        f.case(name, fn, {"x": randn(*s)}, params=params)
    f.save()

    f = OpFile(out, "permute")
    for name, s, perm in [("r3", [2, 3, 4], [2, 0, 1]), ("r4", [2, 3, 4, 5], [3, 1, 0, 2]),
                          ("r2", [3, 7], [1, 0])]:
        f.case(name, lambda x, perm=perm: x.permute(*perm), {"x": randn(*s)}, params={"perm": perm})
    f.save()

    f = OpFile(out, "transpose")
    for name, s, a, b in [("r2", [3, 4], 0, 1), ("r3_neg", [2, 3, 4], -1, -2), ("r4", [2, 3, 4, 5], 1, 3)]:
        f.case(name, lambda x, a=a, b=b: x.transpose(a, b), {"x": randn(*s)}, params={"a": a, "b": b})
    f.save()

    f = OpFile(out, "where")
    # cond is f32 0/1 (nonzero = true), broadcast with a and b; it has no gradient.
    for name, sc, sa, sb in [("same", [3, 4], [3, 4], [3, 4]),
                             ("bcast", [3, 1], [3, 4], [4]),
                             ("bcast_cond", [4], [2, 3, 4], [2, 3, 4]),
                             ("bcast_all", [2, 1, 4], [3, 1], [1, 4])]:
        f.case(name, lambda cond, a, b: torch.where(cond != 0, a, b),
               {"cond": mask01(*sc), "a": randn(*sa), "b": randn(*sb)}, grads=["a", "b"])
    f.save()

    f = OpFile(out, "masked_fill")
    for name, sx, sm, value in [("same", [3, 4], [3, 4], -1e9),
                                ("bcast", [2, 3, 4], [3, 1], 0.5),
                                ("bcast_r3", [2, 3, 4], [2, 1, 4], -2.0)]:
        f.case(name, lambda x, mask: x.masked_fill(mask != 0, value),
               {"x": randn(*sx), "mask": mask01(*sm)}, grads=["x"], params={"value": value})
    f.save()


# ---- a tiny two-layer network trained for 10 SGD steps --------------------------------------------

def mlp_sgd(out):
    """x [16,8] -> linear(W1 [32,8], b1 [32]) -> gelu(approximate='tanh') -> linear(W2 [4,32], b2 [4])
    -> cross_entropy(mean) against targets [16] (i32, 4 classes). Plain SGD, lr 0.1, 10 steps:
    losses[i] is the loss at step i before its update; final.* are the weights after 10 updates.
    step0.grad.* are the first step's gradients, to tell a wrong gradient from a wrong update."""
    torch.manual_seed(zlib.crc32(b"mlp_sgd"))
    n, d_in, d_hidden, classes, steps, lr = 16, 8, 32, 4, 10, 0.1
    x = randn(n, d_in)
    targets = torch.randint(0, classes, (n,)).to(torch.int32)
    init = {
        "W1": uniform(-1, 1, d_hidden, d_in) / d_in ** 0.5,
        "b1": uniform(-1, 1, d_hidden) / d_in ** 0.5,
        "W2": uniform(-1, 1, classes, d_hidden) / d_hidden ** 0.5,
        "b2": uniform(-1, 1, classes) / d_hidden ** 0.5,
    }
    p = {k: v.to(F64).requires_grad_() for k, v in init.items()}
    x64 = x.to(F64)
    losses, tensors = [], {}
    for step in range(steps):
        h = F.gelu(F.linear(x64, p["W1"], p["b1"]), approximate="tanh")
        loss = F.cross_entropy(F.linear(h, p["W2"], p["b2"]), targets.long())
        for v in p.values():
            v.grad = None
        loss.backward()
        losses.append(loss.item())
        if step == 0:
            for k, v in p.items():
                tensors[f"step0.grad.{k}"] = v.grad.to(F32)
        with torch.no_grad():
            for v in p.values():
                v -= lr * v.grad
    tensors["x"] = x
    tensors["targets"] = targets
    for k, v in init.items():
        tensors[f"init.{k}"] = v
        tensors[f"final.{k}"] = p[k].detach().to(F32)
    tensors["losses"] = torch.tensor(losses, dtype=F32)
    save_safetensors(os.path.join(out, "train", "mlp_sgd.safetensors"), tensors,
                     {"lr": json.dumps(lr), "steps": json.dumps(steps), "gelu": "tanh",
                      "loss": "cross_entropy mean",
                      "generator": "scripts/gen_fixtures.py (torch %s, float64 reference)" % torch.__version__})


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(here, "..", "tests", "fixtures"))
    args = ap.parse_args()
    torch.set_num_threads(1)  # fixed reduction order: reproducible bytes
    for gen in [binary_ops, unary_ops, reduce_ops, matmul_ops, norm_ops, embedding_ops,
                cross_entropy_ops, shape_ops, mlp_sgd]:
        gen(args.out)
    print("fixtures written under", os.path.normpath(args.out))


if __name__ == "__main__":
    main()
