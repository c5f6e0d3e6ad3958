"""scikit-learn estimators of the ridge solvers: :class:`RidgeCV` and :class:`BandedRidgeCV`."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ..pipeline import PretrainedMixin, bad_value
from ._ridge import (
    _full_decomposition,
    make_folds,
    ridge_cv_fit,
    ridge_cv_scores,
    ridge_gcv_fit,
    ridge_refit,
    select_alphas,
)
from .backend import get_backend

__all__ = ["RidgeCV", "BandedRidgeCV", "DEFAULT_ALPHAS"]

#: Default grid of regularisation strengths, ``np.logspace(-3, 5, 9)``.
DEFAULT_ALPHAS = tuple(float(a) for a in np.logspace(-3, 5, 9))


def _check_alphas(alphas):
    a = np.asarray(DEFAULT_ALPHAS if alphas is None else alphas, dtype=np.float64).reshape(-1)
    if a.size == 0 or not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise bad_value("alphas", "a non-empty list of finite values > 0", alphas)
    return a


def _check_constant(Y, of):
    const = np.flatnonzero(np.ptp(Y, axis=0) == 0)
    if const.size:
        raise bad_value(
            "y",
            "non-constant in every target (drop constant targets, e.g. voxels outside the brain)",
            f"<{const.size} constant target(s), indices {const[:10].tolist()}>",
            of=of,
        )


class _RidgeBase(PretrainedMixin, MultiOutputMixin, RegressorMixin, BaseEstimator):
    def _validate_fit(self, X, y):
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=[np.float32, np.float64])
        Y = np.asarray(y, dtype=np.float32)
        self._ravel = Y.ndim == 1
        if self._ravel:
            Y = Y[:, None]
        if X.shape[0] < 2:
            raise bad_value("X", "at least 2 samples", f"<n_samples={X.shape[0]}>", of=type(self).__name__ + ".fit")
        _check_constant(Y, type(self).__name__ + ".fit")
        if self.scoring not in ("neg_mse", "r2"):
            raise bad_value("scoring", "'neg_mse' or 'r2'", self.scoring)
        if self.solver not in self._solvers:
            raise bad_value("solver", " or ".join(repr(v) for v in self._solvers), self.solver)
        if self.n_targets_batch is not None and (
            not isinstance(self.n_targets_batch, numbers.Integral) or self.n_targets_batch < 1
        ):
            raise bad_value("n_targets_batch", "None or an int >= 1", self.n_targets_batch)
        return np.asarray(X, dtype=np.float32), Y

    def _cv(self, n_samples):
        if isinstance(self.cv, str):
            if self.cv not in ("loo", "gcv"):
                raise bad_value("cv", "an int >= 2, 'loo', 'gcv' or a splitter", self.cv)
            if self.scoring == "r2":
                raise bad_value("scoring", "'neg_mse' with cv='loo' or 'gcv'", self.scoring)
            if n_samples < 3:
                raise bad_value("n_samples", "at least 3 for leave-one-out (n_samples=1 or 2 given)", n_samples)
            return self.cv
        return make_folds(self.cv, n_samples)

    def _center(self, X, Y):
        if self.fit_intercept:
            x_mean = X.mean(0, dtype=np.float64).astype(np.float32)
            y_mean = Y.mean(0, dtype=np.float64).astype(np.float32)
            return X - x_mean, x_mean, y_mean
        return X, None, None

    def _finish(self, coef, x_mean, y_mean):
        self.coef_ = coef
        self.intercept_ = (
            (y_mean - x_mean @ coef).astype(np.float32)
            if self.fit_intercept
            else np.zeros(coef.shape[1], dtype=np.float32)
        )
        if self._ravel:
            self.coef_ = self.coef_[:, 0]
            self.intercept_ = float(self.intercept_[0])
        return self

    def predict(self, X):
        """Predict targets.

        Parameters
        ----------
        X : array, shape (n_samples, n_features)

        Returns
        -------
        Y_hat : ndarray, shape (n_samples, n_targets) (or (n_samples,) if fitted on 1-D y)
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float32, np.float64])
        return X @ self.coef_.astype(X.dtype, copy=False) + self.intercept_


