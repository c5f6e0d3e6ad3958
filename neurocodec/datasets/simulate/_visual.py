"""Simulated visual fMRI experiment (NSD-like) from a known voxelwise encoding model.

Early-visual voxels are of two kinds. Most (``"prf"``) follow the Gabor-energy
population receptive field model of Kay et al. (2008): a Gaussian pRF over space
times a tuning to orientation and spatial frequency applied to compressed Gabor
contrast energy (phase invariant). A share ``linear_fraction`` of them
(``"linear_prf"``) follow the linear Gaussian pRF of Dumoulin & Wandell (2008)
applied to luminance: the response is the Gaussian-weighted sum of the image's
luminance contrast (grey level minus the image mean, optionally compressed per
cell), so it is phase sensitive and carries the pixel layout. Higher-level
voxels are tuned to the stimulus category or to global image statistics. Every
response is linear in the standardised true features ``StimulusResponses.features``
so the ground truth (weights, noiseless responses, noise ceiling) is exact.
"""

from __future__ import annotations

import numpy as np

from ...pipeline import bad_value, check, check_array
from ..kinds import StimulusResponses, SubjectResponses
from ._hrf import single_blas_thread
from ._images import CATEGORY_NAMES, cell_centres, gabor_energy, make_stimuli

__all__ = ["noiseless_responses", "simulate_visual_experiment", "stimulus_features", "luminance_contrast"]

_GLOBAL = ["luminance", "contrast", "red", "green", "blue", "saturation", "edge_density"]


def luminance_contrast(gray, grid, exponent=1.0):
    """Luminance contrast pooled on a ``grid x grid`` array of cells.

    Parameters
    ----------
    gray : ndarray, shape (n_images, H, W)
        Grey levels minus each image's mean.
    grid : int
        Cells per side (``H`` and ``W`` are cropped to a multiple of it when needed).
    exponent : float
        Compressive exponent applied per cell, ``sign(c) * |c| ** exponent``
        (1: linear).

    Returns
    -------
    ndarray, shape (n_images, grid, grid), float64
    """
    gray = check_array(gray, "gray", "(n_images, H, W)", ndim=3)
    check(
        isinstance(grid, (int, np.integer)) and 1 <= grid <= min(gray.shape[1:]),
        "grid",
        f"an int in [1, {min(gray.shape[1:])}]",
        grid,
    )
    n, h, w = gray.shape
    ch, cw = h // grid, w // grid
    cells = gray[:, : ch * grid, : cw * grid].reshape(n, grid, ch, grid, cw).mean(axis=(2, 4)).astype(np.float64)
    return np.sign(cells) * np.abs(cells) ** exponent if exponent != 1.0 else cells


def _raw_features(
    images, onehot, orientations, spatial_frequencies, grid, luminance_grid, luminance_exponent, scale=None
):
    """Unstandardised feature blocks of :func:`stimulus_features` -> ``(features float64, Gabor energy scale)``."""
    orientations, spatial_frequencies = np.asarray(orientations), np.asarray(spatial_frequencies)
    gray = images @ np.array([0.299, 0.587, 0.114], np.float32)
    gray = gray - gray.mean(axis=(1, 2), keepdims=True)
    pooled = gabor_energy(gray, orientations, spatial_frequencies, grid=grid)  # (n, O, S, g, g)
    scale = np.median(pooled) + 1e-8 if scale is None else scale
    gabor = np.log1p(pooled / scale).reshape(len(images), -1)
    gy, gx = np.gradient(gray, axis=(1, 2))
    glob = np.column_stack(
        [
            images.mean(axis=(1, 2, 3)),
            gray.std(axis=(1, 2)),
            *images.mean(axis=(1, 2)).T,
            (images.max(axis=3) - images.min(axis=3)).mean(axis=(1, 2)),
            np.sqrt(gx**2 + gy**2).mean(axis=(1, 2)),
        ]
    )
    blocks = [gabor, onehot, glob]
    if luminance_grid:
        blocks.append(luminance_contrast(gray, luminance_grid, luminance_exponent).reshape(len(images), -1))
    return np.concatenate(blocks, axis=1).astype(np.float64), scale


