"""Simulated EEG / sEEG / ECoG: contract, detectable planted motifs, labels, trials, errors."""

import re

import numpy as np
import pytest

from neurocodec.datasets.simulate import MOTIFS, SimulatedRecording, simulate_eeg, simulate_eeg_trials
from neurocodec.datasets.simulate._eeg_sources import motif_waveform


def _peaks(score, thresh, min_dist):
    """Indices of local maxima of ``score`` above ``thresh`` at least ``min_dist`` apart (greedy)."""
    cand = np.flatnonzero(score > thresh)
    picked = []
    for i in cand[np.argsort(-score[cand])]:
        if all(abs(i - j) >= min_dist for j in picked):
            picked.append(i)
    return np.sort(picked)


@pytest.mark.parametrize("kind", ["eeg", "seeg", "ecog"])
def test_contract(kind, tmp_path):
    rec = simulate_eeg(kind=kind, n_chans=20, sfreq=200.0, duration=30.0, events_per_minute=4, seed=1)
    raw = rec.raw
    assert set(raw.get_channel_types()) == {kind} and raw.info["sfreq"] == 200.0 and raw.n_times == 6000
    assert raw.info["line_freq"] == 50.0
    pos = raw.get_montage().get_positions()["ch_pos"]
    assert len(pos) == 20 and all(np.isfinite(p).all() for p in pos.values())
    if kind == "seeg":
        assert raw.ch_names[:9] == [f"LA{i}" for i in range(1, 9)] + ["LH1"]
        # Contacts of a shaft lie on a line 3.5 mm apart.
        steps = np.linalg.norm(np.diff([pos[f"LA{i}"] for i in range(1, 9)], axis=0), axis=1)
        np.testing.assert_allclose(steps, 0.0035, rtol=1e-3)
    if kind == "eeg":
        assert raw.ch_names[:3] == ["Fp1", "Fp2", "F7"]
    amp = raw.get_data().std()
    assert {"eeg": 5e-6, "seeg": 1e-5, "ecog": 2e-5}[kind] < amp < 2e-4
    m = rec.motifs
    assert list(m.columns) == ["event", "motif", "onset_s", "duration_s", "channel", "weight"]
    assert m["event"].nunique() == 8 and set(m["motif"]) == set(MOTIFS)
    assert set(m["channel"]) <= set(raw.ch_names) and (m.groupby("event")["weight"].max() == 1).all()
    ann = raw.annotations
    assert len(ann) == 8 and set(ann.description) == set(MOTIFS)
    np.testing.assert_allclose(np.sort(ann.onset), np.sort(m.drop_duplicates("event")["onset_s"]), atol=1e-5)
    # Occurrences never overlap.
    ev = m.drop_duplicates("event").sort_values("onset_s")
    assert (ev["onset_s"].to_numpy()[1:] >= (ev["onset_s"] + ev["duration_s"]).to_numpy()[:-1]).all()
    labels = rec.epoch_labels(2.0)
    assert len(labels) == 15 and set(labels["label"]) <= set(MOTIFS) | {"background"}
    x, lab = rec.epochs(2.0)
    assert x.shape == (15, 20, 400) and x.dtype == np.float32 and list(lab) == list(labels["label"])
    rec.save(tmp_path / "rec")
    assert {p.name for p in (tmp_path / "rec").iterdir()} == {"raw.fif", "motifs.tsv", "recording.json"}
    back = SimulatedRecording.load(tmp_path / "rec")
    np.testing.assert_allclose(back.raw.get_data(), raw.get_data(), rtol=1e-5, atol=1e-12)
    assert back.motifs.equals(m) and back.params["kind"] == kind
    assert list(back.raw.annotations.description) == list(ann.description)
    assert back.epoch_labels(2.0).equals(labels)


