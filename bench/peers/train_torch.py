"""The training-step benchmark, PyTorch side: the same models and steps as bench/train_bench.cc.

Each step: take the next batch (indexing a pre-made tensor with a shuffled order, PyTorch's
cheapest loader), forward, cross-entropy, backward, clip_grad_norm_, AdamW, zero_grad. The model:
token embedding, a class token, learned positions, pre-norm nn.TransformerEncoderLayer blocks
(GELU, no dropout), a final LayerNorm and a linear head over the class token.
"""
import torch

from peer_models import ClsTransformer
from peer_timing import emit, parse_args, shuffled, timed, train_step

CASES = [
    ("step small seq=12 dim=64 depth=2 heads=4 batch=64", 12, 64, 64, 2, 4, 64),
    ("step small seq=8 dim=32 depth=1 heads=2 batch=16", 8, 32, 32, 1, 2, 16),
    ("step medium seq=64 dim=128 depth=4 heads=4 batch=32", 64, 256, 128, 4, 4, 32),
]


def main():
    a = parse_args()
    for base, length, vocab, dim, depth, heads, batch in CASES:
        name = f"{base} threads={a.threads}"
        if not all(f in name for f in a.filter):
            continue
        torch.manual_seed(1)
        n = batch * 50
        ids = torch.stack([torch.randperm(vocab)[:length] for _ in range(n)])
        labels = ids.argmax(1)
        model = ClsTransformer(torch.nn.Embedding(vocab, dim), length, dim, depth, heads, 4, length)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
        step = train_step(model, opt, shuffled(ids, labels, batch))
        emit("train", name, timed(step, a.reps, a.seconds), batch, a.threads)


if __name__ == "__main__":
    main()
