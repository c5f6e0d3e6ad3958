"""Unit tests of the TFM-Tokenizer modules on tiny configs."""

import numpy as np
import pytest
import torch

from neurocodec.features.tokenizer import TFMEncoder, TFMTokenizer, prepare_trials, stft_magnitude
from neurocodec.features.tokenizer._encoder import reference_key_map
from neurocodec.features.tokenizer._model import EMAVectorQuantizer, freq_time_masks

TINY = dict(n_codes=16, emb_size=16, n_heads=2, freq_depth=1, temporal_depth=1, decoder_depth=1)


def _batch(b=3, n_times=600, seed=0):
    sig = torch.from_numpy(np.random.default_rng(seed).standard_normal((b, n_times)).astype(np.float32))
    return stft_magnitude(sig), sig


def test_stft_and_shapes():
    torch.manual_seed(0)
    model = TFMTokenizer(**TINY)
    spec, sig = _batch()
    assert spec.shape == (3, 100, 5) and model.n_frames(600) == 5
    out = model(spec, sig)
    assert out["recon"].shape == (3, 100, 5)
    assert out["indices"].shape == (3, 5) and out["indices"].max() < 16
    z_norm = out["z"].norm(dim=-1)
    assert torch.allclose(z_norm, torch.ones_like(z_norm), atol=1e-5)
    loss = model.loss(spec, sig)
    assert set(loss) == {"recon", "vq", "loss"} and torch.isfinite(loss["loss"])


def test_tokenize_and_train_check_rate_dtype_and_shape():
    """Issue 22: no raw torch error for bad input; the rate is checked against the model's."""
    from neurocodec.features.tokenizer import TrainConfig, tokenize_signals, train_tokenizer

    torch.manual_seed(0)
    model = TFMTokenizer(**TINY)
    sig = np.random.default_rng(0).standard_normal((4, 600))  # float64: cast
    tokens = tokenize_signals(model, sig, sfreq=200.0)
    assert tokens.dtype == np.int32 and tokens.shape == (4, 5)
    np.testing.assert_array_equal(tokens, tokenize_signals(model, sig.astype(np.float32), sfreq=200.0))
    with pytest.raises(
        ValueError,
        match=r"The 'sfreq' of signals must be 200 Hz \(the rate the tokenizer was "
        r"trained at; .*got <128 Hz>",
    ):
        tokenize_signals(model, sig, sfreq=128.0)
    with pytest.raises(ValueError, match="The 'sfreq' must be given"):
        tokenize_signals(model, sig)
    with pytest.raises(ValueError, match=r"The 'signals' must be a 2-D array \(n_signals, n_times\)"):
        tokenize_signals(model, sig[None], sfreq=200.0)
    with pytest.raises(ValueError, match="The 'n_times' of signals must be >= 200"):
        tokenize_signals(model, sig[:, :150], sfreq=200.0)
    with pytest.raises(TypeError, match="The 'signals' must be a real numeric array"):
        tokenize_signals(model, sig.astype(complex), sfreq=200.0)
    with pytest.raises(ValueError, match="finite"):
        tokenize_signals(model, np.full((2, 400), np.nan), sfreq=200.0)
    with pytest.raises(ValueError, match="The 'sfreq' of signals must be 200 Hz"):
        train_tokenizer(model, sig, TrainConfig(epochs=1), sfreq=128.0)
    with pytest.raises(ValueError, match="The 'signals' must be at least one signal"):
        train_tokenizer(model, sig[:0], TrainConfig(epochs=1), sfreq=200.0)
    hist = train_tokenizer(model, sig, TrainConfig(epochs=1, batch_size=4), sfreq=200.0)  # float64 accepted
    assert np.isfinite(hist["loss"]).all()


