"""Low-level reconstruction metrics: PixCorr and SSIM, as the field computes them."""

from __future__ import annotations

import numpy as np

from neurocodec.pipeline import bad_value

from .._images import as_images, resize_images, rgb_to_gray

__all__ = ["pixcorr", "ssim"]


def _pair(images_true, images_pred, size):
    true = as_images(images_true, "images_true")
    pred = as_images(images_pred, "images_pred")
    if len(true) != len(pred):
        raise bad_value("images_pred", f"as many images as images_true ({len(true)})", f"<{len(pred)} images>")
    target = size if size is not None else true.shape[1:3]
    return resize_images(true, target), resize_images(pred, target)


def _reduce(values: np.ndarray, reduction: str):
    if reduction == "mean":
        return float(np.mean(values))
    if reduction == "none":
        return values
    raise bad_value("reduction", "'mean' or 'none'", reduction)


def pixcorr(images_true, images_pred, size: int | None = None, reduction: str = "mean"):
    """Pixel-wise Pearson correlation between each true image and its reconstruction.

    Each pair is flattened over height, width and colour and correlated, then the
    correlations are averaged (Brain-Diffuser / MindEye "PixCorr").

    Parameters
    ----------
    images_true, images_pred : array-like, shape (n_images, height, width[, 3])
        Images in ``[0, 1]``. Reconstructions of another size are resized.
    size : int, optional
        Compare at this square size (the field uses 425 for NSD); default:
        the size of ``images_true``.
    reduction : {"mean", "none"}
        Return the mean, or one value per image ``(n_images,)``.
    """
    true, pred = _pair(images_true, images_pred, size)
    return _reduce(row_correlation(true, pred), reduction)


def row_correlation(a, b) -> np.ndarray:
    """Pearson correlation of each row of ``a`` with the same row of ``b`` (each flattened), 0 for a constant row.

    Parameters
    ----------
    a, b : ndarray, shape (n, ...)
        Same number of rows and of values per row.

    Returns
    -------
    ndarray, shape (n,)
    """
    a = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
    b = np.asarray(b, dtype=np.float64).reshape(len(b), -1)
    a = a - a.mean(1, keepdims=True)
    b = b - b.mean(1, keepdims=True)
    den = np.sqrt((a * a).sum(1) * (b * b).sum(1))
    return np.where(den > 0, (a * b).sum(1) / np.where(den > 0, den, 1.0), 0.0)


def ssim(
    images_true,
    images_pred,
    size: int | None = None,
    sigma: float = 1.5,
    data_range: float = 1.0,
    reduction: str = "mean",
):
    """Structural similarity of grayscale images with Gaussian weights.

    Matches ``skimage.metrics.structural_similarity(gray_true, gray_pred,
    gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
    data_range=1.0)`` applied to ``rgb2gray`` images, which is how
    Brain-Diffuser and MindEye report SSIM: K1 = 0.01, K2 = 0.03, a Gaussian
    window truncated at 3.5 sigma with reflected borders, and the mean of the
    SSIM map after cropping half a window on every side.

    Parameters
    ----------
    images_true, images_pred : array-like, shape (n_images, height, width[, 3])
        Images in ``[0, 1]``.
    size : int, optional
        Compare at this square size; default: the size of ``images_true``.
    sigma : float
        Standard deviation of the Gaussian window.
    data_range : float
        Dynamic range of the images.
    reduction : {"mean", "none"}
        Return the mean, or one value per image ``(n_images,)``.
    """
    from scipy.ndimage import gaussian_filter

    if sigma <= 0:
        raise bad_value("sigma", "> 0", sigma)
    true, pred = _pair(images_true, images_pred, size)
    x = rgb_to_gray(true)
    y = rgb_to_gray(pred)
    truncate = 3.5
    pad = int(truncate * sigma + 0.5)
    if min(x.shape[1:]) < 2 * pad + 1:
        raise bad_value(
            "images_true", f"at least {2 * pad + 1} pixels per side for sigma={sigma}", f"<shape {x.shape}>"
        )

    def blur(z):
        return gaussian_filter(z, sigma=(0, sigma, sigma), truncate=truncate, mode="reflect")

    ux, uy = blur(x), blur(y)
    vx = blur(x * x) - ux * ux
    vy = blur(y * y) - uy * uy
    vxy = blur(x * y) - ux * uy
    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    values = s[:, pad:-pad, pad:-pad].mean(axis=(1, 2))
    return _reduce(values, reduction)
