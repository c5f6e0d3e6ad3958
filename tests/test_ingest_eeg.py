"""EEG / sEEG readers and stages: every real recording, preprocessing, bipolar, epoching, bad inputs."""

import subprocess
import sys
from pathlib import Path

import mne
import numpy as np
import pytest

from neurocodec.datasets import make_epochs, pick_channels, preprocess_raw, read_raw, read_raws, seeg_bipolar_pairs, read_hypnogram

ROOT = Path(__file__).resolve().parents[1]
RECORDINGS = [
    ("EEGLAB/test_raw.set", 128.0, 32),
    ("Persyst/sub-pt1_ses-02_task-monitor_acq-ecog_run-01_clip2.lay", 200.0, 83),
    ("NihonKohden/MB0400FU.EEG", 200.0, 25),
    ("yasa/data_resting_EO_200Hz_raw.fif", 200.0, 2),
]


def _raw(sfreq=100.0, n_chans=4, seconds=20, names=None, seed=0, kind="eeg"):
    rng = np.random.default_rng(seed)
    names = names or [f"C{i}" for i in range(n_chans)]
    info = mne.create_info(names, sfreq, kind)
    raw = mne.io.RawArray(rng.standard_normal((len(names), int(seconds * sfreq))) * 1e-5, info, verbose="error")
    raw.set_annotations(mne.Annotations([2.0, 6.0, 10.0], [0.5, 0.5, 0.5], ["a", "b", "a"]))
    return raw


@pytest.mark.realdata
@pytest.mark.parametrize("rel,sfreq,n_chans", RECORDINGS)
def test_read_real_recordings(shared_data, rel, sfreq, n_chans):
    raw = read_raw(shared_data / "recordings" / rel)
    assert raw.info["sfreq"] == sfreq and len(raw.ch_names) == n_chans and raw.n_times > 0


@pytest.mark.realdata
def test_real_eeglab_pipeline_and_hypnogram(shared_data):
    raw = read_raw(shared_data / "recordings" / "EEGLAB" / "test_raw.set")
    raw = preprocess_raw(raw, l_freq=1.0, h_freq=40.0, notch=[50.0], reference="average", resample=64.0)
    ep = make_epochs(raw, tmin=-0.2, tmax=0.5, event_id={"square": 1})
    assert raw.info["sfreq"] == 64.0 and len(ep) > 50 and set(ep.event_id) == {"square"}
    ann = read_hypnogram(shared_data / "recordings" / "EDF" / "SC4001EC-Hypnogram.edf")
    assert "Sleep stage W" in set(ann.description) and ann.duration.sum() > 3600


def test_preprocess_filters_and_resamples():
    raw = _raw(sfreq=200.0, seconds=10)
    t = raw.times
    raw._data[0] += 1e-4 * np.sin(2 * np.pi * 50 * t)
    raw = preprocess_raw(raw, notch=[50.0], l_freq=1.0, h_freq=30.0, resample=100.0, reference="average")
    assert raw.info["sfreq"] == 100.0
    psd = raw.compute_psd(fmax=49, verbose="error").get_data()[0]
    assert psd.max() < 1e-9  # the 1e-4 line noise is gone
    assert np.allclose(raw.get_data().mean(axis=0), 0, atol=1e-12)


def test_seeg_bipolar_and_selection():
    names = ["LA1", "LA2", "LA3", "LA5", "RH1", "RH2", "A'1", "A'2", "ECG"]
    assert seeg_bipolar_pairs(names) == [("LA1", "LA2"), ("LA2", "LA3"), ("RH1", "RH2"), ("A'1", "A'2")]
    raw = _raw(names=names, kind="seeg")
    raw.set_channel_types({"ECG": "ecg"})
    out = preprocess_raw(raw, types=["seeg"], reference="seeg_bipolar")
    assert out.ch_names == ["LA1-LA2", "LA2-LA3", "RH1-RH2", "A'1-A'2"]
    raw = _raw(names=names, kind="seeg")
    pick_channels(raw, regions=["hippocampus"], region_labels={"RH1": "hippocampus", "RH2": "hippocampus"})
    assert raw.ch_names == ["RH1", "RH2"]
    raw = _raw(names=names, kind="seeg")
    assert pick_channels(raw, pattern=r"^LA").ch_names == ["LA1", "LA2", "LA3", "LA5"]