def test_masks_are_band_and_frame_products_with_complement():
    g = torch.Generator().manual_seed(0)
    keep = freq_time_masks(4, 100, 10, generator=g)
    assert keep.shape == (4, 100, 10) and keep.dtype == torch.bool
    for m in keep:
        bands = m.any(dim=1).reshape(20, 5)
        assert (bands.all(1) | ~bands.any(1)).all()  # whole 5-bin bands
        assert int(bands.all(1).sum()) == 10  # 50 % of bands kept
        assert int(m.any(dim=0).sum()) == 5  # 50 % of frames kept
        assert torch.equal(m, m.any(1, keepdim=True) & m.any(0, keepdim=True))
    assert not (keep & ~keep).any() and (keep | ~keep).all()
    assert not torch.equal(keep[0], keep[1])  # one mask per example


def test_ema_update_matches_formula_and_eval_is_frozen():
    vq = EMAVectorQuantizer(n_codes=2, dim=2, decay=0.9, eps=0.0, restart_after=0)
    vq.codebook.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    vq.ema_sum.copy_(vq.codebook)
    vq.cluster_size.fill_(1.0)
    vq.step.fill_(1)  # skip the data-dependent start
    z = torch.tensor([[0.8, 0.6], [0.6, 0.8], [1.0, 0.0]])
    q, idx = vq.train()(z)
    assert idx.tolist() == [0, 1, 0]
    size = torch.tensor([0.9 + 0.1 * 2, 0.9 + 0.1 * 1])
    sums = torch.stack(
        [0.9 * torch.tensor([1.0, 0.0]) + 0.1 * (z[0] + z[2]), 0.9 * torch.tensor([0.0, 1.0]) + 0.1 * z[1]]
    )
    assert torch.allclose(vq.cluster_size, size)
    assert torch.allclose(vq.codebook, sums / size[:, None], atol=1e-6)
    before = vq.codebook.clone()
    vq.eval()(z)
    assert torch.equal(before, vq.codebook)


def test_dead_codes_are_restarted_on_inputs():
    torch.manual_seed(0)
    vq = EMAVectorQuantizer(n_codes=8, dim=4, restart_after=2).train()
    z = torch.nn.functional.normalize(torch.tensor([[1.0, 0, 0, 0], [0, 1.0, 0, 0]]).repeat(8, 1), dim=-1)
    for _ in range(4):
        vq(z)
    # every code now sits on (a noisy copy of) one of the two inputs
    sims = vq.codebook @ z[:2].t()
    assert (sims.max(1).values > 0.99).all()


def test_straight_through_gradient_reaches_encoder():
    torch.manual_seed(0)
    model = TFMTokenizer(**TINY)
    spec, sig = _batch()
    out = model(spec, sig)
    out["recon"].pow(2).mean().backward()  # reconstruction only: must pass the quantiser
    assert model.freq_embed[0].weight.grad.abs().sum() > 0
    assert model.temporal_embed[0].weight.grad.abs().sum() > 0
    z = torch.randn(5, 16, requires_grad=True)
    q = torch.randn(5, 16)
    (z + (q - z).detach()).mul(torch.arange(16.0)).sum().backward()
    assert torch.allclose(z.grad, torch.arange(16.0).expand(5, 16))


def test_encoder_shapes_and_codebook_init():
    torch.manual_seed(0)
    enc = TFMEncoder(n_codes=16, n_chans=4, n_outputs=3, emb_size=16, n_heads=2, depth=1)
    cb = torch.randn(16, 16)
    enc.init_from_codebook(cb)
    assert torch.equal(enc.token_embedding.weight[:16], cb)
    tokens = torch.randint(0, 17, (2, 3, 5))
    assert enc(tokens).shape == (2, 3)
    assert enc.masked_logits(tokens).shape == (2, 3, 5, 16)
    with pytest.raises(ValueError, match="'n_chans'"):
        enc(torch.randint(0, 16, (2, 5, 5)))


