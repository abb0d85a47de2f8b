#!/usr/bin/python3
"""PyTorch reference fixtures for Focus's layers and the keyword transformer (run with Debian's
/usr/bin/python3).

tests/fixtures/nn/layers.safetensors: Conv1d and Conv2d (stride, padding), a pre-norm encoder
block (nn.TransformerEncoderLayer, norm_first, GELU) and decoder block (nn.TransformerDecoderLayer):
their weights, input, upstream gradient, output and input gradients, in float64 then stored as f32.
"""
import json
import os
import struct
import sys

import torch

torch.manual_seed(4321)
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


def check(case, module, *inputs):
    module = module.double()
    leaves = [x.double().clone().requires_grad_(True) for x in inputs]
    out = module(*leaves)
    gout = torch.randn(out.shape, dtype=torch.float64)
    out.backward(gout)
    for i, (x, leaf) in enumerate(zip(inputs, leaves)):
        put(f"{case}.in{i}", x)
        put(f"{case}.grad.in{i}", leaf.grad)
    put(f"{case}.out", out)
    put(f"{case}.gout", gout)
    for name, p in module.named_parameters():
        put(f"{case}.param.{name}", p)
        put(f"{case}.grad.param.{name}", p.grad)


meta = {}
check("conv1d", torch.nn.Conv1d(3, 4, 3, stride=2, padding=1), torch.randn(2, 3, 9))
meta["conv1d"] = json.dumps({"in": 3, "out": 4, "kernel": 3, "stride": 2, "padding": 1})
check("conv2d", torch.nn.Conv2d(2, 3, 3, stride=1, padding=1), torch.randn(2, 2, 5, 6))
meta["conv2d"] = json.dumps({"in": 2, "out": 3, "kernel": 3, "stride": 1, "padding": 1})
check("conv2d_s2", torch.nn.Conv2d(1, 2, 2, stride=2, padding=0), torch.randn(1, 1, 6, 4))
meta["conv2d_s2"] = json.dumps({"in": 1, "out": 2, "kernel": 2, "stride": 2, "padding": 0})

enc = torch.nn.TransformerEncoderLayer(16, 4, dim_feedforward=32, dropout=0.0, activation="gelu",
                                       batch_first=True, norm_first=True)
with torch.no_grad():  # non-trivial norm parameters
    for ln in (enc.norm1, enc.norm2):
        ln.weight.add_(torch.randn(16) * 0.1)
        ln.bias.add_(torch.randn(16) * 0.1)
check("encoder", enc, torch.randn(2, 5, 16))


