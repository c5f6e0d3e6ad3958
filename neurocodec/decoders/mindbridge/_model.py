"""The MindBridge network (Wang et al., CVPR 2024): one decoder shared across subjects.

Voxels of every subject are standardised, aggregated to a fixed size by
adaptive max pooling, mapped by a subject-specific *embedder* into a shared
space, carried by a shared *translator* (residual MLP) to CLIP image-token and
text-token embeddings, and mapped back by a subject-specific *builder* to the
pooled voxels (used by the reconstruction and cycle losses).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from ...pipeline import PretrainedMixin, bad_value, check, check_array

__all__ = ["pool_voxels", "LowRankAdapter", "ResidualMLP", "MindBridgeModel", "MODEL_PRESETS"]

#: Architecture presets: ``"paper"`` is the published configuration (NSD,
#: ViT-L/14 hidden states: 257 x 768 image tokens, 77 x 768 text tokens);
#: ``"cpu"`` is a size that trains in seconds on a laptop CPU.
MODEL_PRESETS: dict[str, dict[str, Any]] = {
    "paper": dict(
        n_pooled=8192,
        pool_type="max",
        hidden_dim=2048,
        n_blocks=4,
        adapter_rank=128,
        embedder_dropout=0.5,
        translator_dropout=0.15,
        image_tokens=257,
        image_dim=768,
        text_tokens=77,
        text_dim=768,
    ),
    "cpu": dict(
        n_pooled=256,
        pool_type="max",
        hidden_dim=256,
        n_blocks=2,
        adapter_rank=16,
        embedder_dropout=0.5,
        translator_dropout=0.15,
    ),
}


def pool_voxels(voxels: torch.Tensor, n_pooled: int, pool_type: str = "max") -> torch.Tensor:
    """Aggregate any number of voxels to ``n_pooled`` values by adaptive 1-D pooling.

    Parameters
    ----------
    voxels : torch.Tensor, shape (n_samples, n_voxels)
        Responses; ``n_voxels`` may be smaller or larger than ``n_pooled``
        (smaller counts are repeated, larger ones pooled over adjacent voxels).
    n_pooled : int
        Output size.
    pool_type : {"max", "avg"}
        Adaptive max pooling (the paper) or average pooling.

    Returns
    -------
    pooled : torch.Tensor, shape (n_samples, n_pooled)
    """
    voxels = check_array(voxels, "voxels", "(n_samples, n_voxels)", ndim=2)
    check(voxels.shape[1] > 0, "voxels", "at least one voxel", f"<shape {tuple(voxels.shape)}>")
    x = voxels.unsqueeze(1)
    if pool_type == "max":
        x = F.adaptive_max_pool1d(x, n_pooled)
    elif pool_type == "avg":
        x = F.adaptive_avg_pool1d(x, n_pooled)
    else:
        raise bad_value("pool_type", "'max' or 'avg'", pool_type)
    return x.squeeze(1)


class LowRankAdapter(nn.Module):
    """Residual low-rank adapter ``x + up(relu(down(x)))`` with ``up`` zero-initialised (LoRA init).

    At initialisation it is the identity.
    """

    def __init__(self, n_features: int, rank: int, dropout: float = 0.0):
        super().__init__()
        self.down = nn.Linear(n_features, rank)
        self.up = nn.Linear(rank, n_features)
        self.dropout = dropout
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.kaiming_uniform_(self.down.weight, a=math.sqrt(5))
        nn.init.zeros_(self.down.bias)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.dropout(F.relu(self.down(x)), p=self.dropout, training=self.training)
        return x + self.up(h)


class ResidualMLP(nn.Module):
    """``n_blocks`` residual blocks ``x + dropout(gelu(layernorm(linear(x))))``."""

    def __init__(self, dim: int, n_blocks: int, dropout: float = 0.15):
        super().__init__()
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Linear(dim, dim), nn.LayerNorm(dim), nn.GELU(), nn.Dropout(dropout))
            for _ in range(n_blocks)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = x + block(x)
        return x


class _VoxelScaler(nn.Module):
    """Per-voxel standardisation statistics of one subject (buffers, set at fit time)."""

    def __init__(self, n_voxels: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_voxels))
        self.register_buffer("scale", torch.ones(n_voxels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.scale


def _embedder(n_pooled: int, hidden_dim: int, rank: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(
        LowRankAdapter(n_pooled, rank),
        nn.Linear(n_pooled, hidden_dim),
        nn.LayerNorm(hidden_dim),
        nn.GELU(),
        nn.Dropout(dropout),
    )


def _builder(n_pooled: int, hidden_dim: int, rank: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(hidden_dim, n_pooled), nn.LayerNorm(n_pooled), nn.GELU(), LowRankAdapter(n_pooled, rank)
    )


class MindBridgeModel(PretrainedMixin, nn.Module):
    """MindBridge: per-subject embedders/builders around a shared translator and CLIP heads.

    Parameters
    ----------
    subject_voxels : dict of str to int
        Subject name -> number of voxels (may differ between subjects).
    image_tokens, image_dim : int
        Shape of the image-token target embedding (e.g. 257 x 768 for CLIP ViT-L/14 hidden states).
    text_tokens, text_dim : int
        Shape of the text-token target embedding (77 x 768 in the paper); ``text_tokens=0``
        disables the text head.
    n_pooled : int
        Size every subject's voxels are pooled to (paper: 8192).
    pool_type : {"max", "avg"}
        Adaptive pooling kind (paper: max).
    hidden_dim : int
        Width of the shared space (paper: 2048).
    n_blocks : int
        Residual blocks of the translator (paper: 4).
    adapter_rank : int
        Bottleneck of the embedder/builder low-rank adapters (paper: 128).
    embedder_dropout, translator_dropout : float
        Dropout rates (paper: 0.5 and 0.15).
    """

    model_type = "mindbridge"

    def __init__(
        self,
        subject_voxels: Mapping[str, int],
        image_tokens: int,
        image_dim: int,
        text_tokens: int = 0,
        text_dim: int = 0,
        n_pooled: int = 8192,
        pool_type: str = "max",
        hidden_dim: int = 2048,
        n_blocks: int = 4,
        adapter_rank: int = 128,
        embedder_dropout: float = 0.5,
        translator_dropout: float = 0.15,
    ):
        super().__init__()
        check(len(subject_voxels) >= 1, "subject_voxels", "at least one subject", dict(subject_voxels))
        for name, n in subject_voxels.items():
            check(int(n) > 0, "subject_voxels", "positive voxel counts", {name: n})
        check(pool_type in ("max", "avg"), "pool_type", "'max' or 'avg'", pool_type)
        check(image_tokens > 0 and image_dim > 0, "image_tokens", "> 0 with image_dim > 0", (image_tokens, image_dim))
        self.config = dict(
            subject_voxels={str(k): int(v) for k, v in subject_voxels.items()},
            image_tokens=int(image_tokens),
            image_dim=int(image_dim),
            text_tokens=int(text_tokens),
            text_dim=int(text_dim),
            n_pooled=int(n_pooled),
            pool_type=pool_type,
            hidden_dim=int(hidden_dim),
            n_blocks=int(n_blocks),
            adapter_rank=int(adapter_rank),
            embedder_dropout=float(embedder_dropout),
            translator_dropout=float(translator_dropout),
        )
        self.scalers = nn.ModuleDict()
        self.embedders = nn.ModuleDict()
        self.builders = nn.ModuleDict()
        for name, n in self.config["subject_voxels"].items():
            self._make_subject(name, n)
        self.translator = ResidualMLP(hidden_dim, n_blocks, translator_dropout)
        self.head_image = nn.Linear(hidden_dim, image_tokens * image_dim)
        self.head_text = nn.Linear(hidden_dim, text_tokens * text_dim) if text_tokens * text_dim > 0 else None

    # -- subjects -----------------------------------------------------------------------------
    @property
    def subjects(self) -> list[str]:
        """Subject names, in insertion order."""
        return list(self.config["subject_voxels"])

    def _make_subject(self, name: str, n_voxels: int) -> None:
        c = self.config
        self.scalers[name] = _VoxelScaler(n_voxels)
        self.embedders[name] = _embedder(c["n_pooled"], c["hidden_dim"], c["adapter_rank"], c["embedder_dropout"])
        self.builders[name] = _builder(c["n_pooled"], c["hidden_dim"], c["adapter_rank"])

    def add_subject(self, name: str, n_voxels: int) -> None:
        """Add (or re-initialise) subject ``name``: fresh scaler, embedder and builder."""
        check(int(n_voxels) > 0, "n_voxels", "> 0", n_voxels, of=f"subject {name!r}")
        self.config["subject_voxels"][str(name)] = int(n_voxels)
        device = self.head_image.weight.device
        self._make_subject(str(name), int(n_voxels))
        for module in (self.scalers, self.embedders, self.builders):
            module[str(name)].to(device)

    def subject_parameters(self, name: str) -> list[nn.Parameter]:
        """Trainable parameters specific to ``name`` (its embedder and builder)."""
        self._check_subject(name)
        return list(self.embedders[name].parameters()) + list(self.builders[name].parameters())

    def set_voxel_stats(self, name: str, mean: torch.Tensor, scale: torch.Tensor) -> None:
        """Store per-voxel standardisation statistics of subject ``name``."""
        self._check_subject(name)
        scaler = self.scalers[name]
        check(
            tuple(mean.shape) == tuple(scaler.mean.shape),
            "mean",
            f"shape {tuple(scaler.mean.shape)}",
            f"<shape {tuple(mean.shape)}>",
            of=f"subject {name!r}",
        )
        scaler.mean.copy_(mean)
        scaler.scale.copy_(torch.clamp(scale, min=1e-6))

    def _check_subject(self, name: str) -> None:
        if name not in self.config["subject_voxels"]:
            raise bad_value("subject", f"one of {self.subjects}", name, exc=KeyError)

    # -- forward pieces -----------------------------------------------------------------------
    def pool(self, voxels: torch.Tensor, subject: str) -> torch.Tensor:
        """Standardise and pool voxels of ``subject``: (n, n_voxels) -> (n, n_pooled)."""
        self._check_subject(subject)
        n_voxels = self.config["subject_voxels"][subject]
        check(
            voxels.ndim == 2 and voxels.shape[1] == n_voxels,
            "voxels",
            f"(n_samples, {n_voxels}) for {subject!r}",
            f"<shape {tuple(voxels.shape)}>",
        )
        return pool_voxels(self.scalers[subject](voxels), self.config["n_pooled"], self.config["pool_type"])

    def embed(self, pooled: torch.Tensor, subject: str) -> torch.Tensor:
        """Subject embedder: pooled voxels (n, n_pooled) -> shared space (n, hidden_dim)."""
        self._check_subject(subject)
        return self.embedders[subject](pooled)

    def build(self, shared: torch.Tensor, subject: str) -> torch.Tensor:
        """Subject builder: shared space (n, hidden_dim) -> pooled voxels (n, n_pooled)."""
        self._check_subject(subject)
        return self.builders[subject](shared)

    def translate(self, shared: torch.Tensor) -> dict[str, torch.Tensor]:
        """Shared translator and heads: (n, hidden_dim) -> image (n, T_i, D_i) [and text (n, T_t, D_t)]."""
        c = self.config
        h = self.translator(shared)
        out = {"image": self.head_image(h).reshape(len(h), c["image_tokens"], c["image_dim"])}
        if self.head_text is not None:
            out["text"] = self.head_text(h).reshape(len(h), c["text_tokens"], c["text_dim"])
        return out

    def forward(self, voxels: torch.Tensor, subject: str) -> dict[str, torch.Tensor]:
        """Voxels of ``subject`` (n, n_voxels) -> dict with ``image``, ``text`` (if any),
        ``shared`` (n, hidden_dim), ``pooled`` and ``rebuilt`` (n, n_pooled).
        """
        pooled = self.pool(voxels, subject)
        shared = self.embed(pooled, subject)
        out = self.translate(shared)
        out.update(shared=shared, pooled=pooled, rebuilt=self.build(shared, subject))
        return out

    # persistence: PretrainedMixin (config.json + model.safetensors; model_type "mindbridge")