def test_save_load_roundtrip(tmp_path):
    torch.manual_seed(0)
    model = TFMTokenizer(**TINY)
    spec, sig = _batch()
    model.train().loss(spec, sig)  # moves the codebook (EMA)
    model.save_pretrained(tmp_path / "tok", info={"scale": None})
    again = TFMTokenizer.from_pretrained(tmp_path / "tok")
    assert again.config == model.config
    assert torch.equal(model.tokenize(spec, sig), again.tokenize(spec, sig))
    assert TFMTokenizer.read_info(tmp_path / "tok") == {"scale": None}
    enc = TFMEncoder(n_codes=16, n_chans=2, emb_size=16, n_heads=2, depth=1).eval()
    enc.save_pretrained(tmp_path / "enc")
    tokens = torch.randint(0, 16, (2, 2, 4))
    assert torch.allclose(enc(tokens), TFMEncoder.from_pretrained(tmp_path / "enc").eval()(tokens))
    with pytest.raises(ValueError, match="model_type"):
        TFMEncoder.from_pretrained(tmp_path / "tok")


def test_reference_encoder_weights_load(tmp_path):
    """A state dict with the reference repo's key names (lucidrains LinearAttentionTransformer)."""
    g = torch.Generator().manual_seed(0)
    emb, n_codes = 64, 32
    ref = {
        "eeg_token_embedding.weight": torch.randn(n_codes + 1, emb, generator=g),
        "channel_embed.weight": torch.randn(16, emb, generator=g),
        "index": torch.arange(16),
        "temporal_pos_embed.pe": torch.randn(1, 1000, emb, generator=g),
        "cls_token": torch.randn(1, 1, emb, generator=g),
        "classification_head.weight": torch.randn(n_codes, emb, generator=g),
        "classification_head.bias": torch.randn(n_codes, generator=g),
    }
    for i in range(2):
        p = f"LAT.layers.layers.{i}"
        for name in ("to_q", "to_k", "to_v"):
            ref[f"{p}.0.fn.{name}.weight"] = torch.randn(emb, emb, generator=g)
        ref[f"{p}.0.fn.to_out.weight"] = torch.randn(emb, emb, generator=g)
        ref[f"{p}.0.fn.to_out.bias"] = torch.randn(emb, generator=g)
        ref[f"{p}.0.norm.weight"], ref[f"{p}.0.norm.bias"] = (
            torch.randn(emb, generator=g),
            torch.randn(emb, generator=g),
        )
        ref[f"{p}.1.norm.weight"], ref[f"{p}.1.norm.bias"] = (
            torch.randn(emb, generator=g),
            torch.randn(emb, generator=g),
        )
        ref[f"{p}.1.fn.fn.w1.weight"], ref[f"{p}.1.fn.fn.w1.bias"] = (
            torch.randn(4 * emb, emb, generator=g),
            torch.randn(4 * emb, generator=g),
        )
        ref[f"{p}.1.fn.fn.w2.weight"], ref[f"{p}.1.fn.fn.w2.bias"] = (
            torch.randn(emb, 4 * emb, generator=g),
            torch.randn(emb, generator=g),
        )
    torch.save(ref, tmp_path / "tfm_encoder_best_model.pth")
    enc = TFMEncoder(n_codes=n_codes, n_chans=16, n_outputs=2, depth=2)
    report = enc.load_reference_weights(tmp_path / "tfm_encoder_best_model.pth")
    assert report["skipped"] == ["temporal_pos_embed.pe"]  # random here, so not equal to our fixed positions
    assert set(report["checked"]) == {"index"}
    sd = enc.state_dict()
    assert torch.equal(sd["transformer.blocks.1.ff.w2.weight"], ref["LAT.layers.layers.1.1.fn.fn.w2.weight"])
    assert torch.equal(sd["transformer.blocks.0.attn.to_k.weight"], ref["LAT.layers.layers.0.0.fn.to_k.weight"])
    assert torch.equal(sd["mtp_head.weight"], ref["classification_head.weight"])
    assert torch.equal(sd["token_embedding.weight"], ref["eeg_token_embedding.weight"])
    assert reference_key_map("LAT.layers.layers.3.1.norm.weight") == "transformer.blocks.3.ff_norm.weight"


