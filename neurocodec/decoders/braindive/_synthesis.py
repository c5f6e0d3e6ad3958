"""Run BrainDiVE over several targets: guided and unguided samples, natural top images, predicted responses."""

from __future__ import annotations

import copy
import math

import numpy as np

from neurocodec.pipeline import check

from ._roi import decode_roi_pattern

__all__ = ["synthesize_targets", "decode_targets", "save_rows_grid"]


def _top(values, fraction):
    k = max(1, int(math.ceil(fraction * len(values))))
    return np.argsort(-values, kind="stable")[:k]


def _stats(values, natural, top):
    ref = float(natural[top].mean())
    sd = float(natural.std()) or 1.0
    return {
        "mean": float(np.mean(values)),
        "gain_vs_top": float(np.mean(values) / ref) if ref != 0 else float("nan"),
        "z": float((np.mean(values) - natural.mean()) / sd),
    }


def synthesize_targets(sampler, generator, targets, n_images, natural_images, top_fraction=0.01, seed=0):
    """Brain-guided samples for every target, the unguided samples of the same seeds and the natural top images.

    Parameters
    ----------
    sampler : BrainGuidedSampler
    generator : EmbeddedLatentDiffusion or Stable Diffusion pipeline
    targets : dict of str to VoxelTarget
    n_images : int
        Samples per target.
    natural_images : ndarray, shape (n, H, W, 3)
        Natural stimuli: the top ``top_fraction`` by predicted objective are the reference.
    top_fraction : float
        Share of natural images in the reference top set (in (0, 1]).
    seed : int
        Noise seed (batch ``b`` uses ``seed + b``), shared by guided and unguided samples.

    Returns
    -------
    dict of str to dict
        Per target: ``images`` and ``baseline`` ``(n_images, H, W, 3)`` float32 in [0, 1],
        ``top_ids`` (indices into ``natural_images``), ``predicted`` (objective of the
        synthesized, unguided and natural top images, ``gain_vs_top`` and natural-s.d. ``z``),
        ``history`` (mean objective per step and batch) and ``seeds``.
    """
    check(0 < top_fraction <= 1, "top_fraction", "in (0, 1]", top_fraction)
    enc = sampler.encoder
    natural_pred = enc.predict(natural_images)
    plain = copy.copy(sampler)
    plain.guidance_scale = 0.0
    n_batches = int(math.ceil(int(n_images) / int(sampler.batch_size)))
    out = {}
    for name, target in targets.items():
        natural = target.objective(natural_pred, enc.voxels)
        top = _top(natural, top_fraction)
        images = sampler.sample(generator, target, n_images, seed=seed)
        history = [h.tolist() for h in sampler.history_]
        baseline = plain.sample(generator, target, n_images, seed=seed)
        size = natural_images.shape[1:3]
        resize = (lambda x: x) if images.shape[1:3] == size else (lambda x: _resize(x, size))
        pred = {
            "synthesized": _stats(target.objective(enc.predict(resize(images)), enc.voxels), natural, top),
            "unguided": _stats(target.objective(enc.predict(resize(baseline)), enc.voxels), natural, top),
            "natural_top": float(natural[top].mean()),
            "natural_mean": float(natural.mean()),
            "natural_sd": float(natural.std()),
        }
        out[name] = {
            "images": images,
            "baseline": baseline,
            "top_ids": top,
            "predicted": pred,
            "history": history,
            "seeds": [int(seed) + b for b in range(n_batches)],
            "n_voxels": int(target.voxels.size),
        }
    return out


def _resize(images, size):
    from .._images import resize_images

    return resize_images(np.asarray(images, np.float32), tuple(size)).astype(np.float32)


def decode_targets(decoder, betas, targets, k=3.0, n_images=8, encoder=None, natural_images=None, top_fraction=0.01):
    """ROI-optimal reconstructions of every target through a fitted Brain-Diffuser decoder.

    Parameters
    ----------
    decoder : BrainDiffuser
    betas : ndarray, shape (n_samples, n_voxels)
        The decoder's training betas.
    targets : dict of str to VoxelTarget
    k : float
        Pattern strength in s.d.
    n_images : int
    encoder : DifferentiableEncoder, optional
        With ``natural_images``: the predicted objective of the reconstructions
        against the natural top ``top_fraction``.

    Returns
    -------
    dict of str to dict
        Per target: ``final``, ``stage1`` images, ``pattern`` and, with an encoder, ``predicted`` and ``top_ids``.
    """
    out = {}
    natural_pred = encoder.predict(natural_images) if encoder is not None else None
    for name, target in targets.items():
        rec = decode_roi_pattern(decoder, betas, target, k=k, n_images=n_images)
        row = {
            "final": rec["final"],
            "stage1": rec["stage1"],
            "pattern": rec["pattern"],
            "n_voxels": int(target.voxels.size),
        }
        if encoder is not None:
            natural = target.objective(natural_pred, encoder.voxels)
            top = _top(natural, top_fraction)
            final = (
                rec["final"]
                if rec["final"].shape[1:3] == natural_images.shape[1:3]
                else _resize(rec["final"], natural_images.shape[1:3])
            )
            row["predicted"] = {
                "reconstructed": _stats(target.objective(encoder.predict(final), encoder.voxels), natural, top),
                "natural_top": float(natural[top].mean()),
                "natural_mean": float(natural.mean()),
                "natural_sd": float(natural.std()),
            }
            row["top_ids"] = top
        out[name] = row
    return out


def save_rows_grid(path, rows, n_images=8, scale=3, gap=2, label_width=0):
    """Write a PNG with one strip of images per row.

    Parameters
    ----------
    rows : list of ndarray, each (n, H, W, 3) uint8
    """
    from PIL import Image

    h, w = rows[0].shape[1:3]
    n = min(n_images, max(len(r) for r in rows))
    canvas = np.full((len(rows) * (h + gap) + gap, n * (w + gap) + gap + label_width, 3), 255, np.uint8)
    for r, strip in enumerate(rows):
        for c in range(min(n, len(strip))):
            y, x = gap + r * (h + gap), label_width + gap + c * (w + gap)
            canvas[y : y + h, x : x + w] = (
                strip[c]
                if strip[c].shape[:2] == (h, w)
                else np.asarray(Image.fromarray(strip[c]).resize((w, h), Image.BILINEAR))
            )
    Image.fromarray(canvas).resize((canvas.shape[1] * scale, canvas.shape[0] * scale), Image.NEAREST).save(path)
