"""The vision benchmark, PyTorch side: the same models and steps as bench/vision_bench.cc.

ViT: a stride-4 convolution as the patch embedding, a class token, learned positions, pre-norm
nn.TransformerEncoderLayer blocks (GELU, no dropout; in inference torch 1.13 takes its fused
"fast path" for these), a final LayerNorm and a linear head on the class token. The soft-attention
baseline: two stride-2 3x3 convolutions with GELU, positions, LayerNorm, additive soft attention
pooling, a linear head. A training step: forward, cross-entropy, backward, AdamW, zero_grad;
inference runs under torch.inference_mode() in eval mode. "train bf16" runs the forward under
torch.autocast("cpu", bfloat16) (Focus: train.precision bf16). "infer bf16" (Focus: --precision bf16,
bf16 linear layers with f32 sums) casts the model and input to bfloat16: torch 1.13's encoder fast
path fails under torch.autocast("cpu") (it mixes dtypes), and the cast is its fastest bf16 path.
"""
import torch
import torch.nn.functional as F

from peer_models import ClsTransformer
from peer_timing import emit, parse_args, timed, train_step


class PatchTokens(torch.nn.Module):
    """A stride-`patch` convolution over [B,1,H,W] as [B,N,D] patch tokens."""

    def __init__(self, patch, dim):
        super().__init__()
        self.proj = torch.nn.Conv2d(1, dim, patch, stride=patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class ConvStemTokens(torch.nn.Module):
    """Xiao et al.'s convolutional stem: log2(patch) 3x3 stride-2 convolutions with GELU, channels
    doubling from `channels`, then a 1x1 projection to dim, as [B,N,D] tokens."""

    def __init__(self, patch, dim, channels):
        super().__init__()
        convs, cin, cout = [], 1, channels
        while patch > 1:
            convs.append(torch.nn.Conv2d(cin, cout, 3, stride=2, padding=1))
            cin, cout, patch = cout, cout * 2, patch // 2
        self.convs = torch.nn.ModuleList(convs)
        self.proj = torch.nn.Conv2d(cin, dim, 1)

    def forward(self, x):
        for conv in self.convs:
            x = F.gelu(conv(x))
        return self.proj(x).flatten(2).transpose(1, 2)


class ViT(ClsTransformer):
    def __init__(self, patch=4, dim=128, depth=6, heads=4, mlp_ratio=4, classes=10, size=28,
                 stem="patch", stem_channels=32):
        tokens = PatchTokens(patch, dim) if stem == "patch" else ConvStemTokens(patch, dim,
                                                                                stem_channels)
        super().__init__(tokens, (size // patch) ** 2, dim, depth, heads, mlp_ratio, classes)


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


CASES = [
    ("vit p4 d128 L6 h4 b128", ViT, 128),
    ("vit stem32 p4 d96 L4 h4 mlp2 b64",
     lambda: ViT(dim=96, depth=4, mlp_ratio=2, stem="conv", stem_channels=32), 64),
    ("soft_image conv h32 d64 b128", SoftImage, 128),
]


def main():
    a = parse_args()
    for base, make, batch in CASES:
        for mode in ("train", "train bf16", "infer", "infer bf16"):
            train, bf16 = mode.startswith("train"), mode.endswith("bf16")
            name = mode + " " + base
            if bf16 and not base.startswith("vit"):
                continue
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

                def next_batch():
                    state["at"] += 1
                    return xs[(state["at"] - 1) % 4], ys[(state["at"] - 1) % 4]

                step = train_step(model, opt, next_batch, clip=None, bf16=bf16)
            else:
                model.eval()

                if bf16:  # see the module's docstring
                    model = model.to(torch.bfloat16)
                    xs = [x.to(torch.bfloat16) for x in xs]

                def step():
                    with torch.inference_mode():
                        model(xs[state["at"] % 4])
                    state["at"] += 1

            emit("vision", name, timed(step, a.reps, a.seconds), batch, a.threads)


if __name__ == "__main__":
    main()
