"""TFM-Tokenizer on simulated EEG: motif-specific tokens, classifier, stages, MiniRocket, benchmarks."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from neurocodec.datasets.simulate import simulate_eeg, simulate_eeg_trials
from neurocodec.features.tokenizer import (
    MiniRocketClassifier,
    TFMClassifier,
    TFMTokenizer,
    TrainConfig,
    continuous_windows,
    mutual_information,
    prepare_trials,
    tokenize_signals,
    train_tokenizer,
)
from neurocodec.features.tokenizer._sources import frame_motif_labels

ROOT = Path(__file__).resolve().parent.parent
TINY = dict(n_codes=32, emb_size=16, n_heads=2, freq_depth=1, temporal_depth=1, decoder_depth=1, restart_after=3)


def test_tokens_are_motif_specific():
    """MI(token; planted motif) per channel-frame is well above its shuffled-label chance level."""
    rec = simulate_eeg(n_chans=6, sfreq=200.0, duration=90.0, motifs=("alpha_burst", "slow_wave", "spike"),
                       events_per_minute=12.0, seed=1)
    x = prepare_trials(rec.raw.get_data()[None].astype(np.float32), 200.0)[0]
    windows, n_frames = continuous_windows(x, 2000)
    signals = windows.reshape(-1, 2000)
    torch.manual_seed(0)
    model = TFMTokenizer(**dict(TINY, n_codes=16))
    hist = train_tokenizer(model, signals, TrainConfig(epochs=3, batch_size=32, seed=0))
    assert np.isfinite(hist["loss"]).all() and hist["active_codes"][-1] > 4
    tokens = tokenize_signals(model, signals).reshape(len(windows), 6, -1).transpose(1, 0, 2).reshape(6, -1)[:, :n_frames]
    labels = frame_motif_labels(rec.motifs, rec.raw.ch_names, n_frames)
    assert (labels != "background").mean() > 0.1
    mi = mutual_information(tokens, labels)
    rng = np.random.default_rng(0)
    chance = [mutual_information(tokens, rng.permutation(labels.ravel())) for _ in range(10)]
    # plug-in MI is biased upwards: compare with the same estimate on shuffled labels
    assert mi > 2 * np.mean(chance) and mi > max(chance) + 0.03, (mi, chance)


def test_classifier_fit_predict_save_load(tmp_path):
    X, y = simulate_eeg_trials(n_trials=48, n_chans=4, sfreq=128.0, n_times=256, classes=("background", "slow_wave"),
                               seed=0)
    clf = TFMClassifier(tokenizer_config=TINY, encoder_config=dict(depth=1, n_heads=2), tokenizer_epochs=1,
                        pretrain_epochs=1, finetune_epochs=15, tokenizer_batch_size=64, batch_size=16, patience=0,
                        val_fraction=0.25, lr=3e-3, seed=0, scaling="channel", center="auto", threshold="prior")
    clf.fit(X, y, sfreq=128.0)
    assert clf.scale_.shape == (1, 4, 1) and np.isfinite(clf.history_["finetune"]["threshold"])
    proba = clf.predict_proba(X, sfreq=128.0)
    assert proba.shape == (48, 2) and np.allclose(proba.sum(1), 1, atol=1e-5)
    assert clf.transform(X[:2], sfreq=128.0).shape == (2, 4, 3)
    assert set(clf.history_) == {"tokenizer", "pretrain", "finetune", "head"} and clf.history_["head"] == "encoder"
    loss = clf.history_["finetune"]["loss"]
    assert len(loss) == 15 and loss[-1] < loss[0]
    assert len(clf.history_["finetune"]["val_score"]) == 15 and clf.history_["finetune"]["best_epoch"] is not None
    clf.save_pretrained(tmp_path / "clf")
    again = TFMClassifier.from_pretrained(tmp_path / "clf")
    np.testing.assert_allclose(again.predict_proba(X, sfreq=128.0), proba, atol=1e-6)
    with pytest.raises(ValueError, match="'n_chans' of X must be 4"):
        again.predict(X[:, :3], sfreq=128.0)
    with pytest.raises(RuntimeError, match="not fitted"):
        TFMClassifier().predict(X, sfreq=128.0)
    with pytest.raises(ValueError, match="'threshold'"):
        TFMClassifier(threshold="best").fit(X, y, sfreq=128.0)
    # k-fold fine-tuning ensemble on the trained tokenizer: k encoders, averaged, saved and loaded
    ens = TFMClassifier(tokenizer=clf.tokenizer_, encoder_config=dict(depth=1, n_heads=2), pretrain_epochs=0,
                        finetune_epochs=2, batch_size=16, n_folds=2, seed=0).fit(X, y, sfreq=128.0)
    assert len(ens.encoders_) == 2 and len(ens.history_["folds"]) == 2
    p_ens = ens.predict_proba(X, sfreq=128.0)
    from neurocodec.features.tokenizer._train import predict_proba as _pp
    tok = ens.transform(X, sfreq=128.0)
    np.testing.assert_allclose(p_ens, (_pp(ens.encoders_[0], tok) + _pp(ens.encoders_[1], tok)) / 2, atol=1e-6)
    ens.save_pretrained(tmp_path / "ens")
    np.testing.assert_allclose(TFMClassifier.from_pretrained(tmp_path / "ens").predict_proba(X, sfreq=128.0), p_ens,
                               atol=1e-6)


def test_classifier_shift_views(tmp_path):
    """n_shifts: views on sub-hop frame grids, trained on all, probabilities averaged over views; saved."""
    from neurocodec.features.tokenizer._train import predict_proba as _pp

    X, y = simulate_eeg_trials(n_trials=24, n_chans=3, sfreq=200.0, n_times=500, classes=("background", "slow_wave"),
                               seed=1)
    clf = TFMClassifier(tokenizer_config=TINY, encoder_config=dict(depth=1, n_heads=2), tokenizer_epochs=1,
                        pretrain_epochs=1, finetune_epochs=2, tokenizer_batch_size=32, batch_size=16, patience=0,
                        n_shifts=4, head="mean", seed=0).fit(X, y, sfreq=200.0)
    views = clf.transform_views(X, sfreq=200.0)
    assert views.shape == (4, 24, 3, 3)  # 500 - 100 samples per view: 3 frames
    x = prepare_trials(X, 200.0)
    # view i is the trial from sample 25 * i, tokenized like any signal
    third = tokenize_signals(clf.tokenizer_, np.ascontiguousarray(x[:, :, 50:450]).reshape(72, -1)).reshape(24, 3, -1)
    np.testing.assert_array_equal(views[2], third)
    assert clf.transform(X, sfreq=200.0).shape == (24, 3, 4)  # the reference grid, whole trial
    flat = views.reshape(-1, 3, 3)
    expected = (_pp(clf.encoder_, flat).reshape(4, 24, 2).mean(0)
                + clf.token_head_.predict_proba(flat).reshape(4, 24, 2).mean(0)) / 2
    proba = clf.predict_proba(X, sfreq=200.0)
    np.testing.assert_allclose(proba, expected, atol=1e-6)
    clf.save_pretrained(tmp_path / "clf")
    again = TFMClassifier.from_pretrained(tmp_path / "clf")
    assert again.n_shifts == 4
    np.testing.assert_allclose(again.predict_proba(X, sfreq=200.0), proba, atol=1e-6)
    with pytest.raises(ValueError, match="'n_shifts' must be an integer >= 1, got 0"):
        TFMClassifier(n_shifts=0).fit(X, y, sfreq=200.0)
    with pytest.raises(ValueError, match="'n_times' of trials must be >= 300"):
        clf.predict_proba(X[:, :, :250], sfreq=200.0)


def test_stages_end_to_end(tmp_path):
    from neurocodec.pipeline import ArtifactStore, get_stage, run_pipeline
    from neurocodec.pipeline.report import Section

    config = {"stages": {
        "sim": {"stage": "simulate_eeg", "params": {"n_chans": 4, "sfreq": 200.0, "duration": 60.0,
                                                     "motifs": ["slow_wave"], "events_per_minute": 15.0}},
        "tok": {"stage": "tfm_tokenize", "inputs": {"recording": "sim"},
                "params": {"n_codes": 32, "emb_size": 16, "n_heads": 2, "freq_depth": 1, "temporal_depth": 1,
                           "decoder_depth": 1, "epochs": 1, "batch_size": 64, "restart_after": 2}},
        "pre": {"stage": "tfm_pretrain", "inputs": {"tokens": "tok"}, "params": {"depth": 1, "n_heads": 2, "epochs": 1}},
        "fin": {"stage": "tfm_finetune", "inputs": {"tokens": "tok", "pretrained": "pre"}, "params": {"epochs": 2}},
        "ev": {"stage": "tfm_evaluate", "inputs": {"tokens": "tok", "model": "fin"}},
    }}
    summary = run_pipeline(config, cache=tmp_path / "cache", show_progress=False, report=False)
    assert all(r.status == "ran" for r in summary.results), [(r.step_id, r.error) for r in summary.results]
    store = ArtifactStore(tmp_path / "cache")
    arts = {r.stage: store.open(r.stage, r.key) for r in summary.results}
    tok_dir = arts["tfm_tokenize"].path
    tokens = np.load(tok_dir / "tokens.npy")
    assert tokens.shape == (30, 4, 3) and tokens.dtype == np.int32
    assert np.load(tok_dir / "recording_tokens.npy").shape == (4, 119)
    stats = json.loads((tok_dir / "stats.json").read_text())
    assert stats["motif_mi_bits"] > stats["motif_mi_chance_bits"]
    metrics = arts["tfm_evaluate"].load("metrics")
    assert {"balanced_accuracy", "kappa", "weighted_f1", "auroc"} <= set(metrics)
    for stage in ("tfm_tokenize", "tfm_pretrain", "tfm_finetune", "tfm_evaluate"):
        section = get_stage(stage).report(arts[stage])
        assert isinstance(section, Section) and section.blocks


def test_stages_offset_removal_and_threshold(tmp_path):
    """center='auto' removes a constant amplifier offset (fitted on training trials); threshold='prior' is recorded;
    dc='signed' reaches the saved tokenizer."""
    from neurocodec.pipeline import ArtifactStore, run_pipeline

    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 2, 400)).astype(np.float32)
    X[:, 1] += 500.0  # a DC-coupled electrode offset, the same in every trial
    y = np.repeat(["a", "b"], 20)
    np.savez(tmp_path / "trials.npz", X=X, y=y, sfreq=200.0)
    small = {"n_codes": 16, "emb_size": 16, "n_heads": 2, "freq_depth": 1, "temporal_depth": 1, "decoder_depth": 1,
             "epochs": 1, "batch_size": 32, "restart_after": 0, "scaling": "channel", "center": "auto", "dc": "signed"}
    config = {"stages": {
        "tok": {"stage": "tfm_tokenize", "inputs": {"source": str(tmp_path / "trials.npz")}, "params": small},
        "fin": {"stage": "tfm_finetune", "inputs": {"tokens": "tok"},
                "params": {"epochs": 1, "depth": 1, "threshold": "prior", "val_fraction": 0.3}},
    }}
    summary = run_pipeline(config, cache=tmp_path / "cache", show_progress=False, report=False)
    assert all(r.status == "ran" for r in summary.results), [(r.step_id, r.error) for r in summary.results]
    store = ArtifactStore(tmp_path / "cache")
    arts = {r.stage: store.open(r.stage, r.key) for r in summary.results}
    offset = json.loads((arts["tfm_tokenize"].path / "stats.json").read_text())["offset"]
    assert abs(offset[0]) < 1.0 and abs(offset[1] - 500.0) < 1.0  # only the constant offset is removed
    assert json.loads((arts["tfm_tokenize"].path / "tokenizer" / "config.json").read_text())["dc"] == "signed"
    history = json.loads((arts["tfm_finetune"].path / "history.json").read_text())
    assert "threshold" in history and np.isfinite(history["threshold"])


def test_minirocket_separates_frequencies_and_checks_input():
    rng = np.random.default_rng(0)
    t = np.arange(200) / 100.0
    f = np.where(np.arange(60) % 2, 5.0, 12.0)
    X = (np.sin(2 * np.pi * f[:, None, None] * t + rng.uniform(0, 6, (60, 2, 1)))
         + 0.5 * rng.standard_normal((60, 2, 200))).astype(np.float32)
    y = (np.arange(60) % 2).astype(int)
    clf = MiniRocketClassifier(n_features=840, random_state=0).fit(X[:40], y[:40])
    assert clf.rocket_.transform(X[:3]).shape == (3, 840)
    assert (clf.predict(X[40:]) == y[40:]).mean() > 0.9
    again = MiniRocketClassifier(n_features=840, random_state=0).fit(X[:40], y[:40])
    np.testing.assert_array_equal(again.rocket_.transform(X[:5]), clf.rocket_.transform(X[:5]))
    with pytest.raises(ValueError, match="'n_chans'"):
        clf.predict(X[:, :1])


def _run_bench(name, *args):
    env = dict(os.environ, NEUROCODEC_THREADS="1")
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / f"{name}.py"), "--quick", *args], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_speed_benchmark_quick():
    res = _run_bench("tokenizer_speed", "--minutes", "0.2")
    assert {"channel_hours_per_s", "train_step_s", "peak_rss_mb"} <= set(res)
    assert res["channel_hours_per_s"] > 0 and res["train_step_s"] > 0


@pytest.mark.realdata
@pytest.mark.slow
def test_uea_benchmark_quick(shared_data):
    res = _run_bench("uea_eeg")
    for row in res["datasets"].values():
        for method in ("tfm", "baseline"):
            assert {"balanced_accuracy", "kappa", "weighted_f1", "auroc"} <= set(row[method])
