"""The speech benchmark, PyTorch side: the same models, steps and log-mel as bench/speech_bench.cc.

Models over log-mel features [B,40,98], 22 classes:
- keyword_transformer front=linear: [B,40,98] -> [B,49,80] (2-frame patches) -> Linear(80->D) as
  tokens, then as below;
- keyword_transformer front=conv: Conv1d(40->D, k, stride p, padding k//2) + GELU as tokens, a class
  token, learned positions, pre-norm nn.TransformerEncoderLayer blocks (GELU, MLP ratio 2, no
  dropout), LayerNorm, a linear head over the class token;
- soft_frames: Conv1d layers (padding k//2) + GELU, additive soft-attention pooling over frames
  (v·tanh(W h + b)), LayerNorm, a linear head.
A training step: next batch of a materialised tensor, forward, cross-entropy, backward,
clip_grad_norm_, AdamW, zero_grad. Inference: a forward pass under no_grad on one batch.
Features: torch.stft (periodic Hann 400 zero-padded to 512, hop 160, no centring) of 64 one-second
clips at once, power, HTK mel filters, log.
"""
import math

import torch

from peer_models import ClsTransformer
from peer_timing import emit, parse_args, shuffled, timed, train_step

MELS, FRAMES, CLASSES = 40, 98, 22


class ConvTokens(torch.nn.Module):
    """Conv1d(40->D, k, stride p, padding k//2) + GELU over [B,40,98], as [B,N,D] tokens."""

    def __init__(self, dim, patch, kernel):
        super().__init__()
        self.conv = torch.nn.Conv1d(MELS, dim, kernel, stride=patch, padding=kernel // 2)

    def forward(self, x):
        return torch.nn.functional.gelu(self.conv(x)).transpose(1, 2)


class PatchTokens(torch.nn.Module):
    """[B,40,98] -> patches of p frames [B,98/p,p·40] -> Linear(p·40->D), as [B,N,D] tokens."""

    def __init__(self, dim, patch):
        super().__init__()
        self.patch = patch
        self.proj = torch.nn.Linear(patch * MELS, dim)

    def forward(self, x):
        n = FRAMES // self.patch
        t = x.transpose(1, 2)[:, :n * self.patch].reshape(x.shape[0], n, self.patch * MELS)
        return self.proj(t)


def keyword_transformer(dim, depth, heads, mlp_ratio, patch, kernel):
    if kernel is None:
        return ClsTransformer(PatchTokens(dim, patch), FRAMES // patch, dim, depth, heads,
                              mlp_ratio, CLASSES)
    tokens = (FRAMES + 2 * (kernel // 2) - kernel) // patch + 1
    return ClsTransformer(ConvTokens(dim, patch, kernel), tokens, dim, depth, heads, mlp_ratio,
                          CLASSES)


class SoftFrames(torch.nn.Module):
    def __init__(self, dim, kernel, layers):
        super().__init__()
        self.convs = torch.nn.ModuleList([
            torch.nn.Conv1d(MELS if i == 0 else dim, dim, kernel, padding=kernel // 2) for i in range(layers)])
        self.w = torch.nn.Linear(dim, dim)
        self.v = torch.nn.Linear(dim, 1, bias=False)
        self.norm = torch.nn.LayerNorm(dim)
        self.head = torch.nn.Linear(dim, CLASSES)

    def forward(self, x):
        h = x
        for c in self.convs:
            h = torch.nn.functional.gelu(c(h))
        h = h.transpose(1, 2)                                   # [B,T,D]
        a = torch.softmax(self.v(torch.tanh(self.w(h))).squeeze(-1), -1)  # [B,T]
        return self.head(self.norm((a.unsqueeze(-1) * h).sum(1)))


CASES = [
    ("keyword_transformer front=linear patch=2 dim=64 depth=3 heads=4 batch=64",
     lambda: keyword_transformer(64, 3, 4, 2, 2, None), 64),
    ("keyword_transformer front=conv kernel=5 patch=2 dim=64 depth=3 heads=4 batch=64",
     lambda: keyword_transformer(64, 3, 4, 2, 2, 5), 64),
    ("soft_frames dim=64 kernel=5 layers=2 batch=64", lambda: SoftFrames(64, 5, 2), 64),
]


def mel_filters(n_fft=512, rate=16000, mels=MELS, fmin=20.0, fmax=8000.0):
    hz_to_mel = lambda f: 2595.0 * math.log10(1.0 + f / 700.0)
    mel_to_hz = lambda m: 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    m0, m1 = hz_to_mel(fmin), hz_to_mel(fmax)
    edges = [mel_to_hz(m0 + (m1 - m0) * i / (mels + 1)) for i in range(mels + 2)]
    freqs = torch.arange(n_fft // 2 + 1, dtype=torch.float64) * rate / n_fft
    fb = torch.zeros(mels, n_fft // 2 + 1, dtype=torch.float64)
    for m in range(mels):
        lo, mid, hi = edges[m], edges[m + 1], edges[m + 2]
        fb[m] = torch.clamp(torch.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)), min=0)
    return fb.float()


def main():
    a = parse_args()
    wanted = lambda name: all(f in name for f in a.filter)
    suffix = f" threads={a.threads}"
    for base, make, batch in CASES:
        train_name, infer_name = f"train {base}{suffix}", f"infer {base}{suffix}"
        if not wanted(train_name) and not wanted(infer_name):
            continue
        torch.manual_seed(1)
        model = make()
        n = batch * 20
        x = torch.randn(n, MELS, FRAMES)
        y = torch.arange(n) % CLASSES
        if wanted(train_name):
            model.train()
            opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
            step = train_step(model, opt, shuffled(x, y, batch))
            emit("speech", train_name, timed(step, a.reps, a.seconds), batch, a.threads)
        if wanted(infer_name):
            model.eval()
            xb = x[:batch].contiguous()

            def infer():
                with torch.no_grad():
                    model(xb)

            emit("speech", infer_name, timed(infer, a.reps, a.seconds), batch, a.threads)
    feat_name = f"features log-mel 40 bands 64 clips of 1 s{suffix}"
    if wanted(feat_name):
        torch.manual_seed(2)
        audio = torch.randn(64, 16000)
        fb = mel_filters()
        window = torch.hann_window(400)

        def features():
            spec = torch.stft(audio, 512, hop_length=160, win_length=400, window=window, center=False,
                              return_complex=True)
            torch.log(torch.clamp(fb @ spec.abs().pow(2), min=1e-6))

        emit("speech", feat_name, timed(features, a.reps, a.seconds), 64, a.threads)


if __name__ == "__main__":
    main()
