"""Connectome-based phenotype prediction with site-aware validation.

Pipelines over FC vectors (upper triangles of correlation matrices):
PCA + LDA (Dey, Rao & Shah 2012), and tangent-space embedding followed by an
l2-regularised logistic regression or linear SVM (Abraham et al. 2017). Every
fitted step (tangent reference, harmonisation, scaling, PCA, classifier) is
fitted on the training fold only.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils.validation import check_is_fitted

from ...pipeline import bad_value, check
from ._fc import TangentSpace
from ._vectors import fisher_z

__all__ = [
    "MODELS",
    "CV_SCHEMES",
    "SiteHarmonizer",
    "SiteSubspaceProjector",
    "classifier_head",
    "make_classifier",
    "site_splits",
    "site_cross_validate",
    "cv_summary",
    "site_mean_weights",
    "confound_design",
    "confound_operator",
]

MODELS = ("logistic", "svm", "pca_lda")
CV_SCHEMES = ("leave_site_out", "stratified_group_kfold", "stratified_kfold")


class SiteHarmonizer(BaseEstimator, TransformerMixin):
    """Per-site location/scale harmonisation of features (ComBat without covariates).

    Each training site's feature means are moved to the pooled training mean
    and its standard deviations to the pooled one, with empirical-Bayes style
    shrinkage of the site parameters toward the pooled ones
    (``n_site / (n_site + prior_strength)``). Sites unseen in ``fit`` (a
    left-out site) are left as they are: estimating their parameters would need
    the test subjects. Diagnosis is never used (it would leak at test time).

    Parameters
    ----------
    prior_strength : float
        Pseudo-count of the shrinkage of site parameters (0: none).
    scale : bool
        Also harmonise the per-site standard deviations.

    Attributes
    ----------
    sites_ : ndarray of str
    loc_, scale_ : ndarray, shape (n_sites, n_features)
    grand_loc_, grand_scale_ : ndarray, shape (n_features,)
    """

    def __init__(self, prior_strength: float = 5.0, scale: bool = True):
        self.prior_strength = prior_strength
        self.scale = scale

    def fit(self, X, sites):
        X = np.asarray(X, dtype=np.float64)
        sites = np.asarray(sites).astype(str)
        check(len(sites) == len(X), "sites", f"one label per subject ({len(X)})", f"<{len(sites)} labels>")
        self.grand_loc_ = X.mean(0)
        self.grand_scale_ = X.std(0) + 1e-12
        self.sites_ = np.unique(sites)
        self.loc_ = np.empty((len(self.sites_), X.shape[1]))
        self.scale_ = np.empty_like(self.loc_)
        for k, site in enumerate(self.sites_):
            xs = X[sites == site]
            w = len(xs) / (len(xs) + self.prior_strength)
            self.loc_[k] = w * xs.mean(0) + (1 - w) * self.grand_loc_
            sd = xs.std(0) if len(xs) > 1 else self.grand_scale_
            self.scale_[k] = w * sd + (1 - w) * self.grand_scale_ + 1e-12
        return self

    def transform(self, X, sites):
        check_is_fitted(self)
        X = np.array(X, dtype=np.float64)
        sites = np.asarray(sites).astype(str)
        check(len(sites) == len(X), "sites", f"one label per subject ({len(X)})", f"<{len(sites)} labels>")
        for k, site in enumerate(self.sites_):
            m = sites == site
            if m.any():
                ratio = self.grand_scale_ / self.scale_[k] if self.scale else 1.0
                X[m] = (X[m] - self.loc_[k]) * ratio + self.grand_loc_
        return X

    def fit_transform(self, X, sites):
        return self.fit(X, sites).transform(X, sites)


def site_mean_weights(y, sites, balanced: bool = True) -> np.ndarray:
    """Row weights whose products with the features give the centred per-site means.

    Parameters
    ----------
    y : ndarray, shape (n_subjects,) or None
        Labels; with ``balanced`` a site holding both classes gets the average
        of its two class means, so that its diagnosis ratio does not enter its
        offset.
    sites : ndarray, shape (n_subjects,)
    balanced : bool

    Returns
    -------
    B : ndarray, shape (n_sites, n_subjects)
        ``B @ X`` are the site means minus their unweighted average.
    """
    sites = np.asarray(sites).astype(str)
    names = np.unique(sites)
    B = np.zeros((len(names), len(sites)))
    for k, site in enumerate(names):
        m = sites == site
        if balanced and y is not None and len(np.unique(np.asarray(y)[m])) == 2:
            for label in (0, 1):
                mm = m & (np.asarray(y) == label)
                B[k, mm] = 0.5 / mm.sum()
        else:
            B[k, m] = 1.0 / m.sum()
    return B - B.mean(0)


class SiteSubspaceProjector(BaseEstimator, TransformerMixin):
    """Standardise features and remove the directions of the training sites' mean offsets.

    The (group-balanced) mean of every training site, minus the average of
    the site means, spans at most ``n_sites - 1`` directions of feature space;
    their orthogonal complement is kept. Only training subjects are used in
    ``fit``; ``transform`` needs no site label, so an unseen (left-out) site
    is projected with the same fitted operator: its own offset is removed to
    the extent that it lies in the span of the training sites' offsets, and
    no statistic of the test subjects is ever estimated.

    Parameters
    ----------
    n_components : int or None
        Number of leading offset directions removed (None: all of them).
    balanced : bool
        Average the two class means of a site (see :func:`site_mean_weights`).
    standardize : bool
        Centre and scale each feature with the training statistics first.

    Attributes
    ----------
    mean_, scale_ : ndarray, shape (n_features,)
    components_ : ndarray, shape (n_removed, n_features)
        Orthonormal removed directions.
    sites_ : ndarray of str
    """

    def __init__(self, n_components: int | None = None, balanced: bool = True, standardize: bool = True):
        self.n_components = n_components
        self.balanced = balanced
        self.standardize = standardize

    def fit(self, X, y=None, sites=None):
        X = np.asarray(X, dtype=np.float64)
        if sites is None:
            raise bad_value("sites", "one site label per training subject", None)
        sites = np.asarray(sites).astype(str)
        check(len(sites) == len(X), "sites", f"one label per subject ({len(X)})", f"<{len(sites)} labels>")
        if self.n_components is not None:
            check(self.n_components >= 0, "n_components", ">= 0 or None", self.n_components)
        self.mean_ = X.mean(0) if self.standardize else np.zeros(X.shape[1])
        self.scale_ = X.std(0) + 1e-12 if self.standardize else np.ones(X.shape[1])
        Z = (X - self.mean_) / self.scale_
        offsets = site_mean_weights(y, sites, self.balanced) @ Z
        _, sv, vt = np.linalg.svd(offsets, full_matrices=False)
        rank = int(np.sum(sv > 1e-10 * max(sv.max(initial=0.0), 1e-300)))
        k = rank if self.n_components is None else min(self.n_components, rank)
        self.components_ = vt[:k]
        self.sites_ = np.unique(sites)
        return self

    def transform(self, X):
        check_is_fitted(self)
        Z = (np.asarray(X, dtype=np.float64) - self.mean_) / self.scale_
        return Z - (Z @ self.components_.T) @ self.components_

    def fit_transform(self, X, y=None, sites=None):
        return self.fit(X, y, sites).transform(X)


def confound_design(age=None, sex=None) -> np.ndarray:
    """Design matrix of the usual ABIDE confounds: intercept, log age and its square, sex (male 1).

    Parameters
    ----------
    age : array-like of float, shape (n_subjects,) or None
        Age in years (> 0).
    sex : array-like, shape (n_subjects,) or None
        "male"/"female" (or M/F, 1/0).

    Returns
    -------
    W : ndarray, shape (n_subjects, n_covariates)
    """
    cols = []
    if age is not None:
        age = np.asarray(age, dtype=np.float64)
        if not np.all(np.isfinite(age)) or np.any(age <= 0):
            raise bad_value(
                "age", "finite values > 0 (years)", f"<min {np.nanmin(age):.3g}, NaN {np.isnan(age).sum()}>"
            )
        la = np.log(age)
        cols += [la, la**2]
    if sex is not None:
        text = np.char.lower(np.asarray(sex).astype(str))
        male, female = np.isin(text, ["male", "m", "1"]), np.isin(text, ["female", "f", "0", "2"])
        if not np.all(male | female):
            raise bad_value("sex", "male/female labels", f"<values {sorted(set(text))[:4]}>")
        cols.append(male.astype(np.float64))
    n = len(cols[0]) if cols else 0
    check(n > 0, "confounds", "age and/or sex", None)
    return np.column_stack([np.ones(n)] + cols)


def confound_operator(W, train) -> np.ndarray:
    """Row operator ``R`` of a confound regression fitted on the training rows only.

    ``R @ X`` equals ``X - W @ beta`` with ``beta`` the least-squares fit of
    the training rows of ``X`` on the training rows of ``W``: every subject
    (test ones included) has the training-fitted confound effect of its own
    covariates removed. In kernel space the Gram matrix becomes ``R G R^T``.

    Parameters
    ----------
    W : ndarray, shape (n_subjects, n_covariates)
        E.g. from :func:`confound_design`.
    train : ndarray of int

    Returns
    -------
    R : ndarray, shape (n_subjects, n_subjects)
    """
    W = np.asarray(W, dtype=np.float64)
    R = np.eye(len(W))
    R[:, np.asarray(train)] -= W @ np.linalg.pinv(W[train])
    return R


def classifier_head(model: str = "logistic", C: float = 1.0, n_components: int = 50, random_state: int = 0) -> list:
    """Standardisation + classifier steps shared by every pipeline (see :func:`make_classifier`)."""
    from sklearn.decomposition import PCA
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    check(model in MODELS, "model", f"one of {MODELS}", model)
    check(C > 0, "C", "> 0", C)
    if model == "logistic":
        return [StandardScaler(), LogisticRegression(C=C, max_iter=2000)]
    if model == "svm":
        return [StandardScaler(), LinearSVC(C=C, max_iter=20000, random_state=random_state)]
    check(n_components > 0, "n_components", "> 0", n_components)
    return [StandardScaler(), PCA(n_components=n_components, random_state=random_state), LinearDiscriminantAnalysis()]


def make_classifier(
    model: str = "logistic",
    tangent: bool = True,
    reference: str = "geometric",
    C: float = 1.0,
    n_components: int = 50,
    min_eigenvalue: float = 1e-3,
    n_jobs: int | None = None,
    random_state: int = 0,
):
    """A scikit-learn pipeline from FC vectors (no diagonal) to a diagnosis.

    Parameters
    ----------
    model : {"logistic", "svm", "pca_lda"}
        l2-logistic regression, linear SVM, or PCA followed by linear
        discriminant analysis (Dey et al. 2012).
    tangent : bool
        Embed in the tangent space at the training subjects' mean first
        (matrices are shrunk toward the identity to be SPD); otherwise use the
        Fisher-z transformed correlations.
    reference : {"geometric", "log_euclidean"}
        ``"geometric"``: affine-invariant tangent space at the geometric mean;
        ``"log_euclidean"``: log-Euclidean tangent space (``logm(C)`` minus
        the training mean of the logs).
    C : float
        Inverse regularisation of the logistic regression / SVM.
    n_components : int
        PCA components for ``"pca_lda"``.
    min_eigenvalue : float
        Shrinkage target of :func:`shrink_to_spd` for the tangent step.

    Returns
    -------
    sklearn.pipeline.Pipeline
    """
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    head = classifier_head(model, C, n_components, random_state)
    if tangent:
        check(reference in ("geometric", "log_euclidean"), "reference", "'geometric' or 'log_euclidean'", reference)
        first = TangentSpace(
            reference=reference,
            metric="affine" if reference == "geometric" else "log_euclidean",
            input_vectorized="no_diagonal",
            shrinkage="auto",
            min_eigenvalue=min_eigenvalue,
            vectorize=True,
            discard_diagonal=False,
            n_jobs=n_jobs,
        )
    else:
        first = FunctionTransformer(fisher_z)
    return make_pipeline(first, *head)


def site_splits(
    y, sites, cv: str = "leave_site_out", n_splits: int = 5, random_state: int = 0, min_site_size: int = 1
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Train/test index splits.

    Parameters
    ----------
    y : ndarray, shape (n_subjects,)
        Labels (for stratification), of any type.
    sites : ndarray, shape (n_subjects,)
        Acquisition site of each subject.
    cv : {"leave_site_out", "stratified_group_kfold", "stratified_kfold"}
        One fold per site; ``n_splits`` folds of whole sites with balanced
        labels (scikit-learn's ``StratifiedGroupKFold``); or ``n_splits``
        stratified folds of subjects (sites in both train and test: the
        "10-fold" protocol of Heinsfeld et al. 2018).
    min_site_size : int
        Leave-site-out only: sites with fewer subjects are never tested
        (they still train the other folds).
    """
    y, sites = np.asarray(y), np.asarray(sites)
    for name, a in (("y", y), ("sites", sites)):
        check(a.ndim == 1 and len(a) > 0, name, "a non-empty 1-D array (n_subjects,)", f"<shape {a.shape}>")
    check(y.dtype.kind != "f" or bool(np.isfinite(y).all()), "y", "labels without NaN or inf", "<non-finite labels>")
    sites = sites.astype(str)
    check(len(sites) == len(y), "sites", f"one label per subject ({len(y)})", f"<{len(sites)} labels>")
    check(cv in CV_SCHEMES, "cv", f"one of {CV_SCHEMES}", cv)
    idx = np.arange(len(y))
    if cv == "leave_site_out":
        out = []
        for site in np.unique(sites):
            test = idx[sites == site]
            if len(test) >= min_site_size:
                out.append((idx[sites != site], test))
        check(len(out) >= 2, "sites", "at least 2 sites for leave-site-out", f"<{len(out)} usable sites>")
        return out
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    if cv == "stratified_kfold":
        smallest = int(np.unique(y, return_counts=True)[1].min())
        check(2 <= n_splits <= smallest, "n_splits", f"in [2, {smallest}] (the smaller class)", n_splits)
        return list(StratifiedKFold(n_splits, shuffle=True, random_state=random_state).split(idx, y))
    n_groups = len(np.unique(sites))
    check(2 <= n_splits <= n_groups, "n_splits", f"in [2, {n_groups}] (the number of sites)", n_splits)
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    return list(splitter.split(idx, y, groups=sites))


