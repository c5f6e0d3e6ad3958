"""``load_stimulus_responses``: a user's own experiment into the visual pipelines, and its bad inputs."""

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from neurocodec.datasets import load_stimulus_responses
from neurocodec.pipeline import ArtifactStore, ConfigError, plan_run, run_pipeline


def _experiment(root, n_images=12, n_voxels=5, seed=0):
    rng = np.random.default_rng(seed)
    (root / "images").mkdir()
    for i in range(n_images):
        Image.fromarray(rng.integers(0, 255, (10, 10, 3), dtype=np.uint8)).save(root / "images" / f"im{i:02d}.png")
    ids = np.concatenate([np.arange(n_images), np.arange(3), np.arange(3)])
    split = np.where(ids < 3, "test", "train")
    betas = rng.standard_normal((len(ids), n_voxels)).astype(np.float32)
    np.save(root / "betas.npy", betas)
    pd.DataFrame(
        {"image": [f"im{i:02d}.png" for i in ids], "split": split, "category": np.where(ids % 2, "odd", "even")}
    ).to_csv(root / "trials.tsv", sep="\t", index=False)
    return ids, betas


def test_user_experiment_reads_and_feeds_encoders(tmp_path):
    ids, betas = _experiment(tmp_path)
    exp = load_stimulus_responses(tmp_path / "images", tmp_path / "betas.npy", tmp_path / "trials.tsv", subject="me")
    sub = exp.subjects["me"]
    assert list(exp.test_image_ids) == [0, 1, 2] and len(sub.trial_image_ids_test) == 9
    np.testing.assert_allclose(sub.mean_betas("test")[1][0], betas[ids == 0].mean(0), atol=1e-6)
    assert exp.category_names == ["even", "odd"] and exp.categories[3] == 1
    cfg = {
        "stages": {
            "mine": {
                "stage": "load_stimulus_responses",
                "params": {"subject": "me"},
                "inputs": {
                    "images": str(tmp_path / "images"),
                    "betas": str(tmp_path / "betas.npy"),
                    "trials": str(tmp_path / "trials.tsv"),
                },
            },
            "feats": {
                "stage": "features",
                "params": {"spatial_frequencies": [2.0], "n_orientations": 2},
                "inputs": {"experiment": "mine"},
            },
            "enc": {
                "stage": "fit_encoder",
                "params": {"cv": 3, "alphas": [1.0, 10.0]},
                "inputs": {"experiment": "mine", "features": "feats"},
            },
            "score": {
                "stage": "score_encoder",
                "inputs": {"experiment": "mine", "features": "feats", "encoders": "enc"},
            },
        }
    }
    s = run_pipeline(cfg, cache=tmp_path / "cache", show_progress=False, report=False)
    assert s.ok, [r.error for r in s.results]


@pytest.mark.parametrize(
    "breakage, message",
    [
        ("out_of_range", "The 'trials' of the 'image' column must be image indices in \\[0, 11\\], got 40."),
        ("count", "The 'trials' must be one row per beta \\(18 betas\\), got <17 rows>."),
        ("nan", "The 'betas' must be finite"),
        ("empty_mask", "The 'mask' must be a mask with at least one voxel"),
    ],
)
def test_user_experiment_bad_inputs_are_one_clear_error_and_nothing_cached(tmp_path, breakage, message):
    ids, betas = _experiment(tmp_path)
    trials, inputs = pd.read_csv(tmp_path / "trials.tsv", sep="\t"), {}
    if breakage == "out_of_range":
        trials.loc[4, "image"] = "40"
    elif breakage == "count":
        trials = trials.iloc[:-1]
    elif breakage == "nan":
        betas[2, 1] = np.nan
        np.save(tmp_path / "betas.npy", betas)
    else:
        nib.save(nib.Nifti1Image(np.zeros((2, 2, 2), np.uint8), np.eye(4)), tmp_path / "mask.nii.gz")
        nib.save(nib.Nifti1Image(np.zeros((2, 2, 2, len(ids)), np.float32), np.eye(4)), tmp_path / "betas.nii.gz")
        inputs = {"mask": str(tmp_path / "mask.nii.gz"), "betas": str(tmp_path / "betas.nii.gz")}
    trials.to_csv(tmp_path / "trials.tsv", sep="\t", index=False)
    cfg = {
        "stages": {
            "mine": {
                "stage": "load_stimulus_responses",
                "inputs": {
                    "images": str(tmp_path / "images"),
                    "betas": str(tmp_path / "betas.npy"),
                    "trials": str(tmp_path / "trials.tsv"),
                    **inputs,
                },
            }
        }
    }
    s = run_pipeline(cfg, cache=tmp_path / "cache", show_progress=False, report=False)
    assert not s.ok
    import re

    assert re.search(message, s.results[0].error.splitlines()[0]), s.results[0].error.splitlines()[0]
    assert not list(ArtifactStore(s.cache).iter_artifacts())  # nothing cached


def test_kind_mismatch_and_file_type_are_refused_at_plan_time(tmp_path):
    _experiment(tmp_path)
    cfg = {
        "stages": {
            "rest": {"stage": "simulate_rest_fmri", "params": {"n_subjects": 4, "n_rois": 6}},
            "feats": {"stage": "features", "inputs": {"experiment": "rest"}},
        }
    }
    with pytest.raises(
        ConfigError,
        match="The 'stages.feats.inputs.experiment' must be a step producing kind "
        "stimulus_responses, got 'rest' \\(stage 'simulate_rest_fmri' produces "
        "roi_timeseries\\).",
    ):
        plan_run(cfg)
    bad = {
        "stages": {
            "mine": {
                "stage": "load_stimulus_responses",
                "inputs": {
                    "images": str(tmp_path / "images"),
                    "betas": str(tmp_path / "trials.tsv"),
                    "trials": str(tmp_path / "trials.tsv"),
                },
            }
        }
    }
    with pytest.raises(
        ConfigError, match="The 'stages.mine.inputs.betas' must be one of .npy, .h5, .hdf5, .nii, .nii.gz"
    ):
        plan_run(bad)
    step_as_path = {
        "stages": {
            "sim": {"stage": "simulate_visual_fmri"},
            "mine": {
                "stage": "load_stimulus_responses",
                "inputs": {"images": "sim", "betas": "x.npy", "trials": "t.tsv"},
            },
        }
    }
    with pytest.raises(ConfigError, match="must be a file or folder path, got a step id"):
        plan_run(step_as_path)