@pytest.mark.parametrize(
    "data, sfreq, match",
    [
        (np.zeros((2, 3, 100), np.float32), 200.0, "'n_times'"),
        (np.full((2, 3, 400), np.nan, np.float32), 200.0, "finite"),
        (np.zeros((2, 3, 400), np.float32), 0.0, "'sfreq'"),
        (np.zeros((2, 3, 400), np.float32), -5.0, "'sfreq'"),
        (np.zeros(400, np.float32), 200.0, "'data'"),
    ],
)
def test_bad_input_errors(data, sfreq, match):
    with pytest.raises(ValueError, match=match):
        prepare_trials(data, sfreq)


def test_resampling_and_padding():
    x = np.random.default_rng(0).standard_normal((2, 3, 512)).astype(np.float32)
    out = prepare_trials(x, 256.0)
    assert out.shape == (2, 3, 400)
    np.testing.assert_allclose(np.quantile(np.abs(out), 0.95, axis=-1), 1.0, rtol=1e-4)
    short = prepare_trials(x[:, :, :64], 128.0, pad_short=True)
    assert short.shape == (2, 3, 200)


def test_resampling_keeps_offsets_at_the_edges():
    """A DC-shifted trial (slow cortical potential) is not pulled towards 0 at its ends by resampling."""
    x = np.full((1, 2, 896), 30.0, np.float32) + np.linspace(0, 5, 896, dtype=np.float32)
    out = prepare_trials(x, 256.0, scaling="channel", scale=np.ones((1, 2, 1), np.float32))
    assert out.shape == (1, 2, 700)
    np.testing.assert_allclose(out[0, :, [0, -1]], [[30.0, 30.0], [35.0, 35.0]], atol=0.1)


def test_prior_threshold_calibration_splits_constant_predictions():
    from neurocodec.features.tokenizer import TFMEncoder
    from neurocodec.features.tokenizer._train import calibrate_binary_threshold, predict_proba

    torch.manual_seed(0)
    enc = TFMEncoder(n_codes=16, n_chans=2, n_outputs=1, emb_size=16, n_heads=2, depth=1)
    with torch.no_grad():
        enc.head.bias.fill_(5.0)  # every trial predicted positive
    tokens = np.random.default_rng(0).integers(0, 16, (40, 2, 3))
    y = np.repeat([0, 1], 20)
    before = predict_proba(enc, tokens)
    assert (before.argmax(1) == 1).all()
    t = calibrate_binary_threshold(enc, tokens, y, prior=0.5)
    after = predict_proba(enc, tokens)
    assert t > 4.0 and abs((after.argmax(1) == 1).mean() - 0.5) <= 0.05
    # ranking unchanged, so AUROC is unchanged
    np.testing.assert_array_equal(np.argsort(before[:, 1], kind="stable"), np.argsort(after[:, 1], kind="stable"))
    multi = TFMEncoder(n_codes=16, n_chans=2, n_outputs=3, emb_size=16, n_heads=2, depth=1)
    assert calibrate_binary_threshold(multi, tokens, y % 3) == 0.0


def test_fit_offset_removes_constant_amplifier_offsets_only():
    from neurocodec.features.tokenizer._preprocess import fit_offset

    rng = np.random.default_rng(0)
    x = rng.standard_normal((30, 3, 100)).astype(np.float32)
    x[:, 0] += 4000.0  # constant electrode offset: removed
    x[:, 1] += rng.normal(20.0, 20.0, (30, 1))  # trial-varying slow potential: kept
    off = fit_offset(x, "auto")
    assert off.shape == (1, 3, 1) and abs(off[0, 0, 0] - 4000.0) < 1.0 and off[0, 1, 0] == 0 and off[0, 2, 0] == 0
    assert fit_offset(x[:, 1:], "auto") is None and fit_offset(x, "none") is None
    with pytest.raises(ValueError, match="'center'"):
        fit_offset(x, "mean")
    out = prepare_trials(x, 200.0, scaling="channel", scale=np.ones((1, 3, 1), np.float32), offset=off, pad_short=True)
    assert abs(out[:, 0].mean()) < 1.0
