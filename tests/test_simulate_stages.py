"""Simulation stages run through the pipeline engine; the speed benchmark's quick run."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from neurocodec.datasets.kinds import StimulusResponses
from neurocodec.datasets.simulate import RestingStateCohort, SimulatedRecording, fit_glm_betas
from neurocodec.pipeline import ArtifactStore, ConfigError, get_stage, run_pipeline

ROOT = Path(__file__).resolve().parents[1]


def _config():
    return {
        "stages": {
            "vis": {
                "stage": "simulate_visual_fmri",
                "params": {
                    "n_subjects": 2,
                    "n_voxels": [20, 25],
                    "image_size": 16,
                    "n_train_images": 20,
                    "n_test_images": 6,
                    "bold_tr": 1.0,
                    "bold_snr": 10.0,
                },
            },
            "rest": {
                "stage": "simulate_rest_fmri",
                "params": {
                    "n_subjects": 6,
                    "n_rois": 12,
                    "n_networks": 3,
                    "n_sites": 2,
                    "site_tr": [2.0, 0.72],
                    "n_differing_edges": 2,
                },
            },
            "seeg": {
                "stage": "simulate_eeg",
                "params": {
                    "kind": "seeg",
                    "n_chans": 12,
                    "sfreq": 128.0,
                    "duration": 20.0,
                    "contacts_per_shaft": 6,
                    "window_s": 1.0,
                },
            },
        }
    }


def test_stages_write_loadable_artifacts(tmp_path):
    summary = run_pipeline(_config(), cache=tmp_path / "cache", show_progress=False, report=False)
    assert summary.ok, [r.error for r in summary.results]
    arts = {a.stage: a for a in ArtifactStore(tmp_path / "cache").iter_artifacts()}
    exp = StimulusResponses.load(arts["simulate_visual_fmri"].path)
    assert exp.stimuli.shape == (26, 16, 16, 3) and list(exp.subjects) == ["sub-01", "sub-02"]
    assert arts["simulate_visual_fmri"].load("metadata")["subjects"] == ["sub-01", "sub-02"]
    bold = np.load(arts["simulate_visual_fmri"].path / "subjects" / "sub-02" / "bold.npz")
    sr = exp.subjects["sub-02"]
    est = fit_glm_betas(bold["bold"], bold["onsets"], float(bold["trial_duration"]), float(bold["tr"]))
    true = np.vstack([sr.betas_train, sr.betas_test])
    assert np.array_equal(bold["trial_image_ids"], np.concatenate([sr.trial_image_ids_train, sr.trial_image_ids_test]))
    assert np.mean([np.corrcoef(est[:, v], true[:, v])[0, 1] for v in range(sr.n_voxels)]) > 0.9
    cohort = RestingStateCohort.load(arts["simulate_rest_fmri"].path)
    assert sorted(set(cohort.subjects["tr"])) == [0.72, 2.0] and cohort.differing_edges.sum() == 4
    rec = SimulatedRecording.load(arts["simulate_eeg"].path)
    assert rec.raw.get_channel_types()[0] == "seeg" and rec.raw.ch_names[6] == "LH1"
    labels = arts["simulate_eeg"].load("epoch_labels")
    assert len(labels) == 20 and list(labels["label"]) == list(rec.epoch_labels(1.0)["label"])
    again = run_pipeline(_config(), cache=tmp_path / "cache", show_progress=False, report=False)
    assert {r.status for r in again.results} == {"hit"}


def test_stage_parameter_errors(tmp_path):
    params = get_stage("simulate_visual_fmri").Params
    with pytest.raises(ValueError, match="n_subjects"):
        params(n_subjects=0)
    cfg = {"stages": {"rest": {"stage": "simulate_rest_fmri", "params": {"n_sites": 2, "site_tr": [2.0]}}}}
    with pytest.raises(ConfigError, match="The 'stages.rest.params.site_tr' must be a list of n_sites=2 values"):
        run_pipeline(cfg, cache=tmp_path / "c", show_progress=False, report=False)  # refused at plan time
    cfg = {"stages": {"e": {"stage": "simulate_eeg", "params": {"sfreq": -1.0}}}}  # refused at plan time now
    with pytest.raises(ConfigError, match="The 'stages.e.params.sfreq' must be valid: input should be greater than"):
        run_pipeline(cfg, cache=tmp_path / "c", show_progress=False, report=False, on_error="continue")


def test_stage_module_is_cheap_to_import():
    code = (
        "import sys; import neurocodec.datasets.simulate.stages; "
        "print(','.join(m for m in ('mne', 'sklearn', 'torch', 'skimage', 'scipy', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    heavy = {m for m in out.split(",") if m} & {"mne", "sklearn", "torch", "skimage", "scipy"}
    assert not heavy, out


def test_benchmark_quick():
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "simulate_speed.py"), "--quick"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert {"seconds", "visual_seconds", "rest_seconds", "eeg_seconds", "peak_rss_mb"} <= set(result)
    assert result["quick"] is True and result["seconds"] > 0
