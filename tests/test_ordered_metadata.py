"""Ordered metadata is never re-sorted (issue #22): a non-alphabetical order of bands, channels, classes, layers,
ROIs and subjects survives every writer (JSON headers, TSV tables, stage info files) and the report labels match
the array axes they label."""

from __future__ import annotations

import numpy as np

BANDS = {"theta": [4.0, 8.0], "alpha": [8.0, 12.0], "beta": [13.0, 30.0]}  # not alphabetical


def test_save_json_keeps_key_order(tmp_path):
    from neurocodec.pipeline import load_json, save_json

    save_json(tmp_path / "x.json", {"bands": BANDS, "classes": {"b": 0, "a": 1}})
    back = load_json(tmp_path / "x.json")
    assert list(back) == ["bands", "classes"]
    assert list(back["bands"]) == ["theta", "alpha", "beta"] and list(back["classes"]) == ["b", "a"]


def test_kinds_round_trip_their_orders(tmp_path):
    from neurocodec.datasets.kinds import Connectomes, EpochsData, RoiTimeseries, StimulusFeatures

    rng = np.random.default_rng(0)
    X = rng.standard_normal((4, 2, 64)).astype(np.float32)
    ep = EpochsData(
        X,
        128.0,
        ["Cz", "Az"],
        y=np.array([0, 1, 0, 1]),
        label_names=["b", "a"],
        info={"bands": BANDS},
    )
    back = EpochsData.load(ep.save(tmp_path / "ep"))
    assert back.ch_names == ["Cz", "Az"] and back.label_names == ["b", "a"]
    assert list(back.info["bands"]) == list(BANDS)
    np.testing.assert_array_equal(back.X[:, 0], X[:, 0])  # channel 0 is still Cz's data
    assert list(back.labels()) == ["b", "a", "b", "a"]

    sets = {"layer3": rng.standard_normal((3, 4)), "layer1": rng.standard_normal((3, 2))}
    feats = StimulusFeatures(sets, "test", ["img2", "img1", "img3"])
    fb = StimulusFeatures.load(feats.save(tmp_path / "feats"))
    assert list(fb.sets) == ["layer3", "layer1"] and fb.image_names == ["img2", "img1", "img3"]
    np.testing.assert_allclose(fb.sets["layer1"], sets["layer1"])

    subjects = {"subject": ["s2", "s1"], "site": ["z", "a"]}
    mats = np.stack([np.eye(2), 0.5 + 0.5 * np.eye(2)])
    con = Connectomes(
        mats, subjects, rois={"name": ["Z", "A"]}, info={"measure": "correlation", "order": {"z": 1, "a": 2}}
    )
    cb = Connectomes.load(con.save(tmp_path / "con"))
    assert list(cb.subjects["subject"]) == ["s2", "s1"] and list(cb.rois["name"]) == ["Z", "A"]
    assert list(cb.info["order"]) == ["z", "a"]
    np.testing.assert_allclose(cb.matrices[1], mats[1])  # row 1 is still s1's matrix

    series = {"s2": rng.standard_normal((20, 2)), "s1": rng.standard_normal((25, 2))}
    ts = RoiTimeseries(series, subjects, rois={"name": ["Z", "A"]})
    tb = RoiTimeseries.load(ts.save(tmp_path / "ts"))
    assert list(tb.timeseries) == ["s2", "s1"] and list(tb.subjects["subject"]) == ["s2", "s1"]
    np.testing.assert_allclose(tb.timeseries["s1"], series["s1"])


def test_eeg_connectivity_bands_and_channels_match_arrays_and_report(tmp_path, monkeypatch):
    """Through the engine: rows of the arrays, info.json labels and the report's row labels agree."""
    import matplotlib.axes

    from neurocodec.features.connectivity import eeg_connectivity
    from neurocodec.features.connectivity.stages import EEGConnectivity, _read_epochs
    from neurocodec.pipeline import ArtifactStore, run_pipeline

    cfg = {
        "stages": {
            "eeg": {"stage": "simulate_eeg", "params": {"n_chans": 3, "sfreq": 128.0, "duration": 12.0, "seed": 0}},
            "ep": {"stage": "epoch_eeg", "params": {"window": 2.0}, "inputs": {"raw": "eeg"}},
            "con": {
                "stage": "eeg_connectivity",
                "inputs": {"epochs": "ep"},
                "params": {"methods": ["coh"], "bands": BANDS, "by_label": False},
            },
        }
    }
    summary = run_pipeline(cfg, cache=tmp_path, show_progress=False, report=False)
    assert summary.ok, [r.error for r in summary.results]
    key = {r.step_id: r.key for r in summary.results}
    store = ArtifactStore(tmp_path)
    art = store.open("eeg_connectivity", key["con"])
    info = art.load("info")
    assert info["bands"] == list(BANDS) and info["band_edges"] == list(BANDS.values())
    X, sfreq, ch_names, _ = _read_epochs(store.open("epoch_eeg", key["ep"]))
    assert info["ch_names"] == list(ch_names)
    conn = art.load("connectivity")["coh"][0]
    for i, (name, edges) in enumerate(BANDS.items()):  # row i is band i, computed alone
        direct = eeg_connectivity(X, sfreq, bands={name: edges}, methods=["coh"])["coh"][0]
        np.testing.assert_allclose(conn[i], direct, rtol=1e-4, atol=1e-6)
    labels = []
    original = matplotlib.axes.Axes.set_ylabel
    monkeypatch.setattr(
        matplotlib.axes.Axes, "set_ylabel", lambda ax, text, **kw: labels.append(text) or original(ax, text, **kw)
    )
    assert EEGConnectivity.report(art).blocks
    assert labels == list(BANDS)  # the figure's rows, top to bottom


def test_epoch_labels_match_their_events(tmp_path):
    """epoch_eeg with an event_id given in non-alphabetical order: every epoch's label is its event's."""
    from neurocodec.datasets.kinds import EpochsData
    from neurocodec.pipeline import ArtifactStore, load_table, run_pipeline

    cfg = {
        "stages": {
            "r": {
                "stage": "simulate_eeg",
                "params": {
                    "n_chans": 3,
                    "sfreq": 128.0,
                    "duration": 30.0,
                    "motifs": ["spindle", "alpha_burst"],
                    "events_per_minute": 8.0,
                },
            },
            "e": {
                "stage": "epoch_eeg",
                "params": {"tmin": 0.0, "tmax": 0.5, "event_id": {"spindle": 2, "alpha_burst": 1}},
                "inputs": {"raw": "r"},
            },
        }
    }
    summary = run_pipeline(cfg, cache=tmp_path, show_progress=False, report=False)
    assert summary.ok, [r.error for r in summary.results]
    art = ArtifactStore(tmp_path).open("epoch_eeg", {r.step_id: r.key for r in summary.results}["e"])
    events = load_table(art.file("events"))
    ep = EpochsData.load(art.as_kind("epochs", art.path / "epochs"))
    assert len(events) == len(ep.X) and set(events["labels"]) == {"spindle", "alpha_burst"}
    assert list(ep.labels()) == list(events["labels"])
    event_id = art.load("info")["event_id"]
    assert all(event_id[lab] == code for lab, code in zip(events["labels"], events["code"]))
