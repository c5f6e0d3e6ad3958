"""An NSD-layout release built by a fixture (the release's file names and formats) through every visual pipeline.

``load_nsd`` writes the ``stimulus_responses`` kind; features, voxelwise encoders, Brain-Diffuser, MindBridge and
the in-context encoder then run on it exactly as on the simulator's artifact.
"""

import shutil

import numpy as np
import pytest
from test_ingest_datasets import _fake_nsd

from neurocodec.pipeline import ArtifactStore, run_pipeline


@pytest.fixture(scope="module")
def nsd_release(tmp_path_factory):
    root = tmp_path_factory.mktemp("nsd")
    _fake_nsd(root, seed=3)
    for kind in ("nsddata/ppdata", "nsddata_betas/ppdata"):  # a second subject with its own betas
        shutil.copytree(root / kind / "subj01", root / kind / "subj02")
    return root


def _steps(root):
    exp = {"experiment": "nsd"}
    return {
        "nsd": {
            "stage": "load_nsd",
            "params": {"subjects": [1, 2], "sessions": [1, 2], "image_size": 16, "save_captions": True},
            "inputs": {"expdesign": str(root / "nsddata/experiments/nsd/nsd_expdesign.mat")},
        },
        "feats": {
            "stage": "features",
            "params": {"extractor": "gabor", "spatial_frequencies": [2.0, 4.0], "n_orientations": 2},
            "inputs": exp,
        },
        "enc": {
            "stage": "fit_encoder",
            "params": {"cv": 3, "alphas": [1.0, 100.0]},
            "inputs": {**exp, "features": "feats"},
        },
        "score": {"stage": "score_encoder", "inputs": {**exp, "features": "feats", "encoders": "enc"}},
        "dec": {
            "stage": "fit_decoder",
            "params": {
                "subjects": ["subj01"],
                "image_size": 16,
                "vae_channels": [8, 16],
                "unet_channels": [16, 32],
                "embed_dim": 8,
                "vae_steps": 2,
                "unet_steps": 2,
                "batch_size": 8,
                "num_inference_steps": 2,
                "embedding": "pixels",
                "cv": 2,
            },
            "inputs": exp,
        },
        "recon": {"stage": "reconstruct", "params": {"num_inference_steps": 2}, "inputs": {**exp, "decoder": "dec"}},
        "metrics": {
            "stage": "evaluate_reconstruction",
            "params": {"features": ["pixels"]},
            "inputs": {"reconstructions": "recon"},
        },
        "mb_targets": {
            "stage": "mindbridge_targets",
            "params": {"text_tokens": 2, "text_dim": 8},
            "inputs": {**exp, "generator": "dec"},
        },
        "mb_train": {
            "stage": "mindbridge_train",
            "params": {"n_epochs": 1, "batch_size": 8},
            "inputs": {**exp, "targets": "mb_targets"},
        },
        "ic_train": {
            "stage": "metatrain_incontext",
            "params": {
                "n_components": 4,
                "preset": "small",
                "n_steps": 2,
                "batch_voxels": 2,
                "min_context": 4,
                "max_context": 8,
                "n_query": 4,
                "val_every": 1,
            },
            "inputs": {**exp, "features": "feats"},
        },
    }


def test_nsd_layout_runs_every_visual_pipeline(nsd_release, tmp_path):
    summary = run_pipeline(
        {"name": "nsd-layout", "stages": _steps(nsd_release)},
        cache=tmp_path / "cache",
        show_progress=False,
        report=False,
    )
    assert summary.ok, {r.step_id: r.error for r in summary.results if r.error}
    store = ArtifactStore(summary.cache)
    keys = {r.step_id: (r.stage, r.key) for r in summary.results}
    gt = store.open(*keys["score"]).load("ground_truth")["ground_truth"]
    assert gt.startswith("absent")  # real data: said, not faked
    with np.load(store.open(*keys["recon"]).file("reconstructions")) as rec:
        assert rec["true"].shape[1:] == (16, 16, 3)
