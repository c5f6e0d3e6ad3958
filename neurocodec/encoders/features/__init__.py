"""Stimulus features for encoding models.

:class:`GaborPyramid` (weights-free Gabor wavelet pyramid, Kay et al. 2008),
:class:`EfficientNetLite0Features` (ImageNet-pretrained EfficientNet-Lite0,
layer-wise), :class:`OpenClipFeatures` (open_clip image/text embeddings) and
:class:`TorchHookFeatures` (activations of any layer of any torch model).
torch is imported only when a deep extractor is used.
"""

from ._clip import OpenClipFeatures
from ._gabor import GaborPyramid, to_grayscale
from ._torch import EfficientNetLite0Features, TorchHookFeatures, images_to_tensor, load_efficientnet_lite0

__all__ = [
    "EfficientNetLite0Features",
    "GaborPyramid",
    "OpenClipFeatures",
    "TorchHookFeatures",
    "images_to_tensor",
    "load_efficientnet_lite0",
    "to_grayscale",
]
