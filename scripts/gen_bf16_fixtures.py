#!/usr/bin/python3
"""Writes tests/fixtures/ops/linear_bf16.safetensors: PyTorch's bf16 rounding and the products of
bf16-rounded operands, for `linear` at inference precision bf16 (docs/precision.md).

    /usr/bin/python3 scripts/gen_bf16_fixtures.py [--out tests/fixtures]

Cases (tensors "<case>.<what>", f32; metadata "cases" as in scripts/gen_fixtures.py):
  round   x: values with exact ties, carries into the exponent, large and small normals, ±inf;
          bf16: torch's x.bfloat16() (round to nearest even) as f32. No subnormals: the CPU's
          vcvtne2ps2bf16 flushes them to zero where torch keeps them.
  odd, batched, wide   x, w, b (optional): out = bf16(x)·bf16(w)ᵀ + b summed in float64 and
          rounded once, so a test measures Focus's f32 summation alone; f32 = the f32 linear of
          the unrounded operands, to show the bf16 result differs from it by bf16's error.
  grad_wide, grad_tall   x, w, b (optional), gy: linear's forward and gradients at training
          precision bf16 (torch.autocast's arithmetic for linear), each product of bf16-rounded
          operands summed in float64: out, dx = bf16(gy)·bf16(w), dw = bf16(gy)ᵀ·bf16(x),
          db = Σ gy. grad_tall has more outputs than inputs (Focus swaps the GEMM's operands).
"""

import argparse
import json
import os
import sys
import zlib

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_fixtures import save_safetensors  # noqa: E402

F32, F64 = torch.float32, torch.float64


def rounded(t):
    return t.to(torch.bfloat16).to(F32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures"))
    out_dir = ap.parse_args().out
    torch.manual_seed(zlib.crc32(b"linear_bf16"))
    tensors, meta, cases = {}, {"op": "linear_bf16"}, []

    one = 1.0
    ties = [one + 2.0 ** -8, one + 3 * 2.0 ** -8, -(one + 2.0 ** -8), 1.9960938, 2.0 ** -126 * 1.5]
    carry = [float.fromhex("0x1.ffffp+0"), float.fromhex("0x1.ff8p+3"), float.fromhex("0x1.fffffep+127")]
    plain = [0.0, -0.0, 1e-30, -3.14159265, 65504.0, 1e30, float("inf"), float("-inf")]
    x = torch.cat([torch.tensor(ties + carry + plain, dtype=F32), torch.randn(40, dtype=F32) * 10])
    tensors["round.x"] = x
    tensors["round.bf16"] = rounded(x)
    cases.append("round")

    shapes = {"odd": ((37, 77), 45, True), "batched": ((2, 3, 130), 70, False),
              "wide": ((25, 256), 96, True)}
    for name, (xshape, n, bias) in shapes.items():
        x = torch.randn(xshape, dtype=F32)
        w = torch.randn((n, xshape[-1]), dtype=F32) / xshape[-1] ** 0.5
        b = torch.randn(n, dtype=F32) if bias else None
        ref = F.linear(rounded(x).to(F64), rounded(w).to(F64), None if b is None else b.to(F64))
        tensors[f"{name}.x"] = x
        tensors[f"{name}.w"] = w
        if b is not None:
            tensors[f"{name}.b"] = b
        tensors[f"{name}.out"] = ref.to(F32)
        tensors[f"{name}.f32"] = F.linear(x.to(F64), w.to(F64), None if b is None else b.to(F64)).to(F32)
        cases.append(name)

    grads = {"grad_wide": ((37, 77), 45, True), "grad_tall": ((3, 11, 20), 50, False)}
    for name, (xshape, n, bias) in grads.items():
        x = torch.randn(xshape, dtype=F32)
        w = torch.randn((n, xshape[-1]), dtype=F32) / xshape[-1] ** 0.5
        b = torch.randn(n, dtype=F32) if bias else None
        gy = torch.randn(xshape[:-1] + (n,), dtype=F32)
        x64, w64, gy64 = rounded(x).to(F64), rounded(w).to(F64), rounded(gy).to(F64)
        out = F.linear(x64, w64, None if b is None else b.to(F64))
        dx = gy64 @ w64
        dw = gy64.reshape(-1, n).t() @ x64.reshape(-1, xshape[-1])
        tensors.update({f"{name}.x": x, f"{name}.w": w, f"{name}.gy": gy,
                        f"{name}.out": out.to(F32), f"{name}.dx": dx.to(F32),
                        f"{name}.dw": dw.to(F32)})
        if b is not None:
            tensors[f"{name}.b"] = b
            tensors[f"{name}.db"] = gy.to(F64).reshape(-1, n).sum(0).to(F32)
        cases.append(name)

    meta["cases"] = json.dumps(cases)
    meta["generator"] = "scripts/gen_bf16_fixtures.py (torch %s)" % torch.__version__
    # The rounding case holds ±inf on purpose (tests load it with allow_nonfinite).
    save_safetensors(os.path.join(out_dir, "ops", "linear_bf16.safetensors"), tensors, meta,
                     allow_nonfinite=True)


if __name__ == "__main__":
    main()
