"""Per-subject features of FC edge vectors for phenotype prediction.

Transforms of a subject's own row that need no fit (z-scoring or
rank-Gaussianising its edges, network-block means) and the whitened tangent
space whose reference is fitted on training rows only.
"""

from __future__ import annotations

import numpy as np

from ...pipeline import bad_value, check
from ._fc import TangentSpace
from ._vectors import edge_index

__all__ = [
    "standardize_subjects",
    "rank_gaussianize",
    "schaefer_network_labels",
    "network_block_means",
    "tangent_at_training_mean",
]


def _subject_rows(X) -> np.ndarray:
    """``X`` as float64 (n_subjects, n_edges >= 2), or the error naming what came."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] < 2:
        raise bad_value("X", "a 2-D array (n_subjects, n_edges >= 2)", f"<shape {X.shape}>")
    return X


def standardize_subjects(X) -> np.ndarray:
    """Z-score each subject's FC vector across its own edges.

    Removes a subject's global connectivity level and spread (global signal,
    motion and scanner effects shift all edges of a scan together). Uses that
    subject's row only, so it needs no fit and leaks nothing across subjects.

    Parameters
    ----------
    X : ndarray, shape (n_subjects, n_edges)

    Returns
    -------
    ndarray, shape (n_subjects, n_edges)
    """
    X = _subject_rows(X)
    sd = X.std(axis=1, keepdims=True)
    check(bool(np.all(sd > 0)), "X", "rows with non-constant edges", "<a constant row>")
    return (X - X.mean(axis=1, keepdims=True)) / sd


def rank_gaussianize(X) -> np.ndarray:
    """Replace each subject's edge vector by the normal quantiles of its ranks.

    Row ``i`` becomes ``Phi^{-1}((rank(X[i]) - 0.5) / n_edges)`` (average ranks
    for ties): every subject gets the same (standard normal) distribution of
    edge values and only the order of its edges is kept. This removes
    scanner- or preprocessing-specific monotone distortions of a subject's
    correlation distribution (its level, spread, skew). Uses that subject's
    row only, so it needs no fit and leaks nothing across subjects.

    Parameters
    ----------
    X : ndarray, shape (n_subjects, n_edges)
        E.g. Fisher-z correlations (any monotone transform of a row gives
        the same result).

    Returns
    -------
    ndarray, shape (n_subjects, n_edges)
    """
    from scipy.stats import norm, rankdata

    X = _subject_rows(X)
    if not np.all(np.isfinite(X)):
        raise bad_value("X", "finite (no NaN or inf)", f"<{int(np.sum(~np.isfinite(X)))} non-finite values>")
    return norm.ppf((rankdata(X, axis=1) - 0.5) / X.shape[1])


def schaefer_network_labels(roi_names, hemisphere: bool = True) -> np.ndarray:
    """Network (and hemisphere) of each Schaefer ROI from its name, e.g. ``7Networks_LH_Vis_1`` -> ``LH_Vis``.

    Parameters
    ----------
    roi_names : sequence of str
        Names ``<k>Networks_<LH|RH>_<network>_...`` (Schaefer et al. 2018).
    hemisphere : bool
        Keep the hemisphere in the label (``LH_Vis``) or not (``Vis``).

    Returns
    -------
    ndarray of str, shape (n_rois,)
    """
    out = []
    for name in np.asarray(roi_names).astype(str):
        parts = name.split("_")
        if len(parts) < 3 or not parts[0].endswith("Networks") or parts[1] not in ("LH", "RH"):
            raise bad_value("roi_names", "Schaefer names like '7Networks_LH_Vis_1'", name)
        out.append(f"{parts[1]}_{parts[2]}" if hemisphere else parts[2])
    return np.array(out)


def network_block_means(X, labels) -> np.ndarray:
    """Mean edge value within and between networks: the upper triangle (diagonal included) of a block matrix.

    For blocks ``a <= b`` (sorted unique ``labels``) the feature is the mean of
    ``X`` over the edges joining an ROI of ``a`` to an ROI of ``b`` (for
    ``a == b`` the edges between distinct ROIs of ``a``). A fixed linear map
    of each subject's row: no fit, nothing shared across subjects.

    Parameters
    ----------
    X : ndarray, shape (n_subjects, n_rois (n_rois - 1) / 2)
        Edge vectors without diagonal in :func:`vectorize`'s order
        (``discard_diagonal=True``), e.g. Fisher-z correlations.
    labels : array-like of str, shape (n_rois,)
        Block of each ROI, e.g. from :func:`schaefer_network_labels`.

    Returns
    -------
    ndarray, shape (n_subjects, n_blocks (n_blocks + 1) / 2)
        Blocks in the order of ``np.unique(labels)``, row-major upper
        triangle: (0, 0), (0, 1), ..., (1, 1), ...
    """
    X = np.asarray(X, dtype=np.float64)
    labels = np.asarray(labels).astype(str)
    n = len(labels)
    if labels.ndim != 1 or n < 2:
        raise bad_value("labels", "one block label per ROI (>= 2 ROIs)", f"<shape {labels.shape}>")
    if X.ndim != 2 or X.shape[1] != n * (n - 1) // 2:
        raise bad_value(
            "X", f"a 2-D array (n_subjects, {n * (n - 1) // 2}) of upper triangles of {n} ROIs", f"<shape {X.shape}>"
        )
    names, block = np.unique(labels, return_inverse=True)
    k = len(names)
    sizes = np.bincount(block, minlength=k)
    iu, ju = edge_index(n, discard_diagonal=True)
    a, b = np.minimum(block[iu], block[ju]), np.maximum(block[iu], block[ju])
    pair = a * k + b  # block pair of every edge
    ka, kb = np.triu_indices(k)
    counts = np.where(ka == kb, sizes[ka] * (sizes[ka] - 1) // 2, sizes[ka] * sizes[kb])
    check(
        bool(np.all(counts > 0)),
        "labels",
        "blocks of >= 2 ROIs (a one-ROI block has no within-block edge)",
        f"<blocks {names[sizes < 2].tolist()}>",
    )
    col = np.full(k * k, -1)
    col[ka * k + kb] = np.arange(len(ka))
    A = np.zeros((len(iu), len(ka)))
    A[np.arange(len(iu)), col[pair]] = 1.0
    return (X @ A) / counts


def tangent_at_training_mean(
    X, train, reference: str = "log_euclidean", min_eigenvalue: float = 0.1, n_jobs: int | None = None
) -> np.ndarray:
    """Tangent vectors ``logm(R^{-1/2} C R^{-1/2})`` of every subject at the mean ``R`` of the training rows.

    The whitened (affine-invariant) tangent space of Abraham et al. (2017):
    correlation matrices shrunk to SPD (:func:`shrink_to_spd`, per-subject),
    reference fitted on ``train`` only (a :class:`TangentSpace`), then every
    row (test rows included) mapped with that fixed reference.

    Parameters
    ----------
    X : ndarray, shape (n_subjects, n_rois (n_rois - 1) / 2)
        Correlation vectors (upper triangles without diagonal).
    train : ndarray of int
        Rows the reference is fitted on.
    reference : {"log_euclidean", "geometric"}
    min_eigenvalue : float
        Shrinkage target of each matrix's smallest relative eigenvalue.

    Returns
    -------
    ndarray, shape (n_subjects, n_rois (n_rois + 1) / 2)
        Upper triangles with the sqrt(2)-scaled convention of :func:`vectorize`
        (diagonal kept).
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise bad_value("X", "a 2-D array (n_subjects, n_edges) of correlation vectors", f"<shape {X.shape}>")
    train = np.asarray(train)
    check(
        train.ndim == 1
        and len(train) > 0
        and train.dtype.kind in "iu"
        and bool(np.all((train >= 0) & (train < len(X)))),
        "train",
        f"a non-empty 1-D array of row indices in [0, {len(X)})",
        f"<{train.dtype} array of shape {train.shape}>",
    )
    check(reference in ("geometric", "log_euclidean"), "reference", "'geometric' or 'log_euclidean'", reference)
    ts = TangentSpace(
        reference=reference,
        metric="affine",
        input_vectorized="no_diagonal",
        shrinkage="auto",
        min_eigenvalue=min_eigenvalue,
        vectorize=True,
        discard_diagonal=False,
        n_jobs=n_jobs,
    )
    return ts.fit(X[train]).transform(X)
