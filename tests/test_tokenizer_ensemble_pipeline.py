"""The seed ensemble through the engine equals the library run by hand with the same seeds (bit for bit).

``load_uea_eeg -> tfm_tokenize -> tfm_pretrain -> tfm_finetune`` once per member (seeds 0, 1) ``-> tfm_evaluate``
(several models), and the transfer branch (``tfm_train_tokenizer`` frozen in ``tfm_tokenize``), against
``TFMEnsembleClassifier(TFMClassifier(...), n_members=2)``: the same tokens, fine-tuned weights, test
probabilities and metrics. This is what lets ``benchmarks/uea_eeg.py`` read its TFM figures from the configs.
"""

import json

import numpy as np
import pandas as pd
import torch
from sklearn.base import clone

from neurocodec.features.tokenizer import (
    TFMClassifier,
    TFMEnsembleClassifier,
    TFMTokenizer,
    TrainConfig,
    classification_metrics,
    fit_union_tokenizer,
)

TOK = dict(n_codes=16, emb_size=16, n_heads=2, freq_depth=1, temporal_depth=1, decoder_depth=1, restart_after=2)
SCALING = dict(scaling="channel", center="auto", pad_short=True)
K = 2


def _toy(root, seed=0):
    """A UEA-layout problem: 2 channels, 200 Hz, 2-s trials, class 'b' carries a 10-Hz rhythm on channel 0."""
    rng = np.random.default_rng(seed)
    y = np.tile(["a", "b"], 24)
    X = rng.standard_normal((len(y), 2, 400)).astype(np.float32)
    X[y == "b", 0] += np.sin(2 * np.pi * 10 * np.arange(400) / 200.0).astype(np.float32)
    X[:, 1] += 300.0  # a constant amplifier offset (center='auto' removes it)
    (root / "Toy").mkdir(parents=True)
    np.savez(root / "Toy" / "Toy.npz", X_train=X[:32], y_train=y[:32], X_test=X[32:], y_test=y[32:])
    (root / "Toy" / "Toy.json").write_text(json.dumps({"sfreq": 200.0}))
    return X[:32], y[:32], X[32:], y[32:]


def _config(root) -> dict:
    tokenize = dict(TOK, **SCALING, epochs=2, batch_size=32, max_signals_per_epoch=32)
    pretrain = dict(depth=1, n_heads=2, epochs=2, batch_size=8)
    finetune = dict(epochs=3, batch_size=8, patience=2, threshold="auto")
    stages = {
        "toy": {"stage": "load_uea_eeg", "params": {"name": "Toy"}, "inputs": {"root": str(root)}},
        "union": {
            "stage": "tfm_train_tokenizer",
            "params": dict(TOK, epochs=1, batch_size=16, max_signals_per_epoch=32, max_per_set=40),
            "inputs": {"epochs": ["toy"]},
        },
        "transfer_tokens": {
            "stage": "tfm_tokenize",
            "params": dict(SCALING),
            "inputs": {"epochs": "toy", "pretrained": "union"},
        },
    }
    for k in range(K):
        stages[f"tokens_{k}"] = {"stage": "tfm_tokenize", "params": dict(tokenize, seed=k), "inputs": {"epochs": "toy"}}
        for branch, tokens in (("", f"tokens_{k}"), ("transfer_", "transfer_tokens")):
            stages[f"{branch}pretrained_{k}"] = {
                "stage": "tfm_pretrain",
                "params": dict(pretrain, seed=k),
                "inputs": {"tokens": tokens},
            }
            stages[f"{branch}classifier_{k}"] = {
                "stage": "tfm_finetune",
                "params": dict(finetune, seed=k),
                "inputs": {"tokens": tokens, "pretrained": f"{branch}pretrained_{k}"},
            }
    stages["eval"] = {
        "stage": "tfm_evaluate",
        "inputs": {"tokens": [f"tokens_{k}" for k in range(K)], "model": [f"classifier_{k}" for k in range(K)]},
    }
    stages["transfer_eval"] = {
        "stage": "tfm_evaluate",
        "inputs": {"tokens": "transfer_tokens", "model": [f"transfer_classifier_{k}" for k in range(K)]},
    }
    return {"stages": stages}


