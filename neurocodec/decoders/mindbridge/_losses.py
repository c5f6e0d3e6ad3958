"""MindBridge objectives: soft-CLIP + MSE on normalised embeddings, voxel reconstruction, cycle."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as F

from ...pipeline import bad_value, check_array


def _pair(a, b, names, layout, ndim):
    a = check_array(a, names[0], layout, ndim=ndim)
    b = check_array(b, names[1], layout, ndim=ndim)
    if a.shape != b.shape:
        raise bad_value(names[1], f"the shape of {names[0]} {tuple(a.shape)}", f"<shape {tuple(b.shape)}>")
    return a, b


__all__ = ["soft_clip_loss", "embedding_loss", "reconstruction_loss", "cycle_loss"]


def soft_clip_loss(preds: torch.Tensor, targets: torch.Tensor, temperature: float = 0.125) -> torch.Tensor:
    """Soft contrastive loss of MindEye / MindBridge.

    The cross-entropy between brain-to-CLIP similarities and the *soft* targets
    given by CLIP-to-CLIP similarities (so repeated or similar images in a batch
    are not treated as negatives), averaged over both directions.

    Parameters
    ----------
    preds, targets : torch.Tensor, shape (n_samples, n_features)
        L2-normalised predicted and target embeddings.
    temperature : float
        Softmax temperature (paper: 0.125).
    """
    preds, targets = _pair(preds, targets, ("preds", "targets"), "(n_samples, n_features)", 2)
    clip_clip = targets @ targets.T / temperature
    brain_clip = preds @ targets.T / temperature
    soft = clip_clip.softmax(-1)
    loss_fwd = -(brain_clip.log_softmax(-1) * soft).sum(-1).mean()
    loss_bwd = -(brain_clip.T.log_softmax(-1) * soft).sum(-1).mean()
    return (loss_fwd + loss_bwd) / 2


def embedding_loss(
    preds: torch.Tensor, targets: torch.Tensor, temperature: float = 0.125, mse_mult: float = 1e4
) -> tuple[torch.Tensor, dict[str, float]]:
    """Soft-CLIP + ``mse_mult`` x MSE, both on flattened L2-normalised token embeddings.

    Parameters
    ----------
    preds, targets : torch.Tensor, shape (n_samples, n_tokens, dim)
        Predicted and target token embeddings (any trailing shape; flattened per sample).
    temperature : float
        Soft-CLIP temperature.
    mse_mult : float
        Weight of the MSE term (paper: 1e4 for 257 x 768 tokens; the per-element MSE
        of unit vectors scales as 1 / n_features, so smaller embeddings need less).

    Returns
    -------
    loss : torch.Tensor
        Scalar.
    parts : dict
        ``clip`` and ``mse`` values (floats) for logging.
    """
    preds, targets = _pair(preds, targets, ("preds", "targets"), "(n_samples, n_tokens, dim)", (2, 3, 4))
    p = F.normalize(preds.flatten(1), dim=-1)
    t = F.normalize(targets.flatten(1), dim=-1)
    clip = soft_clip_loss(p, t, temperature)
    mse = F.mse_loss(p, t)
    return clip + mse_mult * mse, {"clip": float(clip.detach()), "mse": float(mse.detach())}


def reconstruction_loss(pooled: torch.Tensor, rebuilt: torch.Tensor) -> torch.Tensor:
    """MSE between pooled voxels and the builder's reconstruction from the shared space."""
    pooled, rebuilt = _pair(pooled, rebuilt, ("pooled", "rebuilt"), "(n_samples, n_pooled)", 2)
    return F.mse_loss(rebuilt, pooled)


def cycle_loss(
    shared_a: torch.Tensor,
    build_b: Callable[[torch.Tensor], torch.Tensor],
    embed_b: Callable[[torch.Tensor], torch.Tensor],
) -> torch.Tensor:
    """Cycle consistency across subjects.

    Embeddings computed from subject *a* are rebuilt as subject *b*'s voxels
    (``build_b``), embedded again with *b*'s embedder (``embed_b``) and compared
    (MSE) with the originals. It is zero when ``embed_b`` inverts ``build_b`` on
    the shared embeddings.

    Parameters
    ----------
    shared_a : torch.Tensor, shape (n_samples, hidden_dim)
        Shared-space embeddings of subject *a*.
    build_b, embed_b : callable
        Builder (hidden -> pooled voxels) and embedder (pooled voxels -> hidden) of subject *b*.
    """
    return F.mse_loss(embed_b(build_b(shared_a)), shared_a)
