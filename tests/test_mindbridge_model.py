"""MindBridge: pooling, model, losses, persistence (tiny shapes, seeded)."""

import numpy as np
import pytest
import torch

from neurocodec.decoders.mindbridge import (
    LowRankAdapter,
    MindBridgeModel,
    cycle_loss,
    embedding_loss,
    pool_voxels,
    predict_embeddings,
    soft_clip_loss,
)

ARCH = dict(n_pooled=16, hidden_dim=24, n_blocks=2, adapter_rank=4)


def _model(seed=0, **kw):
    torch.manual_seed(seed)
    return MindBridgeModel(
        {"sub-01": 30, "sub-02": 7}, image_tokens=3, image_dim=5, text_tokens=2, text_dim=4, **{**ARCH, **kw}
    )


@pytest.mark.parametrize("n_voxels", [1, 5, 15, 16, 17, 100, 1001])
@pytest.mark.parametrize("pool_type", ["max", "avg"])
def test_pooling_handles_any_voxel_count(n_voxels, pool_type):
    x = torch.randn(4, n_voxels, generator=torch.Generator().manual_seed(n_voxels))
    y = pool_voxels(x, 16, pool_type)
    assert y.shape == (4, 16)
    assert torch.isfinite(y).all()
    if pool_type == "max":
        # every pooled value is one of the sample's voxels and none exceeds the sample's max
        assert all(bool(torch.isin(y[i], x[i]).all()) for i in range(4))
        assert torch.allclose(y.max(1).values, x.max(1).values)
    else:
        assert torch.all(y.min(1).values >= x.min(1).values - 1e-6)


def test_max_pooling_windows():
    x = torch.arange(12.0).reshape(1, 12)
    assert pool_voxels(x, 3).tolist() == [[3.0, 7.0, 11.0]]
    assert pool_voxels(x, 1).tolist() == [[11.0]]


def test_pooling_rejects_bad_input():
    with pytest.raises(ValueError, match="'voxels'"):
        pool_voxels(torch.zeros(3), 4)
    with pytest.raises(ValueError, match="'pool_type'"):
        pool_voxels(torch.zeros(2, 3), 4, "median")


def test_adapter_starts_as_identity():
    adapter = LowRankAdapter(10, 3)
    x = torch.randn(5, 10)
    assert torch.equal(adapter(x), x)


def test_forward_shapes_for_different_voxel_counts():
    model = _model().eval()
    for name, n in (("sub-01", 30), ("sub-02", 7)):
        out = model(torch.randn(6, n), name)
        assert out["image"].shape == (6, 3, 5)
        assert out["text"].shape == (6, 2, 4)
        assert out["shared"].shape == (6, 24)
        assert out["pooled"].shape == out["rebuilt"].shape == (6, 16)
    with pytest.raises(ValueError, match="'voxels'"):
        model(torch.randn(6, 8), "sub-02")
    with pytest.raises(KeyError, match="'subject'"):
        model(torch.randn(6, 7), "sub-09")


def test_model_without_text_head():
    torch.manual_seed(0)
    model = MindBridgeModel({"a": 9}, image_tokens=2, image_dim=3, **ARCH).eval()
    assert set(model(torch.randn(2, 9), "a")) == {"image", "shared", "pooled", "rebuilt"}


def test_cycle_loss_is_zero_for_perfect_builders():
    g = torch.Generator().manual_seed(0)
    shared = torch.randn(8, 6, generator=g)
    weight = torch.randn(6, 6, generator=g) + 3 * torch.eye(6)
    embed_b = lambda v: v @ weight.T  # noqa: E731
    perfect = lambda z: z @ torch.linalg.inv(weight).T  # noqa: E731
    assert cycle_loss(shared, perfect, embed_b).item() < 1e-10
    imperfect = lambda z: 0.5 * perfect(z)  # noqa: E731
    assert cycle_loss(shared, imperfect, embed_b).item() > 0.1


def test_cycle_loss_zero_with_inverse_builder_in_the_model():
    """Make subject b's builder the exact inverse of its embedder on the model's own modules."""
    model = _model(n_pooled=24).eval()
    emb = model.embedders["sub-02"]
    # embedder = adapter(identity at init) -> linear -> layernorm -> gelu -> dropout;
    # make it a plain invertible linear map
    emb[2] = torch.nn.Identity()
    emb[3] = torch.nn.Identity()
    w, b = emb[1].weight.detach(), emb[1].bias.detach()
    inverse = torch.nn.Linear(24, 24)
    with torch.no_grad():
        inverse.weight.copy_(torch.linalg.inv(w))
        inverse.bias.copy_(-torch.linalg.inv(w) @ b)
    model.builders["sub-02"] = inverse
    shared = model.embed(model.pool(torch.randn(5, 30), "sub-01"), "sub-01")
    loss = cycle_loss(shared, lambda z: model.build(z, "sub-02"), lambda v: model.embed(v, "sub-02"))
    assert loss.item() < 1e-8


def test_soft_clip_prefers_matching_pairs():
    g = torch.Generator().manual_seed(1)
    t = torch.nn.functional.normalize(torch.randn(16, 32, generator=g), dim=-1)
    matched = soft_clip_loss(t, t)
    shuffled = soft_clip_loss(t[torch.randperm(16, generator=g)], t)
    assert matched < shuffled
    loss, parts = embedding_loss(t.reshape(16, 4, 8), t.reshape(16, 4, 8), mse_mult=10.0)
    assert parts["mse"] == pytest.approx(0.0, abs=1e-12)
    assert loss.item() == pytest.approx(parts["clip"], rel=1e-6)


def test_save_load_round_trip(tmp_path):
    model = _model(seed=3)
    model.set_voxel_stats("sub-01", torch.linspace(-1, 1, 30), torch.linspace(0.5, 2, 30))
    with torch.no_grad():  # make the zero-initialised adapters non-trivial
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    model.save_pretrained(tmp_path / "m")
    loaded = MindBridgeModel.from_pretrained(tmp_path / "m")
    assert loaded.config == model.config
    for (k, a), (k2, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert k == k2 and torch.equal(a, b)
    x = np.random.default_rng(0).standard_normal((4, 30)).astype(np.float32)
    pa, pb = predict_embeddings(model, x, "sub-01"), predict_embeddings(loaded, x, "sub-01")
    np.testing.assert_array_equal(pa["image"], pb["image"])
    np.testing.assert_array_equal(pa["text"], pb["text"])


def test_from_pretrained_rejects_other_configs(tmp_path):
    from neurocodec.pipeline import save_json

    (tmp_path / "x").mkdir()
    save_json(tmp_path / "x" / "config.json", {"model_type": "other", "format_version": 1, "config": {}})
    with pytest.raises(ValueError, match="'model_type'"):
        MindBridgeModel.from_pretrained(tmp_path / "x")
