#!/usr/bin/python3
"""PyTorch reference fixtures for Focus's image classifiers (run with Debian's /usr/bin/python3).

tests/fixtures/vision/models.safetensors: tiny vision transformers (class token and mean pooling)
and soft-attention baselines (conv features + additive score, patch features + linear score),
written in plain torch here. Per case C: "C.in" images [B,C,H,W], "C.out" logits, "C.gout" the
upstream gradient, "C.grad.in", and "C.param.<name>" / "C.grad.param.<name>" for every parameter
under Focus's names; metadata "C.config" holds the model's options as JSON, "cases" the case list.
Computed in float64, stored as f32.
"""
import json
import math
import os
import struct
import sys

import torch
import torch.nn.functional as F

torch.manual_seed(2024)
OUT = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures"
T = {}


def put(name, t):
    T[name] = t.detach().double().contiguous()


def save(path, meta):
    header, blobs, offset = {}, [], 0
    for name, t in T.items():
        raw = t.float().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = {k: str(v) for k, v in meta.items()}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def rand_ln(ln):
    with torch.no_grad():  # non-trivial norm parameters
        ln.weight.add_(torch.randn(ln.weight.shape) * 0.1)
        ln.bias.add_(torch.randn(ln.bias.shape) * 0.1)


class ViT(torch.nn.Module):
    """The textbook ViT: stride-P conv patches, class token, learned positions, pre-norm blocks."""

    def __init__(self, c, h, w, classes, patch, dim, depth, heads, mlp_ratio, pool):
        super().__init__()
        self.patch, self.pool = patch, pool
        self.proj = torch.nn.Conv2d(c, dim, patch, stride=patch)
        n = (h // patch) * (w // patch) + (1 if pool == "cls" else 0)
        self.cls = torch.nn.Parameter(torch.randn(1, 1, dim) * 0.02) if pool == "cls" else None
        self.pos = torch.nn.Parameter(torch.randn(1, n, dim) * 0.02)
        self.blocks = torch.nn.ModuleList([
            torch.nn.TransformerEncoderLayer(dim, heads, mlp_ratio * dim, dropout=0.0,
                                             activation="gelu", batch_first=True, norm_first=True)
            for _ in range(depth)])
        self.norm = torch.nn.LayerNorm(dim)
        self.head = torch.nn.Linear(dim, classes)
        for b in self.blocks:
            rand_ln(b.norm1)
            rand_ln(b.norm2)
        rand_ln(self.norm)

    def forward(self, x):
        x = self.proj(x).flatten(2).transpose(1, 2)  # [B,N,D], patches row-major
        if self.cls is not None:
            x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1)
        x = x + self.pos
        for b in self.blocks:
            x = b(x)
        x = self.norm(x)
        return self.head(x[:, 0] if self.cls is not None else x.mean(1))

    def focus_params(self):
        """(Focus name, torch tensor) for every parameter."""
        d = self.proj.weight.shape[0]
        out = [("patches.proj.weight", self.proj.weight, lambda g: g.reshape(d, -1)),
               ("patches.proj.bias", self.proj.bias, None),
               ("pos.table", self.pos, lambda g: g[0])]
        if self.cls is not None:
            out.append(("cls", self.cls, None))
        for i, b in enumerate(self.blocks):
            p = f"blocks.{i}."
            out += [(p + "ln1.weight", b.norm1.weight, None), (p + "ln1.bias", b.norm1.bias, None),
                    (p + "attention.w_qkv", b.self_attn.in_proj_weight, None),
                    (p + "attention.b_qkv", b.self_attn.in_proj_bias, None),
                    (p + "attention.w_out", b.self_attn.out_proj.weight, None),
                    (p + "attention.b_out", b.self_attn.out_proj.bias, None),
                    (p + "ln2.weight", b.norm2.weight, None), (p + "ln2.bias", b.norm2.bias, None),
                    (p + "mlp.fc1.weight", b.linear1.weight, None),
                    (p + "mlp.fc1.bias", b.linear1.bias, None),
                    (p + "mlp.fc2.weight", b.linear2.weight, None),
                    (p + "mlp.fc2.bias", b.linear2.bias, None)]
        out += [("norm.weight", self.norm.weight, None), ("norm.bias", self.norm.bias, None),
                ("head.weight", self.head.weight, None), ("head.bias", self.head.bias, None)]
        return out


