"""ROI-optimal reconstruction (Brain-Diffuser's mirror experiment): decode a synthetic "region on" response pattern."""

from __future__ import annotations

import copy

import numpy as np

from neurocodec.pipeline import bad_value, check, check_array

__all__ = ["roi_pattern", "decode_roi_pattern"]


def roi_pattern(betas, target, k=3.0) -> np.ndarray:
    """A synthetic response pattern: every voxel at its mean, the target voxels at ``+k`` s.d.

    Parameters
    ----------
    betas : ndarray, shape (n_samples, n_voxels)
        Responses that set each voxel's mean and s.d. (the decoder's training betas).
    target : VoxelTarget
        ``direction="minimize"`` puts the target voxels at ``-k`` s.d.; the
        ``versus`` voxels of a contrast go to the opposite side.
    k : float
        Strength of the pattern in s.d. (> 0).

    Returns
    -------
    ndarray, shape (n_voxels,), float64
    """
    betas = check_array(betas, "betas", "(n_samples >= 2, n_voxels)", ndim=2, min_rows=2, dtype=np.float64)
    check(len(betas) >= 2, "betas", "an array (n_samples >= 2, n_voxels)", f"<shape {betas.shape}>")
    from ._targets import VoxelTarget

    check(isinstance(target, VoxelTarget), "target", "a VoxelTarget", f"<{type(target).__name__}>", exc=TypeError)
    check(np.isfinite(k) and k > 0, "k", "> 0", k)
    n_vox = betas.shape[1]
    if target.all_voxels.max() >= n_vox:
        raise bad_value("target", f"voxel indices < {n_vox} (the decoder's voxels)", int(target.all_voxels.max()))
    mean, sd = betas.mean(0), betas.std(0)
    sign = 1.0 if target.direction == "maximize" else -1.0
    pattern = mean.copy()
    pattern[target.voxels] += sign * k * sd[target.voxels]
    if target.versus is not None:
        pattern[target.versus] -= sign * k * sd[target.versus]
    return pattern


def decode_roi_pattern(decoder, betas, target, k=3.0, n_images=8) -> dict:
    """Reconstruct images from the synthetic pattern of :func:`roi_pattern` with a fitted decoder.

    Parameters
    ----------
    decoder : BrainDiffuser
        A fitted decoder (its prediction renormalisation is turned off: one
        repeated pattern has no spread to renormalise).
    betas : ndarray, shape (n_samples, n_voxels)
        The decoder's training betas (voxel means and s.d.).
    target : VoxelTarget
    k : float
    n_images : int
        Samples of the pattern (different generation noise, the decoder's seed).

    Returns
    -------
    dict
        ``"pattern"`` (n_voxels,), ``"stage1"`` and ``"final"`` images ``(n_images, H, W, 3)`` in [0, 1].
    """
    from ..brain_diffuser import BrainDiffuser

    check(
        isinstance(decoder, BrainDiffuser),
        "decoder",
        "a fitted BrainDiffuser",
        f"<{type(decoder).__name__}>",
        exc=TypeError,
    )
    check(int(n_images) >= 1, "n_images", ">= 1", n_images)
    pattern = roi_pattern(betas, target, k)
    dec = copy.copy(decoder)
    dec.renormalize = False
    rec = dec.reconstruct(np.repeat(pattern[None], int(n_images), axis=0))
    return {"pattern": pattern, "stage1": rec["stage1"], "final": rec["final"]}
