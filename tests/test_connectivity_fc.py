"""fMRI FC and tangent space against nilearn / scikit-learn, and bad inputs."""

import numpy as np
import pytest

from neurocodec.features.connectivity import (
    FunctionalConnectivity,
    TangentSpace,
    covariances,
    geometric_mean,
    shrink_to_spd,
    unvectorize,
    vectorize,
)
from neurocodec.features.connectivity._spd import check_spd, log_euclidean_mean


def _series(n_subjects=6, n_rois=8, seed=0, lengths=(20, 40)):
    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((n_rois, n_rois))
    return [
        rng.standard_normal((int(rng.integers(*lengths)), n_rois)) @ (mix + 0.3 * rng.standard_normal(mix.shape))
        for _ in range(n_subjects)
    ]


@pytest.mark.parametrize("kind", ["covariance", "correlation", "partial correlation", "precision", "tangent"])
@pytest.mark.parametrize("estimator", ["ledoit_wolf", "oas", "empirical"])
def test_matches_nilearn(kind, estimator):
    from nilearn.connectome import ConnectivityMeasure
    from sklearn.covariance import OAS, EmpiricalCovariance, LedoitWolf

    X = _series()
    sk = {"ledoit_wolf": LedoitWolf(store_precision=False), "oas": OAS(), "empirical": EmpiricalCovariance()}[estimator]
    ref = ConnectivityMeasure(kind=kind, cov_estimator=sk).fit_transform(X)
    ours = FunctionalConnectivity(kind=kind, cov_estimator=estimator, n_jobs=2).fit_transform(X)
    np.testing.assert_allclose(ours, ref, atol=1e-9, rtol=1e-7)


def test_tangent_transform_new_subjects_and_inverse():
    from nilearn.connectome import ConnectivityMeasure

    X = _series(8)
    nil = ConnectivityMeasure(kind="tangent", vectorize=False).fit(X[:5])
    ours = FunctionalConnectivity(kind="tangent", vectorize=True).fit(X[:5])
    np.testing.assert_allclose(ours.mean_, nil.mean_, atol=1e-10)
    vec = ours.transform(X[5:])
    np.testing.assert_allclose(unvectorize(vec), nil.transform(X[5:]), atol=1e-9)
    covs = covariances(X[5:])
    np.testing.assert_allclose(ours.inverse_transform(vec), covs, atol=1e-9)
    # the reference depends on the training subjects only
    before = ours.mean_.copy()
    ours.transform(X)
    np.testing.assert_array_equal(ours.mean_, before)


def test_geometric_mean_matches_nilearn_and_is_invariant():
    from nilearn.connectome.connectivity_matrices import _geometric_mean

    covs = covariances(_series(10, 6, seed=1))
    g = geometric_mean(covs)
    np.testing.assert_allclose(g, _geometric_mean(list(covs), max_iter=30, tol=1e-7), atol=1e-12)
    # commuting matrices: the geometric mean is the exp of the mean log, like log-Euclidean
    diag = np.stack([np.diag(np.random.default_rng(i).uniform(0.5, 2, 4)) for i in range(5)])
    np.testing.assert_allclose(geometric_mean(diag, tol=1e-12, max_iter=50), log_euclidean_mean(diag), atol=1e-8)


def test_single_precision_mean_matches_nilearn_within_1e5():
    from nilearn.connectome import ConnectivityMeasure

    X = _series(12, 40, lengths=(60, 90), seed=3)
    ref = ConnectivityMeasure(kind="tangent").fit_transform(X)
    fast = FunctionalConnectivity(kind="tangent", mean_precision="single", n_jobs=2).fit(X)
    exact = FunctionalConnectivity(kind="tangent", mean_precision="double", n_jobs=2).fit(X)
    out = fast.transform(X)
    assert out.dtype == np.float64 and fast.mean_.dtype == np.float64
    np.testing.assert_allclose(out, ref, atol=1e-5)
    # float32 iterations really ran: not bit-identical to the float64 path
    assert 0 < np.abs(fast.mean_ - exact.mean_).max() < 1e-6 * np.abs(exact.mean_).max()
    with pytest.raises(ValueError, match="'mean_precision'.*'double' or 'single'.*half"):
        TangentSpace(mean_precision="half").fit(covariances(X))