class ConvStemViT(ViT):
    """The ViT with Xiao et al.'s convolutional stem: log2(patch) 3x3 stride-2 convs with GELU,
    channels doubling from `stem`, then a 1x1 projection to dim, in place of the patch conv."""

    def __init__(self, c, h, w, classes, patch, dim, depth, heads, mlp_ratio, pool, stem):
        super().__init__(c, h, w, classes, patch, dim, depth, heads, mlp_ratio, pool)
        convs, cin, cout, p = [], c, stem, patch
        while p > 1:
            convs.append(torch.nn.Conv2d(cin, cout, 3, stride=2, padding=1))
            cin, cout, p = cout, cout * 2, p // 2
        self.convs = torch.nn.ModuleList(convs)
        self.proj = torch.nn.Conv2d(cin, dim, 1)

    def forward(self, x):
        for conv in self.convs:
            x = F.gelu(conv(x))
        return super().forward(x)

    def focus_params(self):
        d = self.proj.weight.shape[0]
        out = []
        for i, conv in enumerate(self.convs):
            out += [(f"stem.{i}.weight", conv.weight, None), (f"stem.{i}.bias", conv.bias, None)]
        out += [("stem.proj.weight", self.proj.weight, None),
                ("stem.proj.bias", self.proj.bias, None)]
        return out + [t for t in super().focus_params() if not t[0].startswith("patches.")]