def test_epochs_from_annotations_events_and_windows():
    raw = _raw()
    ep = make_epochs(raw, tmin=-0.1, tmax=0.4)
    assert len(ep) == 3 and set(ep.event_id) == {"a", "b"}
    ep = make_epochs(raw, tmin=0, tmax=0.5, events=np.array([[100, 0, 7], [300, 0, 8]]))
    assert list(ep.events[:, 2]) == [7, 8]
    ep = make_epochs(raw, window=2.0)
    assert len(ep) == 10 and ep.get_data().shape[2] == 200


def test_bad_eeg_inputs(tmp_path):
    a, b = _raw(sfreq=100.0), _raw(sfreq=128.0)
    a.save(tmp_path / "a_raw.fif", verbose="error")
    b.save(tmp_path / "b_raw.fif", verbose="error")
    with pytest.raises(ValueError, match="'sfreq' must be the same in every file, got <a_raw.fif: 100 Hz, b_raw.fif: 128 Hz>"):
        read_raws([tmp_path / "a_raw.fif", tmp_path / "b_raw.fif"])
    with pytest.raises(ValueError, match="'include' must be channels of the recording .* got <missing \\['Fz'\\]>"):
        pick_channels(_raw(), include=["C0", "Fz"])
    with pytest.raises(ValueError, match="'events' must be inside the recording"):
        make_epochs(_raw(), events=np.array([[100, 0, 1], [5000, 0, 1]]))
    nan = _raw()
    nan._data[1, 7] = np.nan
    nan.save(tmp_path / "nan_raw.fif", verbose="error")
    with pytest.raises(ValueError, match="'data' of nan_raw.fif must be finite"):
        read_raw(tmp_path / "nan_raw.fif")
    (tmp_path / "junk.edf").write_bytes(b"0" * 100)
    with pytest.raises(ValueError, match="'recording' must be a file in a format MNE reads"):
        read_raw(tmp_path / "junk.edf")
    with pytest.raises(ValueError, match="'h_freq' must be in \\(0, 50\\) Hz"):
        preprocess_raw(_raw(), h_freq=80.0)


def test_load_eeg_stage_from_path(tmp_path):
    from neurocodec.pipeline import ArtifactStore, run_pipeline

    _raw(sfreq=200.0).save(tmp_path / "rec_raw.fif", verbose="error")
    cfg = {"stages": {
        "e": {"stage": "load_eeg", "params": {"l_freq": 1.0, "h_freq": 40.0, "resample": 100.0}, "inputs": {"recording": str(tmp_path / "rec_raw.fif")}},
        "ep": {"stage": "epoch_eeg", "params": {"tmin": 0.0, "tmax": 0.5, "event_id": {"a": 1}}, "inputs": {"raw": "e"}},
    }}
    s = run_pipeline(cfg, cache=tmp_path / "cache", show_progress=False, report=False)
    assert s.ok, [r.error for r in s.results]
    keys = {r.step_id: r.key for r in s.results}
    store = ArtifactStore(s.cache)
    assert store.open("load_eeg", keys["e"]).load("summary")["sfreq"] == 100.0
    from neurocodec.datasets.kinds import EpochsData

    ep = EpochsData.load(store.open("epoch_eeg", keys["ep"]).file("epochs"))
    assert ep.X.shape == (2, 4, 51) and list(ep.labels()) == ["a", "a"] and ep.sfreq == 100.0


@pytest.mark.slow
def test_example_config_runs(tmp_path):
    out = subprocess.run([str(ROOT / ".venv" / "bin" / "neurocodec"), "run", str(ROOT / "configs" / "examples" / "ingest.yaml"),
                          "--cache", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "6 ran" in out.stdout
