"""Reconstruction metrics against hand-computed values and reference implementations."""

import numpy as np
import pytest

from neurocodec.decoders import MissingModelError
from neurocodec.decoders.metrics import (
    FeatureExtractor,
    correlation_distance,
    evaluate_reconstructions,
    get_feature_extractor,
    pixcorr,
    ssim,
    two_way_identification,
)


def test_pixcorr_hand_computed():
    a = np.array([[[0.0], [1.0]], [[0.0], [1.0]]])[None]  # (1, 2, 2, 1): pixels 0,1,0,1
    b = np.array([[[0.0], [0.5]], [[0.5], [1.0]]])[None]  # pixels 0,.5,.5,1
    # centred: a = (-.5,.5,-.5,.5), b = (-.5,0,0,.5): r = .5 / sqrt(1 * .5)
    assert pixcorr(a, b) == pytest.approx(0.5 / np.sqrt(0.5))
    assert pixcorr(a, 1 - a) == pytest.approx(-1.0)
    assert pixcorr(np.ones((2, 4, 4)), np.ones((2, 4, 4))) == 0.0  # constant images: defined as 0


def test_pixcorr_resizes_reconstructions():
    rng = np.random.default_rng(0)
    true = rng.random((3, 16, 16, 3))
    assert pixcorr(true, np.repeat(np.repeat(true, 2, 1), 2, 2)) > 0.9


def test_ssim_hand_computed_and_skimage():
    # identical images: SSIM 1; constant images c and d: (2cd + C1) / (c^2 + d^2 + C1)
    x = np.full((1, 16, 16), 0.2)
    y = np.full((1, 16, 16), 0.6)
    c1 = 0.01**2
    assert ssim(x, x) == pytest.approx(1.0)
    assert ssim(x, y) == pytest.approx((2 * 0.2 * 0.6 + c1) / (0.04 + 0.36 + c1))
    skm = pytest.importorskip("skimage.metrics")
    from skimage.color import rgb2gray

    rng = np.random.default_rng(1)
    a = rng.random((2, 24, 20, 3))
    b = np.clip(a + 0.3 * rng.standard_normal(a.shape), 0, 1)
    ref = [
        skm.structural_similarity(
            rgb2gray(a[i]),
            rgb2gray(b[i]),
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            data_range=1.0,
        )
        for i in range(2)
    ]
    np.testing.assert_allclose(ssim(a, b, reduction="none"), ref, rtol=1e-10)


def test_two_way_identification_hand_computed():
    t = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    assert two_way_identification(t, t) == 1.0
    # prediction 0 is closest to true 1: fails against true 1, wins against true 2
    p = np.array([[0.1, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(two_way_identification(t, p, reduction="none"), [0.5, 1.0, 1.0])


def test_two_way_identification_identical_and_shuffled():
    rng = np.random.default_rng(0)
    f = rng.standard_normal((200, 30))
    assert two_way_identification(f, f) == 1.0
    chance = two_way_identification(f, f[rng.permutation(200)])
    assert abs(chance - 0.5) < 0.05
    assert abs(two_way_identification(f, rng.standard_normal((200, 30))) - 0.5) < 0.05
    with pytest.raises(ValueError, match="feats_pred"):
        two_way_identification(f, f[:10])


def test_correlation_distance_matches_scipy():
    from scipy.spatial.distance import correlation

    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((5, 7)), rng.standard_normal((5, 7))
    assert correlation_distance(a, b) == pytest.approx(np.mean([correlation(a[i], b[i]) for i in range(5)]))
    assert correlation_distance(a, a) == pytest.approx(0.0, abs=1e-12)


def test_effnet_lite0_real_weights_identify_images():
    rng = np.random.default_rng(3)
    images = rng.random((6, 32, 32, 3)) * np.linspace(0, 1, 32)[None, :, None, None]
    extractor = get_feature_extractor("effnet_lite0", size=64)
    feats = extractor(images)
    assert feats.shape == (6, 1280)
    assert two_way_identification(feats, extractor(np.clip(images + 0.02, 0, 1))) == 1.0


def test_missing_weights_error_names_model(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(MissingModelError, match="alexnet"):
        get_feature_extractor("alexnet5")(np.zeros((2, 8, 8, 3)))
    with pytest.raises(ValueError, match="'name' of feature extractor"):
        get_feature_extractor("vgg")
    with pytest.warns(UserWarning, match="swav"):
        scores = evaluate_reconstructions(
            np.random.rand(4, 12, 12, 3), np.random.rand(4, 12, 12, 3), features=["pixels", "swav"]
        )
    assert set(scores) == {"pixcorr", "ssim", "two_way_pixels"}


def test_torchvision_extractor_from_local_weights(tmp_path):
    import torch

    from neurocodec._compat import import_torchvision

    torch.manual_seed(0)
    net = import_torchvision().models.efficientnet_b1(weights=None)
    path = tmp_path / "effb1.safetensors"
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    images = np.random.default_rng(4).random((3, 16, 16, 3))
    scores = evaluate_reconstructions(
        images,
        images,
        features=["effnet_b1"],
        sizes={"effnet_b1": 32},
        weights={"effnet_b1": str(path)},
        on_missing="raise",
    )
    assert scores["distance_effnet_b1"] == pytest.approx(0.0, abs=1e-6)
    custom = FeatureExtractor("mean_colour", function=lambda x: x.mean(axis=(1, 2)))
    assert custom(images).shape == (3, 3)