class RidgeCV(_RidgeBase):
    """Ridge regression with one cross-validated ``alpha`` per target.

    Minimises ``||Y - X W - b||^2 + alpha_j ||w_j||^2`` for every target ``j``,
    with ``alpha_j`` picked from ``alphas`` by k-fold cross-validation (same
    folds, scores and tie-breaking as himalaya's ``RidgeCV``), exact
    leave-one-out or generalised cross-validation. One eigendecomposition per
    fold serves every alpha and every target; validation errors are computed
    without forming the predictions (see :mod:`neurocodec.encoders._ridge`).

    Parameters
    ----------
    alphas : array-like of float > 0, shape (n_alphas,), optional
        Candidate regularisation strengths (default ``np.logspace(-3, 5, 9)``).
    cv : int, "loo", "gcv", scikit-learn splitter or iterable of (train, val)
        An int ``k`` is ``KFold(k)`` without shuffling. ``"loo"``: exact
        leave-one-out; ``"gcv"``: generalised cross-validation (both from one
        decomposition of all samples).
    alpha_per_target : bool
        One alpha per target (True) or one alpha for all (best mean score).
    fit_intercept : bool
        Fit an intercept (features and targets centred; per-fold training means
        during cross-validation).
    scoring : {"neg_mse", "r2"}
        Per-fold score averaged over folds to pick alphas (himalaya uses
        ``"neg_mse"``). k-fold only for ``"r2"``.
    solver : {"auto", "primal", "dual"}
        ``"primal"`` decomposes ``X^T X`` (best when n_features <= n_samples),
        ``"dual"`` the kernel ``X X^T``.
    backend : {"numpy", "torch", "torch_cuda"}
        Array backend. Targets stay in host memory and go to the device chunk
        by chunk.
    n_targets_batch : int or None
        Targets per chunk (None: all at once); bounds memory for ~300k voxels.

    Attributes
    ----------
    coef_ : ndarray, shape (n_features, n_targets), float32
        Weights, features x targets (himalaya's orientation; the transpose of
        scikit-learn's ``Ridge.coef_``).
    intercept_ : ndarray, shape (n_targets,)
    alphas_ : ndarray, shape (n_targets,)
        Selected alpha per target.
    cv_scores_ : ndarray, shape (n_targets,)
        Mean cross-validation score at the selected alpha.
    cv_scores_all_ : ndarray, shape (n_alphas, n_targets)
        Mean cross-validation score of every candidate alpha.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from neurocodec.encoders import RidgeCV
    >>> rng = np.random.default_rng(0)
    >>> X, Y = rng.standard_normal((100, 10)), rng.standard_normal((100, 3))
    >>> RidgeCV(alphas=[0.1, 1, 10]).fit(X, Y).coef_.shape
    (10, 3)
    """

    _solvers = ("auto", "primal", "dual")

    def __init__(
        self,
        alphas=None,
        cv=5,
        alpha_per_target=True,
        fit_intercept=True,
        scoring="neg_mse",
        solver="auto",
        backend="numpy",
        n_targets_batch=None,
    ):
        self.alphas = alphas
        self.cv = cv
        self.alpha_per_target = alpha_per_target
        self.fit_intercept = fit_intercept
        self.scoring = scoring
        self.solver = solver
        self.backend = backend
        self.n_targets_batch = n_targets_batch

    def fit(self, X, y):
        """Fit the model.

        Parameters
        ----------
        X : array, shape (n_samples, n_features)
            Stimulus features.
        y : array, shape (n_samples, n_targets) or (n_samples,)
            Responses (e.g. voxels).

        Returns
        -------
        self
        """
        X, Y = self._validate_fit(X, y)
        alphas = _check_alphas(self.alphas)
        be = get_backend(self.backend)
        cv = self._cv(X.shape[0])
        Xc, x_mean, y_mean = self._center(X, Y)
        Xb = be.asarray(Xc, "float32")
        primal = X.shape[1] <= X.shape[0] if self.solver == "auto" else self.solver == "primal"
        if primal and self.alpha_per_target and not isinstance(cv, str):
            coef, best, best_scores, scores = ridge_cv_fit(
                be,
                Xb,
                Y,
                alphas,
                cv,
                self.fit_intercept,
                y_mean,
                lambda s: select_alphas(s, alphas, True),
                self.n_targets_batch,
                self.scoring,
            )
        elif cv == "gcv" and self.alpha_per_target:
            coef, best, best_scores, scores = ridge_gcv_fit(
                be,
                Xb,
                Y,
                alphas,
                self.fit_intercept,
                y_mean,
                lambda s: select_alphas(s, alphas, True),
                self.n_targets_batch,
                primal,
            )
        else:
            scores = ridge_cv_scores(
                be,
                Xb,
                Y,
                alphas,
                cv,
                self.fit_intercept,
                x_mean,
                y_mean,
                self.n_targets_batch,
                self.scoring,
                self.solver,
            )
            best, best_scores = select_alphas(scores, alphas, self.alpha_per_target)
            coef = ridge_refit(be, Xb, Y, alphas[best], y_mean, self.n_targets_batch, primal=primal)
        self.alphas_ = alphas[best]
        self.cv_scores_ = best_scores
        self.cv_scores_all_ = scores
        return self._finish(coef, x_mean, y_mean)


