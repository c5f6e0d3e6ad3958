"""Differentiable voxelwise encoders: fitted ridge weights over torch re-implementations of the feature extractors.

BrainDiVE steers a generator with the gradient of an encoder's predicted
response, so the encoder must be a function of the pixels that torch can
differentiate. A fitted encoder of :mod:`neurocodec.encoders` is a ridge map
``features @ coef_ + intercept_`` over a feature extractor; here each extractor
is re-expressed as a ``torch.nn.Module`` computing the same features from
``(n, 3, H, W)`` images in ``[0, 1]`` (Gabor pyramid: the same filter bank,
compression and standardisation as :class:`~neurocodec.encoders.features.GaborPyramid`;
EfficientNet-Lite0 and open_clip: the same networks, resizing and normalisation,
without ``inference_mode``) and the fitted ridge weights are reused as they are.
"""

from __future__ import annotations

import numpy as np

from neurocodec.pipeline import bad_value, check

__all__ = ["DifferentiableEncoder", "differentiable_features"]

_LUMA = (0.299, 0.587, 0.114)


def _torch():
    import torch

    return torch


def _resize(x, size, antialias=True):
    import torch.nn.functional as F

    if size is None or tuple(x.shape[-2:]) == (size, size):
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=antialias)


def _modules():
    """The torch feature modules (defined on first use so importing this file does not import torch)."""
    global _GABOR, _HOOK, _CLIP, _ENCODER
    if "_GABOR" in globals():
        return
    torch = _torch()
    nn = torch.nn

    class TorchGaborPyramid(nn.Module):
        """A fitted :class:`GaborPyramid` in torch: ``(n, 3, H, W)`` in [0, 1] -> ``(n, n_features)``."""

        def __init__(self, pyramid):
            super().__init__()
            h, w = pyramid.image_shape_
            even, odd, _ = pyramid._bank(h, w)
            self.image_shape = (int(h), int(w))
            self.resize = pyramid.image_size
            self.nonlinearity = pyramid.nonlinearity
            for name, arr in (
                ("even", even),
                ("odd", odd),
                ("scale", pyramid.scale_),
                ("mean", pyramid.mean_),
                ("std", pyramid.std_),
                ("luma", np.asarray(_LUMA, np.float32)),
            ):
                self.register_buffer(name, torch.from_numpy(np.ascontiguousarray(arr, np.float32)))

        def forward(self, images):
            gray = torch.einsum("nchw,c->nhw", images, self.luma)
            if self.resize is not None:
                gray = _resize(gray[:, None], self.resize, antialias=False)[:, 0]
            if tuple(gray.shape[-2:]) != self.image_shape:
                raise bad_value("images", f"of the fitted size {self.image_shape}", f"<size {tuple(gray.shape[-2:])}>")
            gray = gray - gray.mean(dim=(1, 2), keepdim=True)
            flat = gray.reshape(len(gray), -1)
            energy = torch.sqrt((flat @ self.even) ** 2 + (flat @ self.odd) ** 2 + 1e-12)  # eps: finite gradient at 0
            e = energy / self.scale
            c = torch.log1p(e) if self.nonlinearity == "log" else torch.sqrt(e) if self.nonlinearity == "sqrt" else e
            return (c - self.mean) / self.std

    class TorchLayerFeatures(nn.Module):
        """One hooked layer of a torch network, pooled as :class:`TorchHookFeatures` does."""

        def __init__(self, model, layer, image_size, pool_size, mean, std):
            super().__init__()
            modules = dict(model.named_modules())
            if layer not in modules:
                raise bad_value("layer", f"a module of the network (e.g. {list(modules)[1:6]})", layer)
            self.model = model.eval().requires_grad_(False)
            self.layer, self.image_size, self.pool_size = layer, image_size, pool_size
            self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32)[None, :, None, None])
            self.register_buffer("std", torch.tensor(std, dtype=torch.float32)[None, :, None, None])

        def forward(self, images):
            import torch.nn.functional as F

            store = {}
            module = dict(self.model.named_modules())[self.layer]
            hook = module.register_forward_hook(lambda m, i, o: store.__setitem__("out", o))
            try:
                self.model((_resize(images, self.image_size) - self.mean) / self.std)
            finally:
                hook.remove()
            a = store["out"]
            if isinstance(a, (tuple, list)):
                a = a[0]
            if a.ndim == 4 and self.pool_size is not None:
                a = F.adaptive_avg_pool2d(a, self.pool_size)
            elif a.ndim == 3 and self.pool_size is not None:
                a = a.mean(1)
            return a.reshape(a.shape[0], -1).float()

    class TorchClipImage(nn.Module):
        """open_clip image embeddings (L2-normalised if the extractor normalises)."""

        def __init__(self, extractor):
            super().__init__()
            if not hasattr(extractor, "model_"):
                extractor.fit()
            self.model = extractor.model_.eval().requires_grad_(False)
            self.image_size, self.normalize = extractor.image_size_, extractor.normalize
            self.register_buffer("mean", torch.tensor(extractor.mean_, dtype=torch.float32)[None, :, None, None])
            self.register_buffer("std", torch.tensor(extractor.std_, dtype=torch.float32)[None, :, None, None])

        def forward(self, images):
            z = self.model.encode_image((_resize(images, self.image_size) - self.mean) / self.std).float()
            return z / z.norm(dim=-1, keepdim=True).clamp_min(1e-12) if self.normalize else z

    class Encoder(nn.Module):
        def __init__(self, features, coef, intercept, voxels):
            super().__init__()
            self.features = features
            self.register_buffer("coef", torch.from_numpy(np.ascontiguousarray(coef, np.float32)))
            self.register_buffer("intercept", torch.from_numpy(np.ascontiguousarray(intercept, np.float32)))
            self.voxels = voxels

        def forward(self, images):
            feats = self.features(images)
            if feats.shape[1] != self.coef.shape[0]:
                raise bad_value(
                    "features", f"{self.coef.shape[0]} columns (the ridge's features)", f"<{feats.shape[1]} columns>"
                )
            return feats @ self.coef + self.intercept

    _GABOR, _HOOK, _CLIP, _ENCODER = TorchGaborPyramid, TorchLayerFeatures, TorchClipImage, Encoder


