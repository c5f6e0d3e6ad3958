"""Stimulus features for encoding models.

:class:`GaborPyramid` (weights-free Gabor wavelet pyramid, Kay et al. 2008),
:class:`EfficientNetLite0Features` (ImageNet-pretrained EfficientNet-Lite0,
layer-wise), :class:`OpenClipFeatures` (open_clip image/text embeddings) and
:class:`TorchHookFeatures` (activations of any layer of any torch model).
"""

from ._gabor import GaborPyramid, to_grayscale

__all__ = ["GaborPyramid", "to_grayscale"]