class BandedRidgeCV(_RidgeBase):
    """Banded (group) ridge: one regularisation per feature space and per target.

    ``solver="random_search"``: random search on the simplex as in himalaya's
    ``GroupRidgeCV``: band weights ``gamma`` (``n_bands``) are drawn from
    Dirichlet distributions (the first candidate is uniform); features of band
    ``b`` are scaled by ``sqrt(gamma_b)``, a :class:`RidgeCV` alpha grid is
    cross-validated for each candidate, and every target keeps its best
    ``(gamma, alpha)``. The effective per-band penalty is ``alpha / gamma_b``
    (``deltas_ = log(gamma / alpha)``).

    ``solver="hyper_gradient"``: as himalaya's ``MultipleKernelRidgeCV(solver=
    "hyper_gradient")``, the random search result (``n_iter`` candidates;
    ``n_iter=1`` is the RidgeCV start) is refined by Adam steps on the
    per-target log penalties ``deltas`` that descend the same k-fold CV loss,
    differentiated through exact batched Cholesky solves (torch, float64; see
    :mod:`neurocodec.encoders._banded_hg`). The result's CV loss is never
    worse than its start's.

    Parameters
    ----------
    groups : list of int
        Number of features of each band, in column order (sum = n_features).
    n_iter : int
        Number of band-weight candidates.
    concentration : list of float
        Dirichlet concentrations cycled through the candidates.
    alphas, cv, fit_intercept, scoring, backend, n_targets_batch
        As in :class:`RidgeCV` (``cv`` must be k-fold).
    random_state : int or None
    solver : {"random_search", "hyper_gradient"}
    solver_params : dict or None
        Hyper-gradient settings: ``max_iter`` (Adam steps, default 100),
        ``step_size`` (learning rate on log penalties, 0.1) and
        ``n_targets_batch`` (targets per batched solve, 256).

    Attributes
    ----------
    coef_ : ndarray, shape (n_features, n_targets)
    intercept_ : ndarray, shape (n_targets,)
    alphas_ : ndarray, shape (n_targets,)
    band_weights_ : ndarray, shape (n_bands, n_targets)
        Selected ``gamma`` per target.
    deltas_ : ndarray, shape (n_bands, n_targets)
        ``log(gamma / alpha)`` (himalaya's convention).
    cv_scores_ : ndarray, shape (n_targets,)
    """

    _solvers = ("random_search", "hyper_gradient")

    def __init__(
        self,
        groups=None,
        n_iter=20,
        concentration=(0.1, 1.0),
        alphas=None,
        cv=5,
        fit_intercept=True,
        scoring="neg_mse",
        backend="numpy",
        n_targets_batch=None,
        random_state=None,
        solver="random_search",
        solver_params=None,
    ):
        self.groups = groups
        self.n_iter = n_iter
        self.concentration = concentration
        self.alphas = alphas
        self.cv = cv
        self.fit_intercept = fit_intercept
        self.scoring = scoring
        self.backend = backend
        self.n_targets_batch = n_targets_batch
        self.random_state = random_state
        self.solver = solver
        self.solver_params = solver_params

    def _gammas(self, n_bands):
        rng = np.random.default_rng(self.random_state)
        conc = list(np.atleast_1d(self.concentration))
        g = [np.full(n_bands, 1.0 / n_bands)]
        for i in range(1, self.n_iter):
            g.append(rng.dirichlet(np.full(n_bands, float(conc[i % len(conc)]))))
        return np.asarray(g)

    def fit(self, X, y):
        """Fit the model (see :meth:`RidgeCV.fit`)."""
        X, Y = self._validate_fit(X, y)
        groups = [X.shape[1]] if self.groups is None else [int(g) for g in self.groups]
        if any(g < 1 for g in groups) or sum(groups) != X.shape[1]:
            raise bad_value("groups", f"band sizes >= 1 summing to n_features={X.shape[1]}", self.groups)
        if not isinstance(self.n_iter, numbers.Integral) or self.n_iter < 1:
            raise bad_value("n_iter", "an int >= 1", self.n_iter)
        if isinstance(self.cv, str):
            raise bad_value("cv", "k-fold (an int or a splitter) for banded ridge", self.cv)
        alphas = _check_alphas(self.alphas)
        be = get_backend(self.backend)
        folds = make_folds(self.cv, X.shape[0])
        Xc, x_mean, y_mean = self._center(X, Y)
        band = np.repeat(np.arange(len(groups)), groups)
        gammas = self._gammas(len(groups))
        n_t = Y.shape[1]
        best_score = np.full(n_t, -np.inf)
        best_iter = np.zeros(n_t, dtype=np.int64)
        best_alpha = np.ones(n_t)
        eps = np.finfo(np.float32).eps
        for i, gamma in enumerate(gammas):
            Xb = be.asarray(Xc * np.sqrt(gamma[band]).astype(np.float32), "float32")
            scores = ridge_cv_scores(
                be, Xb, Y, alphas, folds, self.fit_intercept, x_mean, y_mean, self.n_targets_batch, self.scoring
            )
            idx, s = select_alphas(scores, alphas, True)
            better = s > best_score + eps
            best_score[better], best_iter[better], best_alpha[better] = s[better], i, alphas[idx[better]]
        if self.solver == "hyper_gradient":
            return self._hyper_gradient(Xc, Y, groups, folds, gammas[best_iter].T, best_alpha, x_mean, y_mean)
        coef = np.zeros((X.shape[1], n_t), dtype=np.float32)
        for i in np.unique(best_iter):
            sel = np.flatnonzero(best_iter == i)
            scale = np.sqrt(gammas[i][band]).astype(np.float32)
            Xb = be.asarray(Xc * scale, "float32")
            dec = _full_decomposition(be, Xb, self.fit_intercept)
            W = ridge_refit(
                be, Xb, Y[:, sel], best_alpha[sel], None if y_mean is None else y_mean[sel], self.n_targets_batch, dec
            )
            coef[:, sel] = W * scale[:, None]
        self.alphas_ = best_alpha
        self.band_weights_ = gammas[best_iter].T
        self.deltas_ = np.log(self.band_weights_ / best_alpha[None, :])
        self.cv_scores_ = best_score
        return self._finish(coef, x_mean, y_mean)

    def _hyper_gradient(self, Xc, Y, groups, folds, gammas, alphas, x_mean, y_mean):
        from ._banded_hg import banded_cv_loss_descent, banded_refit

        sp = dict(max_iter=100, step_size=0.1, n_targets_batch=256)
        extra = set(self.solver_params or {}) - set(sp)
        if extra:
            raise bad_value("solver_params", f"a dict with keys among {sorted(sp)}", self.solver_params)
        sp.update(self.solver_params or {})
        device = "cuda" if self.backend == "torch_cuda" else "cpu"
        Yc = Y - y_mean if y_mean is not None else Y
        deltas, scores = banded_cv_loss_descent(
            Xc,
            Yc,
            groups,
            folds,
            np.log(gammas / alphas[None, :]),
            self.fit_intercept,
            int(sp["max_iter"]),
            float(sp["step_size"]),
            int(sp["n_targets_batch"]),
            self.scoring,
            device,
        )
        coef = banded_refit(Xc, Yc, groups, deltas, int(sp["n_targets_batch"]), device)
        w = np.exp(deltas)
        self.alphas_ = 1.0 / w.sum(0)  # himalaya's convention: gamma = exp(delta) * alpha sums to 1
        self.band_weights_ = w * self.alphas_[None, :]
        self.deltas_ = deltas
        self.cv_scores_ = scores
        return self._finish(coef, x_mean, y_mean)
