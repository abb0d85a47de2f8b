"""The training-step benchmark, PyTorch side: the same models and steps as bench/train_bench.cc.

Each step: take the next batch (indexing a pre-made tensor with a shuffled order, PyTorch's
cheapest loader), forward, cross-entropy, backward, clip_grad_norm_, AdamW, zero_grad. The model:
token embedding, a class token, learned positions, pre-norm nn.TransformerEncoderLayer blocks
(GELU, no dropout), a final LayerNorm and a linear head over the class token.
"""
import argparse

import torch

from peer_timing import emit, timed

CASES = [
    ("step small seq=12 dim=64 depth=2 heads=4 batch=64", 12, 64, 64, 2, 4, 64),
    ("step small seq=8 dim=32 depth=1 heads=2 batch=16", 8, 32, 32, 1, 2, 16),
    ("step medium seq=64 dim=128 depth=4 heads=4 batch=32", 64, 256, 128, 4, 4, 32),
]


class Model(torch.nn.Module):
    def __init__(self, vocab, length, dim, depth, heads):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, dim)
        self.cls = torch.nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = torch.nn.Parameter(torch.randn(1, length + 1, dim) * 0.02)
        self.blocks = torch.nn.ModuleList([
            torch.nn.TransformerEncoderLayer(dim, heads, 4 * dim, dropout=0.0, activation="gelu",
                                             batch_first=True, norm_first=True)
            for _ in range(depth)])
        self.norm = torch.nn.LayerNorm(dim)
        self.head = torch.nn.Linear(dim, length)

    def forward(self, ids):
        x = self.embed(ids)
        x = torch.cat([self.cls.expand(ids.shape[0], -1, -1), x], 1) + self.pos
        for b in self.blocks:
            x = b(x)
        return self.head(self.norm(x)[:, 0])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--filter", action="append", default=[])
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    for base, length, vocab, dim, depth, heads, batch in CASES:
        name = f"{base} threads={a.threads}"
        if not all(f in name for f in a.filter):
            continue
        torch.manual_seed(1)
        n = batch * 50
        ids = torch.stack([torch.randperm(vocab)[:length] for _ in range(n)])
        labels = ids.argmax(1)
        model = Model(vocab, length, dim, depth, heads)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
        state = {"order": torch.randperm(n), "at": 0}

        def step():
            if state["at"] + batch > n:
                state["order"], state["at"] = torch.randperm(n), 0
            idx = state["order"][state["at"]:state["at"] + batch]
            state["at"] += batch
            loss = torch.nn.functional.cross_entropy(model(ids[idx]), labels[idx])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)

        emit("train", name, timed(step, a.reps, a.seconds), batch, a.threads)


if __name__ == "__main__":
    main()