def stimulus_features(
    images,
    categories,
    n_categories,
    orientations,
    spatial_frequencies,
    grid,
    luminance_grid=None,
    luminance_exponent=1.0,
):
    """The true features of the encoding model, standardised over images.

    Parameters
    ----------
    images : ndarray, shape (n_images, H, W, 3)
    categories : ndarray, shape (n_images,)
    n_categories : int
    orientations, spatial_frequencies : array-like
        Gabor channel centres (radians; cycles per image).
    grid : int
        Spatial pooling cells per side.
    luminance_grid : int, optional
        If given, append the luminance contrast pooled on ``luminance_grid``
        cells per side (:func:`luminance_contrast`, row x column, C order), the
        input of the linear pRF voxels.
    luminance_exponent : float
        Compressive exponent of the luminance cells (1: linear).

    Returns
    -------
    features : ndarray, shape (n_images, n_features), float32
        Columns: compressed pooled Gabor energy (orientation x frequency x grid
        row x grid column, C order), category one-hot, global statistics, then
        the luminance cells when ``luminance_grid`` is given.
    names : list of str
    """
    images = check_array(images, "images", "(n_images, H, W, 3)", ndim=4, dtype=np.float32)
    categories = check_array(categories, "categories", "(n_images,) of ints", ndim=1)
    check(
        categories.dtype.kind in "iu" and len(categories) == len(images),
        "categories",
        f"one int per image ({len(images)})",
        f"<{categories.dtype} shape {categories.shape}>",
    )
    check(
        bool(((categories >= 0) & (categories < n_categories)).all()),
        "categories",
        f"in [0, {n_categories})",
        f"<range [{categories.min()}, {categories.max()}]>",
    )
    onehot = np.eye(n_categories, dtype=np.float32)[categories]
    feats, _ = _raw_features(
        images, onehot, orientations, spatial_frequencies, grid, luminance_grid, luminance_exponent
    )
    feats = (feats - feats.mean(0)) / np.where(feats.std(0) > 1e-8, feats.std(0), 1.0)
    names = [
        f"gabor_o{i}_sf{j}_y{r}_x{c}"
        for i in range(len(orientations))
        for j in range(len(spatial_frequencies))
        for r in range(grid)
        for c in range(grid)
    ]
    names += [f"category_{k}" for k in range(n_categories)] + [f"global_{g}" for g in _GLOBAL]
    if luminance_grid:
        names += [f"luminance_y{r}_x{c}" for r in range(luminance_grid) for c in range(luminance_grid)]
    return feats.astype(np.float32), names


def _prf_positions(rng, n):
    x, y = rng.uniform(0.1, 0.9, (2, n))
    sigma = np.clip(np.exp(rng.normal(np.log(0.1), 0.4, n)), 0.04, 0.35)
    return x, y, sigma


def _gaussian_cells(centres, x, y, sigma):
    """Unit-sum Gaussian weights of each voxel over a (g, g, 2) array of cell centres -> (v, g, g)."""
    d2 = (centres[None, ..., 0] - x[:, None, None]) ** 2 + (centres[None, ..., 1] - y[:, None, None]) ** 2
    space = np.exp(-d2 / (2 * sigma[:, None, None] ** 2))
    return space / space.sum(axis=(1, 2), keepdims=True)


