"""Simulated visual fMRI experiment: data contract, ground truth recoverability, errors."""

import numpy as np
import pytest

from neurocodec.datasets.kinds import StimulusResponses
from neurocodec.datasets.simulate import CATEGORY_NAMES, make_stimuli, simulate_visual_experiment


def _corr(a, b):
    a = a - a.mean(0)
    b = b - b.mean(0)
    return (a * b).sum(0) / np.sqrt((a * a).sum(0) * (b * b).sum(0))


@pytest.fixture(scope="module")
def small_exp():
    return simulate_visual_experiment(
        n_subjects=2,
        n_voxels=[40, 55],
        image_size=24,
        n_train_images=60,
        n_test_images=15,
        n_repeats=3,
        n_repeats_train=2,
        train_fraction=0.8,
        seed=1,
    )


def test_contract_shapes_and_types(small_exp):
    exp = small_exp
    assert exp.stimuli.shape == (75, 24, 24, 3) and exp.stimuli.dtype == np.float32
    assert 0 <= exp.stimuli.min() and exp.stimuli.max() <= 1 and exp.stimuli.std() > 0.05
    assert exp.categories.dtype == np.int64 and exp.category_names == CATEGORY_NAMES
    assert exp.train_image_ids.dtype == np.int64 and len(exp.train_image_ids) == 60
    assert len(exp.test_image_ids) == 15 and not set(exp.train_image_ids) & set(exp.test_image_ids)
    assert list(exp.subjects) == ["sub-01", "sub-02"]
    for name, nv in zip(exp.subjects, (40, 55)):
        sr = exp.subjects[name]
        assert sr.betas_train.shape == (48 * 2, nv) and sr.betas_train.dtype == np.float32
        assert set(sr.trial_image_ids_train) <= set(exp.train_image_ids)
        assert sr.betas_test.shape == (45, nv)
        ids, counts = np.unique(sr.trial_image_ids_test, return_counts=True)
        assert np.array_equal(ids, exp.test_image_ids) and (counts == 3).all()
        ids, mean = sr.mean_betas("test")
        assert mean.shape == (15, nv)
        first = sr.trial_image_ids_test == ids[0]
        np.testing.assert_allclose(mean[0], sr.betas_test[first].mean(0), rtol=1e-5, atol=1e-6)
        assert sr.noiseless.shape == (75, nv) and sr.noise_ceiling.shape == (nv,)
        assert ((sr.noise_ceiling > 0) & (sr.noise_ceiling < 1)).all()
        assert set(sr.voxel_kind) == {"prf", "linear_prf", "category", "global"}
        assert {"x", "y", "sigma", "orientation", "spatial_frequency"} <= set(sr.voxels.columns) and len(
            sr.voxels
        ) == nv
        is_prf = np.isin(sr.voxel_kind, ["prf", "linear_prf"])
        assert sr.voxels.loc[is_prf, "x"].between(0, 1).all() and sr.voxels.loc[~is_prf, "x"].isna().all()
        np.testing.assert_allclose(exp.features @ sr.weights + sr.intercept, sr.noiseless, rtol=1e-4, atol=1e-4)
    # Per-subject train sets differ when train_fraction < 1.
    a, b = (set(exp.subjects[s].trial_image_ids_train) for s in exp.subjects)
    assert a != b
    with pytest.raises(ValueError, match="'split'"):
        exp.subjects["sub-01"].mean_betas("val")


def test_save_load_roundtrip(small_exp, tmp_path):
    small_exp.save(tmp_path / "exp")
    back = StimulusResponses.load(tmp_path / "exp")
    for key in ("stimuli", "categories", "train_image_ids", "test_image_ids", "features"):
        np.testing.assert_array_equal(getattr(back, key), getattr(small_exp, key))
    assert back.category_names == small_exp.category_names and back.feature_names == small_exp.feature_names
    for name, sr in small_exp.subjects.items():
        b = back.subjects[name]
        for key in (
            "trial_image_ids_train",
            "betas_train",
            "trial_image_ids_test",
            "betas_test",
            "noiseless",
            "noise_ceiling",
            "voxel_kind",
            "weights",
            "intercept",
            "noise_sd",
        ):
            np.testing.assert_array_equal(getattr(b, key), getattr(sr, key))
        assert list(b.voxels["category"]) == list(sr.voxels["category"])
        np.testing.assert_allclose(b.voxels["sigma"].to_numpy(), sr.voxels["sigma"].to_numpy())
    with pytest.raises(FileNotFoundError, match="'source'"):
        StimulusResponses.load(tmp_path)


