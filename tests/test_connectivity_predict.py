"""Site-aware validation, no test-subject leakage, harmonisation."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin

from neurocodec.features.connectivity import (
    SiteHarmonizer,
    TangentSpace,
    make_classifier,
    site_cross_validate,
    site_splits,
    vectorize,
)


def _cohort(n_per_site=16, n_sites=3, n_rois=8, effect=0.5, seed=0):
    """Correlation vectors with a group effect on edge (0, 1) and a site offset on all edges."""
    rng = np.random.default_rng(seed)
    X, y, sites = [], [], []
    for s in range(n_sites):
        for i in range(n_per_site):
            g = i % 2
            cov = np.eye(n_rois) + 0.2
            cov[0, 1] = cov[1, 0] = 0.2 + effect * g
            ts = rng.multivariate_normal(np.zeros(n_rois), cov + 0.4 * np.eye(n_rois), size=80)
            ts[:, 2:] += 0.3 * s * ts[:, [0]]  # site effect
            X.append(vectorize(np.corrcoef(ts.T), discard_diagonal=True))
            y.append(g)
            sites.append(f"s{s}")
    return np.array(X), np.array(y), np.array(sites)


class _Spy(BaseEstimator, TransformerMixin):
    """Records the rows it was fitted on (by a fingerprint) to prove no test rows leak."""

    seen = []

    def fit(self, X, y=None):
        _Spy.seen.append({round(float(v), 10) for v in X[:, 0]})
        return self

    def transform(self, X):
        return X


def test_leave_site_out_never_mixes_sites_and_no_leakage():
    X, y, sites = _cohort()
    splits = site_splits(y, sites, "leave_site_out")
    assert len(splits) == 3
    for train, test in splits:
        assert not set(sites[train]) & set(sites[test])
    folds = site_splits(y, sites, "stratified_group_kfold", n_splits=3)
    for train, test in folds:
        assert not set(sites[train]) & set(sites[test])
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    _Spy.seen = []
    per_site, pred = site_cross_validate(make_pipeline(_Spy(), LogisticRegression()), X, y, sites)
    for (train, test), seen in zip(splits, _Spy.seen):
        assert not seen & {round(float(v), 10) for v in X[test, 0]}
        assert seen == {round(float(v), 10) for v in X[train, 0]}
    assert list(per_site["site"]) == ["s0", "s1", "s2"] and len(pred) == len(y)


@pytest.mark.parametrize("model", ["logistic", "svm", "pca_lda"])
def test_classifiers_learn_planted_effect(model):
    X, y, sites = _cohort()
    est = make_classifier(model, tangent=model != "pca_lda", C=1.0, n_components=5, min_eigenvalue=1e-2)
    per_site, pred = site_cross_validate(est, X, y, sites, cv="leave_site_out", harmonize=True)
    assert per_site["auc"].mean() > 0.85, per_site
    assert per_site["accuracy"].mean() > 0.6  # unseen-site shifts move the threshold more than the ranking


def test_tangent_reference_fitted_on_training_fold_only():
    X, y, sites = _cohort(n_per_site=8)
    est = make_classifier("logistic", tangent=True)
    train, test = site_splits(y, sites)[0]
    est.fit(X[train], y[train])
    ref = TangentSpace(input_vectorized="no_diagonal", shrinkage="auto").fit(X[train]).mean_
    np.testing.assert_allclose(est[0].mean_, ref)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(est[0].mean_, TangentSpace(input_vectorized="no_diagonal", shrinkage="auto").fit(X).mean_)


def test_harmonizer_seen_and_unseen_sites():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3)) + np.repeat([[0.0], [5.0]], 20, axis=0)
    sites = np.repeat(["a", "b"], 20)
    h = SiteHarmonizer(prior_strength=0).fit(X, sites)
    Z = h.transform(X, sites)
    np.testing.assert_allclose(Z[:20].mean(0), Z[20:].mean(0), atol=1e-10)
    new = rng.standard_normal((5, 3))
    np.testing.assert_array_equal(h.transform(new, np.array(["c"] * 5)), new)  # unseen site untouched


def test_bad_inputs():
    X, y, sites = _cohort(n_per_site=4)
    with pytest.raises(ValueError, match="'sites' must be one label per subject"):
        site_splits(y, sites[:-1])
    with pytest.raises(ValueError, match="'y' must be binary labels 0/1"):
        site_cross_validate(make_classifier("logistic", tangent=False), X, y + 1, sites)
    with pytest.raises(ValueError, match="'n_splits' must be in"):
        site_splits(y, sites, "stratified_group_kfold", n_splits=5)
    with pytest.raises(ValueError, match="'sites' must be at least 2 sites"):
        site_splits(y, np.full(len(y), "one"))
    with pytest.raises(ValueError, match="'model' must be one of"):
        make_classifier("random_forest")


def test_log_euclidean_tangent_equals_precomputed_logs():
    from sklearn.pipeline import make_pipeline

    from neurocodec.features.connectivity import classifier_head, map_eigenvalues, shrink_to_spd, unvectorize

    X, y, sites = _cohort(n_per_site=8)
    inside = make_classifier("logistic", tangent=True, reference="log_euclidean")
    _, pred_inside = site_cross_validate(inside, X, y, sites)
    logs = vectorize(map_eigenvalues(np.log, shrink_to_spd(unvectorize(X, discard_diagonal=True), "auto")[0]))
    _, pred_outside = site_cross_validate(make_pipeline(*classifier_head("logistic")), logs, y, sites)
    np.testing.assert_allclose(pred_inside["score"], pred_outside["score"], atol=1e-6)
    ts = TangentSpace(metric="log_euclidean", input_vectorized="no_diagonal", shrinkage="auto").fit(X)
    mats = shrink_to_spd(unvectorize(X, discard_diagonal=True), "auto")[0]
    np.testing.assert_allclose(ts.inverse_transform(ts.transform(X)), mats, atol=1e-8)