def _scores(est, X):
    if hasattr(est, "predict_proba"):
        return est.predict_proba(X)[:, 1]
    return est.decision_function(X)


def _rows(X, index):
    return [X[i] for i in index] if isinstance(X, list) else X[index]


def _check_features(estimator, X):
    """X as the estimator needs it: a 2-D float array, or (ConnectomeClassifier) series / matrices."""
    from ._classifier import ConnectomeClassifier

    check(
        hasattr(estimator, "fit") and hasattr(estimator, "get_params"),
        "estimator",
        "a scikit-learn estimator (fit, get_params)",
        f"<{type(estimator).__name__}>",
        exc=TypeError,
    )
    if isinstance(estimator, ConnectomeClassifier):
        return list(X) if estimator.input == "timeseries" else np.asarray(X, dtype=np.float64), True
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 3 and X.shape[1] == X.shape[2]:
        raise bad_value(
            "X",
            "a 2-D array (n_subjects, n_edges): turn matrices into edge vectors with "
            "vectorize(matrices, discard_diagonal=True), or use ConnectomeClassifier(input="
            "'correlation') on the matrices",
            f"<shape {X.shape}>",
        )
    if X.ndim != 2:
        raise bad_value("X", "a 2-D array (n_subjects, n_edges) (see vectorize)", f"<shape {X.shape}>")
    return X, False


