"""fMRI producers of kinds: load_fmri + atlas -> roi_timeseries, fmri_single_trial_betas / load_haxby ->
stimulus_responses (per-subject trials table), decode_categories on them, and their bad inputs (one clear error,
nothing cached). Tiny seeded NIfTI from tests/fmri_fixtures.py."""

from __future__ import annotations

import re
import shutil
import warnings

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from fmri_fixtures import AFF, atlas_runs, event_design, haxby_release

from neurocodec.pipeline import ArtifactStore, ConfigError, plan_run, run_pipeline

warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=UserWarning)


def _run(cfg, cache):
    s = run_pipeline({"stages": cfg}, cache=cache, show_progress=False, report=False)
    store = ArtifactStore(s.cache)
    return s, store, {r.step_id: (r.stage, r.key) for r in s.results}


def _betas_step(paths, **params):
    inputs = {k: str(paths[k]) for k in ("bold", "mask", "stimuli") if k in paths}
    return {"stage": "fmri_single_trial_betas", "params": {"method": "lsa", "t_r": 2.0, **params}, "inputs": inputs}


def test_load_fmri_atlas_feeds_connectivity(tmp_path):
    from neurocodec.datasets.kinds import Connectomes, RoiTimeseries

    p = atlas_runs(tmp_path)
    cfg = {
        "f": {
            "stage": "load_fmri",
            "params": {"t_r": 2.0},
            "inputs": {k: str(p[k]) for k in ("bold", "atlas", "labels")},
        },
        "c": {"stage": "connectivity", "inputs": {"source": "f"}},
    }
    s, store, keys = _run(cfg, tmp_path / "cache")
    assert s.ok, [r.error for r in s.results if r.error]
    cohort = RoiTimeseries.load(store.open(*keys["f"]))
    assert cohort.subjects["subject"].tolist() == ["sub-07"] and cohort.subjects["tr"].tolist() == [2.0]
    assert cohort.rois["name"].tolist() == ["left", "middle", "right"] and cohort.series()[0].shape == (100, 3)
    np.testing.assert_allclose(cohort.rois[["x", "y", "z"]].to_numpy()[0], [1.5, 4.5, 3.0])  # centre in mm
    fc = Connectomes.load(store.open(*keys["c"])).matrices[0]
    assert fc[0, 1] > 0.8 and abs(fc[0, 2]) < 0.4, fc  # regions 1 and 2 share a signal, 3 does not


def test_load_fmri_without_atlas_is_refused_at_plan_time(tmp_path):
    p = atlas_runs(tmp_path)
    cfg = {
        "stages": {
            "f": {"stage": "load_fmri", "params": {"t_r": 2.0}, "inputs": {"bold": str(p["bold"])}},
            "c": {"stage": "connectivity", "inputs": {"source": "f"}},
        }
    }
    with pytest.raises(
        ConfigError, match="'stages.c.inputs.source' must be a step producing kind .*only with its input\\(s\\) 'atlas'"
    ):
        plan_run(cfg)


def test_betas_write_stimulus_responses_with_trials(tmp_path):
    from neurocodec.datasets.kinds import StimulusResponses

    p = event_design(tmp_path)
    cfg = {"b": _betas_step(p), "b0": _betas_step(p, test_runs=[0], image_size=8)}
    s, store, keys = _run(cfg, tmp_path / "cache")
    assert s.ok, [r.error for r in s.results if r.error]
    exp = StimulusResponses.load(store.open(*keys["b"]))
    sub = exp.subjects["sub-01"]
    assert exp.stimuli.shape == (35, 16, 16, 3) and exp.category_names == ["animal", "object"]
    assert exp.train_image_ids.tolist() == list(range(28)) and exp.test_image_ids.tolist() == list(range(28, 35))
    assert sub.betas_train.shape == (28, 48) and sub.betas_test.shape == (14, 48)
    t = sub.trials
    assert t["run"].tolist() == [0] * 14 + [1] * 14 + [2] * 14 and (t["split"] == "test").sum() == 14
    assert (t["image_id"] == np.concatenate([sub.trial_image_ids_train, sub.trial_image_ids_test])).all()
    assert t["stim_file"].iloc[0] == "img00.png" and list(sub.voxels.columns)[:4] == ["voxel", "i", "j", "k"]
    # category of each image = its trials' trial_type (odd images are animals)
    assert (exp.categories == np.where(np.arange(35) % 2, 0, 1)).all()
    other = StimulusResponses.load(store.open(*keys["b0"]))
    assert (
        other.stimuli.shape[1:3] == (8, 8)
        and (other.subjects["sub-01"].trials.query("split == 'test'")["run"] == 0).all()
    )


