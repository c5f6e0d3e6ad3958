"""``ConnectomeClassifier``: binary phenotype prediction from ROI time series or connectivity matrices.

One scikit-learn estimator holding the whole procedure, every fitted step
fitted on the rows given to :meth:`ConnectomeClassifier.fit`: connectivity
features (Fisher-z correlations, tangent space at the training subjects'
geometric mean, partial correlations, ...), optional confound regression
(age, sex, mean FD, site, ...), standardisation, an l2-penalised logistic
regression, and (when several candidates are given) the choice of feature
kind and penalty by an inner site-grouped cross-validation of the training
rows only.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from ...pipeline import PretrainedMixin, bad_value, check
from ._fc import COV_ESTIMATORS, TangentSpace, check_timeseries, covariances
from ._spd import shrink_to_spd
from ._vectors import fisher_z, vectorize

__all__ = ["ConnectomeClassifier", "FEATURE_KINDS", "binary_labels"]

#: Feature kinds of :class:`ConnectomeClassifier`.
FEATURE_KINDS = ("correlation", "tangent", "partial correlation", "covariance", "precision")
_INPUTS = ("timeseries", "correlation", "covariance")


def binary_labels(y, name: str = "y"):
    """Classes and 0/1 codes of binary labels of any type (as scikit-learn: ``classes_`` sorted).

    Returns
    -------
    classes : ndarray, shape (2,)
    codes : ndarray of int, shape (n_subjects,)
        ``classes[codes] == y``.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise bad_value(name, "a 1-D array of labels (n_subjects,)", f"<shape {y.shape}>")
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise bad_value(name, "labels without NaN", f"<{int(np.sum(~np.isfinite(y)))} NaN>")
    classes, codes = np.unique(y, return_inverse=True)
    if len(classes) != 2:
        raise bad_value(
            name,
            "binary labels (exactly 2 classes, any type: 0/1, 'ASD'/'HC', ...)",
            f"<{len(classes)} classes {classes[:5].tolist()}>",
        )
    return classes, codes.astype(int)


def _as_list(value):
    return list(value) if isinstance(value, (list, tuple, np.ndarray)) else [value]


class _Confounds:
    """Design matrix of confounds: numeric columns as they are, text columns one-hot (training categories)."""

    def __init__(self, frame):
        import pandas as pd

        frame = pd.DataFrame(frame).reset_index(drop=True)
        self.columns = [str(c) for c in frame.columns]
        self.levels = {}
        for c in frame.columns:
            if frame[c].dtype.kind not in "iufb":
                self.levels[str(c)] = sorted(frame[c].astype(str).unique().tolist())

    @classmethod
    def from_state(cls, columns, levels):
        obj = cls.__new__(cls)
        obj.columns, obj.levels = list(columns), {k: list(v) for k, v in levels.items()}
        return obj

    def design(self, frame) -> np.ndarray:
        import pandas as pd

        frame = pd.DataFrame(frame).reset_index(drop=True)
        frame.columns = [str(c) for c in frame.columns]
        missing = [c for c in self.columns if c not in frame]
        check(not missing, "confounds", f"the columns given in fit {self.columns}", f"<missing {missing}>")
        cols = [np.ones(len(frame))]
        for c in self.columns:
            if c in self.levels:
                vals = frame[c].astype(str).to_numpy()
                # first level is the baseline; an unseen level (a left-out site) gets the baseline
                cols += [(vals == lev).astype(np.float64) for lev in self.levels[c][1:]]
            else:
                v = pd.to_numeric(frame[c], errors="coerce").to_numpy(np.float64)
                if not np.all(np.isfinite(v)):
                    raise bad_value(
                        "confounds", f"finite values in column {c!r}", f"<{int(np.sum(~np.isfinite(v)))} NaN>"
                    )
                cols.append(v)
        return np.column_stack(cols)


