#!/usr/bin/python3
"""PyTorch reference fixtures for Focus's attention family (run with Debian's /usr/bin/python3).

Writes tests/fixtures/attention/{soft,sdpa,mha}.safetensors: inputs, a random upstream gradient
`gout`, the output `out` and every gradient `grad.<input>`, named "<case>.<what>", with each case's
options in the metadata. PyTorch 1.13 has no fused scaled_dot_product_attention, so its reference
is softmax(q·kᵀ·scale + bias + mask)·v computed in float64; nn.MultiheadAttention is used as is.
"""
import json
import math
import os
import struct
import sys

import torch

torch.manual_seed(1234)
OUT = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures"


def save(path, tensors, meta):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        dtype = {torch.float32: "F32", torch.float64: "F32", torch.int32: "I32"}[t.dtype]
        t = t.float() if t.dtype == torch.float64 else t
        raw = t.numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = {k: str(v) for k, v in meta.items()}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def run_case(tensors, meta, case, inputs, fn, opts):
    """inputs: name -> tensor (float ones get gradients); fn(**inputs) -> output."""
    leaves = {}
    for name, t in inputs.items():
        leaf = t.double().clone().requires_grad_(True) if t.is_floating_point() else t
        leaves[name] = leaf
        tensors[f"{case}.{name}"] = t
    out = fn(**leaves)
    gout = torch.randn(out.shape, dtype=torch.float64)
    out.backward(gout)
    tensors[f"{case}.out"] = out.detach()
    tensors[f"{case}.gout"] = gout
    for name, leaf in leaves.items():
        if leaf.is_floating_point() and leaf.grad is not None:
            tensors[f"{case}.grad.{name}"] = leaf.grad
    for k, v in opts.items():
        meta[f"{case}.{k}"] = json.dumps(v)


# ---- soft attention ------------------------------------------------------------------------------
def soft(x, w, b, v=None, mask=None, score="additive", fusion="pooling"):
    if score == "additive":
        s = torch.tanh(x @ w.t() + b) @ v  # [B,N]
    else:
        s = (x @ w.t() + b).squeeze(-1)
    if mask is not None:
        s = s.masked_fill(mask == 0, float("-inf"))
    a = torch.softmax(s, -1)
    a = torch.nan_to_num(a, nan=0.0)  # fully masked rows: zeros (Focus's contract)
    return (a.unsqueeze(1) @ x).squeeze(1) if fusion == "pooling" else x * a.unsqueeze(-1)


def soft_fixtures():
    t, m = {}, {}
    B, N, D, A = 3, 7, 5, 4
    mask = torch.ones(B, N, dtype=torch.int32)
    mask[0, 5:] = 0
    mask[2, :] = 0  # a fully masked row
    for score in ("additive", "linear"):
        for fusion in ("pooling", "gating"):
            for masked in (False, True):
                case = f"{score}_{fusion}_{'mask' if masked else 'nomask'}"
                inputs = {"x": torch.randn(B, N, D)}
                if score == "additive":
                    inputs.update(w=torch.randn(A, D) * 0.5, b=torch.randn(A) * 0.1, v=torch.randn(A))
                else:
                    inputs.update(w=torch.randn(1, D) * 0.5, b=torch.randn(1) * 0.1)
                if masked:
                    inputs["mask"] = mask
                run_case(t, m, case, inputs,
                         lambda score=score, fusion=fusion, **kw: soft(score=score, fusion=fusion, **kw),
                         {"score": score, "fusion": fusion})
    save(f"{OUT}/attention/soft.safetensors", t, m)


# ---- scaled dot-product attention --------------------------------------------------------------
def sdpa(q, k, v, bias=None, lengths=None, causal=False, scale=None):
    d = q.shape[-1]
    s = (q @ k.transpose(-1, -2)) * (scale if scale else 1.0 / math.sqrt(d))
    if bias is not None:
        s = s + bias
    nq, nk = s.shape[-2], s.shape[-1]
    masked = torch.zeros(q.shape[0], 1, nq, nk, dtype=torch.bool)
    if causal:
        masked |= torch.ones(nq, nk, dtype=torch.bool).triu(1)
    if lengths is not None:
        masked |= (torch.arange(nk)[None, :] >= lengths[:, None].long())[:, None, None, :]
    s = s.masked_fill(masked, float("-inf"))
    p = torch.nan_to_num(torch.softmax(s, -1), nan=0.0)
    return p @ v


