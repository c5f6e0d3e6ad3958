"""Site-aware validation, no test-subject leakage, harmonisation."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin

from neurocodec.features.connectivity import TangentSpace, site_cross_validate, site_splits, vectorize
from neurocodec.features.connectivity._predict import SiteHarmonizer, make_classifier


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
        np.testing.assert_allclose(
            est[0].mean_, TangentSpace(input_vectorized="no_diagonal", shrinkage="auto").fit(X).mean_
        )


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
    with pytest.raises(ValueError, match="'y' must be binary labels"):
        site_cross_validate(make_classifier("logistic", tangent=False), X, np.arange(len(y)) % 3, sites)
    with pytest.raises(ValueError, match="'n_splits' must be in"):
        site_splits(y, sites, "stratified_group_kfold", n_splits=5)
    with pytest.raises(ValueError, match="'sites' must be at least 2 sites"):
        site_splits(y, np.full(len(y), "one"))
    with pytest.raises(ValueError, match="'model' must be one of"):
        make_classifier("random_forest")


def test_log_euclidean_tangent_equals_precomputed_logs():
    from sklearn.pipeline import make_pipeline

    from neurocodec.features.connectivity import shrink_to_spd, unvectorize
    from neurocodec.features.connectivity._predict import classifier_head
    from neurocodec.features.connectivity._spd import map_eigenvalues

    X, y, sites = _cohort(n_per_site=8)
    inside = make_classifier("logistic", tangent=True, reference="log_euclidean")
    _, pred_inside = site_cross_validate(inside, X, y, sites)
    logs = vectorize(map_eigenvalues(np.log, shrink_to_spd(unvectorize(X, discard_diagonal=True), "auto")[0]))
    _, pred_outside = site_cross_validate(make_pipeline(*classifier_head("logistic")), logs, y, sites)
    np.testing.assert_allclose(pred_inside["score"], pred_outside["score"], atol=1e-6)
    ts = TangentSpace(metric="log_euclidean", input_vectorized="no_diagonal", shrinkage="auto").fit(X)
    mats = shrink_to_spd(unvectorize(X, discard_diagonal=True), "auto")[0]
    np.testing.assert_allclose(ts.inverse_transform(ts.transform(X)), mats, atol=1e-8)


def _offset_cohort(seed=0, n_sites=4, n_per_site=20, n_features=30, n_offset_dims=None, effect=1.5):
    """Group effect on feature 0, large offset per site (in a few shared directions when n_offset_dims)."""
    rng = np.random.default_rng(seed)
    y = np.tile([0, 1], n_sites * n_per_site // 2)
    sites = np.repeat([f"s{k}" for k in range(n_sites)], n_per_site)
    if n_offset_dims is None:
        offsets = 3.0 * rng.standard_normal((n_sites, n_features))
    else:  # site effects of a few shared sources (global signal, motion...), orthogonal to the group effect
        dirs = np.linalg.qr(rng.standard_normal((n_features - 1, n_offset_dims)))[0].T
        offsets = np.zeros((n_sites, n_features))
        offsets[:, 1:] = 6.0 * rng.standard_normal((n_sites, n_offset_dims)) @ dirs
    X = rng.standard_normal((len(y), n_features)) + offsets[np.searchsorted(np.unique(sites), sites)]
    X[:, 0] += effect * y
    return X, y, sites


def test_site_projector_removes_training_offsets_only_from_training_fit():
    from neurocodec.features.connectivity._predict import SiteSubspaceProjector, site_mean_weights

    X, y, sites = _offset_cohort()
    train = sites != "s3"
    p = SiteSubspaceProjector().fit(X[train], y[train], sites[train])
    assert p.components_.shape == (2, X.shape[1])  # 3 training sites -> 2 offset directions
    np.testing.assert_allclose(p.components_ @ p.components_.T, np.eye(2), atol=1e-10)
    Z = p.transform(X[train])
    np.testing.assert_allclose(site_mean_weights(y[train], sites[train]) @ Z, 0.0, atol=1e-10)
    # transform is row-wise: a test subject's output does not depend on the other test subjects
    np.testing.assert_allclose(p.transform(X[~train])[:3], p.transform(X[~train][:3]), atol=1e-12)
    # refitting with the test site included changes the operator (it was not used before)
    q = SiteSubspaceProjector().fit(X, y, sites)
    assert q.components_.shape[0] == 3
    with pytest.raises(ValueError, match="'sites' must be one site label per training subject"):
        SiteSubspaceProjector().fit(X, y)


def test_kernel_space_projection_and_logistic_equal_feature_space():
    from sklearn.linear_model import LogisticRegression

    from neurocodec.features.connectivity._kernels import gram_logistic_scores, project_gram
    from neurocodec.features.connectivity._predict import SiteSubspaceProjector

    X, y, sites = _offset_cohort(seed=1, n_features=60)
    train, test = np.flatnonzero(sites != "s1"), np.flatnonzero(sites == "s1")
    mu, sd = X[train].mean(0), X[train].std(0) + 1e-12
    Z = (X - mu) / sd
    G = Z @ Z.T
    for C in (0.01, 1.0):
        ref = LogisticRegression(C=C, max_iter=5000, tol=1e-10).fit(Z[train], y[train]).predict_proba(Z[test])[:, 1]
        np.testing.assert_allclose(gram_logistic_scores(G, train, test, y, C, tol=1e-10), ref, atol=1e-6)
    p = SiteSubspaceProjector().fit(X[train], y[train], sites[train])
    ref = LogisticRegression(C=0.1, max_iter=5000, tol=1e-10).fit(p.transform(X[train]), y[train])
    Gp = project_gram(G, train, y, sites)
    np.testing.assert_allclose(Gp, p.transform(X) @ p.transform(X).T, atol=1e-8)
    got = gram_logistic_scores(Gp, train, test, y, [0.1, 1.0], tol=1e-10)
    assert got.shape == (2, len(test))
    np.testing.assert_allclose(got[0], ref.predict_proba(p.transform(X[test]))[:, 1], atol=1e-6)
    # one leading direction only
    p1 = SiteSubspaceProjector(n_components=1).fit(X[train], y[train], sites[train])
    np.testing.assert_allclose(
        project_gram(G, train, y, sites, n_components=1), p1.transform(X) @ p1.transform(X).T, atol=1e-8
    )


def test_site_projection_removes_unseen_site_offsets_in_cross_validation():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from neurocodec.features.connectivity._predict import SiteSubspaceProjector

    # low-dimensional site effects: an unseen site's offset lies in the span of the training sites' offsets
    X, y, sites = _offset_cohort(seed=2, n_sites=6, n_per_site=24, n_offset_dims=2, effect=3.0)
    train = sites != "s5"
    p = SiteSubspaceProjector().fit(X[train], y[train], sites[train])
    Ztr, Zte = p.transform(X[train]), p.transform(X[~train])
    shift = np.abs(Zte[:, 1:].mean(0) - Ztr[:, 1:].mean(0)).max()
    raw = (X[~train, 1:].mean(0) - X[train, 1:].mean(0)) / X[train, 1:].std(0)
    assert np.abs(raw).max() > 1.0 and shift < 0.5 * np.abs(raw).max(), (shift, np.abs(raw).max())
    est = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=5000))
    projected, pred = site_cross_validate(est, X, y, sites, site_projection=True)
    assert projected["auc"].mean() > 0.9 and projected["accuracy"].mean() > 0.8, projected
    assert len(pred) == len(y)


def test_confound_regression_operator_fitted_on_training_rows():
    from sklearn.linear_model import LinearRegression

    from neurocodec.features.connectivity._predict import confound_design, confound_operator

    rng = np.random.default_rng(3)
    n = 30
    age = rng.uniform(7, 50, n)
    sex = rng.choice(["male", "female"], n)
    W = confound_design(age, sex)
    assert W.shape == (n, 4)
    X = rng.standard_normal((n, 5)) + 2.0 * np.log(age)[:, None]
    train, test = np.arange(20), np.arange(20, n)
    lr = LinearRegression().fit(W[train, 1:], X[train])
    expected = X - lr.predict(W[:, 1:])
    R = confound_operator(W, train)
    np.testing.assert_allclose(R @ X, expected, atol=1e-8)
    # changing test rows never changes the fitted effect removed from other rows
    X2 = X.copy()
    X2[test] += 100.0
    np.testing.assert_allclose((R @ X2)[train], expected[train], atol=1e-8)
    G = X @ X.T
    np.testing.assert_allclose(R @ G @ R.T, expected @ expected.T, atol=1e-6)
    with pytest.raises(ValueError, match="'age' must be finite values > 0"):
        confound_design(np.array([10.0, -1.0]))
    with pytest.raises(ValueError, match="'sex' must be male/female labels"):
        confound_design(sex=np.array(["male", "other"]))


def test_kernel_ridge_and_low_rank_confounds_equal_feature_space():
    from sklearn.linear_model import Ridge

    from neurocodec.features.connectivity._kernels import confound_gram, gram_ridge_scores, project_gram
    from neurocodec.features.connectivity._predict import SiteSubspaceProjector, confound_design, confound_operator

    X, y, sites = _offset_cohort(seed=4, n_features=50)
    rng = np.random.default_rng(4)
    W = confound_design(rng.uniform(7, 50, len(y)), rng.choice(["male", "female"], len(y)))
    train, test = np.flatnonzero(sites != "s0"), np.flatnonzero(sites == "s0")
    G = X @ X.T
    R = confound_operator(W, train)
    Gc = confound_gram(G, W, train)
    np.testing.assert_allclose(Gc, R @ G @ R.T, atol=1e-8 * np.abs(G).max())
    Xc = R @ X
    got = gram_ridge_scores(Gc, train, test, y, [0.5, 20.0], relative=False)
    assert got.shape == (2, len(test))
    for a, row in zip([0.5, 20.0], got):
        np.testing.assert_allclose(row, Ridge(alpha=a).fit(Xc[train], y[train]).predict(Xc[test]), atol=1e-8)
    # relative alpha: the penalty scales with the centred training rows' mean squared norm
    Xt = Xc[train] - Xc[train].mean(0)
    scale = (Xt**2).sum() / len(train)
    np.testing.assert_allclose(
        gram_ridge_scores(Gc, train, test, y, 0.3),
        Ridge(alpha=0.3 * scale).fit(Xc[train], y[train]).predict(Xc[test]),
        atol=1e-8,
    )
    # site projection composed with confound regression, still equal to the feature-space pipeline
    p = SiteSubspaceProjector(standardize=False).fit(Xc[train], y[train], sites[train])
    ref = Ridge(alpha=1.0).fit(p.transform(Xc[train]), y[train]).predict(p.transform(Xc[test]))
    np.testing.assert_allclose(
        gram_ridge_scores(project_gram(Gc, train, y, sites), train, test, y, 1.0, relative=False), ref, atol=1e-6
    )
    # per-row weights (e.g. 1 / site size)
    sw = 1.0 / np.unique(sites[train], return_counts=True)[1][np.searchsorted(np.unique(sites[train]), sites[train])]
    sw *= np.random.default_rng(6).uniform(0.5, 2.0, len(sw))
    np.testing.assert_allclose(
        gram_ridge_scores(Gc, train, test, y, 2.0, relative=False, sample_weight=sw),
        Ridge(alpha=2.0).fit(Xc[train], y[train], sample_weight=sw).predict(Xc[test]),
        atol=1e-8,
    )
    with pytest.raises(ValueError, match="'alpha' must be > 0"):
        gram_ridge_scores(G, train, test, y, [1.0, 0.0])
    with pytest.raises(ValueError, match="'sample_weight' must be positive weights"):
        gram_ridge_scores(G, train, test, y, 1.0, sample_weight=np.ones(3))


def test_standardize_subjects_uses_each_row_only():
    from neurocodec.features.connectivity._edge_features import standardize_subjects

    rng = np.random.default_rng(5)
    X = rng.standard_normal((6, 30)) * rng.uniform(0.5, 3, (6, 1)) + rng.normal(0, 2, (6, 1))
    Z = standardize_subjects(X)
    np.testing.assert_allclose(Z.mean(1), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(1), 1, atol=1e-12)
    X2 = X.copy()
    X2[3] = 5 * X2[3] - 7  # a subject's own affine change of level/scale vanishes, others are untouched
    np.testing.assert_allclose(standardize_subjects(X2), Z, atol=1e-12)
    X2[0] = 1.0
    with pytest.raises(ValueError, match="'X' must be rows with non-constant edges"):
        standardize_subjects(X2)


def test_rank_gaussianize_keeps_each_rows_order_only():
    from scipy.stats import norm

    from neurocodec.features.connectivity._edge_features import rank_gaussianize

    rng = np.random.default_rng(7)
    X = rng.standard_normal((5, 40)) ** 3 * rng.uniform(0.5, 3, (5, 1)) + rng.normal(0, 2, (5, 1))
    Z = rank_gaussianize(X)
    np.testing.assert_array_equal(np.argsort(Z, axis=1), np.argsort(X, axis=1))  # order preserved
    np.testing.assert_allclose(np.sort(Z, axis=1), np.sort(Z[[0]], axis=1).repeat(5, 0))  # same values per row
    np.testing.assert_allclose(np.sort(Z[0]), norm.ppf((np.arange(40) + 0.5) / 40))
    X2 = X.copy()
    X2[2] = np.tanh(X2[2])  # a subject's own monotone distortion vanishes, other rows untouched
    np.testing.assert_allclose(rank_gaussianize(X2), Z, atol=1e-12)
    X2[1, 0] = np.nan
    with pytest.raises(ValueError, match="'X' must be finite"):
        rank_gaussianize(X2)
    with pytest.raises(ValueError, match="'X' must be a 2-D array"):
        rank_gaussianize(X[0])


def test_network_block_means_equal_hand_computed_blocks():
    from neurocodec.features.connectivity._edge_features import network_block_means, schaefer_network_labels

    names = [
        "7Networks_LH_Vis_1",
        "7Networks_RH_Vis_1",
        "7Networks_LH_Vis_2",
        "7Networks_LH_Default_1",
        "7Networks_LH_Default_2",
        "7Networks_RH_Vis_2",
    ]
    labels = schaefer_network_labels(names)
    assert labels.tolist() == ["LH_Vis", "RH_Vis", "LH_Vis", "LH_Default", "LH_Default", "RH_Vis"]
    assert schaefer_network_labels(names, hemisphere=False).tolist()[:4] == ["Vis", "Vis", "Vis", "Default"]
    rng = np.random.default_rng(8)
    M = rng.standard_normal((3, 6, 6))
    M = M + M.transpose(0, 2, 1)
    X = vectorize(M, discard_diagonal=True)
    F = network_block_means(X, labels)
    blocks = np.unique(labels)  # LH_Default, LH_Vis, RH_Vis
    assert F.shape == (3, 6)
    k = 0
    for a in range(3):
        for b in range(a, 3):
            ia, ib = np.flatnonzero(labels == blocks[a]), np.flatnonzero(labels == blocks[b])
            vals = [M[:, i, j] for i in ia for j in ib if i != j]  # both (i, j) and (j, i) within a block
            np.testing.assert_allclose(F[:, k], np.mean(vals, axis=0))
            k += 1
    with pytest.raises(ValueError, match="'X' must be a 2-D array"):
        network_block_means(X[:, :-1], labels)
    with pytest.raises(ValueError, match="'labels' must be blocks of >= 2 ROIs"):
        network_block_means(X, ["a", "a", "a", "b", "b", "c"])
    with pytest.raises(ValueError, match="'roi_names' must be Schaefer names"):
        schaefer_network_labels(["Vis_1"])


def test_tangent_at_training_mean_uses_training_rows_only():
    from neurocodec.features.connectivity._edge_features import tangent_at_training_mean

    X, y, sites = _cohort(n_per_site=6)
    train, test = site_splits(y, sites)[0]
    T = tangent_at_training_mean(X, train, min_eigenvalue=0.1)
    ref = TangentSpace(
        reference="log_euclidean",
        metric="affine",
        input_vectorized="no_diagonal",
        shrinkage="auto",
        min_eigenvalue=0.1,
        vectorize=True,
    ).fit(X[train])
    np.testing.assert_allclose(T, ref.transform(X), atol=1e-10)
    X2 = X.copy()
    X2[test] = X[test][::-1]  # changing the test rows changes nothing for the others (reference from train)
    T2 = tangent_at_training_mean(X2, train, min_eigenvalue=0.1)
    np.testing.assert_allclose(T2[train], T[train], atol=1e-10)
    np.testing.assert_allclose(T2[test], T[test][::-1], atol=1e-10)
    # a reference fitted on every row (test rows included) gives other vectors
    assert not np.allclose(tangent_at_training_mean(X, np.arange(len(X)), min_eigenvalue=0.1), T)
    with pytest.raises(ValueError, match="'train' must be a non-empty 1-D array"):
        tangent_at_training_mean(X, np.array([], dtype=int))
    with pytest.raises(ValueError, match="'reference' must be"):
        tangent_at_training_mean(X, train, reference="arithmetic")