def test_vectorize_roundtrip_and_norm():
    from nilearn.connectome import sym_matrix_to_vec

    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 5, 5))
    sym = a + np.swapaxes(a, 1, 2)
    v = vectorize(sym)
    np.testing.assert_allclose(unvectorize(v), sym)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), np.linalg.norm(sym_matrix_to_vec(sym), axis=1))
    v0 = vectorize(sym, discard_diagonal=True)
    assert v0.shape == (3, 10)
    np.testing.assert_allclose(v0[0], sym[0][np.tril_indices(5, -1)])  # nilearn's order
    back = unvectorize(v0, discard_diagonal=True, diagonal=np.diagonal(sym, axis1=1, axis2=2))
    np.testing.assert_allclose(back, sym)


def test_shrink_makes_rank_deficient_correlations_spd():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 6, 10))  # 6 time points, 10 ROIs: rank <= 5
    corr = np.stack([np.corrcoef(s.T) for s in x])
    with pytest.raises(ValueError, match="'X' must be symmetric positive definite"):
        TangentSpace().fit(corr)
    shrunk, amounts = shrink_to_spd(corr, "auto", min_eigenvalue=1e-2)
    assert np.all(amounts > 0)
    np.testing.assert_allclose(np.diagonal(shrunk, axis1=1, axis2=2), 1.0)
    assert np.linalg.eigvalsh(shrunk)[:, 0].min() >= 1e-2 - 1e-9
    ts = TangentSpace(shrinkage="auto", input_vectorized="no_diagonal", vectorize=True)
    out = ts.fit_transform(vectorize(corr, discard_diagonal=True))
    assert out.shape == (4, 55) and np.all(np.isfinite(out))
    well = shrink_to_spd(np.eye(3)[None] * 2.0)[1]
    assert well[0] == 0.0  # already well conditioned: untouched


def test_bad_inputs():
    X = _series(3, 5)
    with pytest.raises(ValueError, match=r"timeseries\[1\]' must be 5 ROIs"):
        FunctionalConnectivity().fit([X[0], X[1][:, :4]])
    bad = X[0].copy()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"timeseries\[0\]' must be finite"):
        FunctionalConnectivity().fit([bad])
    with pytest.raises(ValueError, match=r"must be >= 3 time points, got <2 time points>"):
        FunctionalConnectivity().fit([X[0][:2]])
    with pytest.raises(ValueError, match="'kind' must be one of"):
        FunctionalConnectivity(kind="coherence").fit(X)
    with pytest.raises(ValueError, match="'cov_estimator' must be one of"):
        covariances(X, "graphical_lasso")
    non_spd = np.array([[[1.0, 2.0], [2.0, 1.0]]])
    with pytest.raises(ValueError, match="symmetric positive definite"):
        check_spd(non_spd)
    with pytest.raises(ValueError, match="symmetric positive definite"):
        geometric_mean(np.concatenate([non_spd, np.eye(2)[None]]))
    with pytest.raises(ValueError, match="'mats' must be finite"):
        geometric_mean(np.full((2, 3, 3), np.nan))
    ts = TangentSpace().fit(covariances(X))
    with pytest.raises(ValueError, match="'X' must be matrices with 5 ROIs"):
        ts.transform(covariances(_series(3, 4)))
    with pytest.raises(ValueError, match="'vec' must be of length"):
        unvectorize(np.zeros(7))


def test_anderson_mean_converges_to_the_same_mean():
    covs = covariances(_series(30, 12, seed=3, lengths=(10, 14)))  # fewer time points than ROIs: ill-conditioned
    tight = geometric_mean(covs, tol=1e-12, max_iter=200)
    fast = geometric_mean(covs, solver="anderson", tol=1e-12, max_iter=60)
    np.testing.assert_allclose(fast, tight, atol=1e-8 * np.abs(tight).max())
    ts = TangentSpace(mean_solver="anderson")
    out = ts.fit_transform(covs)  # the last iteration's logs, at the returned mean
    np.testing.assert_allclose(out, ts.transform(covs), atol=1e-10)
    single = TangentSpace(mean_solver="anderson", mean_precision="single", vectorize=True)
    np.testing.assert_allclose(single.fit_transform(covs), single.transform(covs), atol=1e-4)
    with pytest.raises(ValueError, match="'mean_solver' must be 'gradient' or 'anderson'"):
        TangentSpace(mean_solver="newton").fit(covs)
