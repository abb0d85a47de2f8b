"""Time to accuracy, PyTorch side: a Fashion-MNIST ViT recipe given by flags.

scripts/time_to_accuracy.py passes every flag from a Focus config (its defaults here are the
earlier benchmark-sized recipe, for direct use only). The same data handling, model and recipe as
`focus train` on that config:
- the 60,000 training images less a stratified 10% validation split, pixels standardised by the
  training split's mean and standard deviation, the official 10,000 test images;
- training augmentation: a random crop from the image padded by `crop_pad` background pixels, and
  a horizontal flip with probability `flip`;
- the ViT of src/models/vit.cc: a patch projection (or the convolutional stem), a class token, learned positions
  (trunc-normal σ 0.02), pre-norm blocks (x + drop(attn(ln1 x)); x + drop(fc2(drop(gelu(fc1(ln2
  x)))))), a final LayerNorm and a linear head on the class token; linear weights trunc-normal σ
  0.02, biases zero;
- AdamW without decay on parameters of rank < 2, linear warm-up for ceil(warmup · steps) steps then
  cosine to min_lr, label smoothing, gradient-norm clipping, batch 128 with the last partial batch
  dropped.
After every epoch it evaluates the validation split (counted in the time, as Focus does) and the
test split (the "monitor", left out of the time: it only measures time to accuracy and steers
nothing), and prints one JSON line. A checkpoint after each epoch lets a run stopped at a deadline
resume (--resume) with its clock.

  /usr/bin/python3 bench/peers/vision_recipe_torch.py --threads 2 --epochs 10 --out DIR
"""
import argparse
import gzip
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

