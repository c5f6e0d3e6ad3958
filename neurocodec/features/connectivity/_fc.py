"""Functional connectivity from ROI time series or given matrices: covariance
estimators, correlation, partial correlation, precision and tangent space.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ...pipeline import PretrainedMixin, bad_value, check
from ._spd import (
    _form,
    _run_chunks,
    check_spd,
    geometric_mean,
    log_euclidean_mean,
    map_eigenvalues,
    shrink_to_spd,
)
from ._vectors import unvectorize, vectorize

__all__ = [
    "COV_ESTIMATORS",
    "KINDS",
    "check_timeseries",
    "covariances",
    "cov_to_corr",
    "prec_to_partial",
    "FunctionalConnectivity",
    "TangentSpace",
]

COV_ESTIMATORS = ("empirical", "ledoit_wolf", "oas")
KINDS = ("covariance", "correlation", "partial correlation", "precision", "tangent")


def check_timeseries(timeseries, min_times: int = 3, name: str = "timeseries") -> list[np.ndarray]:
    """Validate a list of ROI time series, each ``(n_times_i, n_rois)``.

    Raises a ``ValueError`` naming ``name`` for an empty list, non 2-D arrays,
    NaN/inf, differing ROI counts, or fewer than ``min_times`` time points.
    """
    if isinstance(timeseries, np.ndarray) and timeseries.ndim == 2:
        timeseries = [timeseries]
    series = [np.asarray(x) for x in timeseries]
    for i, x in enumerate(series):
        if x.dtype.kind not in "biuf":
            raise bad_value(f"{name}[{i}]", "a numeric array (n_times, n_rois)", f"<dtype {x.dtype}>", exc=TypeError)
    series = [x.astype(np.float64) for x in series]
    check(len(series) > 0, name, "a non-empty list of (n_times, n_rois) arrays", "<empty>")
    n_rois = series[0].shape[-1] if series[0].ndim == 2 else None
    for i, x in enumerate(series):
        if x.ndim != 2:
            raise bad_value(f"{name}[{i}]", "a 2-D array (n_times, n_rois)", f"<shape {x.shape}>")
        if x.shape[1] != n_rois:
            raise bad_value(
                f"{name}[{i}]", f"{n_rois} ROIs like {name}[0] (mismatched ROI counts)", f"<{x.shape[1]} ROIs>"
            )
        if x.shape[0] < min_times:
            raise bad_value(f"{name}[{i}]", f">= {min_times} time points", f"<{x.shape[0]} time points>")
        if not np.all(np.isfinite(x)):
            raise bad_value(
                f"{name}[{i}]", "finite (no NaN or inf)", f"<{int(np.sum(~np.isfinite(x)))} non-finite values>"
            )
    check(n_rois >= 2, name, "at least 2 ROIs", f"<{n_rois} ROI>")
    return series


def _shrunk_stack(x: np.ndarray, estimator: str) -> np.ndarray:
    """Covariances of a stack ``(n_subjects, n_times, n_rois)`` of equal-length series."""
    n_times, n_rois = x.shape[1:]
    xc = x - x.mean(axis=1, keepdims=True)
    emp = np.matmul(np.swapaxes(xc, 1, 2), xc) / n_times
    if estimator == "empirical":
        return emp
    mu = np.trace(emp, axis1=1, axis2=2) / n_rois
    if estimator == "ledoit_wolf":  # Ledoit & Wolf (2004), sklearn's formulas
        x2 = xc**2
        beta_ = np.sum(x2.sum(axis=2) ** 2, axis=1)
        delta_ = np.sum(emp**2, axis=(1, 2))
        beta = (beta_ / n_times - delta_) / (n_rois * n_times)
        delta = (delta_ - 2.0 * mu * x2.sum(axis=(1, 2)) / n_times + n_rois * mu**2) / n_rois
        beta = np.minimum(beta, delta)
        shrinkage = np.where(beta == 0, 0.0, beta / np.where(delta == 0, 1.0, delta))
    elif estimator == "oas":  # Chen et al. (2010), sklearn's formulas
        alpha = np.mean(emp**2, axis=(1, 2))
        num = alpha + mu**2
        den = (n_times + 1) * (alpha - mu**2 / n_rois)
        shrinkage = np.where(den == 0, 1.0, np.minimum(num / np.where(den == 0, 1.0, den), 1.0))
    else:
        raise bad_value("cov_estimator", f"one of {COV_ESTIMATORS}", estimator)
    out = (1.0 - shrinkage)[:, None, None] * emp
    out[:, np.arange(n_rois), np.arange(n_rois)] += (shrinkage * mu)[:, None]
    return out


def covariances(
    timeseries, estimator: str = "ledoit_wolf", standardize: bool = False, n_jobs: int | None = None
) -> np.ndarray:
    """Per-subject covariance matrices, batched over subjects of equal length.

    Parameters
    ----------
    timeseries : list of ndarray, each (n_times_i, n_rois)
        ROI time series.
    estimator : {"empirical", "ledoit_wolf", "oas"}
        Covariance estimator (same formulas as scikit-learn's).
    standardize : bool
        z-score each ROI (ddof=1) first, as nilearn does for correlations.
    n_jobs : int or None
        Threads over chunks of subjects.

    Returns
    -------
    ndarray, shape (n_subjects, n_rois, n_rois)
    """
    check(estimator in COV_ESTIMATORS, "cov_estimator", f"one of {COV_ESTIMATORS}", estimator)
    series = check_timeseries(timeseries)
    if standardize:
        series = [(x - x.mean(0)) / np.where(x.std(0, ddof=1) > 0, x.std(0, ddof=1), 1.0) for x in series]
    n_rois = series[0].shape[1]
    out = np.empty((len(series), n_rois, n_rois))
    lengths = np.array([len(x) for x in series])
    for length in np.unique(lengths):
        idx = np.flatnonzero(lengths == length)

        def work(sl, idx=idx):
            out[idx[sl]] = _shrunk_stack(np.stack([series[i] for i in idx[sl]]), estimator)

        _run_chunks(work, len(idx), n_jobs, max_chunk=32)
    return out


def cov_to_corr(cov: np.ndarray) -> np.ndarray:
    """Correlation matrices from covariance matrices ``(..., n_rois, n_rois)``."""
    d = 1.0 / np.sqrt(np.diagonal(cov, axis1=-2, axis2=-1))
    corr = cov * d[..., :, None] * d[..., None, :]
    n = cov.shape[-1]
    corr[..., np.arange(n), np.arange(n)] = 1.0
    return corr


def prec_to_partial(prec: np.ndarray) -> np.ndarray:
    """Partial correlation matrices from precision matrices ``(..., n_rois, n_rois)``."""
    partial = -cov_to_corr(prec)
    n = prec.shape[-1]
    partial[..., np.arange(n), np.arange(n)] = 1.0
    return partial


class TangentSpace(PretrainedMixin, TransformerMixin, BaseEstimator):
    """Tangent-space embedding of SPD matrices at a reference fitted on training data.

    ``T_i = logm(R^{-1/2} C_i R^{-1/2})`` with ``R`` the geometric (Riemannian)
    or log-Euclidean mean of the training matrices (Varoquaux et al. 2010;
    Abraham et al. 2017). Accepts stacks of matrices, or vectors (upper
    triangle) so that it fits in a scikit-learn pipeline over FC vectors.

    Parameters
    ----------
    reference : {"geometric", "log_euclidean"}
        Mean used as the reference point.
    metric : {"affine", "log_euclidean"}
        ``"affine"``: ``logm(R^{-1/2} C R^{-1/2})`` (affine-invariant
        tangent space, nilearn's); ``"log_euclidean"``: ``logm(C) - logm(R)``
        with ``R`` the log-Euclidean mean (Arsigny et al. 2006), whose
        per-subject part ``logm(C)`` needs no reference.
    input_vectorized : {"none", "no_diagonal", "diagonal"}
        How ``X`` comes: ``"none"`` matrices ``(n_subjects, n_rois, n_rois)``;
        ``"no_diagonal"`` upper triangles without diagonal (correlation
        vectors, diagonal taken as 1); ``"diagonal"`` with scaled diagonal.
    shrinkage : float or "auto" or None
        Shrinkage toward identity applied to every input matrix to make it SPD
        (needed for correlation matrices from fewer time points than ROIs);
        None: inputs must already be SPD.
    min_eigenvalue : float
        Target smallest relative eigenvalue for ``shrinkage="auto"``.
    vectorize : bool
        Return vectors (upper triangle with sqrt(2)-scaled diagonal unless
        ``discard_diagonal``) instead of matrices.
    discard_diagonal : bool
        Drop the diagonal of the returned vectors.
    max_iter, tol : int, float
        Geometric-mean iterations and tolerance (nilearn's defaults: 30, 1e-7).
    mean_precision : {"double", "single"}
        Precision of the per-subject whitening and eigendecompositions inside
        the geometric-mean iterations. ``"single"`` (float32) is about 1.6x
        faster on 200 ROIs; the mean, the final embedding and every output stay
        float64, and on ABIDE's 696 x 200 matrices the embedding differs from
        ``"double"`` by 4e-7. Keep ``"double"`` for badly conditioned inputs.
    mean_solver : {"gradient", "anderson"}
        Geometric-mean iterations: nilearn's gradient descent (same iterates
        as nilearn), or the Anderson-accelerated fixed point (same stopping
        rule, about half the iterations; :func:`geometric_mean`), whose
        ``fit_transform`` also reuses the last iteration's eigendecompositions
        as the tangent vectors (one pass over the subjects saved).
    n_jobs : int or None
        Threads for the batched eigendecompositions.

    Attributes
    ----------
    mean_ : ndarray, shape (n_rois, n_rois)
        Reference point.
    whitening_ : ndarray, shape (n_rois, n_rois)
        ``mean_ ** -1/2``.
    """

    def __init__(
        self,
        reference="geometric",
        metric="affine",
        input_vectorized="none",
        shrinkage=None,
        min_eigenvalue=1e-3,
        vectorize=False,
        discard_diagonal=False,
        max_iter=30,
        tol=1e-7,
        mean_precision="double",
        mean_solver="gradient",
        n_jobs=None,
    ):
        self.reference = reference
        self.metric = metric
        self.input_vectorized = input_vectorized
        self.shrinkage = shrinkage
        self.min_eigenvalue = min_eigenvalue
        self.vectorize = vectorize
        self.discard_diagonal = discard_diagonal
        self.max_iter = max_iter
        self.tol = tol
        self.mean_precision = mean_precision
        self.mean_solver = mean_solver
        self.n_jobs = n_jobs

    def _matrices(self, X) -> np.ndarray:
        check(
            self.input_vectorized in ("none", "no_diagonal", "diagonal"),
            "input_vectorized",
            "'none', 'no_diagonal' or 'diagonal'",
            self.input_vectorized,
        )
        X = np.asarray(X)
        if X.dtype.kind not in "biuf":
            raise bad_value("X", "a numeric array of matrices or vectors", f"<dtype {X.dtype}>", exc=TypeError)
        X = X.astype(np.float64)
        if self.input_vectorized != "none":
            if X.ndim != 2:
                raise bad_value("X", "a 2-D array (n_subjects, n_edges) of vectors", f"<shape {X.shape}>")
            if not np.all(np.isfinite(X)):
                raise bad_value("X", "finite (no NaN or inf)", f"<{int(np.sum(~np.isfinite(X)))} non-finite values>")
            X = unvectorize(X, discard_diagonal=self.input_vectorized == "no_diagonal")
        if self.shrinkage is None:
            return check_spd(X, "X")
        return shrink_to_spd(X, self.shrinkage, self.min_eigenvalue)[0]

    def fit(self, X, y=None):
        """Fit the reference point on training matrices ``X``."""
        self._fit(self._matrices(X), X)
        return self

    def fit_transform(self, X, y=None):
        """Fit the reference on ``X`` and return its tangent vectors/matrices (see ``mean_solver``)."""
        mats = self._matrices(X)
        logs = self._fit(mats, X, keep_logs=True)
        if logs is None:
            return self.transform(X)
        return vectorize(logs, discard_diagonal=self.discard_diagonal) if self.vectorize else logs

    def _fit(self, mats, X, keep_logs=False):
        check(self.metric in ("affine", "log_euclidean"), "metric", "'affine' or 'log_euclidean'", self.metric)
        check(self.mean_solver in ("gradient", "anderson"), "mean_solver", "'gradient' or 'anderson'", self.mean_solver)
        logs = None
        if self.metric == "log_euclidean":
            self.mean_log_ = map_eigenvalues(np.log, mats, n_jobs=self.n_jobs).mean(0)
            self.mean_ = map_eigenvalues(np.exp, self.mean_log_)
        elif self.reference == "geometric":
            check(
                self.mean_precision in ("double", "single"),
                "mean_precision",
                "'double' or 'single'",
                self.mean_precision,
            )
            keep = keep_logs and self.mean_solver == "anderson"
            out = geometric_mean(
                mats,
                max_iter=self.max_iter,
                tol=self.tol,
                n_jobs=self.n_jobs,
                iter_dtype=np.float32 if self.mean_precision == "single" else np.float64,
                solver=self.mean_solver,
                return_logs=keep,
            )
            self.mean_, logs = out if keep else (out, None)
        elif self.reference == "log_euclidean":
            self.mean_ = log_euclidean_mean(mats, n_jobs=self.n_jobs)
        else:
            raise bad_value("reference", "'geometric' or 'log_euclidean'", self.reference)
        vals, vecs = np.linalg.eigh(self.mean_)
        self.whitening_ = _form(lambda v: 1.0 / np.sqrt(v), vals, vecs)
        self.n_features_in_ = mats.shape[-1] if self.input_vectorized == "none" else np.asarray(X).shape[-1]
        return logs

    def transform(self, X):
        """Tangent vectors/matrices of ``X`` at the fitted reference."""
        check_is_fitted(self)
        mats = self._matrices(X)
        n = self.mean_.shape[0]
        check(mats.shape[-1] == n, "X", f"matrices with {n} ROIs like the fitted reference", f"<{mats.shape[-1]} ROIs>")
        if self.metric == "log_euclidean":
            out = map_eigenvalues(np.log, mats, n_jobs=self.n_jobs) - self.mean_log_
        else:
            out = map_eigenvalues(np.log, mats, n_jobs=self.n_jobs, whitening=self.whitening_)
        return vectorize(out, discard_diagonal=self.discard_diagonal) if self.vectorize else out

    def inverse_transform(self, T, diagonal=None):
        """SPD matrices ``R^{1/2} expm(T) R^{1/2}`` from tangent matrices or vectors."""
        check_is_fitted(self)
        T = np.asarray(T, dtype=np.float64)
        if self.vectorize:
            if self.discard_diagonal and diagonal is None:
                raise bad_value("diagonal", "given when the tangent vectors discard the diagonal", None)
            T = unvectorize(T, discard_diagonal=self.discard_diagonal, diagonal=diagonal)
        if self.metric == "log_euclidean":
            return map_eigenvalues(np.exp, T + self.mean_log_, n_jobs=self.n_jobs)
        vals, vecs = np.linalg.eigh(self.mean_)
        sqrt_mean = _form(np.sqrt, vals, vecs)
        return sqrt_mean @ map_eigenvalues(np.exp, T, n_jobs=self.n_jobs) @ sqrt_mean


class FunctionalConnectivity(PretrainedMixin, TransformerMixin, BaseEstimator):
    """Functional connectivity matrices of subjects from ROI time series.

    Same kinds as nilearn's ``ConnectivityMeasure`` (and the same numbers for
    the same estimator) with batched computations.

    Parameters
    ----------
    kind : {"covariance", "correlation", "partial correlation", "precision", "tangent"}
        Connectivity measure. ``"tangent"`` uses a reference fitted in ``fit``.
    cov_estimator : {"ledoit_wolf", "oas", "empirical"}
        Covariance estimator (nilearn's default is Ledoit-Wolf).
    vectorize : bool
        Return upper-triangle vectors instead of matrices.
    discard_diagonal : bool
        Drop the diagonal in vectors.
    reference : {"geometric", "log_euclidean"}
        Tangent reference.
    mean_precision : {"double", "single"}
        Precision inside the geometric-mean iterations (see :class:`TangentSpace`).
    mean_solver : {"gradient", "anderson"}
        Geometric-mean iterations (see :class:`TangentSpace`).
    n_jobs : int or None
        Threads for the batched eigendecompositions.

    Attributes
    ----------
    mean_ : ndarray, shape (n_rois, n_rois)
        Mean connectivity (reference point for ``"tangent"``).
    tangent_ : TangentSpace or None
    """

    def __init__(
        self,
        kind="correlation",
        cov_estimator="ledoit_wolf",
        vectorize=False,
        discard_diagonal=False,
        reference="geometric",
        mean_precision="double",
        mean_solver="gradient",
        n_jobs=None,
    ):
        self.kind = kind
        self.cov_estimator = cov_estimator
        self.vectorize = vectorize
        self.discard_diagonal = discard_diagonal
        self.reference = reference
        self.mean_precision = mean_precision
        self.mean_solver = mean_solver
        self.n_jobs = n_jobs

    def _connectivity(self, timeseries):
        check(self.kind in KINDS, "kind", f"one of {KINDS}", self.kind)
        covs = covariances(timeseries, self.cov_estimator, standardize=self.kind == "correlation", n_jobs=self.n_jobs)
        if self.kind == "correlation":
            return covs, cov_to_corr(covs)
        if self.kind in ("precision", "partial correlation"):
            covs = check_spd(covs, "covariances")
            prec = np.linalg.inv(covs)
            return covs, prec if self.kind == "precision" else prec_to_partial(prec)
        return covs, covs

    def fit(self, timeseries, y=None):
        """Fit the group mean (tangent reference) on training subjects' series."""
        self.fit_transform(timeseries)
        return self

    def fit_transform(self, timeseries, y=None):
        covs, conn = self._connectivity(timeseries)
        self.n_features_in_ = covs.shape[-1]
        if self.kind == "tangent":
            self.tangent_ = TangentSpace(
                reference=self.reference,
                mean_precision=self.mean_precision,
                mean_solver=self.mean_solver,
                n_jobs=self.n_jobs,
            )
            conn = self.tangent_.fit_transform(covs)
            self.mean_ = self.tangent_.mean_
        else:
            self.tangent_ = None
            self.mean_ = 0.5 * (conn.mean(0) + conn.mean(0).T)
        return self._out(conn)

    def transform(self, timeseries):
        """Connectivity of new subjects (tangent: at the fitted reference)."""
        check_is_fitted(self)
        covs, conn = self._connectivity(timeseries)
        check(
            covs.shape[-1] == self.n_features_in_,
            "timeseries",
            f"{self.n_features_in_} ROIs as in fit",
            f"<{covs.shape[-1]} ROIs>",
        )
        if self.kind == "tangent":
            conn = self.tangent_.transform(covs)
        return self._out(conn)

    def _out(self, conn):
        return vectorize(conn, discard_diagonal=self.discard_diagonal) if self.vectorize else conn

    def inverse_transform(self, conn, diagonal=None):
        """Matrices from (vectorised) connectivities; tangent: the covariances."""
        check_is_fitted(self)
        conn = np.asarray(conn, dtype=np.float64)
        if self.vectorize:
            if self.discard_diagonal and diagonal is None:
                if self.kind not in ("correlation", "partial correlation"):
                    raise bad_value("diagonal", f"given for kind={self.kind!r} vectors without diagonal", None)
                diagonal = 1.0
            conn = unvectorize(conn, discard_diagonal=self.discard_diagonal, diagonal=diagonal)
        if self.kind == "tangent":
            vals, vecs = np.linalg.eigh(self.mean_)
            sqrt_mean = _form(np.sqrt, vals, vecs)
            conn = sqrt_mean @ map_eigenvalues(np.exp, conn, n_jobs=self.n_jobs) @ sqrt_mean
        return conn