class ConnectomeClassifier(PretrainedMixin, ClassifierMixin, BaseEstimator):
    """Binary classifier of subjects from their ROI time series or connectivity matrices.

    ``fit(X, y, sites=None, confounds=None)`` fits, on the given rows only:
    the connectivity features (for ``"tangent"``, the reference: the
    geometric mean of the training covariances), a confound regression, a
    standardisation and an l2-logistic regression. When ``kind`` or ``C``
    lists several candidates, each is scored by an inner cross-validation
    of the training rows (folds of whole sites when ``sites`` is given) and
    the best (mean accuracy over the inner folds) is refitted on all of them.

    Parameters
    ----------
    kind : str or list of str
        Feature kind(s) (:data:`FEATURE_KINDS`): ``"correlation"`` (Fisher-z
        of the upper triangle, no diagonal), ``"tangent"`` (tangent space at
        the training mean, Abraham et al. 2017), ``"partial correlation"``
        (Fisher-z), ``"covariance"``, ``"precision"``.
    C : float or list of float
        Inverse l2 penalty(ies) of the logistic regression (> 0).
    input : {"timeseries", "correlation", "covariance"}
        What ``X`` holds: a list of (n_times_i, n_rois) ROI time series, or a
        stack (n_subjects, n_rois, n_rois) of correlation / covariance
        matrices. Correlation matrices support the kinds ``correlation`` and
        ``tangent`` (after shrinkage to SPD).
    cov_estimator : {"ledoit_wolf", "oas", "empirical"}
        Covariance estimator of the time series (for ``"correlation"`` applied to
        the standardised series, as nilearn's ``ConnectivityMeasure`` and
        :class:`FunctionalConnectivity` do).
    inner_cv : int
        Folds of the inner cross-validation (only used with several candidates).
    min_eigenvalue : float
        Shrinkage target for correlation matrices entering the tangent space.
    random_state : int
        Seed of the inner folds.
    n_jobs : int or None
        Threads of the batched eigendecompositions.

    Attributes
    ----------
    classes_ : ndarray, shape (2,)
        Sorted labels; ``predict_proba[:, 1]`` is the probability of ``classes_[1]``.
    kind_, C_ : str, float
        The selected candidate.
    cv_results_ : list of dict
        Inner mean accuracy of every candidate (empty with one candidate).
    coef_ : ndarray, shape (n_features,)
        Weights on the standardised (confound-regressed) features.
    intercept_ : float
    mean_, scale_ : ndarray, shape (n_features,)
    confound_coef_ : ndarray, shape (n_covariates, n_features) or None
    reference_ : ndarray, shape (n_rois, n_rois) or None
        Tangent reference (``kind_ == "tangent"``).
    n_rois_ : int
    """

    def __init__(
        self,
        kind="correlation",
        C=0.01,
        input="timeseries",
        cov_estimator="ledoit_wolf",
        inner_cv=5,
        min_eigenvalue=1e-3,
        random_state=0,
        n_jobs=None,
    ):
        self.kind = kind
        self.C = C
        self.input = input
        self.cov_estimator = cov_estimator
        self.inner_cv = inner_cv
        self.min_eigenvalue = min_eigenvalue
        self.random_state = random_state
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ inputs
    def _check_params(self):
        kinds, Cs = _as_list(self.kind), _as_list(self.C)
        for k in kinds:
            check(k in FEATURE_KINDS, "kind", f"one or a list of {FEATURE_KINDS}", k)
        for c in Cs:
            check(isinstance(c, (int, float)) and c > 0, "C", "a float > 0 or a list of them", c)
        check(self.input in _INPUTS, "input", f"one of {_INPUTS}", self.input)
        check(self.cov_estimator in COV_ESTIMATORS, "cov_estimator", f"one of {COV_ESTIMATORS}", self.cov_estimator)
        if self.input == "correlation":
            bad = [k for k in kinds if k not in ("correlation", "tangent")]
            check(not bad, "kind", "'correlation' or 'tangent' for input='correlation'", bad)
        if len(kinds) * len(Cs) > 1:
            check(
                isinstance(self.inner_cv, (int, np.integer)) and self.inner_cv >= 2, "inner_cv", ">= 2", self.inner_cv
            )
        return kinds, Cs

    def _matrices(self, X):
        """``(series or stack of matrices, what they are)`` from the input."""
        if self.input == "timeseries":
            if isinstance(X, np.ndarray) and X.ndim == 2:
                raise bad_value(
                    "X",
                    "a list of (n_times, n_rois) ROI time series, one per subject",
                    f"<one 2-D array of shape {X.shape}>",
                )
            series = check_timeseries(list(X), name="X")
            return series, "timeseries"
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 2:
            raise bad_value(
                "X",
                f"a stack (n_subjects, n_rois, n_rois) of {self.input} matrices (rebuild vectors with unvectorize)",
                f"<shape {X.shape}>",
            )
        if X.ndim != 3 or X.shape[1] != X.shape[2]:
            raise bad_value("X", f"a stack (n_subjects, n_rois, n_rois) of {self.input} matrices", f"<shape {X.shape}>")
        if not np.all(np.isfinite(X)):
            raise bad_value("X", "finite (no NaN or inf)", f"<{int(np.sum(~np.isfinite(X)))} non-finite values>")
        return X, self.input

    @staticmethod
    def _kind_input(mats, what, kind):
        """Per-subject matrices feeding ``kind`` (no fitted state)."""
        from ._fc import cov_to_corr, prec_to_partial

        if kind == "correlation":
            return mats if what == "correlation" else cov_to_corr(mats)
        if kind == "covariance":
            return mats
        prec = np.linalg.inv(mats)
        return prec if kind == "precision" else prec_to_partial(prec)

    def _features(self, mats, what, kind, reference=None):
        """``(features, tangent)``: rows of features; for tangent, the TangentSpace fitted when ``reference``
        is None (on these rows) or rebuilt at the given reference.
        """
        if what == "timeseries":  # correlations as nilearn's: the estimator applied to standardised series
            mats = covariances(mats, self.cov_estimator, standardize=kind == "correlation", n_jobs=self.n_jobs)
            what = "covariance"
        if kind == "tangent":
            spd = shrink_to_spd(mats, "auto", self.min_eigenvalue)[0] if what == "correlation" else mats
            ts = TangentSpace(reference="geometric", mean_precision="single", vectorize=True, n_jobs=self.n_jobs)
            if reference is None:
                ts.fit(spd)
            else:
                ts.mean_ = reference
                vals, vecs = np.linalg.eigh(reference)
                ts.whitening_ = (vecs / np.sqrt(vals)) @ vecs.T
                ts.n_features_in_ = reference.shape[0]
            return ts.transform(spd), ts
        m = self._kind_input(mats, what, kind)
        if kind in ("correlation", "partial correlation"):
            return fisher_z(vectorize(m, discard_diagonal=True)), None
        return vectorize(m), None

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, sites=None, confounds=None):
        """Fit on training subjects.

        Parameters
        ----------
        X : list of ndarray (n_times_i, n_rois), or ndarray (n_subjects, n_rois, n_rois)
            See ``input``.
        y : array-like, shape (n_subjects,)
            Binary labels of any type.
        sites : array-like, shape (n_subjects,), optional
            Acquisition site: the inner folds hold whole sites.
        confounds : pandas.DataFrame or 2-D array, shape (n_subjects, n_confounds), optional
            Regressed out of every feature (fitted here); numeric columns as
            they are, text columns (site, sex) one-hot. Give the same columns
            to :meth:`predict`.
        """
        kinds, Cs = self._check_params()
        mats, what = self._matrices(X)
        n = len(mats)
        n_rois = mats[0].shape[-1]
        self.classes_, codes = binary_labels(y)
        check(len(codes) == n, "y", f"one label per subject ({n})", f"<{len(codes)} labels>")
        check(
            int(min(np.bincount(codes))) >= 2,
            "y",
            ">= 2 training subjects of each class",
            f"<counts {np.bincount(codes).tolist()}>",
        )
        sites = None if sites is None else np.asarray(sites).astype(str)
        if sites is not None:
            check(sites.shape == (n,), "sites", f"one site per subject ({n})", f"<shape {sites.shape}>")
        W = None
        if confounds is not None:
            self.confounds_ = _Confounds(confounds)
            W = self.confounds_.design(confounds)
            check(len(W) == n, "confounds", f"one row per subject ({n})", f"<{len(W)} rows>")
        else:
            self.confounds_ = None
        self.n_rois_ = n_rois
        self.cv_results_ = []
        if len(kinds) * len(Cs) > 1:
            best = self._select(mats, what, codes, sites, W, kinds, Cs)
        else:
            best = (kinds[0], float(Cs[0]))
        self.kind_, self.C_ = best
        F, ts = self._features(mats, what, self.kind_)
        self.reference_ = None if ts is None else ts.mean_
        self._fit_head(F, codes, W)
        return self

    def _standardize_fit(self, F, W):
        if W is not None:
            beta = np.linalg.lstsq(W, F, rcond=None)[0]
            F = F - W @ beta
        else:
            beta = None
        mean = F.mean(0)
        scale = F.std(0)
        scale = np.where(scale > 1e-12, scale, 1.0)
        return (F - mean) / scale, beta, mean, scale

    def _fit_head(self, F, codes, W):
        Z, self.confound_coef_, self.mean_, self.scale_ = self._standardize_fit(F, W)
        coef, self.intercept_ = _dual_logistic(Z @ Z.T, codes, self.C_, Z)
        self.coef_ = coef
        self.n_features_ = F.shape[1]

    def _select(self, mats, what, codes, sites, W, kinds, Cs):
        from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

        idx = np.arange(len(codes))
        if sites is not None and len(np.unique(sites)) >= self.inner_cv:
            folds = list(
                StratifiedGroupKFold(self.inner_cv, shuffle=True, random_state=self.random_state).split(
                    idx, codes, sites
                )
            )
        else:
            folds = list(StratifiedKFold(self.inner_cv, shuffle=True, random_state=self.random_state).split(idx, codes))
        scores = {}
        for kind in kinds:
            # the tangent reference is the mean of all rows given to fit (training rows only; shared by the
            # inner folds, an unsupervised step)
            F, _ = self._features(mats, what, kind)
            for tr, te in folds:
                Ztr, beta, mean, scale = self._standardize_fit(F[tr], None if W is None else W[tr])
                Fte = F[te] if beta is None else F[te] - W[te] @ beta
                Zte = (Fte - mean) / scale
                for C in Cs:
                    if len(np.unique(codes[tr])) < 2:
                        continue
                    coef, b = _dual_logistic(Ztr @ Ztr.T, codes[tr], C, Ztr)
                    pred = (Zte @ coef + b > 0).astype(int)
                    scores.setdefault((kind, float(C)), []).append(float(np.mean(pred == codes[te])))
        self.cv_results_ = [
            {"kind": k, "C": c, "mean_accuracy": float(np.mean(v)), "n_folds": len(v)} for (k, c), v in scores.items()
        ]
        check(bool(self.cv_results_), "y", "both classes in the inner training folds", "<one class>")
        best = max(self.cv_results_, key=lambda r: r["mean_accuracy"])
        return best["kind"], best["C"]

    # ------------------------------------------------------------------ predict
    def _design_for(self, n, confounds):
        if self.confounds_ is None:
            check(confounds is None, "confounds", "None (the classifier was fitted without confounds)", "<given>")
            return None
        check(confounds is not None, "confounds", f"the columns given in fit {self.confounds_.columns}", None)
        W = self.confounds_.design(confounds)
        check(len(W) == n, "confounds", f"one row per subject ({n})", f"<{len(W)} rows>")
        return W

    def decision_function(self, X, confounds=None):
        """Score of ``classes_[1]`` (log-odds), shape (n_subjects,)."""
        check_is_fitted(self, "coef_")
        mats, what = self._matrices(X)
        check(mats[0].shape[-1] == self.n_rois_, "X", f"{self.n_rois_} ROIs as in fit", f"<{mats[0].shape[-1]} ROIs>")
        F, _ = self._features(mats, what, self.kind_, reference=self.reference_)
        W = self._design_for(len(F), confounds)
        if W is not None:
            F = F - W @ self.confound_coef_
        return ((F - self.mean_) / self.scale_) @ self.coef_ + self.intercept_

    def predict_proba(self, X, confounds=None):
        """Probabilities of ``classes_``, shape (n_subjects, 2)."""
        p = 1.0 / (1.0 + np.exp(-self.decision_function(X, confounds)))
        return np.column_stack([1.0 - p, p])

    def predict(self, X, confounds=None):
        """Predicted labels (elements of ``classes_``)."""
        return self.classes_[(self.decision_function(X, confounds) > 0).astype(int)]

    # ------------------------------------------------------------------ persistence (PretrainedMixin)
    def _pretrained_config(self):
        return self.get_params(deep=False)

    def _pretrained_state(self):
        """Fitted arrays (``arrays.npz``) and the selection, inner scores and confound coding (``state.json``)."""
        check_is_fitted(self, "coef_")
        arrays = {
            "classes": self.classes_.astype(str) if self.classes_.dtype == object else self.classes_,
            "coef": self.coef_,
            "mean": self.mean_,
            "scale": self.scale_,
            "intercept": np.float64(self.intercept_),
        }
        if self.reference_ is not None:
            arrays["reference"] = self.reference_
        if self.confound_coef_ is not None:
            arrays["confound_coef"] = self.confound_coef_
        conf = self.confounds_
        return {
            "arrays": arrays,
            "json": {
                "kind_": self.kind_,
                "C_": self.C_,
                "n_rois_": self.n_rois_,
                "cv_results_": self.cv_results_,
                "confounds": None if conf is None else {"columns": conf.columns, "levels": conf.levels},
            },
        }

    @classmethod
    def _from_pretrained_state(cls, config, state, directory, device, **kwargs):
        est = cls(**config)
        arr, meta = state["arrays"], state["json"]
        est.classes_ = arr["classes"]
        est.kind_, est.C_, est.n_rois_ = meta["kind_"], float(meta["C_"]), int(meta["n_rois_"])
        est.cv_results_ = meta["cv_results_"]
        est.coef_, est.mean_, est.scale_ = arr["coef"], arr["mean"], arr["scale"]
        est.intercept_ = float(arr["intercept"])
        est.n_features_ = len(est.coef_)
        est.reference_ = arr.get("reference")
        est.confound_coef_ = arr.get("confound_coef")
        conf = meta["confounds"]
        est.confounds_ = None if conf is None else _Confounds.from_state(conf["columns"], conf["levels"])
        return est


