"""load_bonn: the Bonn epilepsy EEG release as epochs (a tiny fake release; the real one is `realdata`)."""

import json

import numpy as np
import pytest

from neurocodec.datasets.kinds import EpochsData
from neurocodec.datasets.loaders import load_bonn


def _fake_bonn(folder, n=3):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    np.savez(folder / "bonn.npz", **{s: (rng.standard_normal((n, 4097)) * (i + 1)).astype(np.float32)
                                     for i, s in enumerate("ABCDE")})
    (folder / "files.json").write_text(json.dumps({s: [f"{s}{j:03d}.txt" for j in range(n)] for s in "ABCDE"}))
    return folder


def test_load_bonn_windows_groups_and_errors(tmp_path):
    root = _fake_bonn(tmp_path / "bonn_eeg")
    ep = load_bonn(root, sets=("A", "E"), n_windows=4)
    assert ep.X.shape == (2 * 3 * 4, 1, 1024) and ep.sfreq == 173.61 and ep.label_names == ["A", "E"]
    assert ep.labels().tolist() == ["A"] * 12 + ["E"] * 12
    raw = np.load(root / "bonn.npz")["E"]
    np.testing.assert_allclose(ep.X[12 + 5, 0], raw[1, 1024:2048] * 1e-6, rtol=1e-6)  # segment 1, window 1, volts
    assert ep.groups["segment"].tolist()[:5] == ["A000", "A000", "A000", "A000", "A001"]
    assert len(load_bonn(root, n_windows=2, max_segments=2).X) == 5 * 2 * 2
    with pytest.raises(ValueError, match="The 'sets' must be distinct names among"):
        load_bonn(root, sets=("A", "F"))
    with pytest.raises(ValueError, match="The 'n_windows' must be an integer in \\[1, 20\\]"):
        load_bonn(root, n_windows=30)
    with pytest.raises(FileNotFoundError, match="must hold bonn.npz"):
        load_bonn(tmp_path / "nowhere")


def test_load_bonn_stage(tmp_path):
    from neurocodec.pipeline import ArtifactStore, run_pipeline

    root = _fake_bonn(tmp_path / "bonn_eeg")
    cfg = {"stages": {"b": {"stage": "load_bonn", "params": {"n_windows": 2}, "inputs": {"root": str(root)}}}}
    s = run_pipeline(cfg, cache=tmp_path / "cache", show_progress=False, report=False)
    assert s.ok, [r.error for r in s.results]
    art = ArtifactStore(s.cache).open("load_bonn", s.results[0].key)
    ep = EpochsData.load(art.file("epochs"))
    assert ep.X.shape == (30, 1, 2048) and art.load("info")["counts"] == {s: 6 for s in "ABCDE"}


@pytest.mark.realdata
def test_load_bonn_real(shared_data):
    ep = load_bonn(shared_data / "bonn_eeg", n_windows=2)
    assert ep.X.shape == (1000, 1, 2048) and len(set(ep.groups["segment"])) == 500
    for tr, te in ep.folds(10, seed=0):
        assert not set(ep.groups["segment"][tr]) & set(ep.groups["segment"][te])
        assert np.bincount(ep.y[te], minlength=5).tolist() == [20] * 5
