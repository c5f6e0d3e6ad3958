"""CategoryDecoder and cross_validate_categories: nested leave-one-run-out decoding, persistence, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator, clone

from neurocodec.decoders import CategoryDecoder, cross_validate_categories


def _runs(seed=0, n_runs=4, per_run=10, n_vox=20, signal=1.5):
    """Trials of two categories in ``n_runs`` runs; category patterns differ by ``signal`` per voxel, plus a
    run offset that a decoder must not exploit."""
    rng = np.random.default_rng(seed)
    y = np.tile(np.array(["a", "b"]), n_runs * per_run // 2)
    groups = np.repeat(np.arange(n_runs), per_run)
    pattern = rng.standard_normal(n_vox)
    X = rng.standard_normal((len(y), n_vox)) + signal * np.where(y == "a", 1, -1)[:, None] * pattern / 2
    X += 0.5 * rng.standard_normal((n_runs, n_vox))[groups]
    return X, y, groups


def test_nested_cv_decodes_and_chance_without_signal():
    X, y, g = _runs()
    for clf in ("svm", "lda"):
        res = cross_validate_categories(CategoryDecoder(clf), X, y, g)
        assert res.accuracy > 0.85 and len(res.fold_accuracy) == 4 and res.chance == 0.5
        assert res.confusion.sum() == len(y) and res.held_out == [[0], [1], [2], [3]]
        assert np.isclose(res.accuracy, np.trace(res.confusion) / len(y))
        assert set(res.fold_C) <= ({0.01, 0.1, 1.0, 10.0} if clf == "svm" else {None})
    null = [cross_validate_categories(CategoryDecoder("svm"), *_runs(seed=s, signal=0.0)).accuracy for s in range(4)]
    assert 0.3 < np.mean(null) < 0.7, null


_SEEN = []


class _Spy(BaseEstimator):
    """A CategoryDecoder recording the groups its fit sees (not a subclass: no new persistable type)."""

    def fit(self, X, y, groups=None):
        _SEEN.append(sorted(set(groups.tolist())))
        self.model_ = CategoryDecoder("svm").fit(X, y, groups)
        self.C_ = self.model_.C_
        return self

    def predict(self, X):
        return self.model_.predict(X)


def test_inner_search_sees_training_groups_only():
    X, y, g = _runs(n_runs=3)
    _SEEN.clear()
    cross_validate_categories(_Spy(), X, y, g)
    assert _SEEN == [[1, 2], [0, 2], [0, 1]]  # each outer fold's held-out run never reaches the inner C search


def test_folded_weights_predict_as_the_pipeline_and_round_trip(tmp_path):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    X, y, g = _runs(n_runs=3)
    dec = CategoryDecoder("svm", C=[1.0]).fit(X, y, g)
    ref = make_pipeline(StandardScaler(), LinearSVC(C=1.0, max_iter=20000, random_state=0)).fit(X, y)
    np.testing.assert_allclose(dec.decision_function(X), ref.decision_function(X), rtol=1e-8, atol=1e-8)
    assert (dec.predict(X) == ref.predict(X)).all()
    dec.save_pretrained(tmp_path / "m")
    again = CategoryDecoder.from_pretrained(tmp_path / "m")
    assert (again.predict(X) == dec.predict(X)).all() and again.C_ == 1.0 and again.get_params() == dec.get_params()
    three = np.array(["a", "b", "c"] * 10)
    multi = CategoryDecoder("lda").fit(np.random.default_rng(0).standard_normal((30, 5)), three)
    assert multi.coef_.shape == (3, 5) and set(multi.predict(X[:, :5])) <= {"a", "b", "c"}
    assert clone(dec).get_params()["C"] == [1.0]


def test_bad_input_one_clear_error():
    X, y, g = _runs(n_runs=3)
    with pytest.raises(ValueError, match="The 'classifier' must be one of \\('svm', 'lda'\\), got 'knn'"):
        CategoryDecoder("knn").fit(X, y, g)
    with pytest.raises(ValueError, match="The 'C' must be one or more values > 0"):
        CategoryDecoder(C=[0.0]).fit(X, y, g)
    with pytest.raises(ValueError, match="The 'groups' must be at least 2 groups"):
        cross_validate_categories(CategoryDecoder(), X, y, np.zeros(len(y)))
    with pytest.raises(ValueError, match="The 'groups' must be at least 2 groups in the training data"):
        CategoryDecoder().fit(X[g == 0], y[g == 0], g[g == 0])
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="The 'X' must be finite"):
        CategoryDecoder("lda").fit(Xn, y)