def _dual_logistic(K, y, C, Z, max_iter: int = 5000, tol: float = 1e-6):
    """l2-logistic regression on rows ``Z`` through their Gram matrix ``K = Z Z^T``.

    The weights of an l2-penalised linear model lie in the span of the
    training rows, so the fit on the coordinates ``U sqrt(w)`` of
    ``K = U w U^T`` is exactly ``LogisticRegression(C).fit(Z, y)``;
    the weights are mapped back to feature space (``Z^T U w^-1/2 beta``).

    Returns
    -------
    coef : ndarray, shape (n_features,)
    intercept : float
    """
    from sklearn.linear_model import LogisticRegression

    w, U = np.linalg.eigh(K)
    keep = w > 1e-10 * max(w.max(initial=0.0), 1e-300)
    if not keep.any():  # every feature constant on the training rows: the class prior only
        p = float(np.clip(np.mean(y), 1e-6, 1 - 1e-6))
        return np.zeros(Z.shape[1]), float(np.log(p / (1 - p)))
    w, U = w[keep], U[:, keep]
    P = U * np.sqrt(w)
    lr = LogisticRegression(C=C, max_iter=max_iter, tol=tol).fit(P, y)
    coef = Z.T @ (U / np.sqrt(w)) @ lr.coef_[0]
    return coef, float(lr.intercept_[0])
