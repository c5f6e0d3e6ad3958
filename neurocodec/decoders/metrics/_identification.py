"""High-level reconstruction metrics on features: 2-way identification and correlation distance."""

from __future__ import annotations

import numpy as np

from neurocodec.pipeline import bad_value

__all__ = ["two_way_identification", "correlation_distance", "pairwise_correlation"]


def _features(feats, name):
    arr = np.asarray(feats)
    if arr.dtype.kind not in "biuf":
        raise bad_value(name, "a numeric array (n_images, n_features...)", f"<dtype {arr.dtype}>", exc=TypeError)
    arr = arr.astype(np.float64)
    if arr.ndim < 2 or arr.shape[0] < 2:
        raise bad_value(name, "an array of shape (n_images >= 2, n_features...)", f"<shape {arr.shape}>")
    if not np.isfinite(arr).all():
        raise bad_value(name, "finite (no NaN or inf)", f"<{int((~np.isfinite(arr)).sum())} non-finite values>")
    return arr.reshape(len(arr), -1)


def _check_pair(feats_true, feats_pred):
    a = _features(feats_true, "feats_true")
    b = _features(feats_pred, "feats_pred")
    if a.shape != b.shape:
        raise bad_value("feats_pred", f"the shape of feats_true {a.shape}", f"<shape {b.shape}>")
    return a, b


def _zscore_rows(a):
    a = a - a.mean(1, keepdims=True)
    norm = np.linalg.norm(a, axis=1, keepdims=True)
    return a / np.where(norm > 0, norm, 1.0)


def pairwise_correlation(feats_true, feats_pred) -> np.ndarray:
    """Pearson correlation of every true feature vector with every predicted one.

    Returns
    -------
    r : ndarray, shape (n_images, n_images)
        ``r[i, j]`` = corr(feats_true[i], feats_pred[j]).
    """
    a, b = _check_pair(feats_true, feats_pred)
    return _zscore_rows(a) @ _zscore_rows(b).T


def two_way_identification(feats_true, feats_pred, reduction: str = "mean"):
    """2-way identification accuracy (Brain-Diffuser / MindEye protocol).

    For each reconstruction ``j``, count the other true images ``i != j`` whose
    features correlate less with the reconstruction's features than the true
    image ``j`` does (``r[i, j] < r[j, j]``), divided by ``n_images - 1``.
    Chance is 0.5; identical sets of distinct feature vectors give 1.0.

    Parameters
    ----------
    feats_true, feats_pred : array-like, shape (n_images, ...)
        Features of the true images and of their reconstructions, in the same
        order (flattened per image).
    reduction : {"mean", "none"}
        Return the mean accuracy, or the per-reconstruction accuracies.
    """
    r = pairwise_correlation(feats_true, feats_pred)
    n = len(r)
    congruent = np.diag(r)
    success = (r < congruent[None, :]).sum(axis=0) / (n - 1)
    if reduction == "mean":
        return float(success.mean())
    if reduction == "none":
        return success
    raise bad_value("reduction", "'mean' or 'none'", reduction)


def correlation_distance(feats_true, feats_pred, reduction: str = "mean"):
    """Mean correlation distance ``1 - r`` between each true and predicted feature vector.

    The EffNet-B and SwAV scores of Brain-Diffuser and MindEye
    (``scipy.spatial.distance.correlation`` per image, averaged); lower is better.
    """
    a, b = _check_pair(feats_true, feats_pred)
    d = 1.0 - np.sum(_zscore_rows(a) * _zscore_rows(b), axis=1)
    if reduction == "mean":
        return float(d.mean())
    if reduction == "none":
        return d
    raise bad_value("reduction", "'mean' or 'none'", reduction)