def test_seeded():
    a = simulate_visual_experiment(n_subjects=1, n_voxels=10, image_size=16, n_train_images=10, n_test_images=5, seed=4)
    b = simulate_visual_experiment(n_subjects=1, n_voxels=10, image_size=16, n_train_images=10, n_test_images=5, seed=4)
    c = simulate_visual_experiment(n_subjects=1, n_voxels=10, image_size=16, n_train_images=10, n_test_images=5, seed=5)
    np.testing.assert_array_equal(a.subjects["sub-01"].betas_train, b.subjects["sub-01"].betas_train)
    assert not np.array_equal(a.stimuli, c.stimuli)


def test_stimuli_categories_balanced_and_rgb():
    images, cats = make_stimuli(50, 20, seed=0)
    assert images.shape == (50, 20, 20, 3)
    assert (np.bincount(cats) == 10).all()
    # Shapes and photos carry colour; digits are not flat.
    assert np.abs(images[cats == 1][..., 0] - images[cats == 1][..., 2]).mean() > 0.01
    assert images[cats == 0].std(axis=(1, 2, 3)).min() > 0.01


def test_ridge_on_true_features_reaches_noise_ceiling():
    exp = simulate_visual_experiment(
        n_subjects=1,
        n_voxels=120,
        image_size=16,
        n_train_images=1500,
        n_test_images=100,
        snr=1.0,
        snr_spread=0.0,
        seed=3,
    )
    sr = exp.subjects["sub-01"]
    tr_ids, btr = sr.mean_betas("train")
    te_ids, bte = sr.mean_betas("test")
    x, xt = exp.features[tr_ids].astype(np.float64), exp.features[te_ids].astype(np.float64)
    xm, ym = x.mean(0), btr.mean(0)
    w = np.linalg.solve((x - xm).T @ (x - xm) + 100.0 * np.eye(x.shape[1]), (x - xm).T @ (btr - ym))
    r = _corr((xt - xm) @ w + ym, bte)
    gap = sr.noise_ceiling - r
    assert abs(gap.mean()) < 0.05, gap.mean()
    # The stated ceiling matches the empirical correlation of noiseless vs averaged betas.
    assert abs(_corr(sr.noiseless[te_ids], bte).mean() - sr.noise_ceiling.mean()) < 0.03
    # A lower SNR lowers the ceiling.
    low = simulate_visual_experiment(
        n_subjects=1, n_voxels=30, image_size=16, n_train_images=20, n_test_images=30, snr=0.3, snr_spread=0.0, seed=3
    )
    assert low.subjects["sub-01"].noise_ceiling.mean() < sr.noise_ceiling.mean() - 0.2


def test_prf_table_matches_true_weights():
    # The pRF table (x, y, orientation, spatial frequency) is where each voxel's Gabor weights peak.
    exp = simulate_visual_experiment(
        n_subjects=1,
        n_voxels=40,
        image_size=32,
        n_train_images=30,
        n_test_images=10,
        fraction_prf=1.0,
        fraction_category=0.0,
        linear_fraction=0.0,
        seed=2,
    )
    sr, p = exp.subjects["sub-01"], exp.info["params"]
    n_o, n_s, g = len(p["orientations"]), len(p["spatial_frequencies"]), p["grid"]
    assert exp.feature_names[0] == "gabor_o0_sf0_y0_x0" and exp.feature_names[n_o * n_s * g * g - 1].startswith(
        f"gabor_o{n_o - 1}_sf{n_s - 1}"
    )
    w = np.abs(sr.weights[: n_o * n_s * g * g]).reshape(n_o, n_s, g, g, -1)
    space = w.sum((0, 1))
    for v in range(sr.n_voxels):
        row, col = np.unravel_index(space[..., v].argmax(), (g, g))
        assert abs((col + 0.5) / g - sr.voxels.x[v]) <= 1.0 / g and abs((row + 0.5) / g - sr.voxels.y[v]) <= 1.0 / g
        assert np.isclose(p["orientations"][w[..., v].sum((1, 2, 3)).argmax()], sr.voxels.orientation[v])
        assert np.isclose(p["spatial_frequencies"][w[..., v].sum((0, 2, 3)).argmax()], sr.voxels.spatial_frequency[v])
    # Responses of pRF voxels vary with the stimulus (not constant) and betas are finite.
    assert (sr.noiseless.std(0) > 0).all() and np.isfinite(sr.betas_train).all()