class Dec(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.TransformerDecoderLayer(16, 4, dim_feedforward=32, dropout=0.0,
                                                      activation="gelu", batch_first=True,
                                                      norm_first=True)

    def forward(self, x, memory):
        mask = torch.ones(x.shape[1], x.shape[1], dtype=torch.bool).triu(1)
        return self.layer(x, memory, tgt_mask=mask)


check("decoder", Dec(), torch.randn(2, 4, 16), torch.randn(2, 6, 16))
# Padding of two on a kernel of five: the first and last two windows reach into the padding.
check("conv1d_k5", torch.nn.Conv1d(3, 2, 5, stride=1, padding=2), torch.randn(2, 3, 7))
meta["conv1d_k5"] = json.dumps({"in": 3, "out": 2, "kernel": 5, "stride": 1, "padding": 2})
check("conv1d_k5_s2", torch.nn.Conv1d(2, 3, 5, stride=2, padding=2), torch.randn(1, 2, 10))
meta["conv1d_k5_s2"] = json.dumps({"in": 2, "out": 3, "kernel": 5, "stride": 2, "padding": 2})
save(f"{OUT}/nn/layers.safetensors", meta)
print(f"{OUT}/nn/layers.safetensors: {os.path.getsize(f'{OUT}/nn/layers.safetensors')} bytes")

# tests/fixtures/nn/keyword_transformer.safetensors: the speech model (src/models/speech_models.cc)
# on log-mel features [B,M,T], both front ends, as bench/peers/speech_torch.py builds it: tokens
# (2-frame patches through a Linear, or Conv1d(k, stride p, padding k//2) + GELU), a class token,
# learned positions, pre-norm encoder blocks, LayerNorm, a head on the class token.
T.clear()
MELS, FRAMES, DIM = 6, 11, 8


class Kws(torch.nn.Module):
    def __init__(self, front, patch, kernel=None):
        super().__init__()
        self.front, self.patch = front, patch
        if front == "conv":
            self.conv = torch.nn.Conv1d(MELS, DIM, kernel, stride=patch, padding=kernel // 2)
            n = (FRAMES + 2 * (kernel // 2) - kernel) // patch + 1
        else:
            self.proj = torch.nn.Linear(patch * MELS, DIM)
            n = FRAMES // patch
        self.cls = torch.nn.Parameter(torch.randn(1, 1, DIM) * 0.1)
        self.pos = torch.nn.Parameter(torch.randn(n + 1, DIM) * 0.1)
        self.block = torch.nn.TransformerEncoderLayer(DIM, 2, 2 * DIM, dropout=0.0,
                                                      activation="gelu", batch_first=True,
                                                      norm_first=True)
        self.norm = torch.nn.LayerNorm(DIM)
        self.head = torch.nn.Linear(DIM, 3)

    def forward(self, x):
        if self.front == "conv":
            h = torch.nn.functional.gelu(self.conv(x)).transpose(1, 2)
        else:
            n = FRAMES // self.patch
            t = x.transpose(1, 2)[:, :n * self.patch].reshape(x.shape[0], n, self.patch * MELS)
            h = self.proj(t)
        h = torch.cat([self.cls.expand(h.shape[0], -1, -1), h], 1) + self.pos
        return self.head(self.norm(self.block(h))[:, 0])


meta = {}
check("conv", Kws("conv", 2, 3), torch.randn(2, MELS, FRAMES))
check("linear", Kws("linear", 2), torch.randn(2, MELS, FRAMES))
path = f"{OUT}/nn/keyword_transformer.safetensors"
save(path, meta)
print(f"{path}: {os.path.getsize(path)} bytes")

# tests/fixtures/nn/text_conv.safetensors: the sequence transformer (src/models/
# sequence_classifier.cc) with a convolution over neighbouring pieces (model.conv), on a padded
# batch of ids: embedding, learned positions (after a class token when there is one), padding set
# to zero, x + gelu(conv(x)), the encoder blocks with key padding masked, LayerNorm, then soft
# (additive, masked) or class-token pooling and the head. Case "soft": depth 0, the soft-attention
# baseline of configs/spam_soft.json; case "cls": one block and a class token.
T.clear()
VOCAB, N, DIM, PAD = 13, 7, 8, 0


class TextConv(torch.nn.Module):
    def __init__(self, pool, depth, kernel):
        super().__init__()
        self.pool = pool
        self.embed = torch.nn.Embedding(VOCAB, DIM)
        offset = 1 if pool == "cls" else 0
        if pool == "cls":
            self.cls = torch.nn.Parameter(torch.randn(1, 1, DIM) * 0.1)
        self.pos = torch.nn.Parameter(torch.randn(N + offset, DIM) * 0.1)
        self.conv = torch.nn.Conv1d(DIM, DIM, kernel, padding=kernel // 2)
        self.blocks = torch.nn.ModuleList(
            torch.nn.TransformerEncoderLayer(DIM, 2, 2 * DIM, dropout=0.0, activation="gelu",
                                             batch_first=True, norm_first=True)
            for _ in range(depth))
        self.norm = torch.nn.LayerNorm(DIM)
        if pool == "soft":
            self.w = torch.nn.Parameter(torch.randn(DIM, DIM) * 0.5)
            self.b = torch.nn.Parameter(torch.randn(DIM) * 0.1)
            self.v = torch.nn.Parameter(torch.randn(DIM))
        self.head = torch.nn.Linear(DIM, 3)

    def forward(self, ids):
        keep = ids != PAD  # right padding only
        x = self.embed(ids)
        if self.pool == "cls":
            x = torch.cat([self.cls.expand(ids.shape[0], -1, -1), x], 1)
            keep = torch.cat([torch.ones(ids.shape[0], 1, dtype=torch.bool), keep], 1)
        x = x + self.pos[:x.shape[1]]
        y = self.conv((x * keep.unsqueeze(-1)).transpose(1, 2)).transpose(1, 2)
        x = x + torch.nn.functional.gelu(y)
        for block in self.blocks:
            x = block(x, src_key_padding_mask=~keep)
        x = self.norm(x)
        if self.pool == "cls":
            return self.head(x[:, 0])
        s = (torch.tanh(x @ self.w.t() + self.b) @ self.v).masked_fill(~keep, float("-inf"))
        a = torch.softmax(s, -1)
        return self.head((a.unsqueeze(1) @ x).squeeze(1))


def check_text(case, module, ids):
    module = module.double()
    out = module(ids)
    gout = torch.randn(out.shape, dtype=torch.float64)
    out.backward(gout)
    put(f"{case}.ids", ids.double())
    put(f"{case}.out", out)
    put(f"{case}.gout", gout)
    for name, p in module.named_parameters():
        put(f"{case}.param.{name}", p)
        put(f"{case}.grad.param.{name}", p.grad)


# Three mails of 7, 4 and 2 pieces (the longest fills N, so Focus cuts nothing).
ids = torch.tensor([[3, 5, 7, 2, 9, 11, 4], [6, 1, 12, 8, 0, 0, 0], [10, 3, 0, 0, 0, 0, 0]])
meta = {}
check_text("soft", TextConv("soft", 0, 3), ids)
check_text("cls", TextConv("cls", 1, 5), ids)
path = f"{OUT}/nn/text_conv.safetensors"
save(path, meta)
print(f"{path}: {os.path.getsize(path)} bytes")
