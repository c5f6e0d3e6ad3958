"""Building blocks shared by the TFM-Tokenizer and the TFM-Encoder.

Linear (softmax-kernel) self-attention as in Shen et al. 2021 ("Efficient
attention"): queries are soft-maxed over features, keys over positions, and
the ``(d_head, d_head)`` context ``K^T V`` replaces the ``(n, n)`` attention
map, so cost grows linearly with sequence length. Pre-norm residual blocks
with a GELU feed-forward of width ``4 * d``, no final norm.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["LinearAttention", "LinearTransformer", "SinusoidalPositions"]


class LinearAttention(nn.Module):
    """Multi-head linear attention.

    Parameters
    ----------
    dim : int
        Embedding size ``d`` (divisible by ``n_heads``).
    n_heads : int
        Number of heads.
    dropout : float
        Dropout on the output projection.
    """

    def __init__(self, dim: int, n_heads: int = 8, dropout: float = 0.0):
        super().__init__()
        if dim % n_heads:
            raise ValueError(f"The 'dim' must be divisible by n_heads={n_heads}, got {dim}.")
        self.n_heads = n_heads
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(dim, dim, bias=False)
        self.to_v = nn.Linear(dim, dim, bias=False)
        self.to_out = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: (batch, n_tokens, dim) -> (batch, n_tokens, dim).

        The query rows are taken in (feature, head) order so that both soft-maxes reduce over an outer
        axis of contiguous memory: on CPU a soft-max over a last axis of ``d_head`` = 8 is several times
        slower (docs/benchmarks.md, tokenization speed). Equal to the per-head formula to float rounding.
        """
        b, n, d = x.shape
        h = self.n_heads
        dh = d // h
        q = F.linear(x, self.to_q.weight[self._query_order(d, h, x.device)]).view(b, n, dh, h).softmax(dim=2)
        k = self.to_k(x).view(b, n, h, dh).softmax(dim=1)  # over positions
        v = self.to_v(x).view(b, n, h, dh)
        context = torch.matmul(k.permute(0, 2, 3, 1), v.transpose(1, 2)) * dh**-0.5  # (b, h, dh, dh)
        out = torch.matmul(q.permute(0, 3, 1, 2), context)  # (b, h, n, dh)
        return self.dropout(self.to_out(out.transpose(1, 2).reshape(b, n, d)))

    @staticmethod
    def _query_order(d: int, h: int, device) -> torch.Tensor:
        """Rows of the query weight in (feature, head) order."""
        return torch.arange(d, device=device).view(h, d // h).t().reshape(-1)


class _FeedForward(nn.Module):
    def __init__(self, dim: int, mult: int = 4, dropout: float = 0.0):
        super().__init__()
        self.w1 = nn.Linear(dim, dim * mult)
        self.act = nn.GELU()
        self.dropout = nn.Dropout(dropout)
        self.w2 = nn.Linear(dim * mult, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w2(self.dropout(self.act(self.w1(x))))


class _Block(nn.Module):
    def __init__(self, dim: int, n_heads: int, dropout: float):
        super().__init__()
        self.attn_norm = nn.LayerNorm(dim)
        self.attn = LinearAttention(dim, n_heads, dropout)
        self.ff_norm = nn.LayerNorm(dim)
        self.ff = _FeedForward(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.attn_norm(x))
        return x + self.ff(self.ff_norm(x))


class LinearTransformer(nn.Module):
    """Stack of pre-norm linear-attention blocks.

    Parameters
    ----------
    dim : int
        Embedding size.
    depth : int
        Number of blocks.
    n_heads : int
        Attention heads per block.
    dropout : float
        Dropout after each attention projection (the reference uses 0.2).
    """

    def __init__(self, dim: int, depth: int, n_heads: int = 8, dropout: float = 0.2):
        super().__init__()
        self.blocks = nn.ModuleList(_Block(dim, n_heads, dropout) for _ in range(depth))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: (batch, n_tokens, dim) -> same shape."""
        for block in self.blocks:
            x = block(x)
        return x


class SinusoidalPositions(nn.Module):
    """Fixed sine/cosine position codes added to a (batch, n, dim) input."""

    def __init__(self, dim: int, max_len: int = 1000):
        super().__init__()
        position = torch.arange(max_len, dtype=torch.float32)[:, None]
        div = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
        pe = torch.zeros(max_len, dim)
        pe[:, 0::2] = torch.sin(position * div)
        pe[:, 1::2] = torch.cos(position * div)
        self.register_buffer("pe", pe, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[-2]
        if n > self.pe.shape[0]:
            raise ValueError(f"The 'n_frames' must be <= {self.pe.shape[0]}, got {n}.")
        return x + self.pe[:n]
