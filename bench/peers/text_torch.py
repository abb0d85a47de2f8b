"""The text-classifier benchmark, PyTorch side: the same model and steps as bench/text_bench.cc.

Model: token embedding (vocab 8000), a class token, learned positions, pre-norm
nn.TransformerEncoderLayer blocks (GELU, MLP 4x, no dropout), a final LayerNorm and a linear head
over the class token. Train: forward, cross-entropy, backward, clip_grad_norm_, AdamW, zero_grad.
"train bf16" the same with the forward under torch.autocast("cpu", bfloat16) (Focus:
train.precision bf16, bf16 products in the linear layers with f32 sums).
Infer: eval mode under torch.inference_mode() (PyTorch 1.13's fast path for encoder layers);
"infer bf16" the same with the model cast to bfloat16 (Focus: --precision bf16, bf16 linear
layers with f32 sums).
items_per_s is tokens per second (batch x sequence).
"""
import copy

import torch

from peer_models import ClsTransformer
from peer_timing import emit, parse_args, timed, train_step

SEQ, DIM, DEPTH, HEADS, BATCH, VOCAB = 256, 256, 4, 4, 32, 8000


def main():
    a = parse_args()
    torch.manual_seed(1)
    shape = f"seq={SEQ} dim={DIM} depth={DEPTH} heads={HEADS} batch={BATCH} threads={a.threads}"
    xs = [torch.randint(1, VOCAB, (BATCH, SEQ)) for _ in range(10)]
    ys = [x[:, 0] % 2 for x in xs]
    model = ClsTransformer(torch.nn.Embedding(VOCAB, DIM), SEQ, DIM, DEPTH, HEADS, 4, 2)
    state = {"at": 0}

    def batch():
        state["at"] = (state["at"] + 1) % len(xs)
        return xs[state["at"]], ys[state["at"]]

    for name, bf16 in (("train " + shape, False), ("train bf16 " + shape, True)):
        if not all(f in name for f in a.filter):
            continue
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
        step = train_step(model, opt, batch, bf16=bf16)
        emit("text", name, timed(step, a.reps, a.seconds), BATCH * SEQ, a.threads)
    if all(f in "infer " + shape for f in a.filter):
        model.eval()

        def infer():
            with torch.inference_mode():
                model(batch()[0])

        emit("text", "infer " + shape, timed(infer, a.reps, a.seconds), BATCH * SEQ, a.threads)
    if all(f in "infer bf16 " + shape for f in a.filter):
        model.eval()

        # torch 1.13's encoder fast path fails under torch.autocast("cpu") (it mixes dtypes), so
        # the peer's bf16 inference is the whole model cast to bfloat16: its fastest bf16 path.
        model_bf16 = copy.deepcopy(model).to(torch.bfloat16)

        def infer_bf16():
            with torch.inference_mode():
                model_bf16(batch()[0])

        emit("text", "infer bf16 " + shape, timed(infer_bf16, a.reps, a.seconds), BATCH * SEQ,
             a.threads)


if __name__ == "__main__":
    main()