def site_cross_validate(
    estimator,
    X,
    y,
    sites,
    cv: str = "leave_site_out",
    n_splits: int = 5,
    harmonize: bool = False,
    random_state: int = 0,
    min_site_size: int = 1,
    site_projection: bool | int = False,
    confounds=None,
    fitted: list | None = None,
):
    """Site-aware cross-validation of a binary classifier.

    Parameters
    ----------
    estimator : sklearn estimator
        A :class:`ConnectomeClassifier` (then ``X`` is what it takes, and the
        training rows' ``sites`` and ``confounds`` go to its ``fit``), or any
        classifier of FC vectors (e.g. from :func:`make_classifier`); cloned
        and fitted on each training fold.
    X : ndarray (n_subjects, n_edges), or what the ConnectomeClassifier takes
    y : array-like, shape (n_subjects,)
        Binary labels of any type (0/1, "ASD"/"HC", ...); the positive class
        of the scores is the second of the sorted labels, as in scikit-learn.
    sites : ndarray, shape (n_subjects,)
    cv, n_splits, random_state, min_site_size
        See :func:`site_splits`.
    harmonize : bool
        Apply a :class:`SiteHarmonizer` fitted on each training fold (FC vectors only).
    site_projection : bool or int
        Apply a :class:`SiteSubspaceProjector` fitted on each training fold
        (True: remove all training-site offset directions; an int: that many).
    confounds : pandas.DataFrame, optional
        One row per subject, for a ConnectomeClassifier's confound regression.
    fitted : list, optional
        When given, each fold's fitted estimator is appended to it (in fold order).

    Returns
    -------
    per_site : pandas.DataFrame
        One row per tested site: site, n_subjects, n_positive, accuracy,
        balanced_accuracy, auc, note. A site holding one class has no
        balanced accuracy or AUC: they are NaN and ``note`` says why
        (:func:`cv_summary` excludes them from the means and counts them).
    predictions : pandas.DataFrame
        Out-of-fold score, predicted label (0/1 index into the sorted labels)
        and true label of every tested subject, with fold.
    """
    import pandas as pd
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, roc_auc_score

    from ._classifier import binary_labels

    X, connectome = _check_features(estimator, X)
    classes, y = binary_labels(y)
    sites = np.asarray(sites).astype(str)
    check(len(y) == len(X), "y", f"one label per subject ({len(X)})", f"<{len(y)} labels>")
    check(
        not (connectome and (harmonize or site_projection is not False)),
        "harmonize",
        "False with a ConnectomeClassifier (give site as a confound instead)",
        harmonize or site_projection,
    )
    if confounds is not None:
        confounds = pd.DataFrame(confounds).reset_index(drop=True)
        check(len(confounds) == len(y), "confounds", f"one row per subject ({len(y)})", f"<{len(confounds)} rows>")
        check(connectome, "confounds", "used with a ConnectomeClassifier", "<given>")
    rows = []
    for fold, (train, test) in enumerate(site_splits(y, sites, cv, n_splits, random_state, min_site_size)):
        one = np.unique(y[train])
        if len(one) < 2:
            raise bad_value("y", "both classes in every training fold", f"<fold {fold}: only {classes[one].tolist()}>")
        Xtr, Xte = _rows(X, train), _rows(X, test)
        if harmonize:
            h = SiteHarmonizer().fit(Xtr, sites[train])
            Xtr, Xte = h.transform(Xtr, sites[train]), h.transform(Xte, sites[test])
        if site_projection is not False:
            k = None if site_projection is True else int(site_projection)
            p = SiteSubspaceProjector(n_components=k).fit(Xtr, y[train], sites[train])
            Xtr, Xte = p.transform(Xtr), p.transform(Xte)
        est = clone(estimator)
        if connectome:
            ctr = None if confounds is None else confounds.iloc[train]
            cte = None if confounds is None else confounds.iloc[test]
            est.fit(Xtr, y[train], sites=sites[train], confounds=ctr)
            score = est.decision_function(Xte, confounds=cte)
        else:
            est.fit(Xtr, y[train])
            score = _scores(est, Xte)
        pred = np.asarray(est.predict(Xte) if not connectome else (score > 0)).astype(int)
        if fitted is not None:
            fitted.append(est)
        rows.append(
            pd.DataFrame(
                {
                    "subject_index": test,
                    "site": sites[test],
                    "fold": fold,
                    "y": y[test],
                    "label": classes[y[test]],
                    "score": score,
                    "predicted": pred,
                }
            )
        )
    predictions = pd.concat(rows, ignore_index=True)
    per_site = []
    for site, g in predictions.groupby("site", sort=True):
        two = g["y"].nunique() == 2
        per_site.append(
            {
                "site": site,
                "n_subjects": len(g),
                "n_positive": int(g["y"].sum()),
                "accuracy": accuracy_score(g["y"], g["predicted"]),
                "balanced_accuracy": balanced_accuracy_score(g["y"], g["predicted"]) if two else np.nan,
                "auc": roc_auc_score(g["y"], g["score"]) if two else np.nan,
                "note": ""
                if two
                else f"one class only ({classes[int(g['y'].iloc[0])]}): balanced accuracy and AUC undefined",
            }
        )
    return pd.DataFrame(per_site), predictions


