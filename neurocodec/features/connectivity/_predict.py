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

__all__ = ["MODELS", "CV_SCHEMES", "SiteHarmonizer", "classifier_head", "make_classifier", "site_splits",
           "site_cross_validate"]

MODELS = ("logistic", "svm", "pca_lda")
CV_SCHEMES = ("leave_site_out", "stratified_group_kfold")


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


def make_classifier(model: str = "logistic", tangent: bool = True, reference: str = "geometric", C: float = 1.0,
                    n_components: int = 50, min_eigenvalue: float = 1e-3, n_jobs: int | None = None,
                    random_state: int = 0):
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
        first = TangentSpace(reference=reference, metric="affine" if reference == "geometric" else "log_euclidean",
                             input_vectorized="no_diagonal", shrinkage="auto", min_eigenvalue=min_eigenvalue,
                             vectorize=True, discard_diagonal=False, n_jobs=n_jobs)
    else:
        first = FunctionTransformer(_fisher_z)
    return make_pipeline(first, *head)


def _fisher_z(X):
    return np.arctanh(np.clip(X, -0.999999, 0.999999))


def site_splits(y, sites, cv: str = "leave_site_out", n_splits: int = 5, random_state: int = 0,
                min_site_size: int = 1) -> list[tuple[np.ndarray, np.ndarray]]:
    """Train/test index splits that never put a site in both train and test.

    Parameters
    ----------
    y : ndarray, shape (n_subjects,)
        Labels (for stratification).
    sites : ndarray, shape (n_subjects,)
        Acquisition site of each subject.
    cv : {"leave_site_out", "stratified_group_kfold"}
        One fold per site, or ``n_splits`` folds of whole sites with balanced
        labels (scikit-learn's ``StratifiedGroupKFold``).
    min_site_size : int
        Leave-site-out only: sites with fewer subjects are never tested
        (they still train the other folds).
    """
    y = np.asarray(y)
    sites = np.asarray(sites).astype(str)
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
    from sklearn.model_selection import StratifiedGroupKFold

    n_groups = len(np.unique(sites))
    check(2 <= n_splits <= n_groups, "n_splits", f"in [2, {n_groups}] (the number of sites)", n_splits)
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    return list(splitter.split(idx, y, groups=sites))


def _scores(est, X):
    if hasattr(est, "predict_proba"):
        return est.predict_proba(X)[:, 1]
    return est.decision_function(X)


def site_cross_validate(estimator, X, y, sites, cv: str = "leave_site_out", n_splits: int = 5,
                        harmonize: bool = False, random_state: int = 0, min_site_size: int = 1):
    """Site-aware cross-validation of a binary classifier over FC vectors.

    Parameters
    ----------
    estimator : sklearn estimator
        E.g. from :func:`make_classifier`; cloned and fitted on each training fold.
    X : ndarray, shape (n_subjects, n_edges)
    y : ndarray, shape (n_subjects,)
        Binary labels (0/1).
    sites : ndarray, shape (n_subjects,)
    cv, n_splits, random_state, min_site_size
        See :func:`site_splits`.
    harmonize : bool
        Apply a :class:`SiteHarmonizer` fitted on each training fold.

    Returns
    -------
    per_site : pandas.DataFrame
        One row per tested site: site, n_subjects, accuracy, balanced_accuracy, auc.
    predictions : pandas.DataFrame
        Out-of-fold score and predicted label of every tested subject, with fold.
    """
    import pandas as pd
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, roc_auc_score

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    sites = np.asarray(sites).astype(str)
    if X.ndim != 2:
        raise bad_value("X", "a 2-D array (n_subjects, n_edges)", f"<shape {X.shape}>")
    check(len(y) == len(X), "y", f"one label per subject ({len(X)})", f"<{len(y)} labels>")
    check(set(np.unique(y)) <= {0, 1}, "y", "binary labels 0/1", f"<labels {np.unique(y)[:5]}>")
    rows = []
    for fold, (train, test) in enumerate(site_splits(y, sites, cv, n_splits, random_state, min_site_size)):
        Xtr, Xte = X[train], X[test]
        if harmonize:
            h = SiteHarmonizer().fit(Xtr, sites[train])
            Xtr, Xte = h.transform(Xtr, sites[train]), h.transform(Xte, sites[test])
        est = clone(estimator).fit(Xtr, y[train])
        score = _scores(est, Xte)
        pred = est.predict(Xte)
        rows.append(pd.DataFrame({"subject_index": test, "site": sites[test], "fold": fold, "y": y[test],
                                  "score": score, "predicted": pred}))
    predictions = pd.concat(rows, ignore_index=True)
    per_site = []
    for site, g in predictions.groupby("site", sort=True):
        auc = roc_auc_score(g["y"], g["score"]) if g["y"].nunique() == 2 else np.nan
        per_site.append({"site": site, "n_subjects": len(g), "accuracy": accuracy_score(g["y"], g["predicted"]),
                         "balanced_accuracy": balanced_accuracy_score(g["y"], g["predicted"])
                         if g["y"].nunique() == 2 else np.nan, "auc": auc})
    return pd.DataFrame(per_site), predictions
