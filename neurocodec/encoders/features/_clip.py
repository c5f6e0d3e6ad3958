"""open_clip image and text embeddings with real pretrained loading (offline-friendly)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ...pipeline import bad_value
from ._torch import images_to_tensor

__all__ = ["OpenClipFeatures"]


class OpenClipFeatures:
    """Image (and text) embeddings of an open_clip model.

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
    """

    def __init__(
        self, model_name="ViT-B-32", pretrained=None, normalize=True, batch_size=32, device="cpu", cache_dir=None
    ):
        from ..._compat import ensure_torchvision

        ensure_torchvision()
        import open_clip

        self.model_name, self.pretrained = model_name, pretrained
        self.normalize, self.batch_size, self.device = normalize, batch_size, device
        if pretrained is not None and (os.sep in str(pretrained) or Path(str(pretrained)).suffix):
            if not Path(pretrained).is_file():
                raise bad_value(
                    "pretrained",
                    "an existing open_clip checkpoint file (.safetensors, .bin or .pt) or a pretrained tag",
                    str(pretrained),
                    exc=FileNotFoundError,
                )
        try:
            self.model = open_clip.create_model(model_name, pretrained=pretrained, device=device, cache_dir=cache_dir)
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
        self.model.eval()
        self.tokenizer = open_clip.get_tokenizer(model_name)
        v = self.model.visual
        size = v.image_size
        self.image_size = size[0] if isinstance(size, (tuple, list)) else int(size)
        cfg = getattr(v, "preprocess_cfg", {}) or {}
        self.mean = tuple(cfg.get("mean", open_clip.OPENAI_DATASET_MEAN))
        self.std = tuple(cfg.get("std", open_clip.OPENAI_DATASET_STD))

    def _post(self, z):
        z = z.float()
        if self.normalize:
            z = z / z.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        return z.cpu().numpy().astype(np.float32)

    def encode_images(self, images):
        """Embeddings ``(n_images, embed_dim)`` of images ``(n_images, H, W[, 3])`` in [0, 1]."""
        import torch

        x = images_to_tensor(images, self.image_size, self.mean, self.std)
        out = []
        with torch.inference_mode():
            for s in range(0, len(x), self.batch_size):
                out.append(self._post(self.model.encode_image(x[s : s + self.batch_size].to(self.device))))
        return np.concatenate(out)

    def encode_texts(self, texts):
        """Embeddings ``(n_texts, embed_dim)`` of a list of strings."""
        import torch

        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise bad_value("texts", "a list of strings", texts)
        out = []
        with torch.inference_mode():
            for s in range(0, len(texts), self.batch_size):
                tok = self.tokenizer(list(texts[s : s + self.batch_size])).to(self.device)
                out.append(self._post(self.model.encode_text(tok)))
        return np.concatenate(out)

    def transform(self, images):
        """``{"image_embeds": (n_images, embed_dim)}`` (same interface as :class:`TorchHookFeatures`)."""
        return {"image_embeds": self.encode_images(images)}
