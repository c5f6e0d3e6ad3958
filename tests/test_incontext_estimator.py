"""InContextEncoder, meta-training and the scaling evaluation on a small synthetic problem."""

import numpy as np
import pytest
import torch

from neurocodec.encoders.incontext import (
    BraInCoRL,
    BraInCoRLConfig,
    InContextEncoder,
    MetaTrainingSubject,
    context_scaling,
    metatrain,
    unit_norm,
)

E = 16


def _model(seed=0):
    torch.manual_seed(seed)
    return BraInCoRL(BraInCoRLConfig(embed_dim=E, width=32, n_layers=2, n_heads=4, ffn_dim=64, n_registers=2)).eval()


def _population(n_images=260, seed=0, rank=2):
    """Voxels whose weights share a low-dimensional subspace (the prior meta-training can learn)."""
    rng = np.random.default_rng(seed)
    emb = unit_norm(rng.standard_normal((n_images, E)))
    basis = np.linalg.qr(np.random.default_rng(123).standard_normal((E, rank)))[0]

    def subject(n_vox, s):
        r = np.random.default_rng(s)
        w = basis @ r.standard_normal((rank, n_vox)) * 4
        y = emb @ w + 0.6 * r.standard_normal((n_images, n_vox)) + r.normal(2.0, 1.0, n_vox)
        return y.astype(np.float32)

    return emb, subject


def test_fit_predict_and_units():
    model = _model()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, E)).astype(np.float32)
    Y = rng.standard_normal((20, 7)).astype(np.float32) * 5 + 3
    enc = InContextEncoder(model, batch_voxels=3).fit(X, Y)
    assert enc.coef_.shape == (E, 7) and enc.intercept_.shape == (7,) and enc.n_context_ == 20
    pred = enc.predict(X)
    assert pred.shape == (20, 7)
    # responses are z-scored by context statistics: scaling Y scales the encoder
    enc2 = InContextEncoder(model).fit(X, 10 * Y - 4)
    np.testing.assert_allclose(enc2.predict(X), 10 * pred - 4, rtol=1e-3, atol=1e-2)
    # batching over voxels does not change the result
    np.testing.assert_allclose(
        InContextEncoder(model, batch_voxels=100).fit(X, Y).coef_, enc.coef_, rtol=1e-4, atol=1e-5
    )
    # 1-D responses are one voxel
    one = InContextEncoder(model).fit(X, Y[:, 0])
    np.testing.assert_allclose(one.coef_[:, 0], enc.coef_[:, 0], rtol=1e-4, atol=1e-5)


def test_attention_over_context():
    model = _model()
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((15, E)), rng.standard_normal((15, 4))
    enc = InContextEncoder(model)
    a_last = enc.context_attention(X, Y)
    a_mean = enc.context_attention(X, Y, layer=None)
    assert a_last.shape == a_mean.shape == (4, 15)
    assert np.all(a_last >= 0) and np.all(a_last.sum(1) <= 1 + 1e-5)
    with pytest.raises(ValueError, match="'layer' of context_attention must be in"):
        enc.context_attention(X, Y, layer=5)


def test_bad_inputs():
    model = _model()
    rng = np.random.default_rng(2)
    X, Y = rng.standard_normal((10, E)), rng.standard_normal((10, 3))
    with pytest.raises(ValueError, match=r"The 'X' of InContextEncoder must be at least 2 context images"):
        InContextEncoder(model).fit(X[:1], Y[:1])
    with pytest.raises(ValueError, match=rf"must be {E} columns \(the model's embedding dimension\), got <12 columns>"):
        InContextEncoder(model).fit(X[:, :12], Y)
    bad = X.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match=r"The 'X' of InContextEncoder must be finite"):
        InContextEncoder(model).fit(bad, Y)
    badY = Y.copy()
    badY[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"The 'Y' of InContextEncoder must be finite"):
        InContextEncoder(model).fit(X, badY)
    with pytest.raises(ValueError, match=r"The 'Y' of InContextEncoder must be \(n_context=10, n_voxels\)"):
        InContextEncoder(model).fit(X, Y[:8])
    enc = InContextEncoder(model).fit(X, Y)
    with pytest.raises(ValueError, match="must be 16 columns"):
        enc.predict(X[:, :8])
    with pytest.raises(ValueError, match="'model' of InContextEncoder must be a BraInCoRL model"):
        InContextEncoder(None).fit(X, Y)


