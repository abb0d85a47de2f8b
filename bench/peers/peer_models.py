"""The class-token transformer encoder the PyTorch peers share (text, training step, speech, vision).

tokens(x) -> [B,N,D], a class token, learned positions (normal, σ 0.02), pre-norm
nn.TransformerEncoderLayer blocks (GELU, no dropout; PyTorch 1.13 takes its fused fast path for
them in inference), a final LayerNorm and a linear head over the class token.
"""
import torch


class ClsTransformer(torch.nn.Module):
    def __init__(self, tokens, n, dim, depth, heads, mlp_ratio, classes):
        """tokens: a module turning the input into n tokens of width dim."""
        super().__init__()
        self.tokens = tokens
        self.cls = torch.nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = torch.nn.Parameter(torch.randn(1, n + 1, dim) * 0.02)
        self.blocks = torch.nn.ModuleList([
            torch.nn.TransformerEncoderLayer(dim, heads, mlp_ratio * dim, dropout=0.0,
                                             activation="gelu", batch_first=True, norm_first=True)
            for _ in range(depth)])
        self.norm = torch.nn.LayerNorm(dim)
        self.head = torch.nn.Linear(dim, classes)

    def forward(self, x):
        h = self.tokens(x)
        h = torch.cat([self.cls.expand(h.shape[0], -1, -1), h], 1) + self.pos
        for b in self.blocks:
            h = b(h)
        return self.head(self.norm(h)[:, 0])
