"""Images from MindBridge's predicted embeddings with the decoders' generators (best-of-N).

Any generator of :mod:`neurocodec.decoders.generation` works (the small offline
latent diffusion model trained on the stimuli, or a real diffusers pipeline):
MindBridge is trained to predict the generator's own image embedding
(:func:`generator_targets`), and the predictions condition its sampler.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...pipeline import check
from ..metrics._pixel import row_correlation

__all__ = ["generator_targets", "reconstruct_images"]


def generator_targets(generator: Any, stimuli: np.ndarray) -> np.ndarray:
    """The generator's conditioning embeddings of the stimuli as tokens ``(n_images, n_tokens, dim)``.

    A pooled embedding ``(n, dim)`` becomes one token; token embeddings ``(n, T, D)`` are kept.
    """
    emb = np.asarray(generator.embed_images(stimuli), dtype=np.float32)
    if emb.ndim == 2:
        emb = emb[:, None, :]
    return emb.reshape(len(emb), emb.shape[1], -1)


def reconstruct_images(
    generator: Any,
    image_embeddings: np.ndarray,
    text_embeddings: np.ndarray | None = None,
    n_samples: int = 4,
    seed: int = 0,
    **generate_kwargs: Any,
) -> dict[str, np.ndarray]:
    """Generate images from predicted embeddings, keeping the best of ``n_samples`` per image.

    Candidates are ranked by the correlation between their own embedding
    (``generator.embed_images``) and the PREDICTED embedding only: no ground
    truth enters the choice.

    Parameters
    ----------
    generator : object
        A generator with ``embed_images`` and ``generate`` (see :mod:`neurocodec.decoders.generation`)
        and an ``embedding_shape``.
    image_embeddings : ndarray, shape (n, n_tokens, dim)
        Predicted image embeddings (reshaped to the generator's embedding shape).
    text_embeddings : ndarray, optional
        Predicted text embeddings, passed to generators that accept them.
    n_samples : int
        Candidates per image.
    seed : int
        Candidate ``k`` uses seed ``seed + k``.
    **generate_kwargs
        Passed to ``generator.generate`` (``guidance_scale``, ``num_inference_steps``, ...).

    Returns
    -------
    result : dict
        ``images`` (n, H, W, 3) in [0, 1]; ``chosen`` (n,) index of the kept candidate;
        ``scores`` (n, n_samples) candidate-to-prediction correlations.
    """
    check(n_samples >= 1, "n_samples", ">= 1", n_samples)
    pred = np.asarray(image_embeddings, dtype=np.float32)
    shape = tuple(getattr(generator, "embedding_shape", pred.shape[1:]))
    check(
        int(np.prod(pred.shape[1:])) == int(np.prod(shape)),
        "image_embeddings",
        f"{int(np.prod(shape))} values per image (the generator's embedding shape {shape})",
        f"<shape {pred.shape}>",
    )
    cond = pred.reshape((len(pred),) + shape)
    if text_embeddings is not None:
        generate_kwargs["text_embeddings"] = text_embeddings
    candidates, scores = [], []
    for k in range(n_samples):
        images = np.asarray(generator.generate(cond, seed=seed + k, **generate_kwargs))
        candidates.append(images)
        scores.append(row_correlation(np.asarray(generator.embed_images(images), dtype=np.float32), pred))
    scores_arr = np.stack(scores, axis=1)
    chosen = scores_arr.argmax(1)
    images = np.stack(candidates, axis=1)[np.arange(len(pred)), chosen]
    return {"images": images, "chosen": chosen, "scores": scores_arr}
