"""The BraInCoRL transformer: a voxel's context set of (image embedding, response)
pairs in, that voxel's linear encoder (weights and bias) out.

Reference: Yu, Hu, Gupta, Tarr & Wehbe, "Meta-Learning an In-Context Transformer
Model of Human Higher Visual Cortex" (BraInCoRL). Written from the paper's
description; sizes are configurable, with the paper's preset for 512-d CLIP
embeddings and a small preset that trains on a CPU.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ...pipeline import PretrainedMixin, bad_value, check, check_array

__all__ = ["BraInCoRLConfig", "BraInCoRL", "PRESETS", "predict_from_weights"]

#: Architecture presets. ``"paper"``: the published model for 512-d embeddings
#: (CLIP ViT-B); ``"small"``: a few-layer model meta-trainable on a CPU.
PRESETS: dict[str, dict[str, Any]] = {
    "paper": dict(width=560, n_layers=20, n_heads=10, ffn_dim=2048, n_registers=4, mlp_hidden=1120),
    "small": dict(width=64, n_layers=3, n_heads=4, ffn_dim=128, n_registers=4, mlp_hidden=128),
}


@dataclass
class BraInCoRLConfig:
    """Configuration of :class:`BraInCoRL` (stored as ``config.json``).

    Parameters
    ----------
    embed_dim : int
        Dimension ``E`` of the (unit-normed) image embeddings.
    width : int
        Model width (token dimension).
    n_layers : int
        Number of transformer blocks.
    n_heads : int
        Attention heads (``width`` must be divisible by it).
    ffn_dim : int
        Hidden size of the SwiGLU feed-forward network.
    n_registers : int
        Learnable register tokens prepended to the context set; the first one
        is read out.
    mlp_hidden : int or None
        Hidden size of the input / readout residual MLP blocks (``2 * width`` if None).
    dropout : float
        Dropout in the MLP blocks, attention weights and residual branches.
    log_scale_attention : bool
        Scale the attention logits by ``log(n_tokens)`` (keeps attention sharp
        as the context set grows).
    """

    embed_dim: int = 512
    width: int = 560
    n_layers: int = 20
    n_heads: int = 10
    ffn_dim: int = 2048
    n_registers: int = 4
    mlp_hidden: int | None = None
    dropout: float = 0.0
    log_scale_attention: bool = True

    def __post_init__(self):
        for name in ("embed_dim", "width", "n_layers", "n_heads", "ffn_dim", "n_registers"):
            value = getattr(self, name)
            check(isinstance(value, int) and value > 0, name, "a positive integer", value, of="BraInCoRLConfig")
        check(
            self.width % self.n_heads == 0,
            "width",
            f"divisible by n_heads={self.n_heads}",
            self.width,
            of="BraInCoRLConfig",
        )
        check(0.0 <= self.dropout < 1.0, "dropout", "in [0, 1)", self.dropout, of="BraInCoRLConfig")
        if self.mlp_hidden is None:
            self.mlp_hidden = 2 * self.width

    @classmethod
    def from_preset(cls, preset: str, embed_dim: int, **overrides: Any) -> BraInCoRLConfig:
        """Config of a named preset (``"paper"`` or ``"small"``) with overrides (None = keep)."""
        if preset not in PRESETS:
            raise bad_value("preset", f"one of {sorted(PRESETS)}", preset, of="BraInCoRL")
        kwargs = dict(PRESETS[preset])
        kwargs.update({k: v for k, v in overrides.items() if v is not None})
        return cls(embed_dim=embed_dim, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BraInCoRLConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known - {"model_type"})
        if unknown:
            raise bad_value("config", f"keys among {sorted(known)}", unknown, of="BraInCoRL")
        return cls(**{k: v for k, v in data.items() if k in known})


class ResidualMLP(nn.Module):
    """Pre-activation residual MLP block: (LayerNorm, LeakyReLU 0.1, Dropout, Linear) x 2 + skip."""

    def __init__(self, n_in: int, n_out: int, n_hidden: int, dropout: float = 0.0):
        super().__init__()
        self.block = nn.Sequential(
            nn.LayerNorm(n_in),
            nn.LeakyReLU(0.1),
            nn.Dropout(dropout),
            nn.Linear(n_in, n_hidden),
            nn.LayerNorm(n_hidden),
            nn.LeakyReLU(0.1),
            nn.Dropout(dropout),
            nn.Linear(n_hidden, n_out),
        )
        self.skip = nn.Identity() if n_in == n_out else nn.Linear(n_in, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x) + self.skip(x)


class SwiGLU(nn.Module):
    """SwiGLU feed-forward network: ``W2 (silu(x W1a) * x W1b)``."""

    def __init__(self, width: int, hidden: int, dropout: float = 0.0):
        super().__init__()
        self.w1 = nn.Linear(width, 2 * hidden)
        self.w2 = nn.Linear(hidden, width)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.w1(x).chunk(2, dim=-1)
        return self.w2(self.dropout(F.silu(a) * b))


class SetAttentionBlock(nn.Module):
    """Pre-LN transformer block without positional encoding.

    Attention logits are multiplied by ``log(n_tokens)`` when ``log_scale`` is set.
    """

    def __init__(self, width: int, n_heads: int, ffn_dim: int, dropout: float, log_scale: bool):
        super().__init__()
        self.n_heads = n_heads
        self.log_scale = log_scale
        self.dropout = dropout
        self.norm1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width)
        self.ffn = SwiGLU(width, ffn_dim, dropout)
        self.resid_drop = nn.Dropout(dropout)

    def _attend(self, x: torch.Tensor, need_weights: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        n_batch, n_tok, width = x.shape
        head = width // self.n_heads
        q, k, v = self.qkv(x).view(n_batch, n_tok, 3, self.n_heads, head).permute(2, 0, 3, 1, 4)
        scale = 1.0 / math.sqrt(head)
        if self.log_scale:
            scale *= math.log(n_tok)
        p_drop = self.dropout if self.training else 0.0
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=p_drop, scale=scale)
        # attention of the read-out token (first) only: (n_batch, n_heads, n_tok), cheap for large sets
        attn = (
            torch.softmax((q[:, :, 0].unsqueeze(2) @ k.transpose(-2, -1)).squeeze(2) * scale, dim=-1)
            if need_weights
            else None
        )
        return self.proj(out.transpose(1, 2).reshape(n_batch, n_tok, width)), attn

    def forward(self, x: torch.Tensor, need_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        h, attn = self._attend(self.norm1(x), need_weights)
        x = x + self.resid_drop(h)
        x = x + self.resid_drop(self.ffn(self.norm2(x)))
        return x, attn


def predict_from_weights(weights: torch.Tensor, embeddings: torch.Tensor) -> torch.Tensor:
    """Responses ``w . e + b`` of voxels to images.

    Parameters
    ----------
    weights : tensor, shape (n_voxels, E + 1)
        Per-voxel weights, bias last.
    embeddings : tensor, shape (n_images, E) or (n_voxels, n_images, E)
        Query image embeddings (shared by all voxels, or per voxel).

    Returns
    -------
    tensor, shape (n_voxels, n_images)
    """
    weights = check_array(weights, "weights", "(n_voxels, E + 1)", ndim=2)
    embeddings = check_array(embeddings, "embeddings", "(n_images, E) or (n_voxels, n_images, E)", ndim=(2, 3))
    check(
        embeddings.shape[-1] == weights.shape[1] - 1,
        "embeddings",
        f"E = {weights.shape[1] - 1} features (the weights' E + 1 minus the bias)",
        f"<shape {tuple(embeddings.shape)}>",
    )
    check(
        embeddings.dim() == 2 or embeddings.shape[0] == weights.shape[0],
        "embeddings",
        f"one set per voxel ({weights.shape[0]})",
        f"<shape {tuple(embeddings.shape)}>",
    )
    w, b = weights[:, :-1], weights[:, -1:]
    if embeddings.dim() == 2:
        return w @ embeddings.T + b
    return torch.einsum("ve,vne->vn", w, embeddings) + b


class BraInCoRL(PretrainedMixin, nn.Module):
    """In-context transformer mapping a voxel's context set to its linear encoder.

    For each voxel, every (embedding ``e`` in R^E, response ``beta``) pair of the
    context is mapped to the model width by a residual MLP; learnable register
    tokens are prepended; a permutation-invariant pre-LN transformer (no
    positional encoding, log-scaled attention, SwiGLU FFN) processes the set;
    the first register token is read out by a residual MLP to ``E + 1`` numbers:
    the voxel's weights and bias.

    Parameters
    ----------
    config : BraInCoRLConfig, optional
        Architecture (keyword arguments override / replace it).
    **kwargs
        Fields of :class:`BraInCoRLConfig`.
    """

    model_type = "braincorl"

    def __init__(self, config: BraInCoRLConfig | None = None, **kwargs: Any):
        super().__init__()
        if config is None:
            config = BraInCoRLConfig(**kwargs)
        elif kwargs:
            config = BraInCoRLConfig(**{**config.to_dict(), **kwargs})
        self.config = config
        c = config
        self.embed = ResidualMLP(c.embed_dim + 1, c.width, c.mlp_hidden, c.dropout)
        self.registers = nn.Parameter(torch.randn(1, c.n_registers, c.width) / math.sqrt(c.width))
        self.blocks = nn.ModuleList(
            SetAttentionBlock(c.width, c.n_heads, c.ffn_dim, c.dropout, c.log_scale_attention)
            for _ in range(c.n_layers)
        )
        self.readout = ResidualMLP(c.width, c.embed_dim + 1, c.mlp_hidden, c.dropout)

    @property
    def embed_dim(self) -> int:
        return self.config.embed_dim

    def forward(
        self, context_embeddings: torch.Tensor, context_responses: torch.Tensor, return_attention: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """Voxel weights from context sets.

        Parameters
        ----------
        context_embeddings : tensor, shape (n_context, E) or (n_voxels, n_context, E)
            Unit-normed embeddings of the context images (shared by all voxels, or per voxel).
        context_responses : tensor, shape (n_voxels, n_context)
            Responses of each voxel to the context images.
        return_attention : bool
            Also return, per layer, the attention of the read-out token over the
            context images, averaged over heads: list of (n_voxels, n_context).

        Returns
        -------
        weights : tensor, shape (n_voxels, E + 1)
            Linear weights (first ``E``) and bias (last) per voxel.
        attention : list of tensor, optional
        """
        n_vox, n_ctx = context_responses.shape
        if context_embeddings.dim() == 2:
            context_embeddings = context_embeddings.unsqueeze(0).expand(n_vox, -1, -1)
        tokens = torch.cat([context_embeddings, context_responses.unsqueeze(-1).to(context_embeddings.dtype)], dim=-1)
        x = self.embed(tokens)
        n_reg = self.config.n_registers
        x = torch.cat([self.registers.expand(n_vox, -1, -1).to(x.dtype), x], dim=1)
        attention = []
        for block in self.blocks:
            x, attn = block(x, need_weights=return_attention)
            if return_attention:
                attention.append(attn[:, :, n_reg:].mean(dim=1))
        weights = self.readout(x[:, 0])
        return (weights, attention) if return_attention else weights

    # -- persistence (PretrainedMixin: config.json + model.safetensors; model_type "braincorl") -----
    def _pretrained_config(self) -> dict[str, Any]:
        return self.config.to_dict()

    @classmethod
    def _from_pretrained_state(cls, config, state, directory, device, **kwargs) -> BraInCoRL:
        model = cls(BraInCoRLConfig.from_dict(config))
        model.load_state_dict(state["tensors"])
        return model.to(device).eval()