def differentiable_features(extractor, layer=None):
    """A ``torch.nn.Module`` computing the features of ``extractor`` from ``(n, 3, H, W)`` images in [0, 1].

    Parameters
    ----------
    extractor : GaborPyramid (fitted), EfficientNetLite0Features, TorchHookFeatures, OpenClipFeatures or torch.nn.Module
        A torch module is returned as it is (it must map images to features).
    layer : str, optional
        Layer of a hook extractor (default: its only, or last, layer).

    Returns
    -------
    torch.nn.Module
        ``(n, 3, H, W)`` -> ``(n, n_features)`` float32, differentiable.
    """
    torch = _torch()
    _modules()
    from neurocodec.encoders.features import GaborPyramid, OpenClipFeatures, TorchHookFeatures

    if isinstance(extractor, torch.nn.Module):
        return extractor
    if isinstance(extractor, GaborPyramid):
        check(hasattr(extractor, "scale_"), "extractor", "a fitted GaborPyramid", "<unfitted GaborPyramid>")
        return _GABOR(extractor)
    if isinstance(extractor, TorchHookFeatures):
        if not hasattr(extractor, "network_"):
            extractor.fit()
        layers = extractor.layers_
        layer = layer if layer is not None else layers[-1]
        check(layer in layers, "layer", f"one of the extractor's layers {layers}", layer)
        return _HOOK(
            extractor.network_, layer, extractor.image_size, extractor.pool_size, extractor.mean, extractor.std
        )
    if isinstance(extractor, OpenClipFeatures):
        return _CLIP(extractor)
    raise bad_value(
        "extractor",
        "a differentiable feature extractor (GaborPyramid, EfficientNetLite0Features, "
        "TorchHookFeatures, OpenClipFeatures or a torch.nn.Module)",
        f"<{type(extractor).__name__}>",
        exc=TypeError,
    )


class DifferentiableEncoder:
    """A fitted voxelwise ridge over differentiable features: images -> predicted responses, with gradients.

    Parameters
    ----------
    features : torch.nn.Module or feature extractor
        See :func:`differentiable_features`.
    coef : ndarray, shape (n_features, n_voxels)
        Fitted ridge weights (``RidgeCV.coef_``; not refitted).
    intercept : ndarray, shape (n_voxels,)
    voxels : array-like of int, optional
        Keep only these voxels (columns of ``coef``): cheaper gradients.
    layer : str, optional
        Layer of a hook extractor.
    device : str

    Attributes
    ----------
    module : torch.nn.Module
        ``(n, 3, H, W)`` images in [0, 1] -> ``(n, n_voxels)`` predicted responses.
    voxels : ndarray of int
        Indices (in the fitted encoder) of the predicted voxels.
    """

    def __init__(self, features, coef, intercept, voxels=None, layer=None, device="cpu"):
        coef = np.asarray(coef, np.float32)
        intercept = np.asarray(intercept, np.float32).reshape(-1)
        check(
            coef.ndim == 2 and coef.shape[1] == intercept.shape[0],
            "coef",
            "(n_features, n_voxels) with an intercept (n_voxels,)",
            f"<shapes {coef.shape}, {intercept.shape}>",
        )
        self.voxels = np.arange(coef.shape[1]) if voxels is None else np.asarray(voxels, np.int64).reshape(-1)
        if self.voxels.size == 0:
            raise bad_value("voxels", "a non-empty voxel set", "<0 voxels>")
        check(
            self.voxels.min() >= 0 and self.voxels.max() < coef.shape[1],
            "voxels",
            f"indices in [0, {coef.shape[1]})",
            f"<range [{self.voxels.min()}, {self.voxels.max()}]>",
        )
        _modules()
        self.device = device
        self.module = (
            _ENCODER(
                differentiable_features(features, layer), coef[:, self.voxels], intercept[self.voxels], self.voxels
            )
            .to(device)
            .eval()
        )

    @classmethod
    def from_fitted(cls, features, ridge, **kwargs):
        """From a fitted ridge estimator (``coef_`` (n_features, n_voxels), ``intercept_``)."""
        check(hasattr(ridge, "coef_"), "ridge", "a fitted ridge estimator (coef_, intercept_)", type(ridge).__name__)
        return cls(features, ridge.coef_, ridge.intercept_, **kwargs)

    def __call__(self, images):
        """Predicted responses ``(n, n_voxels)`` of a ``(n, 3, H, W)`` tensor in [0, 1] (differentiable)."""
        return self.module(images)

    def predict(self, images, batch_size=32):
        """Predicted responses ``(n, n_voxels)`` float32 of ``(n, H, W, 3)`` numpy images in [0, 1]."""
        torch = _torch()
        x = np.asarray(images, np.float32)
        check(x.ndim == 4 and x.shape[-1] == 3, "images", "an array (n_images, H, W, 3)", f"<shape {x.shape}>")
        out = []
        with torch.no_grad():
            for s in range(0, len(x), batch_size):
                t = torch.from_numpy(np.ascontiguousarray(x[s : s + batch_size])).permute(0, 3, 1, 2).to(self.device)
                out.append(self.module(t).cpu().numpy())
        return np.concatenate(out).astype(np.float32)
