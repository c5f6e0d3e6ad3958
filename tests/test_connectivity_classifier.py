"""ConnectomeClassifier: learning, persistence, no leakage across sites, bad input; issue #22 fixes."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from neurocodec.datasets.simulate import simulate_rest_cohort
from neurocodec.features.connectivity import (
    ConnectomeClassifier,
    cv_summary,
    site_cross_validate,
    unvectorize,
    vectorize,
)


@pytest.fixture(scope="module")
def cohort():
    sites = [dict(name=f"s{k}", tr=2.0, n_times=60, noise=0.4, global_signal=0.1, group_fraction=0.5) for k in range(4)]
    c = simulate_rest_cohort(
        n_subjects=48, n_rois=10, n_networks=2, sites=sites, n_differing_edges=5, effect_size=0.25, seed=1
    )
    labels = np.where(c.subjects["group"] == 1, "ASD", "HC")
    conf = pd.DataFrame({"age": np.linspace(8, 30, 48), "site": c.subjects["site"]})
    return [x.astype(np.float64) for x in c.timeseries], labels, c.subjects["site"].to_numpy(), conf


def test_learns_planted_effect_string_labels_and_roundtrip(cohort, tmp_path, single_thread):
    X, y, sites, conf = cohort
    clf = ConnectomeClassifier(C=1.0).fit(X[:36], y[:36])
    assert list(clf.classes_) == ["ASD", "HC"]
    assert np.mean(clf.predict(X[36:]) == y[36:]) >= 0.75
    proba = clf.predict_proba(X[36:])
    np.testing.assert_allclose(proba.sum(1), 1.0)
    assert ((proba[:, 1] > 0.5) == (clf.decision_function(X[36:]) > 0)).all()
    tan = ConnectomeClassifier(kind=["correlation", "tangent"], C=[0.1, 1.0], inner_cv=3).fit(
        X[:36], y[:36], sites=sites[:36], confounds=conf[:36]
    )
    assert {(r["kind"], r["C"]) for r in tan.cv_results_} == {
        (k, c) for k in ("correlation", "tangent") for c in (0.1, 1.0)
    }
    back = ConnectomeClassifier.from_pretrained(tan.save_pretrained(tmp_path / "m"))
    np.testing.assert_array_equal(back.decision_function(X[36:], conf[36:]), tan.decision_function(X[36:], conf[36:]))
    assert back.kind_ == tan.kind_ and list(back.classes_) == ["ASD", "HC"]
    assert clone(tan).get_params() == tan.get_params()
    from neurocodec.features.connectivity import FunctionalConnectivity

    fc = FunctionalConnectivity(kind="correlation").fit_transform(X)  # nilearn's correlation (Ledoit-Wolf)
    feats, _ = clf._features(clf._matrices(X)[0], "timeseries", "correlation")
    np.testing.assert_allclose(feats, np.arctanh(vectorize(fc, discard_diagonal=True)), atol=1e-10)
    mats = np.stack([np.corrcoef(x.T) for x in X])
    on_mats = ConnectomeClassifier(input="correlation", C=1.0).fit(mats[:36], y[:36])
    assert np.mean(on_mats.predict(mats[36:]) == y[36:]) >= 0.75


def test_no_leakage_fold_model_unchanged_by_test_site_values(cohort, single_thread):
    X, y, sites, conf = cohort
    rng = np.random.default_rng(0)
    noisy = [rng.standard_normal(x.shape) * 5 if s == "s2" else x for x, s in zip(X, sites)]
    conf2 = conf.assign(age=np.where(sites == "s2", 99.0, conf["age"]))
    clf = ConnectomeClassifier(kind=["correlation", "tangent"], C=[0.1, 1.0], inner_cv=2)
    runs = []
    for data, c in ((X, conf), (noisy, conf2)):
        fitted = []
        site_cross_validate(clf, data, y, sites, confounds=c, fitted=fitted)
        runs.append(fitted)
    fold = sorted(np.unique(sites)).index("s2")  # the fold testing s2: trained on the other sites only
    a, b = runs[0][fold], runs[1][fold]
    assert (a.kind_, a.C_) == (b.kind_, b.C_)
    for attr in ("coef_", "mean_", "scale_", "confound_coef_"):
        np.testing.assert_array_equal(getattr(a, attr), getattr(b, attr))
    if a.reference_ is not None:
        np.testing.assert_array_equal(a.reference_, b.reference_)
    # a fold that trains on s2 does change (the test above can fail)
    assert not np.array_equal(runs[0][0].coef_, runs[1][0].coef_)


def test_one_class_site_is_reported_not_averaged(cohort, single_thread):
    X, y, sites, _ = cohort
    y = y.copy()
    y[sites == "s3"] = "HC"  # a left-out site with one class
    per_site, pred = site_cross_validate(ConnectomeClassifier(C=1.0), X, y, sites)
    row = per_site.set_index("site").loc["s3"]
    assert np.isnan(row["auc"]) and "one class only (HC)" in row["note"]
    summary = cv_summary(per_site, pred)
    assert summary["n_sites_auc_defined"] == 3 and summary["auc_undefined"][0]["site"] == "s3"
    assert summary["mean_auc"] == pytest.approx(per_site["auc"].dropna().mean())


def test_bad_inputs(cohort):
    X, y, sites, conf = cohort
    with pytest.raises(ValueError, match="'y' must be >= 2 training subjects of each class"):
        ConnectomeClassifier().fit(X[:12], np.array(["ASD"] * 11 + ["HC"]))
    with pytest.raises(ValueError, match="'y' must be binary labels"):
        ConnectomeClassifier().fit(X[:12], np.arange(12) % 3)
    with pytest.raises(ValueError, match="'X' must be a list of .* ROI time series"):
        ConnectomeClassifier().fit(X[0], y[:1])
    with pytest.raises(ValueError, match="'kind' must be one or a list of"):
        ConnectomeClassifier(kind="granger").fit(X, y)
    with pytest.raises(ValueError, match="'confounds' must be the columns given in fit"):
        ConnectomeClassifier(C=1.0).fit(X, y, confounds=conf).predict(X, confounds=conf[["age"]])
    one_class_train = np.where(np.isin(sites, ["s0", "s1", "s2"]), "HC", "ASD")
    with pytest.raises(ValueError, match="'y' must be both classes in every training fold"):
        site_cross_validate(ConnectomeClassifier(), X, one_class_train, sites)


def test_vectorize_is_nilearns_order():
    from nilearn.connectome import sym_matrix_to_vec, vec_to_sym_matrix

    from neurocodec.features.connectivity import triu_to_vectorized

    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 6, 6))
    sym = a + np.swapaxes(a, 1, 2)
    for discard in (False, True):
        np.testing.assert_allclose(
            vectorize(sym, discard_diagonal=discard), sym_matrix_to_vec(sym, discard_diagonal=discard)
        )
    np.testing.assert_allclose(vec_to_sym_matrix(vectorize(sym)), sym)
    np.testing.assert_allclose(unvectorize(sym_matrix_to_vec(sym)), sym)
    upper = sym[(slice(None), *np.triu_indices(6, 1))]  # e.g. the Schaefer release's fc_upper.npz
    np.testing.assert_allclose(triu_to_vectorized(upper), vectorize(sym, discard_diagonal=True))


def test_matrices_given_to_a_vector_classifier_name_vectorize():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    mats = rng.standard_normal((20, 30, 30))
    with pytest.raises(
        ValueError,
        match=r"'X' must be a 2-D array \(n_subjects, n_edges\): turn matrices into edge "
        r"vectors with vectorize",
    ):
        site_cross_validate(LogisticRegression(), mats, np.arange(20) % 2, np.repeat(["a", "b"], 10))


def test_string_labels_in_site_cross_validate():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 5))
    y = np.where(np.arange(40) % 2, "HC", "ASD")
    X[y == "HC", 0] += 2.0
    per_site, pred = site_cross_validate(LogisticRegression(), X, y, np.repeat(["a", "b"], 20))
    assert set(pred["label"]) == {"ASD", "HC"} and set(pred["y"]) == {0, 1}  # y: index into the sorted labels
    assert per_site["accuracy"].min() > 0.8


def test_eeg_band_order_survives_to_the_report(tmp_path):
    from neurocodec.features.connectivity import eeg_connectivity
    from neurocodec.features.connectivity.stages import EEGConnectivity
    from neurocodec.pipeline import ArtifactStore, run_pipeline

    bands = {"theta": [4.0, 8.0], "alpha": [8.0, 12.0]}  # not alphabetical
    cfg = {
        "stages": {
            "eeg": {
                "stage": "simulate_eeg",
                "params": {"n_chans": 3, "sfreq": 128.0, "duration": 12.0, "motifs": ["alpha_burst"], "seed": 0},
            },
            "ep": {"stage": "epoch_eeg", "params": {"window": 2.0}, "inputs": {"raw": "eeg"}},
            "con": {
                "stage": "eeg_connectivity",
                "inputs": {"epochs": "ep"},
                "params": {"methods": ["coh"], "bands": bands, "by_label": False},
            },
        }
    }
    summary = run_pipeline(cfg, cache=tmp_path, show_progress=False, report=False)
    assert summary.ok, [r.error for r in summary.results]
    key = {r.step_id: r.key for r in summary.results}
    art = ArtifactStore(tmp_path).open("eeg_connectivity", key["con"])
    info = art.load("info")
    assert info["bands"] == ["theta", "alpha"] and info["band_edges"] == [[4.0, 8.0], [8.0, 12.0]]
    from neurocodec.features.connectivity.stages import _read_epochs

    X = _read_epochs(ArtifactStore(tmp_path).open("epoch_eeg", key["ep"]))[0]
    direct = eeg_connectivity(X, 128.0, bands={"theta": [4.0, 8.0]}, methods=["coh"])["coh"][0]
    np.testing.assert_allclose(art.load("connectivity")["coh"][0, 0], direct, rtol=1e-4, atol=1e-6)  # row 0: theta
    section = EEGConnectivity.report(art)
    assert section.blocks
