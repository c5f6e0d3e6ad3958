"""BraInCoRL model: set semantics, batching, persistence, configuration errors."""

import pytest
import torch

from neurocodec.encoders.incontext import PRESETS, BraInCoRL, BraInCoRLConfig, predict_from_weights


def _tiny(embed_dim=8, **kw):
    torch.manual_seed(0)
    cfg = dict(embed_dim=embed_dim, width=16, n_layers=2, n_heads=2, ffn_dim=24, n_registers=3)
    cfg.update(kw)
    return BraInCoRL(BraInCoRLConfig(**cfg)).eval()


def _context(n_vox=5, n_ctx=12, e=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    emb = torch.randn(n_ctx, e, generator=g)
    emb = emb / emb.norm(dim=1, keepdim=True)
    return emb, torch.randn(n_vox, n_ctx, generator=g)


def test_output_shapes_and_prediction():
    model = _tiny()
    emb, resp = _context()
    w = model(emb, resp)
    assert w.shape == (5, 9)
    query = torch.randn(7, 8)
    pred = predict_from_weights(w, query)
    assert pred.shape == (5, 7)
    torch.testing.assert_close(pred, w[:, :8] @ query.T + w[:, 8:])
    # per-voxel embeddings give the same result as shared ones
    torch.testing.assert_close(model(emb.expand(5, -1, -1), resp), w)


def test_permutation_invariance_of_context():
    model = _tiny()
    emb, resp = _context()
    perm = torch.randperm(emb.shape[0], generator=torch.Generator().manual_seed(1))
    w = model(emb, resp)
    w_perm = model(emb[perm], resp[:, perm])
    torch.testing.assert_close(w, w_perm, rtol=1e-4, atol=1e-5)
    # and the output does depend on which response goes with which image
    w_shuffled = model(emb, resp[:, perm])
    assert not torch.allclose(w, w_shuffled, atol=1e-3)


def test_batching_over_voxels_equals_per_voxel():
    model = _tiny()
    emb, resp = _context(n_vox=6)
    batched = model(emb, resp)
    single = torch.cat([model(emb, resp[i : i + 1]) for i in range(6)])
    torch.testing.assert_close(batched, single, rtol=1e-4, atol=1e-5)


def test_attention_exposed_per_layer():
    model = _tiny()
    emb, resp = _context()
    w, attn = model(emb, resp, return_attention=True)
    torch.testing.assert_close(w, model(emb, resp), rtol=1e-4, atol=1e-5)
    assert len(attn) == 2 and attn[0].shape == (5, 12)
    total = attn[-1].sum(1)
    assert torch.all(total > 0) and torch.all(total <= 1 + 1e-5)


def test_save_load_round_trip(tmp_path):
    model = _tiny(dropout=0.1)
    emb, resp = _context()
    model.save_pretrained(tmp_path / "m")
    assert (tmp_path / "m" / "model.safetensors").is_file() and (tmp_path / "m" / "config.json").is_file()
    loaded = BraInCoRL.from_pretrained(tmp_path / "m")
    assert loaded.config == model.config
    torch.testing.assert_close(loaded(emb, resp), model(emb, resp))


def test_log_scaled_attention_changes_output():
    a = _tiny(log_scale_attention=True)
    b = _tiny(log_scale_attention=False)
    b.load_state_dict(a.state_dict())
    emb, resp = _context()
    assert not torch.allclose(a(emb, resp), b(emb, resp))


def test_presets():
    paper = BraInCoRLConfig.from_preset("paper", embed_dim=512)
    assert (paper.width, paper.n_layers, paper.n_heads, paper.ffn_dim, paper.n_registers) == (560, 20, 10, 2048, 4)
    small = BraInCoRLConfig.from_preset("small", embed_dim=32, n_layers=2)
    assert small.n_layers == 2 and small.width == PRESETS["small"]["width"]


def test_bad_config_errors():
    with pytest.raises(ValueError, match="'width' of BraInCoRLConfig must be divisible by n_heads=3"):
        BraInCoRLConfig(embed_dim=8, width=16, n_heads=3)
    with pytest.raises(ValueError, match="'preset' of BraInCoRL must be one of"):
        BraInCoRLConfig.from_preset("huge", embed_dim=8)
    with pytest.raises(ValueError, match="'embed_dim' of BraInCoRLConfig must be a positive integer"):
        BraInCoRLConfig(embed_dim=0)


def test_from_pretrained_missing_files(tmp_path):
    with pytest.raises(
        FileNotFoundError, match="The 'directory' must be a folder written by BraInCoRL.save_pretrained"
    ):
        BraInCoRL.from_pretrained(tmp_path)
