"""open_clip image and text embeddings with real pretrained loading (offline-friendly)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from ...pipeline import bad_value
from ._torch import images_to_tensor

__all__ = ["OpenClipFeatures"]


class OpenClipFeatures(TransformerMixin, BaseEstimator):
    """Image (and text) embeddings of an open_clip model.

    A scikit-learn transformer around a pretrained network: :meth:`fit` loads it (nothing is learned), and
    the encoding methods fit first when needed.

    Parameters
    ----------
    model_name : str
        open_clip architecture (e.g. ``"ViT-B-32"``), a name registered with
        ``open_clip.add_model_config``, or ``"local-dir:/path"`` (folder with
        ``open_clip_config.json`` and weights).
    pretrained : str or None
        A pretrained tag (e.g. ``"laion2b_s34b_b79k"``, needs the weights in the
        Hugging Face cache when offline), a path to a checkpoint
        (``.safetensors``/``.bin``/``.pt``), or None for random initialisation.
    normalize : bool
        L2-normalise the embeddings (CLIP's cosine space).
    batch_size : int
    device : str
    cache_dir : str or None
        open_clip download/cache folder.

    Attributes
    ----------
    model_ : open_clip model (eval mode)
    tokenizer_ : open_clip tokenizer
    image_size_ : int
        Input size of the vision tower.
    mean_, std_ : tuple of float
        Input normalisation of the vision tower.
    """

    def __init__(
        self, model_name="ViT-B-32", pretrained=None, normalize=True, batch_size=32, device="cpu", cache_dir=None
    ):
        self.model_name = model_name
        self.pretrained = pretrained
        self.normalize = normalize
        self.batch_size = batch_size
        self.device = device
        self.cache_dir = cache_dir

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False  # a pretrained network: the encoders load it on first use
        return tags

    def fit(self, images=None, y=None):
        """Load the model; ``images`` (validated when given) and ``y`` teach it nothing."""
        from ..._compat import ensure_torchvision

        if images is not None:
            from ...datasets._validation import as_float_images

            as_float_images(images)

        ensure_torchvision()
        import open_clip

        model_name, pretrained, device = self.model_name, self.pretrained, self.device
        if pretrained is not None and (os.sep in str(pretrained) or Path(str(pretrained)).suffix):
            if not Path(pretrained).is_file():
                raise bad_value(
                    "pretrained",
                    "an existing open_clip checkpoint file (.safetensors, .bin or .pt) or a pretrained tag",
                    str(pretrained),
                    exc=FileNotFoundError,
                )
        try:
            self.model_ = open_clip.create_model(
                model_name, pretrained=pretrained, device=device, cache_dir=self.cache_dir
            )
        except RuntimeError as err:
            tags = []
            try:
                tags = open_clip.list_pretrained_tags_by_model(model_name)
            except Exception:  # noqa: BLE001 - only for the message
                pass
            raise FileNotFoundError(
                f"open_clip weights {model_name!r}/{pretrained!r} could not be loaded ({err}). Offline, either "
                f"put them "
                "in the Hugging Face cache (HF_HOME) while online, or pass pretrained='/path/to/open_clip_model."
                f"safetensors' (or model_name='local-dir:/path'). Known tags for this model: {tags}."
            ) from err
        self.model_.eval()
        self.tokenizer_ = open_clip.get_tokenizer(model_name)
        v = self.model_.visual
        size = v.image_size
        self.image_size_ = size[0] if isinstance(size, (tuple, list)) else int(size)
        cfg = getattr(v, "preprocess_cfg", {}) or {}
        self.mean_ = tuple(cfg.get("mean", open_clip.OPENAI_DATASET_MEAN))
        self.std_ = tuple(cfg.get("std", open_clip.OPENAI_DATASET_STD))
        return self

    def _ready(self):
        if not hasattr(self, "model_"):
            self.fit()

    def _post(self, z):
        z = z.float()
        if self.normalize:
            z = z / z.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        return z.cpu().numpy().astype(np.float32)

    def encode_images(self, images):
        """Embeddings ``(n_images, embed_dim)`` of images ``(n_images, H, W[, 3])`` in [0, 1]."""
        import torch

        self._ready()
        x = images_to_tensor(images, self.image_size_, self.mean_, self.std_)
        out = []
        with torch.inference_mode():
            for s in range(0, len(x), self.batch_size):
                out.append(self._post(self.model_.encode_image(x[s : s + self.batch_size].to(self.device))))
        return np.concatenate(out)

    def encode_texts(self, texts):
        """Embeddings ``(n_texts, embed_dim)`` of a list of strings."""
        import torch

        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise bad_value("texts", "a list of strings", texts)
        self._ready()
        out = []
        with torch.inference_mode():
            for s in range(0, len(texts), self.batch_size):
                tok = self.tokenizer_(list(texts[s : s + self.batch_size])).to(self.device)
                out.append(self._post(self.model_.encode_text(tok)))
        return np.concatenate(out)

    def transform(self, images):
        """``{"image_embeds": (n_images, embed_dim)}`` (same interface as :class:`TorchHookFeatures`)."""
        return {"image_embeds": self.encode_images(images)}