def test_encoder_loads_from_folder(tmp_path):
    model = _model()
    model.save_pretrained(tmp_path / "m")
    rng = np.random.default_rng(3)
    X, Y = rng.standard_normal((12, E)), rng.standard_normal((12, 2))
    a = InContextEncoder(model).fit(X, Y).coef_
    b = InContextEncoder(str(tmp_path / "m")).fit(X, Y).coef_
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_metatrain_errors():
    emb, subject = _population(n_images=60)
    data = [MetaTrainingSubject(emb, subject(20, 1), "s1")]
    with pytest.raises(ValueError, match="'n_images' of s1 must be >= min_context \\+ n_query = 130"):
        metatrain(_model(), data, n_steps=1, min_context=30, n_query=100)
    with pytest.raises(ValueError, match="'embeddings' of s1 must be \\(n_images, 8\\)"):
        metatrain(
            BraInCoRL(BraInCoRLConfig(embed_dim=8, width=16, n_layers=1, n_heads=2, ffn_dim=16)),
            data,
            n_steps=1,
            min_context=10,
            n_query=10,
        )
    with pytest.raises(ValueError, match="'min_context' of metatrain must be >= 2"):
        metatrain(_model(), data, n_steps=1, min_context=1, n_query=10)


@pytest.mark.slow
def test_metatraining_beats_ridge_with_few_context_images():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _check_metatraining_beats_ridge()
    finally:
        torch.set_num_threads(threads)


def _check_metatraining_beats_ridge():
    emb, subject = _population()
    train = [MetaTrainingSubject(emb[:200], subject(120, s)[:200], f"s{s}") for s in (1, 2, 3)]
    model = _model(seed=1)
    before = context_scaling(
        InContextEncoder(model),
        emb[:200],
        subject(80, 9)[:200],
        emb[200:],
        subject(80, 9)[200:],
        context_sizes=[10],
        n_draws=2,
        ridge=False,
    )
    hist = metatrain(
        model,
        train,
        n_steps=150,
        batch_voxels=24,
        min_context=8,
        max_context=60,
        n_query=60,
        lr=2e-3,
        val_every=50,
        seed=0,
    )
    assert hist["records"][-1]["val_loss"] < hist["records"][0]["val_loss"]
    assert hist["best_step"] > 0 and hist["n_parameters"] > 0
    y_test = subject(80, 9)
    res = context_scaling(
        InContextEncoder(model),
        emb[:200],
        y_test[:200],
        emb[200:],
        y_test[200:],
        context_sizes=[10, 100],
        n_draws=2,
        cv=5,
        seed=0,
    )
    ic, ridge = np.nanmean(res["ev"]["incontext"], axis=(1, 2)), np.nanmean(res["ev"]["ridge"], axis=(1, 2))
    assert res["n_draws"] == [2, 2] and res["ev"]["ridge"].shape == (2, 2, 80)
    assert ic[0] > np.nanmean(before["ev"]["incontext"]) + 0.1  # learning happened
    assert ic[0] > ridge[0] + 0.05  # the learned prior wins with 10 images
    assert ic[1] > ic[0]  # more context helps


def test_context_scaling_errors():
    model = _model()
    rng = np.random.default_rng(4)
    X, Y = rng.standard_normal((30, E)), rng.standard_normal((30, 3))
    with pytest.raises(ValueError, match="'context_sizes' must be <= the 20 pool images"):
        context_scaling(InContextEncoder(model), X[:20], Y[:20], X[20:], Y[20:], context_sizes=[10, 50])
    res = context_scaling(InContextEncoder(model), X[:20], Y[:20], X[20:], Y[20:], context_sizes=[5, 15], n_draws=3)
    assert res["n_draws"] == [3, 1]
    assert np.isnan(res["ev"]["ridge"][1, 1:]).all() and np.isfinite(res["ev"]["ridge"][1, 0]).all()