def cv_summary(per_site, predictions) -> dict:
    """Means over sites (or folds) and pooled figures of :func:`site_cross_validate` results.

    Sites whose AUC / balanced accuracy is undefined (one class) are left out
    of those means and listed, never silently averaged as NaN.

    Returns
    -------
    dict
        ``mean_accuracy``, ``mean_balanced_accuracy``, ``mean_auc`` (None when
        no site has both classes), ``n_sites``, ``n_sites_auc_defined``,
        ``auc_undefined`` (list of ``{"site", "reason"}``), ``pooled_accuracy``,
        ``pooled_auc``, ``n_subjects``, ``mean_fold_accuracy``, ``mean_fold_auc``.
    """
    import pandas as pd
    from sklearn.metrics import accuracy_score, roc_auc_score

    for name, table, cols in (
        ("per_site", per_site, ("site", "accuracy", "balanced_accuracy", "auc", "note")),
        ("predictions", predictions, ("fold", "y", "predicted", "score")),
    ):
        check(
            isinstance(table, pd.DataFrame) and set(cols) <= set(table.columns),
            name,
            f"the {name} table of site_cross_validate (columns {', '.join(cols)})",
            f"<{type(table).__name__}>",
            exc=TypeError,
        )
    defined = per_site["auc"].notna()
    fold_acc, fold_auc = [], []
    for _, g in predictions.groupby("fold", sort=True):
        fold_acc.append(accuracy_score(g["y"], g["predicted"]))
        if g["y"].nunique() == 2:
            fold_auc.append(roc_auc_score(g["y"], g["score"]))
    two = predictions["y"].nunique() == 2
    return {
        "mean_accuracy": float(per_site["accuracy"].mean()),
        "mean_balanced_accuracy": float(per_site.loc[defined, "balanced_accuracy"].mean()) if defined.any() else None,
        "mean_auc": float(per_site.loc[defined, "auc"].mean()) if defined.any() else None,
        "n_sites": int(len(per_site)),
        "n_sites_auc_defined": int(defined.sum()),
        "auc_undefined": [{"site": r.site, "reason": r.note} for r in per_site[~defined].itertuples()],
        "pooled_accuracy": float(accuracy_score(predictions["y"], predictions["predicted"])),
        "pooled_auc": float(roc_auc_score(predictions["y"], predictions["score"])) if two else None,
        "n_subjects": int(len(predictions)),
        "mean_fold_accuracy": float(np.mean(fold_acc)),
        "mean_fold_auc": float(np.mean(fold_auc)) if fold_auc else None,
    }