import vision_torch


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def stratified_split(labels, fraction, seed):
    """Indices (train, validation): `fraction` of each class to validation, chosen by seed."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        rng.shuffle(idx)
        k = int(round(fraction * len(idx)))
        val.extend(idx[:k])
        train.extend(idx[k:])
    return np.sort(np.array(train)), np.sort(np.array(val))


class Block(torch.nn.Module):
    def __init__(self, dim, heads, hidden, dropout):
        super().__init__()
        self.ln1 = torch.nn.LayerNorm(dim)
        self.attn = torch.nn.MultiheadAttention(dim, heads, batch_first=True)
        self.ln2 = torch.nn.LayerNorm(dim)
        self.fc1 = torch.nn.Linear(dim, hidden)
        self.fc2 = torch.nn.Linear(hidden, dim)
        self.drop = torch.nn.Dropout(dropout)

    def forward(self, x):
        h = self.ln1(x)
        x = x + self.drop(self.attn(h, h, h, need_weights=False)[0])
        return x + self.drop(self.fc2(self.drop(F.gelu(self.fc1(self.ln2(x))))))


class RecipeViT(vision_torch.ViT):
    """The benchmark's ViT (same forward) with Focus's dropout placement and initialisation."""

    def __init__(self, patch, dim, depth, heads, mlp_ratio, dropout, stem, stem_channels):
        super().__init__(patch, dim, depth, heads, mlp_ratio, stem=stem,
                         stem_channels=stem_channels)
        self.blocks = torch.nn.ModuleList(
            [Block(dim, heads, mlp_ratio * dim, dropout) for _ in range(depth)])
        torch.nn.init.trunc_normal_(self.pos, std=0.02, a=-2.0, b=2.0)
        for m in self.modules():
            if isinstance(m, torch.nn.Linear):
                torch.nn.init.trunc_normal_(m.weight, std=0.02, a=-2.0, b=2.0)
                torch.nn.init.zeros_(m.bias)
            if isinstance(m, torch.nn.MultiheadAttention):
                torch.nn.init.trunc_normal_(m.in_proj_weight, std=0.02, a=-2.0, b=2.0)
                torch.nn.init.zeros_(m.in_proj_bias)


def augment(x, pad, flip, background, gen):
    """x [B,1,H,W]: a random crop of the background-padded image, then a random flip."""
    b, _, h, w = x.shape
    if pad > 0:
        padded = F.pad(x, (pad, pad, pad, pad), value=background)
        dy = torch.randint(0, 2 * pad + 1, (b,), generator=gen)
        dx = torch.randint(0, 2 * pad + 1, (b,), generator=gen)
        rows = (dy[:, None] + torch.arange(h)[None, :])[:, None, :, None].expand(b, 1, h, w + 2 * pad)
        x = padded.gather(2, rows)
        cols = (dx[:, None] + torch.arange(w)[None, :])[:, None, None, :].expand(b, 1, h, w)
        x = x.gather(3, cols)
    if flip > 0:
        mask = torch.rand(b, generator=gen) < flip
        x = torch.where(mask[:, None, None, None], x.flip(3), x)
    return x


def evaluate(model, x, y, batch=256):
    model.eval()
    correct = 0
    with torch.inference_mode():
        for i in range(0, len(x), batch):
            correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    model.train()
    return correct / len(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data", default=os.environ.get("FOCUS_FASHION_MNIST",
                                                     "/usr/share/datasets/fashion-mnist"))
    ap.add_argument("--out", required=True, help="checkpoint and log directory")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--min-lr", type=float, default=1e-5)
    ap.add_argument("--weight-decay", type=float, default=0.05)
    ap.add_argument("--warmup", type=float, default=0.05)
    ap.add_argument("--label-smoothing", type=float, default=0.1)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--crop-pad", type=int, default=2)
    ap.add_argument("--flip", type=float, default=0.5)
    ap.add_argument("--patch", type=int, default=4)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--depth", type=int, default=6)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--mlp-ratio", type=int, default=4)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--stem", choices=["patch", "conv"], default="patch")
    ap.add_argument("--stem-channels", type=int, default=32)
    ap.add_argument("--validation", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--train", type=int, default=0, help="use this many training images (smoke)")
    ap.add_argument("--test", type=int, default=0, help="use this many test images (smoke)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    os.makedirs(a.out, exist_ok=True)

    train_x = read_idx(os.path.join(a.data, "train-images-idx3-ubyte.gz"))
    train_y = read_idx(os.path.join(a.data, "train-labels-idx1-ubyte.gz")).astype(np.int64)
    test_x = read_idx(os.path.join(a.data, "t10k-images-idx3-ubyte.gz"))
    test_y = read_idx(os.path.join(a.data, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    if a.train:
        train_x, train_y = train_x[:a.train], train_y[:a.train]
    if a.test:
        test_x, test_y = test_x[:a.test], test_y[:a.test]
    tr, va = stratified_split(train_y, a.validation, a.seed + 1)
    pixels = train_x[tr].astype(np.float64) / 255.0
    # Python floats: under NumPy 2's promotion rules a float64 scalar would turn the images into
    # float64.
    mean, std = float(pixels.mean()), float(pixels.std())

    def tensor(images):
        return torch.from_numpy(((images.astype(np.float32) / 255.0 - mean) / std)[:, None])

    xtr, ytr = tensor(train_x[tr]), torch.from_numpy(train_y[tr])
    xva, yva = tensor(train_x[va]), torch.from_numpy(train_y[va])
    xte, yte = tensor(test_x), torch.from_numpy(test_y)
    background = float(-mean / std)
    assert xtr.dtype == torch.float32, xtr.dtype

    model = RecipeViT(a.patch, a.dim, a.depth, a.heads, a.mlp_ratio, a.dropout, a.stem,
                      a.stem_channels)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=a.lr)
    steps_per_epoch = len(xtr) // a.batch
    total = steps_per_epoch * a.epochs
    warmup = math.ceil(a.warmup * total)

    def lr_at(t):
        if t < warmup:
            return a.lr * (t + 1) / warmup
        pct = (t - warmup) / (total - warmup)
        return a.min_lr + (a.lr - a.min_lr) * (1 + math.cos(math.pi * pct)) / 2

    gen = torch.Generator().manual_seed(a.seed)
    start_epoch, step, clock = 0, 0, 0.0
    ckpt = os.path.join(a.out, "last.pt")
    if a.resume and os.path.exists(ckpt):
        s = torch.load(ckpt)
        model.load_state_dict(s["model"])
        opt.load_state_dict(s["optimizer"])
        gen.set_state(s["gen"])
        torch.set_rng_state(s["rng"])
        start_epoch, step, clock = s["epoch"], s["step"], s["clock"]

    model.train()
    for epoch in range(start_epoch, a.epochs):
        t0 = time.perf_counter()
        order = torch.randperm(len(xtr), generator=gen)
        for i in range(steps_per_epoch):
            idx = order[i * a.batch:(i + 1) * a.batch]
            x = augment(xtr[idx], a.crop_pad, a.flip, background, gen)
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            loss = F.cross_entropy(model(x), ytr[idx], label_smoothing=a.label_smoothing)
            loss.backward()
            if a.clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
            opt.step()
            opt.zero_grad(set_to_none=True)
            step += 1
        val = evaluate(model, xva, yva)
        clock += time.perf_counter() - t0
        test = evaluate(model, xte, yte)  # the monitor: outside the clock, steers nothing
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                    "gen": gen.get_state(), "rng": torch.get_rng_state(),
                    "epoch": epoch + 1, "step": step, "clock": clock}, ckpt + ".tmp")
        os.replace(ckpt + ".tmp", ckpt)
        record = {"bench": "vision_tta", "impl": "torch", "epoch": epoch + 1, "step": step,
                  "time": round(clock, 3), "val_accuracy": val, "monitor_accuracy": test,
                  "threads": a.threads, "torch": torch.__version__}
        with open(os.path.join(a.out, "log.jsonl"), "a") as f:
            f.write(json.dumps(record) + "\n")
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