class SoftImage(torch.nn.Module):
    """Features (two stride-2 3x3 convs with GELU, or patches), positions, LayerNorm, soft
    attention pooling (additive v·tanh(Wx+b) or linear w·x+b scores), linear head."""

    def __init__(self, c, h, w, classes, features, patch, hidden, dim, score, att_hidden, positions):
        super().__init__()
        self.features, self.score = features, score
        if features == "conv":
            self.conv1 = torch.nn.Conv2d(c, hidden, 3, stride=2, padding=1)
            self.conv2 = torch.nn.Conv2d(hidden, dim, 3, stride=2, padding=1)
            gh = (((h + 2 - 3) // 2 + 1) + 2 - 3) // 2 + 1
            gw = (((w + 2 - 3) // 2 + 1) + 2 - 3) // 2 + 1
        else:
            self.proj = torch.nn.Conv2d(c, dim, patch, stride=patch)
            gh, gw = h // patch, w // patch
        self.pos = torch.nn.Parameter(torch.randn(gh * gw, dim) * 0.02) if positions else None
        self.norm = torch.nn.LayerNorm(dim)
        rand_ln(self.norm)
        a = att_hidden or dim
        if score == "additive":
            self.aw = torch.nn.Parameter(torch.randn(a, dim) / math.sqrt(dim))
            self.ab = torch.nn.Parameter(torch.randn(a) * 0.1)
            self.av = torch.nn.Parameter(torch.randn(a) / math.sqrt(a))
        else:
            self.aw = torch.nn.Parameter(torch.randn(1, dim) / math.sqrt(dim))
            self.ab = torch.nn.Parameter(torch.randn(1) * 0.1)
        self.head = torch.nn.Linear(dim, classes)

    def forward(self, x):
        if self.features == "conv":
            x = self.conv2(F.gelu(self.conv1(x)))
        else:
            x = self.proj(x)
        x = x.flatten(2).transpose(1, 2)  # [B,N,D]
        if self.pos is not None:
            x = x + self.pos
        x = self.norm(x)
        if self.score == "additive":
            s = torch.tanh(x @ self.aw.T + self.ab) @ self.av  # [B,N]
        else:
            s = (x @ self.aw.T + self.ab)[..., 0]
        a = torch.softmax(s, -1)
        return self.head((a.unsqueeze(-1) * x).sum(1))

    def focus_params(self):
        out = []
        if self.features == "conv":
            out += [("conv1.weight", self.conv1.weight, None), ("conv1.bias", self.conv1.bias, None),
                    ("conv2.weight", self.conv2.weight, None), ("conv2.bias", self.conv2.bias, None)]
        else:
            d = self.proj.weight.shape[0]
            out += [("patches.proj.weight", self.proj.weight, lambda g: g.reshape(d, -1)),
                    ("patches.proj.bias", self.proj.bias, None)]
        if self.pos is not None:
            out.append(("pos.table", self.pos, None))
        out += [("norm.weight", self.norm.weight, None), ("norm.bias", self.norm.bias, None),
                ("attention.w", self.aw, None), ("attention.b", self.ab, None)]
        if self.score == "additive":
            out.append(("attention.v", self.av, None))
        out += [("head.weight", self.head.weight, None), ("head.bias", self.head.bias, None)]
        return out


def case(name, model, config, batch):
    model = model.double()
    x = torch.randn(batch, config["channels"], config["height"], config["width"],
                    dtype=torch.float64, requires_grad=True)
    out = model(x)
    gout = torch.randn(out.shape, dtype=torch.float64)
    out.backward(gout)
    put(f"{name}.in", x)
    put(f"{name}.grad.in", x.grad)
    put(f"{name}.out", out)
    put(f"{name}.gout", gout)
    for focus_name, p, fix in model.focus_params():
        fix = fix or (lambda t: t)
        put(f"{name}.param.{focus_name}", fix(p))
        put(f"{name}.grad.param.{focus_name}", fix(p.grad))
    meta[f"{name}.config"] = json.dumps(config)
    meta[f"{name}.params"] = json.dumps([n for n, _, _ in model.focus_params()])
    cases.append(name)


meta, cases = {}, []
vit_cls = dict(channels=1, height=8, width=8, classes=3, patch=4, dim=16, depth=2, heads=2,
               mlp_ratio=2, pool="cls")
case("vit_cls", ViT(1, 8, 8, 3, 4, 16, 2, 2, 2, "cls"), vit_cls, 3)
vit_mean = dict(channels=3, height=6, width=9, classes=4, patch=3, dim=12, depth=1, heads=3,
                mlp_ratio=3, pool="mean")
case("vit_mean", ViT(3, 6, 9, 4, 3, 12, 1, 3, 3, "mean"), vit_mean, 2)
soft_conv = dict(channels=1, height=9, width=8, classes=3, features="conv", hidden=4, dim=8,
                 score="additive", attention_hidden=6, positions=True)
case("soft_conv", SoftImage(1, 9, 8, 3, "conv", 0, 4, 8, "additive", 6, True), soft_conv, 3)
soft_patch = dict(channels=2, height=8, width=4, classes=3, features="patch", patch=2, dim=6,
                  score="linear", positions=False)
case("soft_patch", SoftImage(2, 8, 4, 3, "patch", 2, 0, 6, "linear", 0, False), soft_patch, 2)
vit_conv = dict(channels=2, height=8, width=12, classes=3, patch=4, dim=8, depth=1, heads=2,
                mlp_ratio=2, pool="cls", stem="conv", stem_channels=3)
case("vit_conv", ConvStemViT(2, 8, 12, 3, 4, 8, 1, 2, 2, "cls", 3), vit_conv, 2)
meta["cases"] = json.dumps(cases)
path = f"{OUT}/vision/models.safetensors"
save(path, meta)
print(f"{path}: {os.path.getsize(path)} bytes")
