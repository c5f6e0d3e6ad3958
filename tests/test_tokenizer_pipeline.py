"""TFM-Tokenizer on simulated EEG: motif-specific tokens, classifier, stages, MiniRocket, benchmarks."""

import json

import numpy as np
import pytest
import torch
from sklearn.base import clone

from neurocodec.baselines import MiniRocketClassifier
from neurocodec.datasets.simulate import simulate_eeg, simulate_eeg_trials
from neurocodec.features.tokenizer import (
    TFMClassifier,
    TFMEnsembleClassifier,
    TFMTokenizer,
    TrainConfig,
    continuous_windows,
    prepare_trials,
    tokenize_signals,
    train_tokenizer,
)
from neurocodec.features.tokenizer._stats import frame_motif_labels, mutual_information

TINY = dict(n_codes=32, emb_size=16, n_heads=2, freq_depth=1, temporal_depth=1, decoder_depth=1, restart_after=3)


def test_tokens_are_motif_specific():
    """MI(token; planted motif) per channel-frame is well above its shuffled-label chance level."""
    rec = simulate_eeg(
        n_chans=6,
        sfreq=200.0,
        duration=90.0,
        motifs=("alpha_burst", "slow_wave", "spike"),
        events_per_minute=12.0,
        seed=1,
    )
    x = prepare_trials(rec.raw.get_data()[None].astype(np.float32), 200.0)[0]
    windows, n_frames = continuous_windows(x, 2000)
    signals = windows.reshape(-1, 2000)
    torch.manual_seed(0)
    model = TFMTokenizer(**dict(TINY, n_codes=16))
    hist = train_tokenizer(model, signals, TrainConfig(epochs=3, batch_size=32, seed=0), sfreq=200.0)
    assert np.isfinite(hist["loss"]).all() and hist["active_codes"][-1] > 4
    tokens = (
        tokenize_signals(model, signals, sfreq=200.0)
        .reshape(len(windows), 6, -1)
        .transpose(1, 0, 2)
        .reshape(6, -1)[:, :n_frames]
    )
    labels = frame_motif_labels(rec.motifs, rec.raw.ch_names, n_frames)
    assert (labels != "background").mean() > 0.1
    mi = mutual_information(tokens, labels)
    rng = np.random.default_rng(0)
    chance = [mutual_information(tokens, rng.permutation(labels.ravel())) for _ in range(10)]
    # plug-in MI is biased upwards: compare with the same estimate on shuffled labels
    assert mi > 2 * np.mean(chance) and mi > max(chance) + 0.03, (mi, chance)


def _tiny_clf(**kw):
    base = dict(
        tokenizer_config=TINY,
        encoder_config=dict(depth=1, n_heads=2),
        tokenizer_epochs=1,
        pretrain_epochs=1,
        finetune_epochs=15,
        tokenizer_batch_size=64,
        batch_size=16,
        patience=0,
        val_fraction=0.25,
        lr=3e-3,
        seed=0,
        scaling="channel",
        center="auto",
        threshold="auto",
    )
    return TFMClassifier(**dict(base, **kw))


