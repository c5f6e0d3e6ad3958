"""Image-array conventions shared by the decoders.

Every public function of :mod:`neurocodec.decoders` takes and returns images as
``(n_images, height, width, 3)`` float arrays in ``[0, 1]`` (channels last, the
layout of ``StimulusResponses.stimuli``). Grayscale ``(n_images, height,
width)`` or ``(n_images, height, width, 1)`` inputs are replicated to three
channels.
"""

from __future__ import annotations

import numpy as np

__all__ = ["as_images", "resize_images", "rgb_to_gray", "to_uint8"]

#: ITU-R 709 luma weights, as :func:`skimage.color.rgb2gray` uses.
_GRAY = np.array([0.2125, 0.7154, 0.0721])


def as_images(images, name: str = "images") -> np.ndarray:
    """Validate images and return them as ``(n_images, height, width, 3)`` float64.

    Parameters
    ----------
    images : array-like, shape (n_images, height, width[, 3 or 1])
        Images with values in ``[0, 1]`` (unclipped predictions may overshoot by up to 0.5); uint8 arrays are
        divided by 255; 0-255 floats are refused.
    name : str
        Name used in the error message.
    """
    from ..datasets._validation import as_float_images

    return as_float_images(images, name).astype(np.float64)


def rgb_to_gray(images: np.ndarray) -> np.ndarray:
    """Luma of ``(n, H, W, 3)`` images (skimage's ``rgb2gray`` weights) -> ``(n, H, W)``."""
    return np.asarray(images, dtype=np.float64) @ _GRAY


def resize_images(images: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Bilinear (antialiased) resize of ``(n, H, W, 3)`` images to ``size`` (int: square)."""
    import torch
    import torch.nn.functional as F

    size = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    if tuple(images.shape[1:3]) == tuple(size):
        return images
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).permute(0, 3, 1, 2)
    y = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
    return y.permute(0, 2, 3, 1).clamp(0, 1).numpy().astype(images.dtype, copy=False)


def to_uint8(images: np.ndarray) -> np.ndarray:
    """``[0, 1]`` float images -> uint8 (rounded, clipped)."""
    from ..pipeline import check_array

    images = check_array(images, "images", "(n_images, height, width[, 3]) in [0, 1]", ndim=(3, 4))
    return np.clip(np.round(images * 255.0), 0, 255).astype(np.uint8)
