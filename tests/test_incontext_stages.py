"""metatrain_incontext / fit_incontext stages end to end on a tiny simulated experiment; benchmark smoke run."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from neurocodec.pipeline import ArtifactStore, load_arrays, load_json, load_table, run_pipeline

ROOT = Path(__file__).resolve().parent.parent


def _config(fit_params=None):
    return {
        "stages": {
            "sim": {
                "stage": "simulate_visual_fmri",
                "params": {
                    "n_subjects": 3,
                    "n_voxels": [40, 40, 40],
                    "image_size": 16,
                    "n_train_images": 90,
                    "n_test_images": 20,
                    "n_repeats": 2,
                    "seed": 0,
                },
            },
            "feats": {
                "stage": "features",
                "params": {"extractor": "gabor", "spatial_frequencies": [1.0, 2.0], "n_orientations": 4},
                "inputs": {"experiment": "sim"},
            },
            "train": {
                "stage": "metatrain_incontext",
                "params": {
                    "n_components": 8,
                    "width": 16,
                    "n_layers": 1,
                    "n_heads": 2,
                    "ffn_dim": 16,
                    "n_steps": 6,
                    "batch_voxels": 8,
                    "min_context": 5,
                    "max_context": 30,
                    "n_query": 20,
                    "val_every": 3,
                    "lr": 1e-3,
                },
                "inputs": {"experiment": "sim", "features": "feats"},
            },
            "fit": {
                "stage": "fit_incontext",
                "params": {"context_sizes": [5, 20, 500], "n_draws": 2, **(fit_params or {})},
                "inputs": {"model": "train", "experiment": "sim", "features": "feats"},
            },
        }
    }


def _artifact(cache, stage):
    store = ArtifactStore(cache)
    (key,) = [p.name for p in (Path(cache) / stage).iterdir() if not p.name.startswith(".")]
    return store.open(stage, key)


@pytest.mark.slow
def test_stages_end_to_end(tmp_path):
    from neurocodec.encoders.incontext import BraInCoRL, InContextEncoder

    assert run_pipeline(_config(), cache=tmp_path, show_progress=False, report=False).ok
    train = _artifact(tmp_path, "metatrain_incontext")
    summary = load_json(train.file("summary"))
    assert summary["train_subjects"] == ["sub-01", "sub-02"] and summary["heldout_subjects"] == ["sub-03"]
    assert summary["feature_key"] == "gabor" and summary["embed_dim"] == 8
    model = BraInCoRL.from_pretrained(train.file("model"))
    assert model.embed_dim == 8 and model.config.n_layers == 1
    assert len(load_table(train.file("history"))) == 2

    fit = _artifact(tmp_path, "fit_incontext")
    w = load_arrays(fit.file("weights"))
    assert w["sub-03/coef"].shape == (8, 40) and w["sub-03/intercept"].shape == (40,)
    assert load_arrays(fit.file("attention"))["sub-03"].shape == (40, 90)
    out = load_json(fit.file("summary"))["subjects"]["sub-03"]
    assert out["context_sizes"] == [5, 20] and out["dropped_context_sizes"] == [500]
    assert len(out["incontext_ev"]) == len(out["ridge_ev"]) == 2
    table = load_table(fit.file("scaling"))
    assert set(table["method"]) == {"incontext", "ridge"} and "category" in set(table["voxel_kind"])
    vox = load_arrays(fit.file("voxelwise"))
    assert vox["sub-03/incontext/ev"].shape == (2, 2, 40)
    # the stored weights are the estimator's output on the stored context images
    from neurocodec.datasets.kinds import StimulusResponses
    from neurocodec.encoders.incontext._stage_impl import apply_projection, load_embeddings

    exp = StimulusResponses.load(_artifact(tmp_path, "simulate_visual_fmri").path)
    raw, _ = load_embeddings(_artifact(tmp_path, "features"), len(exp.stimuli))
    emb = apply_projection(raw, load_arrays(train.file("projection")))
    ids, betas = exp.subjects["sub-03"].mean_betas("train")
    pos = np.searchsorted(ids, w["sub-03/context_ids"])
    enc = InContextEncoder(model).fit(emb[w["sub-03/context_ids"]], betas[pos])
    np.testing.assert_allclose(enc.coef_, w["sub-03/coef"], rtol=1e-4, atol=1e-5)

    # report sections build from the artifacts alone
    from neurocodec.encoders.incontext.stages import FitIncontext, MetatrainIncontext

    assert MetatrainIncontext.report(train).blocks and FitIncontext.report(fit).blocks

    # a subject that is not in the experiment -> one clear error
    bad = run_pipeline(_config({"subjects": ["sub-09"]}), cache=tmp_path, show_progress=False, report=False)
    (failed,) = [r for r in bad.results if r.status == "failed"]
    assert failed.step_id == "fit" and "The 'subjects' must be subjects of the experiment" in failed.error


def test_benchmark_quick_runs():
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "incontext_scaling.py"), "--quick", "--threads", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    for key in ("context_sizes", "incontext_ev", "ridge_ev", "train_time_s"):
        assert key in result
    assert result["context_sizes"] == [10, 30] and len(result["incontext_ev"]) == 2
    assert all(np.isfinite(result["ridge_ev"]))