def _voxel_weights(
    rng,
    n_voxels,
    kinds,
    n_features,
    orientations,
    sfs,
    grid,
    n_categories,
    category_names,
    luminance_grid=0,
    luminance_sd=None,
):
    """Ground-truth weights (n_features, n_voxels) and the per-voxel parameter table columns."""
    n_o, n_s = len(orientations), len(sfs)
    n_gabor = n_o * n_s * grid * grid
    w = np.zeros((n_features, n_voxels))
    cols = {k: np.full(n_voxels, np.nan) for k in ("x", "y", "sigma", "orientation", "spatial_frequency")}
    pref_cat = np.full(n_voxels, "none", dtype=object)
    centres = cell_centres(grid)  # (g, g, 2)
    prf = np.flatnonzero(kinds == "prf")
    if prf.size:
        x, y, sigma = _prf_positions(rng, prf.size)
        oi, si = rng.integers(0, n_o, prf.size), rng.integers(0, n_s, prf.size)
        space = _gaussian_cells(centres, x, y, sigma)
        ori = np.exp(1.5 * (np.cos(2 * (orientations[None] - orientations[oi][:, None])) - 1))  # (v, O)
        sf = np.exp(-(np.log2(sfs[None] / sfs[si][:, None]) ** 2) / 2)  # (v, S), 1-octave sd
        full = ori[:, :, None, None, None] * sf[:, None, :, None, None] * space[:, None, None]
        w[:n_gabor, prf] = full.reshape(prf.size, -1).T
        cols["x"][prf], cols["y"][prf], cols["sigma"][prf] = x, y, sigma
        cols["orientation"][prf], cols["spatial_frequency"][prf] = orientations[oi], sfs[si]
    cat = np.flatnonzero(kinds == "category")
    if cat.size:
        pc = rng.integers(0, n_categories, cat.size)
        block = rng.normal(0, 0.15, (n_categories, cat.size))
        block[pc, np.arange(cat.size)] = 1.0
        w[n_gabor : n_gabor + n_categories, cat] = block
        pref_cat[cat] = np.asarray(category_names)[pc]
    n_lum = luminance_grid * luminance_grid
    n_g = n_features - n_gabor - n_categories - n_lum
    lin = np.flatnonzero(kinds == "linear_prf")
    if lin.size:
        # Dumoulin & Wandell (2008): response = sum over cells of G(x, y) * luminance contrast. The features are
        # standardised, so the weight of a cell is G times that cell's standard deviation over the images.
        x, y, sigma = _prf_positions(rng, lin.size)
        space = _gaussian_cells(cell_centres(luminance_grid), x, y, sigma).reshape(lin.size, -1)
        w[n_features - n_lum :, lin] = (space * luminance_sd[None]).T
        cols["x"][lin], cols["y"][lin], cols["sigma"][lin] = x, y, sigma
    glob = np.flatnonzero(kinds == "global")
    for v in glob:
        pick = rng.choice(n_g, size=2, replace=False)
        w[n_gabor + n_categories + pick, v] = rng.choice([-1.0, 1.0], 2) * rng.uniform(0.5, 1.0, 2)
    return w, cols, pref_cat


def _subject(rng, name, n_vox, feats, categories, category_names, train_pool, test_ids, p):
    import pandas as pd

    n_early = int(round(p["fraction_prf"] * n_vox))
    n_lin = int(round(p["linear_fraction"] * n_early))
    n_cat = min(n_vox - n_early, int(round(p["fraction_category"] * n_vox)))
    kinds = np.array(
        ["prf"] * (n_early - n_lin)
        + ["linear_prf"] * n_lin
        + ["category"] * n_cat
        + ["global"] * (n_vox - n_early - n_cat)
    )
    ori, sfs = np.asarray(p["orientations"]), np.asarray(p["spatial_frequencies"])
    w, cols, pref_cat = _voxel_weights(
        rng,
        n_vox,
        kinds,
        feats.shape[1],
        ori,
        sfs,
        p["grid"],
        len(category_names),
        category_names,
        p["luminance_grid"],
        p.get("_luminance_sd"),
    )
    signal = feats.astype(np.float64) @ w
    gain = rng.uniform(0.5, 1.5, n_vox) / np.where(signal.std(0) > 0, signal.std(0), 1.0)
    w *= gain
    intercept = rng.normal(1.0, 0.3, n_vox)
    noiseless = feats.astype(np.float64) @ w + intercept
    snr = p["snr"] * np.exp(rng.normal(0, p["snr_spread"], n_vox)) if p["snr_spread"] > 0 else np.full(n_vox, p["snr"])
    noise_sd = (noiseless - intercept).std(0) / snr

    def trials(ids, n_rep):
        order = np.repeat(ids, n_rep)
        rng.shuffle(order)
        rho = p["noise_correlation"]
        z = np.sqrt(1 - rho) * rng.standard_normal((len(order), n_vox)) + np.sqrt(rho) * rng.standard_normal(
            (len(order), 1)
        )
        return order.astype(np.int64), (noiseless[order] + z * noise_sd).astype(np.float32)

    n_own = int(round(p["train_fraction"] * len(train_pool)))
    own = np.sort(rng.choice(train_pool, size=n_own, replace=False)) if n_own < len(train_pool) else train_pool
    ids_tr, b_tr = trials(own, p["n_repeats_train"])
    ids_te, b_te = trials(test_ids, p["n_repeats"])
    s2 = noiseless[test_ids].var(0)
    ceiling = np.sqrt(s2 / (s2 + noise_sd**2 / p["n_repeats"]))
    table = pd.DataFrame(
        {
            "voxel": np.arange(n_vox),
            "kind": kinds,
            **cols,
            "category": pref_cat,
            "snr": snr,
            "noise_sd": noise_sd,
            "intercept": intercept,
        }
    )
    return SubjectResponses(
        ids_tr,
        b_tr,
        ids_te,
        b_te,
        voxels=table,
        noiseless=noiseless.astype(np.float32),
        noise_ceiling=ceiling.astype(np.float32),
        voxel_kind=kinds,
        weights=w.astype(np.float32),
        intercept=intercept.astype(np.float32),
        noise_sd=noise_sd.astype(np.float32),
    )


