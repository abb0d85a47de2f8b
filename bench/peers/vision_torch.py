"""The vision benchmark, PyTorch side: the same models and steps as bench/vision_bench.cc.

ViT: a stride-4 convolution as the patch embedding, a class token, learned positions, pre-norm
nn.TransformerEncoderLayer blocks (GELU, no dropout; in inference torch 1.13 takes its fused
"fast path" for these), a final LayerNorm and a linear head on the class token. The soft-attention
baseline: two stride-2 3x3 convolutions with GELU, positions, LayerNorm, additive soft attention
pooling, a linear head. A training step: forward, cross-entropy, backward, AdamW, zero_grad;
inference runs under torch.inference_mode() in eval mode.
"""
import argparse

import torch
import torch.nn.functional as F

from peer_timing import emit, timed


class ViT(torch.nn.Module):
    def __init__(self, patch=4, dim=128, depth=6, heads=4, mlp_ratio=4, classes=10, size=28):
        super().__init__()
        self.proj = torch.nn.Conv2d(1, dim, patch, stride=patch)
        self.cls = torch.nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = torch.nn.Parameter(torch.randn(1, (size // patch) ** 2 + 1, dim) * 0.02)
        self.blocks = torch.nn.ModuleList([
            torch.nn.TransformerEncoderLayer(dim, heads, mlp_ratio * dim, dropout=0.0,
                                             activation="gelu", batch_first=True, norm_first=True)
            for _ in range(depth)])
        self.norm = torch.nn.LayerNorm(dim)
        self.head = torch.nn.Linear(dim, classes)

    def forward(self, x):
        x = self.proj(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.pos
        for b in self.blocks:
            x = b(x)
        return self.head(self.norm(x)[:, 0])


class SoftImage(torch.nn.Module):
    def __init__(self, hidden=32, dim=64, classes=10):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, hidden, 3, stride=2, padding=1)
        self.conv2 = torch.nn.Conv2d(hidden, dim, 3, stride=2, padding=1)
        self.pos = torch.nn.Parameter(torch.randn(49, dim) * 0.02)
        self.norm = torch.nn.LayerNorm(dim)
        self.score = torch.nn.Linear(dim, dim)
        self.v = torch.nn.Parameter(torch.randn(dim) / dim ** 0.5)
        self.head = torch.nn.Linear(dim, classes)

    def forward(self, x):
        x = self.conv2(F.gelu(self.conv1(x))).flatten(2).transpose(1, 2) + self.pos
        x = self.norm(x)
        a = torch.softmax(torch.tanh(self.score(x)) @ self.v, -1)
        return self.head((a.unsqueeze(-1) * x).sum(1))


CASES = [("vit p4 d128 L6 h4 b128", ViT, 128), ("soft_image conv h32 d64 b128", SoftImage, 128)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--filter", action="append", default=[])
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    for base, make, batch in CASES:
        for train in (True, False):
            name = ("train " if train else "infer ") + base
            if not all(f in name for f in a.filter):
                continue
            torch.manual_seed(1)
            model = make()
            xs = [torch.randn(batch, 1, 28, 28) for _ in range(4)]
            ys = [torch.tensor([(j * 7 + i) % 10 for j in range(batch)]) for i in range(4)]
            state = {"at": 0}
            if train:
                model.train()
                opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)

                def step():
                    i = state["at"] % 4
                    state["at"] += 1
                    loss = F.cross_entropy(model(xs[i]), ys[i])
                    loss.backward()
                    opt.step()
                    opt.zero_grad(set_to_none=True)
            else:
                model.eval()

                def step():
                    with torch.inference_mode():
                        model(xs[state["at"] % 4])
                    state["at"] += 1

            emit("vision", name, timed(step, a.reps, a.seconds), batch, a.threads)


if __name__ == "__main__":
    main()
