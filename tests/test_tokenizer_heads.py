"""Token logistic head, head selection and the seed ensemble of TFM pipelines."""

import numpy as np
import pytest

from neurocodec.datasets.simulate import simulate_eeg_trials
from neurocodec.features.tokenizer import (
    TFMClassifier,
    TFMEnsembleClassifier,
    TokenLogisticHead,
    one_hot_tokens,
)

TINY = dict(n_codes=32, emb_size=16, n_heads=2, freq_depth=1, temporal_depth=1, decoder_depth=1, restart_after=3)
SMALL = dict(tokenizer_config=TINY, encoder_config=dict(depth=1, n_heads=2), tokenizer_epochs=1, pretrain_epochs=1,
             finetune_epochs=3, tokenizer_batch_size=64, batch_size=16, patience=0, val_fraction=0.25, lr=3e-3,
             scaling="channel")


def test_one_hot_tokens_layout_and_errors():
    tok = np.array([[[0, 2], [1, 1]], [[3, 0], [2, 3]]])
    oh = one_hot_tokens(tok, 4).toarray()
    assert oh.shape == (2, 2 * 2 * 4) and (oh.sum(1) == 4).all()
    # position (channel 1, frame 0) of trial 1 holds code 2
    assert oh[1, (1 * 2 + 0) * 4 + 2] == 1 and oh[1, (1 * 2 + 0) * 4 + 1] == 0
    with pytest.raises(ValueError, match="'tokens'"):
        one_hot_tokens(tok, 3)
    with pytest.raises(ValueError, match="'tokens'"):
        one_hot_tokens(tok[0], 4)


def test_token_head_learns_a_planted_code_and_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    tok = rng.integers(0, 16, size=(400, 3, 4))
    y = (tok[:, 1, 2] < 8).astype(int)  # class = one position's code in a band
    head = TokenLogisticHead(16, seed=0).fit(tok[:300], y[:300])
    acc = (head.predict_proba(tok[300:]).argmax(1) == y[300:]).mean()
    assert acc > 0.9 and head.coef_.shape == (1, 3 * 4 * 16) and head.C_ > 0
    again = TokenLogisticHead.load(head.save(tmp_path / "h.npz"))
    np.testing.assert_allclose(again.predict_proba(tok), head.predict_proba(tok))
    with pytest.raises(ValueError, match="'tokens'"):
        head.predict_proba(tok[:, :, :3])
    with pytest.raises(RuntimeError, match="not fitted"):
        TokenLogisticHead(16).predict_proba(tok)
    # three classes: softmax over one logit per class
    y3 = np.minimum(tok[:, 0, 0] // 6, 2)
    p3 = TokenLogisticHead(16, Cs=[1.0]).fit(tok, y3).predict_proba(tok)
    assert p3.shape == (400, 3) and np.allclose(p3.sum(1), 1) and (p3.argmax(1) == y3).mean() > 0.9


@pytest.fixture(scope="module")
def trials():
    return simulate_eeg_trials(n_trials=48, n_chans=3, sfreq=128.0, n_times=256, classes=("background", "slow_wave"),
                               seed=0)


def test_classifier_heads_mean_auto_and_save(tmp_path, trials):
    X, y = trials
    clf = TFMClassifier(**SMALL, head="mean", seed=0).fit(X, y, sfreq=128.0)
    assert clf.head_ == "mean" and clf.token_head_ is not None
    tok = clf.transform(X, sfreq=128.0)
    from neurocodec.features.tokenizer import predict_proba
    expected = (predict_proba(clf.encoder_, tok) + clf.token_head_.predict_proba(tok)) / 2
    np.testing.assert_allclose(clf.predict_proba(X, sfreq=128.0), expected, atol=1e-6)
    clf.save_pretrained(tmp_path / "clf")
    again = TFMClassifier.from_pretrained(tmp_path / "clf")
    assert again.head_ == "mean"
    np.testing.assert_allclose(again.predict_proba(X, sfreq=128.0), expected, atol=1e-6)
    auto = TFMClassifier(**SMALL, tokenizer=clf.tokenizer_, head="auto", seed=0).fit(X, y, sfreq=128.0)
    scores = auto.history_["head_scores"]
    assert set(scores) == {"encoder", "tokens", "mean"}
    assert auto.head_ == max(("encoder", "tokens", "mean"), key=lambda h: scores[h])
    assert (auto.token_head_ is None) == (auto.head_ == "encoder")
    with pytest.raises(ValueError, match="'head'"):
        TFMClassifier(head="svm").fit(X, y, sfreq=128.0)


def test_seed_ensemble_averages_members(tmp_path, trials):
    X, y = trials
    ens = TFMEnsembleClassifier(TFMClassifier(**SMALL, head="tokens", seed=3), n_members=2).fit(X, y, sfreq=128.0)
    assert [m.seed for m in ens.members_] == [3, 4] and ens.history_["heads"] == ["tokens", "tokens"]
    p = ens.predict_proba(X, sfreq=128.0)
    np.testing.assert_allclose(p, (ens.members_[0].predict_proba(X, sfreq=128.0)
                                   + ens.members_[1].predict_proba(X, sfreq=128.0)) / 2, atol=1e-6)
    assert not np.allclose(ens.members_[0].predict_proba(X, sfreq=128.0), ens.members_[1].predict_proba(X, sfreq=128.0))
    again = TFMEnsembleClassifier.from_pretrained(ens.save_pretrained(tmp_path / "ens"))
    np.testing.assert_allclose(again.predict_proba(X, sfreq=128.0), p, atol=1e-6)
    assert set(again.predict(X, sfreq=128.0)) <= set(y)
    with pytest.raises(ValueError, match="'n_members'"):
        TFMEnsembleClassifier(n_members=0).fit(X, y, sfreq=128.0)