def test_category_stimuli_without_stim_file(tmp_path):
    from neurocodec.datasets.kinds import StimulusResponses

    p = event_design(tmp_path)
    events = tmp_path / "events"
    events.mkdir()
    for f in sorted(p["bold"].glob("*_events.tsv")):
        pd.read_csv(f, sep="\t").drop(columns="stim_file").to_csv(events / f.name, sep="\t", index=False)
    step = _betas_step({"bold": p["bold"], "mask": p["mask"]})
    step["inputs"]["events"] = str(events)
    s, store, keys = _run(
        {"b": step, "d": {"stage": "decode_categories", "inputs": {"experiment": "b"}}}, tmp_path / "c"
    )
    assert s.ok, [r.error for r in s.results if r.error]
    art = store.open(*keys["b"])
    exp = StimulusResponses.load(art)
    assert exp.stimuli is None and exp.image_names == ["animal", "object"]
    assert exp.train_image_ids.tolist() == exp.test_image_ids.tolist() == [0, 1]
    assert pd.read_csv(art.path / "images.tsv", sep="\t")["split"].tolist() == ["both", "both"]
    scores = store.open(*keys["d"]).load("scores")["subjects"]["sub-01"]
    for clf in ("svm", "lda"):  # 22 object / 20 animal trials; the patterns differ
        assert (
            scores[clf]["n_folds"] == 3
            and scores[clf]["chance"] == pytest.approx(22 / 42)
            and scores[clf]["accuracy"] > 0.8
        )
        assert np.sum(scores[clf]["confusion"]) == 42


def test_load_haxby_layout_to_decoding(tmp_path):
    from neurocodec.datasets.kinds import StimulusResponses

    root = haxby_release(tmp_path)
    cfg = {
        "h": {"stage": "load_haxby", "params": {"mask": "vt"}, "inputs": {"root": str(root)}},
        "d": {"stage": "decode_categories", "params": {"categories": ["face", "house"]}, "inputs": {"experiment": "h"}},
    }
    s, store, keys = _run(cfg, tmp_path / "cache")
    assert s.ok, [r.error for r in s.results if r.error]
    exp = StimulusResponses.load(store.open(*keys["h"]))
    sub = exp.subjects["sub001"]
    assert sub.n_voxels == 12 and len(sub.trials) == 12 and sorted(set(sub.trials["run"])) == [0, 1, 2]
    folds = store.open(*keys["d"]).load("folds")
    assert len(folds) == 6 and set(folds["held_out"].astype(str)) == {"0", "1", "2"}
    from neurocodec.pipeline import get_stage

    section = get_stage("decode_categories").report(store.open(*keys["d"]))
    assert section.title == "Category decoding" and section.blocks[-1].columns == ["true \\ predicted", "face", "house"]
    assert get_stage("load_haxby").report(store.open(*keys["h"])) is not None


@pytest.mark.parametrize(
    "case", ["trial_type_only_in_test_run", "trial_type_missing_in_one_run", "atlas_off_grid", "stimuli_missing_image"]
)
def test_bad_fmri_kind_inputs_one_clear_error_nothing_cached(case, tmp_path):
    if case == "atlas_off_grid":
        p = atlas_runs(tmp_path)
        off = tmp_path / "atlas_off.nii.gz"
        nib.save(nib.Nifti1Image(np.ones((5, 4, 3), np.int16), AFF), off)
        cfg = {
            "f": {"stage": "load_fmri", "params": {"t_r": 2.0}, "inputs": {"bold": str(p["bold"]), "atlas": str(off)}}
        }
        stage, expected = "load_fmri", "The 'atlas' must be on the grid of the runs .*got <shape \\(5, 4, 3\\)>"
    else:
        src = event_design(tmp_path)
        p = dict(src, bold=tmp_path / "func", stimuli=tmp_path / "stimuli")
        shutil.copytree(src["bold"], p["bold"])
        shutil.copytree(src["stimuli"], p["stimuli"])
        if case == "stimuli_missing_image":
            (p["stimuli"] / "img30.png").unlink()
            expected = "The 'stimuli' must be a folder holding every stim_file image .*first 'img30.png'"
        elif case == "trial_type_missing_in_one_run":
            p.pop("stimuli")
            for f in sorted(p["bold"].glob("*_events.tsv")):
                ev = pd.read_csv(f, sep="\t").drop(
                    columns=["stim_file"] + (["trial_type"] if "run-2" in f.name else [])
                )
                ev.to_csv(f, sep="\t", index=False)
            expected = "The 'events' must be tables that all have a 'trial_type' column .*first 'sub-01_task-view_run-2"
        else:
            p.pop("stimuli")
            for f in sorted(p["bold"].glob("*_events.tsv")):
                ev = pd.read_csv(f, sep="\t").drop(columns="stim_file")
                if "run-3" in f.name:
                    ev.loc[0, "trial_type"] = "plant"
                ev.to_csv(f, sep="\t", index=False)
            expected = "The 'events' must be trial types that also occur in a training run .*'plant' only in test run"
        cfg, stage = {"b": _betas_step(p)}, "fmri_single_trial_betas"
    s = run_pipeline({"stages": cfg}, cache=tmp_path / "cache", show_progress=False, report=False, on_error="continue")
    failed = [r for r in s.results if r.status == "failed"]
    assert len(failed) == 1 and failed[0].stage == stage
    first = failed[0].error.splitlines()[0]  # "<Type>: <the one clear line>"
    assert re.search(expected, first), first
    assert ArtifactStore(s.cache).open(stage, failed[0].key) is None  # nothing cached
