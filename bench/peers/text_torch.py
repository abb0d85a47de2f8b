"""The text-classifier benchmark, PyTorch side: the same model and steps as bench/text_bench.cc.

Model: token embedding (vocab 8000), a class token, learned positions, pre-norm
nn.TransformerEncoderLayer blocks (GELU, MLP 4x, no dropout), a final LayerNorm and a linear head
over the class token. Train: forward, cross-entropy, backward, clip_grad_norm_, AdamW, zero_grad.
Infer: eval mode under torch.inference_mode() (PyTorch 1.13's fast path for encoder layers).
items_per_s is tokens per second (batch x sequence).
"""
import argparse

import torch

from peer_timing import emit, timed

SEQ, DIM, DEPTH, HEADS, BATCH, VOCAB = 256, 256, 4, 4, 32, 8000


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(VOCAB, DIM)
        self.cls = torch.nn.Parameter(torch.zeros(1, 1, DIM))
        self.pos = torch.nn.Parameter(torch.randn(1, SEQ + 1, DIM) * 0.02)
        self.blocks = torch.nn.ModuleList([
            torch.nn.TransformerEncoderLayer(DIM, HEADS, 4 * DIM, dropout=0.0, activation="gelu",
                                             batch_first=True, norm_first=True)
            for _ in range(DEPTH)])
        self.norm = torch.nn.LayerNorm(DIM)
        self.head = torch.nn.Linear(DIM, 2)

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
    torch.manual_seed(1)
    shape = f"seq={SEQ} dim={DIM} depth={DEPTH} heads={HEADS} batch={BATCH} threads={a.threads}"
    xs = [torch.randint(1, VOCAB, (BATCH, SEQ)) for _ in range(10)]
    ys = [x[:, 0] % 2 for x in xs]
    model = Model()
    state = {"at": 0}

    def batch():
        state["at"] = (state["at"] + 1) % len(xs)
        return xs[state["at"]], ys[state["at"]]

    if all(f in "train " + shape for f in a.filter):
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)

        def step():
            x, y = batch()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)

        emit("text", "train " + shape, timed(step, a.reps, a.seconds), BATCH * SEQ, a.threads)
    if all(f in "infer " + shape for f in a.filter):
        model.eval()

        def infer():
            with torch.inference_mode():
                model(batch()[0])

        emit("text", "infer " + shape, timed(infer, a.reps, a.seconds), BATCH * SEQ, a.threads)


if __name__ == "__main__":
    main()