def test_linear_prf_voxels_are_gaussian_weighted_luminance():
    # linear_prf voxels (Dumoulin & Wandell 2008) respond to the Gaussian-weighted luminance contrast: the response
    # equals G . cells(image) + const (exact), is phase sensitive (a contrast-reversed image flips it), and the
    # share of early-visual voxels follows linear_fraction.
    from neurocodec.datasets.simulate import luminance_contrast

    exp = simulate_visual_experiment(
        n_subjects=1,
        n_voxels=50,
        image_size=16,
        n_train_images=40,
        n_test_images=10,
        fraction_prf=0.8,
        fraction_category=0.1,
        linear_fraction=0.5,
        seed=3,
    )
    sr, g = exp.subjects["sub-01"], exp.info["params"]["luminance_grid"]
    lin = sr.voxel_kind == "linear_prf"
    assert lin.sum() == 20 and (sr.voxel_kind == "prf").sum() == 20 and g == 8
    assert sr.voxels.loc[lin, "orientation"].isna().all() and sr.voxels.loc[lin, "sigma"].gt(0).all()
    gray = exp.stimuli @ np.array([0.299, 0.587, 0.114], np.float32)
    cells = luminance_contrast(gray - gray.mean(axis=(1, 2), keepdims=True), g).reshape(len(gray), -1)
    # Weights act on standardised features: in raw luminance units they are weights / feature sd (= gain * G).
    w_lum = sr.weights[-g * g :, lin] / cells.std(0)[:, None]
    assert (w_lum >= 0).all() and (sr.weights[: -g * g, lin] == 0).all()
    resp = cells @ w_lum
    np.testing.assert_allclose(
        sr.noiseless[:, lin] - resp, np.broadcast_to((sr.noiseless[:, lin] - resp).mean(0), resp.shape), atol=1e-4
    )
    # Peak of the weights at the table's pRF centre.
    for v, col in zip(np.flatnonzero(lin), w_lum.T):
        row, c = np.unravel_index(col.argmax(), (g, g))
        assert abs((c + 0.5) / g - sr.voxels.x[v]) <= 1.0 / g and abs((row + 0.5) / g - sr.voxels.y[v]) <= 1.0 / g
    # Phase sensitivity: the reversed-contrast image drives linear pRFs the opposite way, not Gabor-energy ones.
    assert np.allclose((-cells) @ w_lum, -resp)
    none = simulate_visual_experiment(
        n_subjects=1, n_voxels=20, image_size=16, n_train_images=10, n_test_images=5, linear_fraction=0.0, seed=3
    )
    assert "linear_prf" not in set(none.subjects["sub-01"].voxel_kind)
    with pytest.raises(ValueError, match="'linear_exponent'"):
        simulate_visual_experiment(
            n_subjects=1, n_voxels=5, image_size=16, n_train_images=5, n_test_images=5, linear_exponent=1.5
        )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(snr=-1.0), "'snr'"),
        (dict(snr=0.0), "'snr'"),
        (dict(n_voxels=0), "'n_voxels'"),
        (dict(n_voxels=[10, 0]), "'n_voxels'"),
        (dict(n_voxels=[10, 10, 10]), "'n_voxels'"),
        (dict(n_subjects=0), "'n_subjects'"),
        (dict(n_test_images=0), "'n_test_images'"),
        (dict(image_size=4), "'image_size'"),
        (dict(spatial_frequencies=[100.0]), "'spatial_frequencies'"),
        (dict(fraction_prf=0.8, fraction_category=0.5), "'fraction_prf"),
    ],
)
def test_bad_parameters(kwargs, match):
    base = dict(n_subjects=2, n_voxels=[10, 10], image_size=16, n_train_images=10, n_test_images=5)
    base.update(kwargs)
    with pytest.raises(ValueError, match=match):
        simulate_visual_experiment(**base)
