"""BrainDiVE stages through the engine (tiny config, report sections, bad targets) and the benchmark's quick run."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("diffusers")

from neurocodec.pipeline import ArtifactStore, run_pipeline  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("single_thread")


def _config(targets):
    return {
        "stages": {
            "sim": {
                "stage": "simulate_visual_fmri",
                "params": {
                    "n_subjects": 1,
                    "n_voxels": [120],
                    "image_size": 16,
                    "n_train_images": 60,
                    "n_test_images": 10,
                    "seed": 0,
                },
            },
            "feats": {
                "stage": "features",
                "inputs": {"experiment": "sim"},
                "params": {
                    "extractor": "gabor",
                    "spatial_frequencies": [1.0, 2.0, 4.0],
                    "n_orientations": 4,
                    "bandwidth": 3.0,
                },
            },
            "enc": {
                "stage": "fit_encoder",
                "params": {"alphas": [1.0, 100.0], "cv": 3},
                "inputs": {"experiment": "sim", "features": "feats"},
            },
            "gen": {
                "stage": "fit_decoder",
                "inputs": {"experiment": "sim"},
                "params": {
                    "image_size": 16,
                    "vae_channels": [8, 16],
                    "unet_channels": [16, 32],
                    "embed_dim": 8,
                    "embedding": "pixels",
                    "vae_steps": 2,
                    "unet_steps": 2,
                    "batch_size": 16,
                    "num_inference_steps": 2,
                    "cv": 2,
                },
            },
            "synth": {
                "stage": "synthesize_preferred",
                "inputs": {"experiment": "sim", "encoder": "enc", "decoder": "gen"},
                "params": {
                    "targets": targets,
                    "n_images": 2,
                    "num_inference_steps": 2,
                    "guidance_scale": 30.0,
                    "max_grad_norm": 10.0,
                },
            },
            "roi": {
                "stage": "decode_roi_pattern",
                "params": {"targets": targets, "n_images": 2, "k": 3.0},
                "inputs": {"experiment": "sim", "decoder": "gen", "encoder": "enc"},
            },
        }
    }


@pytest.mark.slow
def test_stages_run_and_report(tmp_path):
    targets = [
        {"name": "left", "kind": "prf", "near": [0.3, 0.5, 0.3]},
        {"name": "photo_vs_digit", "category": "photo", "versus": {"category": "digit"}, "direction": "minimize"},
    ]
    summary = run_pipeline(_config(targets), cache=tmp_path, show_progress=False, report=True)
    assert summary.ok, [r.error for r in summary.results]
    store = ArtifactStore(tmp_path)
    art = {r.step_id: store.open(r.stage, r.key) for r in summary.results}
    images = art["synth"].load("images")
    assert images["left"].shape == images["left_unguided"].shape == (2, 16, 16, 3) and images["left"].dtype == np.uint8
    s = art["synth"].load("summary")["targets"]
    assert s["photo_vs_digit"]["direction"] == "minimize" and s["photo_vs_digit"]["versus"]
    assert np.isfinite(s["left"]["predicted"]["synthesized"]["mean"]) and s["left"]["seeds"] == [0]
    roi = art["roi"].load("images")
    assert roi["left_final"].shape == (2, 16, 16, 3) and roi["left_pattern"].shape == (120,)
    html = summary.report.read_text()
    assert "BrainDiVE: synthesized preferred images" in html and "ROI-optimal reconstructions" in html


def test_empty_target_is_a_clear_error(tmp_path):
    cfg = _config([{"name": "faces", "category": "face"}])
    del cfg["stages"]["roi"]
    summary = run_pipeline(cfg, cache=tmp_path, show_progress=False, report=False)
    (synth,) = [r for r in summary.results if r.step_id == "synth"]
    assert synth.status == "failed"
    assert "The 'target' must be a non-empty voxel set, got <0 voxels matching category='face'>." in synth.error


@pytest.mark.slow
def test_benchmark_quick():
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "braindive.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    s = result["summary"]
    for key in (
        "synth_true_gain_min_category",
        "synth_classifier_share_mean",
        "synth_prf_centre_error_mean",
        "synth_prf_centre_error_unguided_mean",
        "roi_true_gain_mean_category",
        "roi_prf_centre_error_mean",
    ):
        assert np.isfinite(s[key]), key
    row = result["synth/digit"]
    assert {"true_gain_vs_top1pct", "predicted_gain_vs_top1pct", "classifier_share", "true_gain_unguided"} <= set(row)
    assert result["quick"] is True and result["seconds_total"] > 0
