"""Connectivity stages end to end on tiny simulations, and the benchmarks' quick runs."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from neurocodec.pipeline import ArtifactStore, ConfigError, run_pipeline

ROOT = Path(__file__).resolve().parent.parent

REST = {
    "stage": "simulate_rest_fmri",
    "params": {
        "n_subjects": 24,
        "n_rois": 12,
        "n_networks": 3,
        "n_sites": 2,
        "n_differing_edges": 6,
        "effect_size": 0.25,
        "seed": 0,
    },
}


def _art(root, stage):
    (key,) = [p.name for p in (root / stage).iterdir() if not p.name.startswith(".")]
    return ArtifactStore(root).open(stage, key)


def test_rest_stages_end_to_end(tmp_path):
    cfg = {
        "stages": {
            "rest": REST,
            "fc": {"stage": "connectivity", "inputs": {"source": "rest"}},
            "tangent": {"stage": "connectivity_group", "inputs": {"fc": "fc"}, "params": {"test_fraction": 0.25}},
            "tangent32": {
                "stage": "connectivity_group",
                "inputs": {"fc": "fc"},
                "params": {"test_fraction": 0.25, "mean_precision": "single"},
            },
            "graph": {"stage": "graph_features", "inputs": {"fc": "fc"}, "params": {"density": 0.3}},
            "states": {
                "stage": "dynamic_connectivity",
                "inputs": {"cohort": "rest"},
                "params": {"window_s": 40.0, "step": 3, "n_states": 2},
            },
            "predict": {"stage": "predict_phenotype", "inputs": {"source": "rest"}, "params": {"C": [1.0]}},
            "predict_fc": {
                "stage": "predict_phenotype",
                "inputs": {"source": "fc"},
                "params": {"kind": ["correlation", "tangent"], "C": [0.1, 1.0], "inner_cv": 3, "confounds": ["site"]},
            },
        }
    }
    summary = run_pipeline(cfg, cache=tmp_path, show_progress=False, report=False)
    assert summary.ok, [r.error for r in summary.results]
    fc = _art(tmp_path, "connectivity")
    mats = fc.load("fc")
    assert mats.shape == (24, 12, 12)
    np.testing.assert_allclose(np.diagonal(mats, axis1=1, axis2=2), 1.0)
    (double_key, single_key) = [
        summary.results[[r.step_id for r in summary.results].index(s)].key for s in ("tangent", "tangent32")
    ]
    store = ArtifactStore(tmp_path)
    ref64, ref32 = (store.open("connectivity_group", k).load("reference") for k in (double_key, single_key))
    assert 0 < np.abs(ref64 - ref32).max() < 1e-5 * np.abs(ref64).max()
    group = store.open("connectivity_group", double_key)
    info = group.load("info")
    assert info["n_train"] + info["n_test"] == 24 and 5 <= info["n_test"] <= 7
    assert info["edge_recovery_auc"] > 0.8  # planted edges stand out in the training t-map
    assert group.load("vectors").shape == (24, 78)
    assert set(group.load("subjects")["split"]) == {"train", "test"}
    nodes = _art(tmp_path, "graph_features").load("nodes")
    assert nodes["degree"].shape == (24, 12)
    predict_keys = {r.step_id: r.key for r in summary.results}
    metrics = store.open("predict_phenotype", predict_keys["predict"]).load("metrics")
    assert metrics["n_sites"] == 2 and 0 <= metrics["mean_accuracy"] <= 1
    assert metrics["final_model"] == {"kind": "correlation", "C": 1.0}
    on_fc = store.open("predict_phenotype", predict_keys["predict_fc"])
    chosen = on_fc.load("metrics")["chosen_per_fold"]
    assert len(chosen) == 2 and all(c["kind"] in ("correlation", "tangent") for c in chosen)
    from neurocodec.features.connectivity import ConnectomeClassifier

    model = ConnectomeClassifier.from_pretrained(on_fc.path / "model")
    assert model.input == "correlation" and model.confounds_.columns == ["site"]
    dyn = _art(tmp_path, "dynamic_connectivity").load("dynamics")
    assert len(dyn) == 24 * 2
    np.testing.assert_allclose(dyn.groupby("subject")["fraction"].sum(), 1.0)
    from neurocodec.features.connectivity.stages import (
        Connectivity,
        ConnectivityGroup,
        DynamicConnectivity,
        PredictPhenotype,
    )

    for cls, art in [
        (Connectivity, fc),
        (ConnectivityGroup, group),
        (PredictPhenotype, on_fc),
        (DynamicConnectivity, _art(tmp_path, "dynamic_connectivity")),
    ]:
        assert cls.report(art).blocks

    bad = json.loads(json.dumps(cfg))
    bad["stages"]["graph"]["params"]["absolute"] = 0.2
    with pytest.raises(ConfigError, match="The 'stages.graph.params.absolute' must be None when 'density' is set"):
        run_pipeline(bad, cache=tmp_path, show_progress=False, report=False, until="graph")  # refused at plan time


def test_eeg_stage(tmp_path):
    cfg = {
        "stages": {
            "eeg": {
                "stage": "simulate_eeg",
                "params": {"n_chans": 4, "sfreq": 128.0, "duration": 20.0, "motifs": ["alpha_burst"], "seed": 0},
            },
            "ep": {"stage": "epoch_eeg", "params": {"window": 2.0}, "inputs": {"raw": "eeg"}},
            "con": {
                "stage": "eeg_connectivity",
                "inputs": {"epochs": "ep"},
                "params": {"methods": ["coh", "wpli", "aec"], "bands": {"alpha": [8.0, 12.0]}, "by_label": False},
            },
        }
    }
    summary = run_pipeline(cfg, cache=tmp_path, show_progress=False, report=False)
    assert summary.ok, [r.error for r in summary.results]
    art = _art(tmp_path, "eeg_connectivity")
    conn = art.load("connectivity")
    assert conn["coh"].shape == (1, 1, 4, 4) and np.all((conn["coh"] >= 0) & (conn["coh"] <= 1))
    assert art.load("info")["n_epochs"] == [10]
    from neurocodec.features.connectivity.stages import EEGConnectivity

    assert EEGConnectivity.report(art).blocks


@pytest.mark.slow
def test_connectivity_fans_out_on_dask(tmp_path):
    cfg = {"stages": {"rest": REST, "fc": {"stage": "connectivity", "inputs": {"source": "rest"}}}}
    summary = run_pipeline(cfg, cache=tmp_path / "d", executor="dask", show_progress=False, report=False)
    assert summary.ok, [r.error for r in summary.results]
    local = run_pipeline(cfg, cache=tmp_path / "l", show_progress=False, report=False)
    assert local.ok
    np.testing.assert_allclose(
        _art(tmp_path / "d", "connectivity").load("fc"), _art(tmp_path / "l", "connectivity").load("fc")
    )


def _quick(name):
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / f"{name}.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_speed_benchmark_quick():
    result = _quick("connectivity_speed")
    assert {
        "speedup_vs_nilearn",
        "speedup_vs_nilearn_1thread",
        "speedup_1thread_vs_nilearn_1thread",
        "max_abs_diff_gradient",
        "tangent_max_abs_diff_vs_nilearn",
        "neurocodec_s",
        "nilearn_s",
        "nilearn_1thread_s",
        "load_average_before",
        "mean_error_neurocodec",
        "mean_error_nilearn",
    } <= set(result)
    assert result["max_abs_diff_gradient"] <= 1e-8  # nilearn's iterations reproduced
    assert result["mean_error_neurocodec"] < 1e-4 and result["tangent_max_abs_diff_vs_nilearn"] < 1e-3


@pytest.mark.realdata
def test_abide_benchmark_quick(shared_data):
    result = _quick("abide")
    assert {"mean_accuracy", "mean_auc", "per_site", "pooled_accuracy", "pooled_auc", "auc_undefined", "model"} <= set(
        result
    )
    assert result["n_sites"] == 3 and result["final_model"] == {"kind": "correlation", "C": 0.01}
    # CALTECH has one subject in the quick subset: its AUC is undefined, said so and left out of the mean
    assert result["per_site"]["CALTECH"]["auc"] is None and result["n_sites_auc_defined"] == 2


@pytest.mark.realdata
def test_abide_pcp_benchmark_quick(shared_data):
    result = _quick("abide_pcp")
    assert {"loso_mean_accuracy", "loso_mean_auc", "kfold_accuracy", "kfold_auc", "per_site", "anchors"} <= set(result)
    assert set(result["per_site"]) == {"CALTECH", "OHSU", "SBL"}
    assert set(result["anchors"]) == {"nilearn_tangent_l2_logistic", "nilearn_correlation_l2_logistic"}
    assert 0 <= result["anchors"]["nilearn_tangent_l2_logistic"]["loso_mean_accuracy"] <= 1