def test_classifier_fit_predict_save_load(tmp_path, single_thread):
    X, y = simulate_eeg_trials(
        n_trials=48, n_chans=4, sfreq=128.0, n_times=256, classes=("background", "slow_wave"), seed=0
    )
    clf = _tiny_clf()
    assert clone(clf).get_params() == clf.get_params()  # a scikit-learn estimator
    clf.fit(X, y, sfreq=128.0)
    assert clf.scale_.shape == (1, 4, 1) and np.isfinite(clf.history_["finetune"]["threshold"])
    proba = clf.predict_proba(X, sfreq=128.0)
    assert proba.shape == (48, 2) and np.allclose(proba.sum(1), 1, atol=1e-5)
    assert clf.transform(X[:2], sfreq=128.0).shape == (2, 4, 3)
    assert set(clf.history_) == {"tokenizer", "pretrain", "finetune"}
    fin = clf.history_["finetune"]
    assert len(fin["loss"]) == 15 and max(fin["val_score"]) > fin["val_score"][0] and fin["best_epoch"] is not None
    assert "detected" in clf.history_["finetune"]["collapse"]
    clf.save_pretrained(tmp_path / "clf")
    again = TFMClassifier.from_pretrained(tmp_path / "clf")
    np.testing.assert_allclose(again.predict_proba(X, sfreq=128.0), proba, atol=1e-6)
    # bad input: another channel count or rate than the trained model, named with both
    with pytest.raises(
        ValueError,
        match=r"The 'n_chans' of X must be 4 \(the channels the model was trained on\), "
        r"got 3",
    ):
        again.predict(X[:, :3], sfreq=128.0)
    with pytest.raises(
        ValueError,
        match=r"The 'sfreq' of X must be 128 Hz \(the rate the model was trained at\), "
        r"got <200 Hz>",
    ):
        again.predict(X, sfreq=200.0)
    with pytest.raises(RuntimeError, match="not fitted"):
        TFMClassifier().predict(X, sfreq=128.0)
    with pytest.raises(ValueError, match="'threshold' must be 'fixed' or 'auto'"):
        TFMClassifier(threshold="prior").fit(X, y, sfreq=128.0)
    # a frozen tokenizer (transfer): not trained again, its tokens unchanged
    frozen = _tiny_clf(tokenizer=tmp_path / "clf" / "tokenizer", finetune_epochs=2).fit(X, y, sfreq=128.0)
    assert "tokenizer" not in frozen.history_
    np.testing.assert_array_equal(frozen.transform(X, sfreq=128.0), clf.transform(X, sfreq=128.0))


def test_ensemble_is_cloned_members(tmp_path, single_thread):
    X, y = simulate_eeg_trials(
        n_trials=32, n_chans=2, sfreq=200.0, n_times=400, classes=("background", "slow_wave"), seed=2
    )
    ens = TFMEnsembleClassifier(_tiny_clf(finetune_epochs=2, seed=5), n_members=2)
    assert clone(ens).get_params()["n_members"] == 2
    ens.fit(X, y, sfreq=200.0)
    assert [m.seed for m in ens.members_] == [5, 6]
    p = ens.predict_proba(X, sfreq=200.0)
    np.testing.assert_allclose(
        p,
        (ens.members_[0].predict_proba(X, sfreq=200.0) + ens.members_[1].predict_proba(X, sfreq=200.0)) / 2,
        atol=1e-6,
    )
    ens.save_pretrained(tmp_path / "ens")
    np.testing.assert_allclose(
        TFMEnsembleClassifier.from_pretrained(tmp_path / "ens").predict_proba(X, sfreq=200.0), p, atol=1e-6
    )