@single_blas_thread
def simulate_visual_experiment(
    n_subjects=4,
    n_voxels=None,
    image_size=32,
    n_train_images=400,
    n_test_images=50,
    n_repeats=3,
    n_repeats_train=1,
    snr=1.0,
    snr_spread=0.3,
    fraction_prf=0.6,
    fraction_category=0.25,
    n_orientations=4,
    spatial_frequencies=None,
    grid=None,
    noise_correlation=0.1,
    train_fraction=1.0,
    linear_fraction=0.3,
    linear_exponent=1.0,
    seed=0,
) -> StimulusResponses:
    """Simulate an NSD-like visual fMRI experiment with known ground truth.

    Parameters
    ----------
    n_subjects : int
        Number of subjects (> 0).
    n_voxels : int or list of int, optional
        Voxels per subject (each > 0); an int gives every subject the same
        count. Default ``300, 350, 400, ...`` (50 more per subject).
    image_size : int
        Stimulus side in pixels (>= 8).
    n_train_images, n_test_images : int
        Sizes of the training pool and of the shared test set (> 0).
    n_repeats : int
        Presentations of each test image per subject (NSD: 3).
    n_repeats_train : int
        Presentations of each training image per subject.
    snr : float
        Single-trial signal-to-noise ratio (std of the true response over
        images / std of the trial noise); > 0.
    snr_spread : float
        Standard deviation of the log-normal spread of per-voxel SNR around
        ``snr`` (0: every voxel has ``snr``).
    fraction_prf, fraction_category : float
        Fractions of early-visual (pRF) and category-tuned voxels; the rest are
        tuned to global image statistics.
    n_orientations : int
        Gabor orientations evenly spaced in [0, pi).
    spatial_frequencies : list of float, optional
        Gabor spatial frequencies in cycles per image; default the octaves
        2, 4, 8, ... below ``image_size / 3``.
    grid : int, optional
        Spatial pooling cells per side (default ``min(8, image_size // 4)``).
    noise_correlation : float
        Fraction of the trial noise variance shared by all voxels, in [0, 1).
    train_fraction : float
        Fraction of the training pool each subject sees, in (0, 1]
        (1: all subjects share the same training images).
    linear_fraction : float
        Share of the early-visual voxels that are linear luminance pRFs
        (``"linear_prf"``, Dumoulin & Wandell 2008: Gaussian-weighted sum of
        the luminance contrast, phase sensitive) instead of Gabor-energy pRFs
        (``"prf"``, phase invariant), in [0, 1]. The luminance is pooled on
        ``min(16, image_size // 2)`` cells per side (``params["luminance_grid"]``).
    linear_exponent : float
        Compressive exponent of the linear pRFs, in (0, 1] (1: linear). It is
        applied to each luminance cell (``sign(c) |c| ** exponent``) before the
        Gaussian summation, so responses stay linear in ``features``.
    seed : int or None
        Random seed.

    Returns
    -------
    StimulusResponses
    """
    check(isinstance(n_subjects, (int, np.integer)) and n_subjects > 0, "n_subjects", "an int > 0", n_subjects)
    for name, value in dict(
        image_size=image_size,
        n_train_images=n_train_images,
        n_test_images=n_test_images,
        n_repeats=n_repeats,
        n_repeats_train=n_repeats_train,
        n_orientations=n_orientations,
    ).items():
        check(
            isinstance(value, (int, np.integer)) and not isinstance(value, bool), name, "an int", value, exc=TypeError
        )
    if n_voxels is None:
        n_voxels = [300 + 50 * i for i in range(n_subjects)]
    elif isinstance(n_voxels, (int, np.integer)):
        n_voxels = [int(n_voxels)] * n_subjects
    n_voxels = [int(v) for v in n_voxels]
    check(len(n_voxels) == n_subjects, "n_voxels", f"an int or a list of {n_subjects} ints (one per subject)", n_voxels)
    check(all(v > 0 for v in n_voxels), "n_voxels", "> 0 for every subject", n_voxels)
    check(image_size >= 8, "image_size", ">= 8 pixels", image_size)
    check(n_train_images > 0, "n_train_images", "> 0", n_train_images)
    check(n_test_images > 0, "n_test_images", "> 0", n_test_images)
    check(n_repeats >= 1, "n_repeats", ">= 1", n_repeats)
    check(n_repeats_train >= 1, "n_repeats_train", ">= 1", n_repeats_train)
    check(np.isfinite(snr) and snr > 0, "snr", "> 0", snr)
    check(snr_spread >= 0, "snr_spread", ">= 0", snr_spread)
    check(
        0 <= fraction_prf <= 1 and 0 <= fraction_category <= 1 and fraction_prf + fraction_category <= 1,
        "fraction_prf + fraction_category",
        "fractions in [0, 1] summing to <= 1",
        (fraction_prf, fraction_category),
    )
    check(n_orientations >= 1, "n_orientations", ">= 1", n_orientations)
    check(0 <= noise_correlation < 1, "noise_correlation", "in [0, 1)", noise_correlation)
    check(0 < train_fraction <= 1, "train_fraction", "in (0, 1]", train_fraction)
    check(0 <= linear_fraction <= 1, "linear_fraction", "in [0, 1]", linear_fraction)
    check(np.isfinite(linear_exponent) and 0 < linear_exponent <= 1, "linear_exponent", "in (0, 1]", linear_exponent)
    if spatial_frequencies is None:
        spatial_frequencies = [f for f in (2.0, 4.0, 8.0, 16.0, 32.0) if f <= image_size / 3] or [image_size / 4]
    spatial_frequencies = [float(f) for f in spatial_frequencies]
    check(
        len(spatial_frequencies) > 0 and all(0 < f <= image_size / 2 for f in spatial_frequencies),
        "spatial_frequencies",
        f"values in (0, {image_size / 2}] cycles per image (Nyquist)",
        spatial_frequencies,
    )
    grid = int(grid) if grid is not None else max(1, min(8, image_size // 4))
    check(1 <= grid <= image_size, "grid", f"in [1, image_size={image_size}]", grid)

    rng = np.random.default_rng(seed)
    n_images = n_train_images + n_test_images
    stimuli, categories = make_stimuli(n_images, image_size, seed=rng.integers(2**32))
    perm = rng.permutation(n_images)
    test_ids, train_ids = np.sort(perm[:n_test_images]), np.sort(perm[n_test_images:])
    orientations = np.arange(n_orientations) * np.pi / n_orientations
    lum_grid = max(1, min(16, image_size // 2))
    feats, names = stimulus_features(
        stimuli,
        categories,
        len(CATEGORY_NAMES),
        orientations,
        np.asarray(spatial_frequencies),
        grid,
        lum_grid,
        linear_exponent,
    )
    gray = stimuli @ np.array([0.299, 0.587, 0.114], np.float32)
    lum_sd = luminance_contrast(gray - gray.mean(axis=(1, 2), keepdims=True), lum_grid, linear_exponent)
    lum_sd = lum_sd.reshape(n_images, -1).std(0)
    p = dict(
        n_subjects=n_subjects,
        n_voxels=n_voxels,
        image_size=image_size,
        n_train_images=n_train_images,
        n_test_images=n_test_images,
        n_repeats=n_repeats,
        n_repeats_train=n_repeats_train,
        snr=float(snr),
        snr_spread=float(snr_spread),
        fraction_prf=float(fraction_prf),
        fraction_category=float(fraction_category),
        orientations=orientations.tolist(),
        spatial_frequencies=spatial_frequencies,
        grid=grid,
        noise_correlation=float(noise_correlation),
        train_fraction=float(train_fraction),
        linear_fraction=float(linear_fraction),
        linear_exponent=float(linear_exponent),
        luminance_grid=lum_grid,
        seed=seed,
    )
    subjects = {}
    for i, (child, nv) in enumerate(zip(rng.spawn(n_subjects), n_voxels)):
        name = f"sub-{i + 1:02d}"
        subjects[name] = _subject(
            child,
            name,
            nv,
            feats,
            categories,
            CATEGORY_NAMES,
            train_ids,
            test_ids,
            p | {"_luminance_sd": np.where(lum_sd > 1e-8, lum_sd, 1.0)},
        )
    return StimulusResponses(
        stimuli,
        categories,
        list(CATEGORY_NAMES),
        train_ids.astype(np.int64),
        test_ids.astype(np.int64),
        subjects,
        features=feats,
        feature_names=names,
        info={"producer": "simulate_visual_fmri", "params": p},
    )


def noiseless_responses(experiment, subject, images, categories):
    """True (noiseless) responses of a subject's voxels to arbitrary images, by the simulator's forward model.

    The features of ``images`` are computed as :func:`stimulus_features` does and
    standardised with the statistics of the experiment's own stimuli (the Gabor
    energy scale, each feature's mean and s.d.), then ``features @ weights +
    intercept``. The category feature of the model is a label, not a function of
    the pixels: it is given by ``categories``, e.g. a classifier's posterior for
    new images. On the experiment's stimuli with their labels this reproduces
    ``SubjectResponses.noiseless``.

    Parameters
    ----------
    experiment : StimulusResponses
        A simulated experiment (its ``info["params"]`` and ground truth).
    subject : str
        Key of ``experiment.subjects``.
    images : ndarray, shape (n_images, H, W, 3), float in [0, 1]
        Same size as the stimuli.
    categories : ndarray, shape (n_images,) int or (n_images, n_categories) float
        Category labels, or category probabilities (a soft one-hot).

    Returns
    -------
    ndarray, shape (n_images, n_voxels), float32
    """
    if not isinstance(experiment, StimulusResponses):
        raise bad_value("experiment", "a StimulusResponses", f"<{type(experiment).__name__}>", exc=TypeError)
    if subject not in experiment.subjects:
        raise bad_value("subject", f"one of {sorted(experiment.subjects)}", subject)
    images = np.asarray(images, np.float32)
    check(
        images.ndim == 4 and images.shape[1:] == experiment.stimuli.shape[1:],
        "images",
        f"an array (n_images, {', '.join(map(str, experiment.stimuli.shape[1:]))}) like the stimuli",
        f"<shape {images.shape}>",
    )
    k = len(experiment.category_names)
    cats = np.asarray(categories)
    onehot = np.eye(k, dtype=np.float32)[cats.astype(np.int64)] if cats.ndim == 1 else cats.astype(np.float32)
    check(
        onehot.shape == (len(images), k),
        "categories",
        f"{len(images)} labels or an array ({len(images)}, {k})",
        f"<shape {cats.shape}>",
    )
    p = experiment.info["params"]
    args = (p["orientations"], p["spatial_frequencies"], p["grid"], p["luminance_grid"], p["linear_exponent"])
    natural, scale = _raw_features(experiment.stimuli, np.eye(k, dtype=np.float32)[experiment.categories], *args)
    new, _ = _raw_features(images, onehot, *args, scale=scale)
    sd = natural.std(0)
    feats = ((new - natural.mean(0)) / np.where(sd > 1e-8, sd, 1.0)).astype(np.float32)
    sub = experiment.subjects[subject]
    return (feats.astype(np.float64) @ sub.weights + sub.intercept).astype(np.float32)