def sdpa_fixtures():
    t, m = {}, {}
    def case(name, b, h, nq, nk, d, causal=False, lengths=None, bias_shape=None, scale=None, amp=1.0):
        inputs = {"q": torch.randn(b, h, nq, d) * amp, "k": torch.randn(b, h, nk, d) * amp,
                  "v": torch.randn(b, h, nk, d)}
        if lengths is not None:
            inputs["lengths"] = torch.tensor(lengths, dtype=torch.int32)
        if bias_shape is not None:
            inputs["bias"] = torch.randn(*bias_shape)
        run_case(t, m, name, inputs,
                 lambda causal=causal, scale=scale, **kw: sdpa(causal=causal, scale=scale, **kw),
                 {"causal": causal, "scale": scale or 0.0})
    case("plain", 2, 2, 5, 5, 8)
    case("causal", 2, 2, 6, 6, 8, causal=True)
    case("cross", 2, 3, 4, 9, 8)
    case("cross_causal", 1, 2, 6, 4, 8, causal=True)
    case("lengths", 3, 2, 5, 6, 8, lengths=[6, 3, 0])  # batch 2: every key masked -> zeros
    case("bias_2d", 2, 2, 5, 7, 8, bias_shape=(5, 7))
    case("bias_4d", 2, 2, 5, 7, 8, bias_shape=(2, 1, 5, 7))
    case("all_masks", 2, 2, 6, 6, 8, causal=True, lengths=[4, 6], bias_shape=(1, 2, 6, 6))
    case("scale", 1, 2, 5, 5, 8, scale=0.5)
    case("large_logits", 1, 2, 9, 9, 16, amp=40.0)  # scores of order ±1e4
    case("n1_d64", 2, 2, 1, 1, 64)
    case("n7_d128", 1, 2, 7, 7, 128, causal=True)
    case("n129_d80", 1, 1, 129, 129, 80)
    case("n129_d16", 1, 1, 129, 129, 16, causal=True)
    case("n1000_d1", 1, 1, 1000, 1000, 1)
    save(f"{OUT}/attention/sdpa.safetensors", t, m)


# ---- multi-head attention ----------------------------------------------------------------------
def mha_fixtures():
    t, m = {}, {}
    E, H = 16, 4
    # self-attention with bias, key padding and causal mask
    for name, causal, lengths in (("self", False, None), ("self_causal_padded", True, [5, 3])):
        mod = torch.nn.MultiheadAttention(E, H, batch_first=True).double()
        x = torch.randn(2, 5, E, dtype=torch.float64, requires_grad=True)
        kpm = None
        if lengths:
            kpm = torch.arange(5)[None, :] >= torch.tensor(lengths)[:, None]
        am = torch.ones(5, 5, dtype=torch.bool).triu(1) if causal else None
        out, _ = mod(x, x, x, key_padding_mask=kpm, attn_mask=am, need_weights=False)
        gout = torch.randn(out.shape, dtype=torch.float64)
        out.backward(gout)
        t.update({f"{name}.x": x, f"{name}.out": out, f"{name}.gout": gout,
                  f"{name}.grad.x": x.grad,
                  f"{name}.w_qkv": mod.in_proj_weight, f"{name}.b_qkv": mod.in_proj_bias,
                  f"{name}.w_out": mod.out_proj.weight, f"{name}.b_out": mod.out_proj.bias,
                  f"{name}.grad.w_qkv": mod.in_proj_weight.grad,
                  f"{name}.grad.b_qkv": mod.in_proj_bias.grad,
                  f"{name}.grad.w_out": mod.out_proj.weight.grad,
                  f"{name}.grad.b_out": mod.out_proj.bias.grad})
        if lengths:
            t[f"{name}.lengths"] = torch.tensor(lengths, dtype=torch.int32)
        m[f"{name}.causal"] = json.dumps(causal)
    # cross-attention with a context of another width (kdim = vdim = 12)
    mod = torch.nn.MultiheadAttention(E, H, batch_first=True, kdim=12, vdim=12).double()
    x = torch.randn(2, 3, E, dtype=torch.float64, requires_grad=True)
    ctx = torch.randn(2, 7, 12, dtype=torch.float64, requires_grad=True)
    out, _ = mod(x, ctx, ctx, need_weights=False)
    gout = torch.randn(out.shape, dtype=torch.float64)
    out.backward(gout)
    bq, bk, bv = mod.in_proj_bias.chunk(3)
    gbq, gbk, gbv = mod.in_proj_bias.grad.chunk(3)
    t.update({"cross.x": x, "cross.context": ctx, "cross.out": out, "cross.gout": gout,
              "cross.grad.x": x.grad, "cross.grad.context": ctx.grad,
              "cross.w_q": mod.q_proj_weight, "cross.b_q": bq,
              "cross.w_kv": torch.cat([mod.k_proj_weight, mod.v_proj_weight]),
              "cross.b_kv": torch.cat([bk, bv]),
              "cross.w_out": mod.out_proj.weight, "cross.b_out": mod.out_proj.bias,
              "cross.grad.w_q": mod.q_proj_weight.grad, "cross.grad.b_q": gbq,
              "cross.grad.w_kv": torch.cat([mod.k_proj_weight.grad, mod.v_proj_weight.grad]),
              "cross.grad.b_kv": torch.cat([gbk, gbv]),
              "cross.grad.w_out": mod.out_proj.weight.grad,
              "cross.grad.b_out": mod.out_proj.bias.grad})
    m["meta.E"], m["meta.H"] = str(E), str(H)
    save(f"{OUT}/attention/mha.safetensors", t, m)


if __name__ == "__main__":
    soft_fixtures()
    sdpa_fixtures()
    mha_fixtures()
    for f in ("soft", "sdpa", "mha"):
        print(f"{OUT}/attention/{f}.safetensors: {os.path.getsize(f'{OUT}/attention/{f}.safetensors')} bytes")
