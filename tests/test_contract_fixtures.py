"""The fake releases of tests/loader_fixtures.py read as their real layouts, and the two bugs their contract pairs
found: load_fmri reading a bids_inputs file table, and an early-stopping split of a single group.
"""

import numpy as np
import pytest
from loader_fixtures import (
    UEA_NAME,
    abide_fc_release,
    abide_pcp_release,
    bids_fmri,
    sleep_edf_release,
    uea_ts_problem,
)

from neurocodec.datasets import load_abide_fc, load_abide_timeseries, load_uea, sleep_edf_pairs
from neurocodec.datasets.loaders._sleep_edf import load_sleep_edf_record
from neurocodec.pipeline import ArtifactStore, run_pipeline


def test_fake_releases_read_as_the_real_ones(tmp_path):
    cohort = load_abide_timeseries(abide_pcp_release(tmp_path))
    assert cohort.n_subjects == 12 and cohort.n_rois == 8  # the zero-variance subject dropped
    assert cohort.info["zero_variance"]["dropped_subjects"] == ["NYU_0050112"]
    assert set(cohort.subjects["diagnosis"]) == {"ASD", "HC"} and np.isfinite(cohort.rois[["x", "y", "z"]]).all(None)
    fc, ph = load_abide_fc(abide_fc_release(tmp_path))
    assert fc.shape == (12, 8, 8) and len(ph.attrs["rois"]) == 8
    X_train, y_train, X_test, _ = load_uea(UEA_NAME, uea_ts_problem(tmp_path))
    assert X_train.shape == (8, 3, 256) and X_test.shape == (4, 3, 256)
    assert sorted(set(y_train)) == ["negativity", "positivity"]
    pairs = sleep_edf_pairs(sleep_edf_release(tmp_path))
    assert [(p.name, h.name) for p, h in pairs] == [
        ("SC4001E0-PSG.edf", "SC4001EC-Hypnogram.edf"),
        ("SC4011E0-PSG.edf", "SC4011EH-Hypnogram.edf"),
    ]
    X, y, sfreq = load_sleep_edf_record(*pairs[0])
    # W W N1 N2 N2 N3 N3 (stages 3 and 4) REM REM W; the unscored 'Sleep stage ?' stretch is left out
    assert X.shape == (10, 2, 3000) and sfreq == 100.0 and y.tolist() == [0, 0, 1, 2, 2, 3, 3, 4, 4, 0]


def _bids_to_fmri(root, cache, subjects=()):
    cfg = {
        "stages": {
            "b": {"stage": "bids_inputs", "params": {"subjects": list(subjects)}, "inputs": {"root": str(root)}},
            "f": {"stage": "load_fmri", "params": {"t_r": 2.0}, "inputs": {"source": "b"}},
        }
    }
    return run_pipeline(cfg, cache=cache, show_progress=False, report=False, on_error="continue")


def test_load_fmri_reads_the_runs_of_a_bids_file_table(tmp_path):
    root = bids_fmri(tmp_path)
    s = _bids_to_fmri(root, tmp_path / "cache")
    assert s.ok, [r.error for r in s.results]
    art = ArtifactStore(s.cache).open("load_fmri", s.results[1].key)
    assert art.load("runs")["file"].tolist() == [f"sub-07_task-rest_run-{i}_bold.nii.gz" for i in (1, 2)]
    assert art.load("signals").shape[0] == 100  # 2 runs x 50 volumes, not the events / sidecars beside them
    other = root / "sub-08" / "func"
    other.mkdir(parents=True)
    for run in sorted((root / "sub-07" / "func").glob("*_bold.nii.gz")):
        (other / run.name.replace("sub-07", "sub-08")).write_bytes(run.read_bytes())
    s = _bids_to_fmri(root, tmp_path / "cache")
    err = next(r.error for r in s.results if r.step_id == "f")
    assert "The 'source' must be a file table of one subject" in err and "['07', '08']" in err
    assert _bids_to_fmri(root, tmp_path / "cache", ["08"]).ok


def test_early_stopping_split_of_one_group_is_a_clear_error():
    from neurocodec.features.tokenizer._classifier import val_split

    y = np.array([0, 1] * 5)
    fit, val = val_split(y, 0.2, 0, groups=np.repeat([0, 1], 5))
    assert len(val) and not set(fit) & set(val)
    with pytest.raises(ValueError, match="The 'val_fraction' must be 0 when the training trials are one group"):
        val_split(y, 0.2, 0, groups=np.zeros(10))