def _template() -> TFMClassifier:
    """The library estimator with the parameters of the config above."""
    return TFMClassifier(
        tokenizer_config=TOK,
        encoder_config=dict(depth=1, n_heads=2),
        **SCALING,
        tokenizer_epochs=2,
        tokenizer_batch_size=32,
        tokenizer_max_signals=32,
        pretrain_epochs=2,
        finetune_epochs=3,
        batch_size=8,
        patience=2,
        threshold="auto",
        seed=0,
    )


def _assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


def test_pipeline_ensemble_equals_library_by_hand(tmp_path, single_thread):
    from neurocodec.datasets.kinds import EpochsData
    from neurocodec.features.tokenizer import TFMEncoder
    from neurocodec.pipeline import ArtifactStore, run_pipeline

    X_tr, y_tr, X_te, y_te = _toy(tmp_path / "data")
    summary = run_pipeline(_config(tmp_path / "data"), cache=tmp_path / "cache", show_progress=False, report=False)
    assert summary.ok, [(r.step_id, r.error) for r in summary.results if r.error]
    store = ArtifactStore(tmp_path / "cache")
    arts = {r.step_id: store.open(r.stage, r.key) for r in summary.results}

    # the union tokenizer of the stage is fit_union_tokenizer's, by hand
    sets = [EpochsData.load(arts["toy"].file("epochs"))]
    union, _ = fit_union_tokenizer(
        sets, TOK, TrainConfig(epochs=1, batch_size=16, max_examples_per_epoch=32, warmup_epochs=0.1), "channel",
        center="auto", window_s=2.0, max_per_set=40,
    )  # fmt: skip
    _assert_same_weights(union, TFMTokenizer.from_pretrained(arts["union"].file("tokenizer")))

    for branch, template in (("", _template()), ("transfer_", clone(_template()).set_params(tokenizer=union))):
        ens = TFMEnsembleClassifier(template, n_members=K).fit(X_tr, y_tr, sfreq=200.0)
        proba = ens.predict_proba(X_te, sfreq=200.0)
        for k, member in enumerate(ens.members_):
            tokens = arts[f"tokens_{k}" if not branch else "transfer_tokens"].load("tokens")
            np.testing.assert_array_equal(tokens[:32], member.transform(X_tr, 200.0))
            np.testing.assert_array_equal(tokens[32:], member.transform(X_te, 200.0))
            encoder = TFMEncoder.from_pretrained(arts[f"{branch}classifier_{k}"].file("encoder"))
            _assert_same_weights(encoder, member.encoder_)
            assert (
                arts[f"{branch}classifier_{k}"].load("history")["best_epoch"]
                == member.history_["finetune"]["best_epoch"]
            )
        metrics = arts[f"{branch}eval"].load("metrics")
        y_idx = np.searchsorted(ens.classes_, y_te)
        assert {k: metrics[k] for k in ("balanced_accuracy", "kappa", "weighted_f1", "auroc")} == (
            classification_metrics(y_idx, proba)
        )
        assert metrics["n_members"] == K and metrics["n_test"] == len(y_te)
        assert metrics["members"] == [classification_metrics(y_idx, m.predict_proba(X_te, 200.0)) for m in ens.members_]
        pred = pd.read_csv(arts[f"{branch}eval"].file("predictions"), sep="\t")
        np.testing.assert_array_equal(pred[[f"p_{c}" for c in ens.classes_]].to_numpy(np.float32), proba)
        np.testing.assert_array_equal(pred["predicted"].astype(str), ens.predict(X_te, 200.0))

    # an ensemble whose tokens do not pair with its models is one clear error (and nothing cached)
    config = _config(tmp_path / "data")
    config["stages"]["bad_eval"] = {
        "stage": "tfm_evaluate",
        "inputs": {"tokens": ["tokens_0", "tokens_1", "transfer_tokens"], "model": ["classifier_0", "classifier_1"]},
    }
    again = run_pipeline(config, cache=tmp_path / "cache", show_progress=False, report=False, on_error="continue")
    errors = {r.step_id: r.error for r in again.results if r.error}
    assert list(errors) == ["bad_eval"]
    assert "The 'tokens' must be 1 step or 2 (one per model, in the order of 'model'), got 3." in errors["bad_eval"]
    assert all(r.status == "hit" for r in again.results if r.step_id != "bad_eval")