@pytest.mark.parametrize("n_classes", [2, 3])
def test_collapse_is_detected_remedied_and_reported(n_classes, single_thread, caplog):
    """Tiny data made to collapse: labels independent of the signals, a learning rate that saturates at once."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((36, 1, 400)).astype(np.float32)
    y = np.arange(36) % n_classes
    clf = _tiny_clf(lr=0.3, finetune_epochs=3, patience=1, pretrain_epochs=0, threshold="fixed", val_fraction=0.34)
    with pytest.warns(RuntimeWarning, match="did not beat constant prediction"):
        clf.fit(X, y, sfreq=200.0)
    rec = clf.history_["finetune"]["collapse"]
    assert rec["detected"] and not rec["resolved"] and rec["kept"] in ("first", "remedy")
    assert rec["remedy"]["class_weight"] == "balanced" and rec["constant_score"] == (0.5 if n_classes == 2 else 0.0)
    assert "did not beat constant prediction" in caplog.text


def test_epochs_kind_roundtrip_and_grouped_folds(tmp_path):
    import pandas as pd

    from neurocodec.datasets.kinds import EpochsData

    rng = np.random.default_rng(0)
    seg = np.repeat(np.arange(30), 4)  # 30 segments x 4 windows
    y = (seg % 3).astype(np.int64)
    ep = EpochsData(
        rng.standard_normal((120, 1, 50)),
        100.0,
        ["Cz"],
        y=y,
        label_names=["a", "b", "c"],
        groups=pd.DataFrame({"segment": [f"s{i}" for i in seg]}),
        info={"source": "test"},
        extras={"truth": np.arange(120)},
    )
    again = EpochsData.load(ep.save(tmp_path / "ep"))
    np.testing.assert_array_equal(again.X, ep.X)
    assert again.X.dtype == np.float32 and again.labels()[:3].tolist() == ["a", "a", "a"]
    assert list(again.groups.columns) == ["segment", "subject", "session", "recording"]
    np.testing.assert_array_equal(again.extras["truth"], np.arange(120))
    folds = again.folds(5, group="segment", seed=3)
    tested = np.concatenate([te for _, te in folds])
    assert sorted(tested.tolist()) == list(range(120))  # every window tested once
    for tr, te in folds:
        assert not set(again.groups.segment[tr]) & set(again.groups.segment[te])  # a segment never on both sides
        assert np.bincount(y[te], minlength=3).min() >= 4  # stratified
    with pytest.raises(ValueError, match="The 'n_folds' must be an integer in \\[2, 10\\]"):
        again.folds(11)
    with pytest.raises(ValueError, match="The 'y' of epochs must be integer class indices"):
        EpochsData(ep.X, 100.0, ["Cz"], y=np.zeros(3), label_names=["a"])
    with pytest.raises(ValueError, match="The 'ch_names' of epochs must be 1 names"):
        EpochsData(ep.X, 100.0, ["Cz", "Pz"])
    (tmp_path / "ep" / "epochs.json").write_text(json.dumps({"kind": "epochs", "version": 99}))
    with pytest.raises(ValueError, match="The 'version' of .* must be 1"):
        EpochsData.load(tmp_path / "ep")


def test_cross_validate_protocols(single_thread):
    import pandas as pd

    from neurocodec.datasets.kinds import EpochsData
    from neurocodec.features.tokenizer import cross_validate

    X, lab = simulate_eeg_trials(
        n_trials=36, n_chans=1, sfreq=200.0, n_times=400, classes=("background", "slow_wave", "alpha_burst"), seed=3
    )
    lab = lab.astype(str)
    names = sorted(set(lab))
    seg = np.arange(36) // 2
    ep = EpochsData(
        X,
        200.0,
        ["EEG"],
        y=np.searchsorted(names, lab),
        label_names=names,
        groups=pd.DataFrame({"segment": seg.astype(str)}),
    )
    res = cross_validate(
        ep,
        {"two": [[names[0]], [names[1]]], "all": [[n] for n in names]},
        _tiny_clf(finetune_epochs=2, pretrain_epochs=0),
        n_folds=3,
        seed=0,
    )
    for name, k in (("two", 2), ("all", 3)):
        p = res["protocols"][name]
        assert len(p["folds"]) == 3 and p["classes"] == ([names[0], names[1]] if k == 2 else names)
        assert set(p["balanced_accuracy"]) == {"mean", "sd"} and 0 <= p["balanced_accuracy"]["mean"] <= 1
        pred = res["predictions"][name]
        assert pred["proba"].shape[1] == k and len(np.unique(pred["trial"])) == len(pred["trial"])
    assert len(res["predictions"]["all"]["trial"]) == 36


TINY_STAGE = {
    "n_codes": 32,
    "emb_size": 16,
    "n_heads": 2,
    "freq_depth": 1,
    "temporal_depth": 1,
    "decoder_depth": 1,
    "epochs": 1,
    "batch_size": 64,
    "restart_after": 2,
}


def test_stages_end_to_end(tmp_path, single_thread):
    """simulate_eeg -> epoch_eeg (windows labelled by their motif) -> tfm_tokenize -> pretrain -> finetune -> evaluate;
    a second tokenize step reusing the first one's tokenizer gives the same tokens, and so does from_pretrained of
    the saved tokenizer outside the pipeline."""
    from neurocodec.datasets.kinds import EpochsData
    from neurocodec.pipeline import ArtifactStore, get_stage, run_pipeline
    from neurocodec.pipeline.report import Section

    config = {
        "stages": {
            "sim": {
                "stage": "simulate_eeg",
                "params": {
                    "n_chans": 4,
                    "sfreq": 200.0,
                    "duration": 60.0,
                    "motifs": ["slow_wave"],
                    "events_per_minute": 15.0,
                },
            },
            "win": {"stage": "epoch_eeg", "params": {"window": 2.0, "label_windows": True}, "inputs": {"raw": "sim"}},
            "tok": {"stage": "tfm_tokenize", "inputs": {"epochs": "win"}, "params": TINY_STAGE},
            "tok2": {"stage": "tfm_tokenize", "inputs": {"epochs": "win", "pretrained": "tok"}, "params": TINY_STAGE},
            "pre": {
                "stage": "tfm_pretrain",
                "inputs": {"tokens": "tok"},
                "params": {"depth": 1, "n_heads": 2, "epochs": 1},
            },
            "fin": {"stage": "tfm_finetune", "inputs": {"tokens": "tok", "pretrained": "pre"}, "params": {"epochs": 2}},
            "ev": {"stage": "tfm_evaluate", "inputs": {"tokens": "tok", "model": "fin"}},
        }
    }
    summary = run_pipeline(config, cache=tmp_path / "cache", show_progress=False, report=False)
    assert all(r.status == "ran" for r in summary.results), [(r.step_id, r.error) for r in summary.results]
    store = ArtifactStore(tmp_path / "cache")
    arts = {r.step_id: store.open(r.stage, r.key) for r in summary.results}
    ep = EpochsData.load(arts["win"].file("epochs"))
    assert ep.X.shape == (30, 4, 400) and set(ep.label_names) == {"background", "slow_wave"}
    tokens = np.load(arts["tok"].path / "tokens.npy")
    assert tokens.shape == (30, 4, 3) and tokens.dtype == np.int32
    np.testing.assert_array_equal(np.load(arts["tok2"].path / "tokens.npy"), tokens)  # the frozen tokenizer
    stats = json.loads((arts["tok"].path / "stats.json").read_text())
    assert stats["label_mi_bits"] > stats["label_mi_chance_bits"] and not stats["pretrained"]
    # the saved tokenizer, loaded anywhere, gives the same tokens of the same (scaled) trials
    tok = TFMTokenizer.from_pretrained(arts["tok"].file("tokenizer"))
    extra = TFMTokenizer.read_info(arts["tok"].file("tokenizer"))
    x = prepare_trials(ep.X, ep.sfreq, scaling="trial")
    assert extra["scaling"] == "trial" and extra["sfreq_in"] == 200.0
    again = tokenize_signals(tok, x.reshape(-1, x.shape[-1]), sfreq=200.0).reshape(tokens.shape)
    np.testing.assert_array_equal(again, tokens)
    metrics = arts["ev"].load("metrics")
    assert {"balanced_accuracy", "kappa", "weighted_f1", "auroc"} <= set(metrics)
    assert "collapse" in arts["fin"].load("history")
    for sid in ("tok", "pre", "fin", "ev"):
        section = get_stage(arts[sid].stage).report(arts[sid])
        assert isinstance(section, Section) and section.blocks


def test_stages_offset_removal_and_kind_checks(tmp_path, single_thread):
    """load_uea_eeg (official split kept) -> tfm_tokenize with center='auto' removing a constant amplifier offset
    fitted on training trials; tfm_cross_validate on the same epochs; a wrong kind is refused at plan time."""
    from neurocodec.pipeline import ArtifactStore, ConfigError, run_pipeline

    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 2, 400)).astype(np.float32)
    X[:, 1] += 500.0  # a DC-coupled electrode offset, the same in every trial
    y = np.repeat(["a", "b"], 20)
    (tmp_path / "Toy").mkdir()
    np.savez(tmp_path / "Toy" / "Toy.npz", X_train=X[::2], y_train=y[::2], X_test=X[1::2], y_test=y[1::2])
    (tmp_path / "Toy" / "Toy.json").write_text(json.dumps({"sfreq": 200.0}))
    small = dict(TINY_STAGE, n_codes=16, scaling="channel", center="auto", restart_after=0)
    config = {
        "stages": {
            "uea": {"stage": "load_uea_eeg", "params": {"name": "Toy"}, "inputs": {"root": str(tmp_path)}},
            "tok": {"stage": "tfm_tokenize", "inputs": {"epochs": "uea"}, "params": small},
            "fin": {
                "stage": "tfm_finetune",
                "inputs": {"tokens": "tok"},
                "params": {"epochs": 1, "depth": 1, "threshold": "auto", "val_fraction": 0.3},
            },
            "cv": {
                "stage": "tfm_cross_validate",
                "inputs": {"epochs": "uea"},
                "params": {
                    "protocols": {"ab": [["a"], ["b"]]},
                    "n_folds": 2,
                    "group": "recording",
                    "n_codes": 16,
                    "emb_size": 16,
                    "n_heads": 2,
                    "freq_depth": 1,
                    "temporal_depth": 1,
                    "decoder_depth": 1,
                    "depth": 1,
                    "tokenizer_epochs": 1,
                    "pretrain_epochs": 0,
                    "finetune_epochs": 1,
                },
            },
            "uni": {
                "stage": "tfm_train_tokenizer",
                "inputs": {"epochs": ["uea", "uea"]},
                "params": dict({k: v for k, v in small.items() if k not in ("pad_short",)}, window_s=1.0),
            },
            "tok_t": {"stage": "tfm_tokenize", "inputs": {"epochs": "uea", "pretrained": "uni"}, "params": small},
        }
    }
    summary = run_pipeline(config, cache=tmp_path / "cache", show_progress=False, report=False)
    assert all(r.status == "ran" for r in summary.results), [(r.step_id, r.error) for r in summary.results]
    store = ArtifactStore(tmp_path / "cache")
    arts = {r.step_id: store.open(r.stage, r.key) for r in summary.results}
    assert arts["tok"].load("split").tolist() == ["train"] * 20 + ["test"] * 20  # the official split
    offset = json.loads((arts["tok"].path / "stats.json").read_text())["offset"]
    assert abs(offset[0]) < 1.0 and abs(offset[1] - 500.0) < 1.0  # only the constant offset is removed
    history = arts["fin"].load("history")
    assert np.isfinite(history["threshold"]) and "detected" in history["collapse"]
    cv = arts["cv"].load("metrics")["protocols"]["ab"]
    assert len(cv["folds"]) == 2 and {"mean", "sd"} == set(cv["kappa"])
    uni = arts["uni"].load("stats")
    assert [c["n_signals"] for c in uni["sets"]] == [2 * 20 * 2] * 2  # 20 training trials x 2 channels x 2 windows
    assert json.loads((arts["tok_t"].path / "stats.json").read_text())["pretrained"]
    tok_u = TFMTokenizer.from_pretrained(arts["uni"].file("tokenizer"))
    assert tok_u.config == TFMTokenizer.from_pretrained(arts["tok_t"].file("tokenizer")).config
    bad = {
        "stages": {
            "uea": config["stages"]["uea"],
            "fin": {"stage": "tfm_finetune", "inputs": {"tokens": "uea"}, "params": {"epochs": 1}},
        }
    }
    with pytest.raises(ConfigError, match="tfm_tokens"):
        run_pipeline(bad, cache=tmp_path / "cache2", show_progress=False, report=False)


def test_minirocket_separates_frequencies_and_checks_input():
    rng = np.random.default_rng(0)
    t = np.arange(200) / 100.0
    f = np.where(np.arange(60) % 2, 5.0, 12.0)
    X = (
        np.sin(2 * np.pi * f[:, None, None] * t + rng.uniform(0, 6, (60, 2, 1)))
        + 0.5 * rng.standard_normal((60, 2, 200))
    ).astype(np.float32)
    y = (np.arange(60) % 2).astype(int)
    clf = MiniRocketClassifier(n_features=840, random_state=0).fit(X[:40], y[:40])
    assert clf.rocket_.transform(X[:3]).shape == (3, 840)
    assert (clf.predict(X[40:]) == y[40:]).mean() > 0.9
    again = MiniRocketClassifier(n_features=840, random_state=0).fit(X[:40], y[:40])
    np.testing.assert_array_equal(again.rocket_.transform(X[:5]), clf.rocket_.transform(X[:5]))
    with pytest.raises(ValueError, match="'n_chans'"):
        clf.predict(X[:, :1])