def test_epoch_label_is_dominant_motif():
    rec = simulate_eeg(n_chans=8, duration=40.0, motifs=["slow_wave"], events_per_minute=6, seed=3)
    labels = rec.epoch_labels(1.0)
    ev = rec.motifs.drop_duplicates("event")
    for e in ev.itertuples():
        mid = e.onset_s + e.duration_s / 2
        assert labels.loc[int(mid // 1.0), "label"] == "slow_wave"
    covered = np.zeros(len(labels), bool)
    for e in ev.itertuples():
        covered[int(e.onset_s // 1.0) : int(np.ceil((e.onset_s + e.duration_s) / 1.0))] = True
    assert (labels.loc[~covered, "label"] == "background").all()


def test_spike_detection_finds_planted_onsets():
    rec = simulate_eeg(
        kind="seeg", n_chans=24, sfreq=256.0, duration=60.0, motifs=["spike"], events_per_minute=15, seed=0
    )
    sf = rec.raw.info["sfreq"]
    data = rec.raw.get_data()
    data = (data - np.median(data, 1, keepdims=True)) / np.median(np.abs(data), 1, keepdims=True)
    tmpl = motif_waveform("spike", 0.35, sf, np.random.default_rng(0))
    tmpl = (tmpl - tmpl.mean()) / np.linalg.norm(tmpl)
    score = np.abs(np.array([np.correlate(ch, tmpl, mode="valid") for ch in data])).max(0)
    score = (score - np.median(score)) / (1.4826 * np.median(np.abs(score - np.median(score))))
    found = _peaks(score, 5.5, int(0.5 * sf)) / sf
    planted = rec.motifs.drop_duplicates("event")["onset_s"].to_numpy()
    hit = np.array([np.min(np.abs(found - p)) < 0.05 for p in planted])
    precise = np.array([np.min(np.abs(planted - f)) < 0.05 for f in found])
    assert hit.mean() >= 0.9 and precise.mean() >= 0.8, (hit.mean(), precise.mean())
    # The peak channel of each spike is where the signal deflects most at the spike peak.
    peak_rows = rec.motifs[rec.motifs["weight"] == 1.0]
    names = rec.raw.ch_names
    raw = rec.raw.get_data()
    ok = [
        names[np.argmin(raw[:, int((r.onset_s + 0.05) * sf)])]
        in set(rec.motifs.loc[rec.motifs.event == r.event, "channel"])
        for r in peak_rows.itertuples()
    ]
    assert np.mean(ok) >= 0.8


def test_spindle_detection_finds_planted_intervals():
    rec = simulate_eeg(
        kind="eeg", n_chans=16, sfreq=128.0, duration=90.0, motifs=["spindle", "slow_wave"], events_per_minute=5, seed=2
    )
    sf, x = rec.raw.info["sfreq"], rec.raw.get_data()
    spec = np.fft.rfft(x, axis=1)
    f = np.fft.rfftfreq(x.shape[1], 1 / sf)
    analytic = np.fft.ifft(
        np.concatenate([2 * spec * ((f >= 11) & (f <= 15)), np.zeros((x.shape[0], x.shape[1] - spec.shape[1]))], 1),
        axis=1,
    )
    env = np.abs(analytic)
    env = env / np.median(env, axis=1, keepdims=True)
    kernel = np.ones(int(0.25 * sf)) / int(0.25 * sf)
    score = np.array([np.convolve(e, kernel, mode="same") for e in env]).max(0)
    active = score > 3.0
    ev = rec.motifs.drop_duplicates("event")
    spindles, slow = ev[ev.motif == "spindle"], ev[ev.motif == "slow_wave"]
    seen = [active[int(r.onset_s * sf) : int((r.onset_s + r.duration_s) * sf)].any() for r in spindles.itertuples()]
    assert np.mean(seen) >= 0.8
    # Detections are mostly inside planted spindles (slow waves do not trigger the 11-15 Hz detector).
    inside = np.zeros_like(active)
    for r in spindles.itertuples():
        inside[int((r.onset_s - 0.3) * sf) : int((r.onset_s + r.duration_s + 0.3) * sf)] = True
    assert active[inside].mean() > 5 * max(active[~inside].mean(), 1e-3)
    assert len(slow) > 0


def test_trials():
    x, y = simulate_eeg_trials(
        n_trials=40, n_chans=8, sfreq=128.0, n_times=256, classes=["background", "alpha_burst", "spike"], seed=0
    )
    assert x.shape == (40, 8, 256) and x.dtype == np.float32 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [14, 13, 13]
    # Spike trials carry sharp high-amplitude transients: high-passed peak amplitude doubles.
    kernel = np.ones(32) / 32
    high = x - np.apply_along_axis(lambda v: np.convolve(v, kernel, mode="same"), 2, x)
    peak = np.abs(high).max(2).max(1)
    assert np.median(peak[y == 2]) > 1.8 * np.median(peak[y == 0])
    spec = np.abs(np.fft.rfft(x, axis=2)) ** 2
    f = np.fft.rfftfreq(256, 1 / 128.0)
    alpha = spec[..., (f >= 8) & (f <= 12)].sum(-1).max(1)
    assert np.median(alpha[y == 1]) > 2 * np.median(alpha[y == 0])
    x2, y2 = simulate_eeg_trials(
        n_trials=40, n_chans=8, sfreq=128.0, n_times=256, classes=["background", "alpha_burst", "spike"], seed=0
    )
    np.testing.assert_array_equal(x, x2)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(sfreq=0.0), "'sfreq' must be > 0"),
        (dict(sfreq=-5.0), "'sfreq' must be > 0"),
        (dict(n_chans=0), "'n_chans'"),
        (dict(n_chans=200), "'n_chans'"),
        (dict(kind="meg"), "'kind'"),
        (dict(duration=0.0), "'duration'"),
        (dict(motifs=["alpha", "spike"]), "'motifs'"),
        (dict(duration=10.0, events_per_minute=60.0), "'events_per_minute' must be small enough"),
        (dict(line_freq=200.0), "'line_freq'"),
    ],
)
def test_bad_parameters(kwargs, match):
    base = dict(n_chans=4, sfreq=128.0, duration=10.0, events_per_minute=2.0)
    base.update(kwargs)
    with pytest.raises(ValueError, match=re.escape(match) if "'" in match and " " in match else match):
        simulate_eeg(**base)


def test_trials_bad_parameters():
    with pytest.raises(ValueError, match="'n_times'"):
        simulate_eeg_trials(n_trials=4, n_chans=4, sfreq=128.0, n_times=32, classes=["alpha_burst"])
    with pytest.raises(ValueError, match="'sfreq'"):
        simulate_eeg_trials(n_trials=4, n_chans=4, sfreq=0.0, n_times=32, classes=["background"])
    with pytest.raises(ValueError, match="'motifs'"):
        simulate_eeg_trials(n_trials=4, n_chans=4, sfreq=128.0, n_times=256, classes=["blink"])
