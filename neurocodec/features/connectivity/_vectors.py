"""Symmetric matrices as vectors in nilearn's order (``sym_matrix_to_vec``), and back."""

from __future__ import annotations

import math

import numpy as np

from ...pipeline import bad_value, check, check_array
from ._spd import _numeric

__all__ = ["edge_index", "fisher_z", "vectorize", "unvectorize", "triu_to_vectorized"]

#: Correlations are clipped to +-FISHER_Z_BOUND before the Fisher transform (z at most ~7.25).
FISHER_Z_BOUND = 0.999999


def fisher_z(r) -> np.ndarray:
    """Fisher z-transform ``arctanh(r)`` of correlations, clipped to ``+-FISHER_Z_BOUND`` (finite at ``|r| = 1``).

    Parameters
    ----------
    r : array-like of correlations, any shape

    Returns
    -------
    ndarray, same shape
    """
    shape = np.shape(r)
    r = check_array(np.atleast_1d(r), "r", "of correlations (any shape)", ndim=tuple(range(1, 33)), dtype=np.float64)
    r = r.reshape(shape)
    return np.arctanh(np.clip(r, -FISHER_Z_BOUND, FISHER_Z_BOUND))


def edge_index(n_rois: int, discard_diagonal: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of every entry of a :func:`vectorize` vector: nilearn's order.

    The lower triangle in row-major order, ``numpy.tril_indices(n_rois, k)``:
    (0, 0), (1, 0), (1, 1), (2, 0), ... (``k = -1`` without the diagonal), the
    order of nilearn's ``sym_matrix_to_vec`` / ``vec_to_sym_matrix``.
    """
    check(
        isinstance(n_rois, (int, np.integer)) and not isinstance(n_rois, bool) and n_rois >= 1,
        "n_rois",
        "an int >= 1",
        n_rois,
    )
    return np.tril_indices(n_rois, k=-1 if discard_diagonal else 0)


def vectorize(mats, discard_diagonal: bool = False, scale_diagonal: bool = True) -> np.ndarray:
    """Vectors of symmetric matrices in nilearn's order (``sym_matrix_to_vec``).

    The entries of the lower triangle, row by row (:func:`edge_index`,
    ``numpy.tril_indices``); for a symmetric matrix this is its upper triangle
    column by column. The vectors are interchangeable with nilearn's
    ``sym_matrix_to_vec`` / ``vec_to_sym_matrix`` (diagonal scaling
    included). Upper-triangle row-major vectors (``numpy.triu_indices``, e.g.
    the ABIDE Schaefer release's ``fc_upper.npz``) convert with
    :func:`triu_to_vectorized`.

    Parameters
    ----------
    mats : ndarray, shape (..., n_rois, n_rois)
    discard_diagonal : bool
        Drop the diagonal (``k=1``), as for correlation matrices.
    scale_diagonal : bool
        Divide kept diagonal entries by sqrt(2) so that the Euclidean norm of the
        vector is the Frobenius norm of the matrix divided by sqrt(2) (norm
        preserving for tangent vectors, nilearn's convention).

    Returns
    -------
    ndarray, shape (..., n_rois * (n_rois + 1) / 2) or (..., n_rois * (n_rois - 1) / 2)
    """
    mats = _numeric(mats, "mats", "square matrices (n_rois, n_rois) or (n_matrices, n_rois, n_rois)")
    if mats.ndim not in (2, 3) or mats.shape[-1] != mats.shape[-2] or 0 in mats.shape:
        raise bad_value(
            "mats", "square matrices (n_rois, n_rois) or (n_matrices, n_rois, n_rois)", f"<shape {mats.shape}>"
        )
    if not np.isfinite(mats).all():
        raise bad_value("mats", "finite (no NaN or inf)", f"<{int(np.sum(~np.isfinite(mats)))} non-finite values>")
    rows, cols = edge_index(mats.shape[-1], discard_diagonal)
    vec = mats[..., rows, cols]
    if not discard_diagonal and scale_diagonal:
        vec = vec / np.where(rows == cols, math.sqrt(2.0), 1.0)
    return vec


def unvectorize(vec, discard_diagonal: bool = False, diagonal=None, scale_diagonal: bool = True) -> np.ndarray:
    """Inverse of :func:`vectorize`.

    Parameters
    ----------
    vec : ndarray, shape (..., n_edges)
        Vectors of :func:`vectorize` (nilearn's order): ``n_rois (n_rois + 1) / 2`` entries with the
        diagonal, ``n_rois (n_rois - 1) / 2`` without it.
    discard_diagonal : bool
        Whether ``vec`` was made without the diagonal.
    diagonal : ndarray, shape (..., n_rois) or float, optional
        Diagonal to put back when ``discard_diagonal`` (default 1.0, as for
        correlation matrices).
    scale_diagonal : bool
        Undo the sqrt(2) scaling of a diagonal included in ``vec``.

    Returns
    -------
    ndarray, shape (..., n_rois, n_rois)
    """
    vec = check_array(vec, "vec", "(..., n_edges)", ndim=(1, 2, 3, 4), dtype=np.float64)
    m = vec.shape[-1]
    root = math.isqrt(8 * m + 1)
    if root * root != 8 * m + 1:
        raise bad_value("vec", "of length n (n + 1) / 2 or n (n - 1) / 2", f"<length {m}>")
    n = (root + 1) // 2 if discard_diagonal else (root - 1) // 2
    out = np.zeros(vec.shape[:-1] + (n, n))
    rows, cols = edge_index(n, discard_diagonal)
    vals = vec
    if not discard_diagonal and scale_diagonal:
        vals = vec * np.where(rows == cols, math.sqrt(2.0), 1.0)
    out[..., rows, cols] = vals
    out[..., cols, rows] = vals
    if discard_diagonal:
        diag = 1.0 if diagonal is None else np.asarray(diagonal, dtype=np.float64)
        if np.ndim(diag) and np.shape(diag)[-1] != n:
            raise bad_value("diagonal", f"of length {n}", f"<shape {np.shape(diag)}>")
        out[..., np.arange(n), np.arange(n)] = diag
    return out


def triu_to_vectorized(upper, discard_diagonal: bool = True) -> np.ndarray:
    """Reorder upper-triangle row-major vectors (``numpy.triu_indices``) into :func:`vectorize`'s order.

    Parameters
    ----------
    upper : ndarray, shape (..., n_edges)
        ``matrix[numpy.triu_indices(n_rois, k)]`` per subject (``k = 1`` when
        ``discard_diagonal``), diagonal entries, if any, unscaled.
    discard_diagonal : bool

    Returns
    -------
    ndarray, same shape: the vectors of :func:`vectorize` (diagonal scaled by 1/sqrt(2) when kept).
    """
    upper = check_array(upper, "upper", "(..., n_edges)", ndim=(1, 2, 3, 4))
    m = upper.shape[-1]
    root = math.isqrt(8 * m + 1)
    if upper.ndim < 1 or root * root != 8 * m + 1:
        raise bad_value("upper", "vectors of length n (n + 1) / 2 or n (n - 1) / 2", f"<shape {upper.shape}>")
    n = (root + 1) // 2 if discard_diagonal else (root - 1) // 2
    position = np.zeros((n, n), dtype=np.int64)
    iu = np.triu_indices(n, k=1 if discard_diagonal else 0)
    position[iu] = np.arange(m)
    position = np.maximum(position, position.T) if discard_diagonal else position + np.triu(position, 1).T
    rows, cols = edge_index(n, discard_diagonal)
    out = upper[..., position[rows, cols]]
    if not discard_diagonal:
        out = out / np.where(rows == cols, math.sqrt(2.0), 1.0)
    return out
