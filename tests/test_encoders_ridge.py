"""RidgeCV / BandedRidgeCV: exactness against brute force, himalaya and scikit-learn; bad input."""

import os

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold
from sklearn.utils.estimator_checks import parametrize_with_checks

from neurocodec.encoders import BandedRidgeCV, RidgeCV

pytestmark = pytest.mark.usefixtures("single_thread")

ALPHAS = np.logspace(-2, 4, 7)


def _data(n=120, p=15, t=12, seed=0, degenerate=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)).astype(np.float32)
    if degenerate:  # duplicated columns: exactly repeated eigenvalues
        X = np.concatenate([X, X[:, :5]], 1)
    W = rng.standard_normal((X.shape[1], t)) * rng.uniform(0, 1, t)
    Y = (X @ W + 2 * rng.standard_normal((n, t)) + 5).astype(np.float32)
    return X, Y


def _brute_scores(X, Y, alphas, scoring="neg_mse"):
    X, Y = X.astype(np.float64), Y.astype(np.float64)
    out = np.zeros((len(alphas), Y.shape[1]))
    for tr, va in KFold(5).split(X):
        for i, a in enumerate(alphas):
            P = Ridge(alpha=a).fit(X[tr], Y[tr]).predict(X[va])
            if scoring == "r2":
                out[i] += 1 - ((Y[va] - P) ** 2).sum(0) / ((Y[va] - Y[va].mean(0)) ** 2).sum(0)
            else:
                out[i] -= ((Y[va] - P) ** 2).mean(0)
    return out / 5


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("shape", [(120, 15), (40, 70)])  # primal and dual
@pytest.mark.parametrize("degenerate", [False, True])
def test_kfold_matches_float64_brute_force(backend, shape, degenerate):
    X, Y = _data(*shape, degenerate=degenerate)
    m = RidgeCV(alphas=ALPHAS, backend=backend, n_targets_batch=5).fit(X, Y)
    ref = _brute_scores(X, Y, ALPHAS)
    np.testing.assert_allclose(m.cv_scores_all_, ref, rtol=2e-5, atol=1e-5 * np.abs(ref).max())
    np.testing.assert_array_equal(m.alphas_, ALPHAS[ref.argmax(0)])
    for j in range(Y.shape[1]):
        r = Ridge(alpha=m.alphas_[j]).fit(X.astype(np.float64), Y[:, j].astype(np.float64))
        np.testing.assert_allclose(m.coef_[:, j], r.coef_, atol=2e-4 * max(1, np.abs(r.coef_).max()))
        np.testing.assert_allclose(m.intercept_[j], r.intercept_, atol=2e-3)


def test_r2_scoring_and_shared_alpha():
    X, Y = _data()
    m = RidgeCV(alphas=ALPHAS, scoring="r2").fit(X, Y)
    np.testing.assert_allclose(m.cv_scores_all_, _brute_scores(X, Y, ALPHAS, "r2"), atol=1e-5)
    g = RidgeCV(alphas=ALPHAS, alpha_per_target=False).fit(X, Y)
    assert np.unique(g.alphas_).size == 1


def test_matches_himalaya():
    himalaya = pytest.importorskip("himalaya.ridge")
    X, Y = _data(200, 30, 20)
    h = himalaya.RidgeCV(alphas=ALPHAS, fit_intercept=True, solver_params=dict(warn=False)).fit(X, Y)
    m = RidgeCV(alphas=ALPHAS, cv=KFold(5)).fit(X, Y)
    np.testing.assert_allclose(m.alphas_, np.asarray(h.best_alphas_), rtol=1e-4)
    np.testing.assert_allclose(m.coef_, np.asarray(h.coef_), atol=1e-4)


@pytest.mark.parametrize("shape", [(80, 10), (30, 50)])
def test_loo_matches_sklearn_and_gcv_runs(shape):
    from sklearn.linear_model import RidgeCV as SkRidgeCV

    X, Y = _data(*shape)
    s = SkRidgeCV(alphas=ALPHAS, alpha_per_target=True, store_cv_results=True).fit(X.astype(float), Y.astype(float))
    m = RidgeCV(alphas=ALPHAS, cv="loo").fit(X, Y)
    np.testing.assert_allclose(-m.cv_scores_all_, s.cv_results_.mean(0).T, rtol=1e-4)
    np.testing.assert_allclose(m.alphas_, s.alpha_)
    g = RidgeCV(alphas=ALPHAS, cv="gcv").fit(X, Y)
    assert g.coef_.shape == (X.shape[1], Y.shape[1]) and np.all(np.isfinite(g.cv_scores_))


def test_banded_ridge_finds_informative_band():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 20)).astype(np.float32)
    W = np.zeros((20, 6))
    W[:10] = rng.standard_normal((10, 6))  # only band 0 carries signal
    Y = (X @ W + 0.5 * rng.standard_normal((200, 6))).astype(np.float32)
    m = BandedRidgeCV(groups=[10, 10], n_iter=15, alphas=ALPHAS, random_state=0).fit(X, Y)
    assert m.band_weights_.shape == (2, 6)
    assert np.all(m.band_weights_[0] > m.band_weights_[1])
    assert m.score(X, Y) > RidgeCV(alphas=ALPHAS).fit(X, Y).score(X, Y) - 1e-3


@pytest.mark.parametrize("n, pb", [(160, 8), (60, 40)])  # primal and dual batched solves
def test_banded_hyper_gradient(n, pb):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((n, 2 * pb)).astype(np.float32)
    W = np.zeros((2 * pb, 5))
    W[:pb] = rng.standard_normal((pb, 5)) / np.sqrt(pb)  # band 0 informative, band 1 noise
    Y = (X @ W + 0.5 * rng.standard_normal((n, 5)) + 1).astype(np.float32)
    kw = dict(groups=[pb, pb], alphas=ALPHAS)
    rs = BandedRidgeCV(n_iter=20, random_state=0, **kw).fit(X, Y)
    # zero steps: the CV loss of the torch solver equals the random search's (same folds, intercepts, score)
    h0 = BandedRidgeCV(n_iter=20, random_state=0, solver="hyper_gradient", solver_params=dict(max_iter=0), **kw).fit(
        X, Y
    )
    np.testing.assert_allclose(h0.cv_scores_, rs.cv_scores_, rtol=1e-5)
    np.testing.assert_allclose(h0.coef_, rs.coef_, atol=1e-4)
    # from the uniform (RidgeCV) start, descent finds the informative band and random search's CV score
    hg = BandedRidgeCV(n_iter=1, solver="hyper_gradient", solver_params=dict(max_iter=100), **kw).fit(X, Y)
    uni = BandedRidgeCV(n_iter=1, **kw).fit(X, Y)
    assert np.all(hg.band_weights_[0] > 0.75) and np.all(hg.deltas_[0] > hg.deltas_[1] + 1)
    assert np.all(hg.cv_scores_ >= uni.cv_scores_)
    assert np.mean(hg.cv_scores_ - uni.cv_scores_) > 0.03 * np.mean(np.abs(uni.cv_scores_))
    assert hg.cv_scores_.mean() >= rs.cv_scores_.mean() - 0.01 * np.abs(rs.cv_scores_).mean()
    np.testing.assert_array_less(rs.cv_scores_ - 0.05 * np.abs(rs.cv_scores_), hg.cv_scores_)
    np.testing.assert_allclose(hg.band_weights_.sum(0), 1.0, rtol=1e-6)
    pred = hg.predict(X)  # coef_ is the refit at the selected penalties (float64 reference)
    Xc, Yc = X.astype(float) - X.mean(0), Y.astype(float) - Y.mean(0)
    for j in range(Y.shape[1]):
        pen = np.exp(-np.repeat(hg.deltas_[:, j], pb))
        w = np.linalg.solve(Xc.T @ Xc + np.diag(pen), Xc.T @ Yc[:, j])
        np.testing.assert_allclose(hg.coef_[:, j], w, atol=2e-4 * max(1, np.abs(w).max()))
    np.testing.assert_allclose(pred, X @ hg.coef_ + hg.intercept_, rtol=1e-5)
    with pytest.raises(ValueError, match="solver_params"):
        BandedRidgeCV(solver="hyper_gradient", solver_params=dict(steps=3), **kw).fit(X, Y)


@pytest.mark.parametrize(
    "kwargs, X_bad, Y_bad, match",
    [
        (dict(), "rows", None, "inconsistent numbers of samples"),
        (dict(), "nan", None, "NaN"),
        (dict(), None, "const", "non-constant in every target"),
        (dict(alphas=[1.0, 0.0]), None, None, "'alphas' must be"),
        (dict(alphas=[-1.0]), None, None, "'alphas' must be"),
        (dict(cv=500), None, None, "at most n_samples=40 folds"),
        (dict(cv="bogus"), None, None, "'cv' must be"),
        (dict(backend="jax"), None, None, "'backend' must be"),
    ],
)
def test_bad_input_clear_errors(kwargs, X_bad, Y_bad, match):
    X, Y = _data(40, 5, 3)
    if X_bad == "rows":
        X = X[:-1]
    if X_bad == "nan":
        X[0, 0] = np.nan
    if Y_bad == "const":
        Y[:, 1] = 3.0
    with pytest.raises(ValueError, match=match):
        RidgeCV(**kwargs).fit(X, Y)


@parametrize_with_checks(
    [
        RidgeCV(alphas=[0.1, 10.0], cv=3),
        BandedRidgeCV(n_iter=2, alphas=[0.1, 10.0], cv=3),
        BandedRidgeCV(
            n_iter=1, alphas=[1.0], cv=3, solver="hyper_gradient", solver_params=dict(max_iter=2, n_targets_batch=8)
        ),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_ridge_speed_quick_benchmark():
    import json
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "ridge_speed.py"
    proc = subprocess.run(
        [sys.executable, str(script), "--quick", "--methods", "neurocodec_torch,neurocodec_gcv,himalaya"],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, OMP_NUM_THREADS="1"),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    for key in ("speedup_vs_himalaya", "r2_max_abs_diff", "rss_ratio_vs_himalaya", "gflops"):
        assert key in res
    assert res["r2_max_abs_diff"] < 1e-4


def test_public_solver_streams_targets_like_the_estimator():
    """neurocodec.encoders.backend.solve_ridge_cv (lazy targets, read chunk by chunk) == RidgeCV.fit."""
    from neurocodec.encoders.backend import solve_ridge_cv

    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 8)).astype(np.float32)
    Y = (X @ rng.standard_normal((8, 25)) + 3.0 + rng.standard_normal((60, 25))).astype(np.float32)
    reads = []

    class Lazy:  # only .shape and Y[:, slice]
        shape = Y.shape

        def __getitem__(self, key):
            reads.append(key[1])
            return Y[key]

    alphas = [0.1, 1.0, 10.0, 100.0]
    fit = solve_ridge_cv(X, Lazy(), alphas, cv=4, n_targets_batch=10)
    est = RidgeCV(alphas=alphas, cv=4).fit(X, Y)
    np.testing.assert_allclose(fit["coef"], est.coef_, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fit["intercept"], est.intercept_, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(fit["alphas"], est.alphas_)
    assert all(isinstance(k, slice) and k.stop - k.start <= 10 for k in reads)
