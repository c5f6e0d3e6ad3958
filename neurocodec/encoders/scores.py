"""Voxelwise scores of encoding models and noise ceilings.

Every function works column-wise on ``(n_samples, n_voxels)`` arrays and
returns one value per voxel.
"""

from __future__ import annotations

import numpy as np

from ..pipeline import bad_value, check_array

__all__ = [
    "pearson_r",
    "r2_score",
    "explained_variance",
    "noise_ceiling_ncsnr",
    "ncsnr_to_ceiling",
    "noise_ceiling_split_half",
    "normalize_by_ceiling",
    "permutation_pvalues",
]


def _pair(y_true, y_pred):
    from ..pipeline import check_array

    y_true = check_array(
        y_true, "y_true", "(n_samples,) or (n_samples, n_targets)", ndim=(1, 2), finite=False, dtype=np.float64
    )
    y_pred = check_array(
        y_pred, "y_pred", "(n_samples,) or (n_samples, n_targets)", ndim=(1, 2), finite=False, dtype=np.float64
    )
    if y_true.ndim == 1:
        y_true = y_true[:, None]
    if y_pred.ndim == 1:
        y_pred = y_pred[:, None]
    if y_true.shape != y_pred.shape:
        raise bad_value("y_pred", f"the shape of y_true {y_true.shape}", f"<shape {y_pred.shape}>")
    if y_true.shape[0] < 2:
        raise bad_value("n_samples", ">= 2", y_true.shape[0], of="y_true")
    for name, a in (("y_true", y_true), ("y_pred", y_pred)):
        if not np.isfinite(a).all():
            raise bad_value(name, "finite (no NaN or inf)", f"<{int((~np.isfinite(a)).sum())} non-finite values>")
    return y_true, y_pred


def pearson_r(y_true, y_pred):
    """Pearson correlation per column.

    Parameters
    ----------
    y_true, y_pred : array, shape (n_samples, n_voxels)

    Returns
    -------
    r : ndarray, shape (n_voxels,)
        ``nan`` where a column is constant (correlation undefined).
    """
    a, b = _pair(y_true, y_pred)
    a = a - a.mean(0)
    b = b - b.mean(0)
    den = np.sqrt((a * a).sum(0) * (b * b).sum(0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (a * b).sum(0) / np.where(den > 0, den, 1.0), np.nan)


def r2_score(y_true, y_pred):
    """Coefficient of determination per column, ``1 - SS_res / SS_tot``.

    Returns ``nan`` where ``y_true`` is constant.
    """
    a, b = _pair(y_true, y_pred)
    ss_tot = ((a - a.mean(0)) ** 2).sum(0)
    ss_res = ((a - b) ** 2).sum(0)
    return np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0), np.nan)


def explained_variance(y_true, y_pred):
    """Explained variance per column, ``1 - Var(y - y_hat) / Var(y)`` (ignores bias)."""
    a, b = _pair(y_true, y_pred)
    v = a.var(0)
    return np.where(v > 0, 1.0 - (a - b).var(0) / np.where(v > 0, v, 1.0), np.nan)


def noise_ceiling_ncsnr(betas):
    """Noise-ceiling signal-to-noise ratio (NSD, Allen et al. 2022).

    Per voxel, betas are z-scored over all trials (``betas`` is already
    arranged by image), the noise s.d. is ``sqrt(mean_i var_r(beta_ir))``
    (ddof=1 over repeats), the signal s.d. ``sqrt(max(0, 1 - noise_sd^2))``
    and ``ncsnr = signal_sd / noise_sd``.

    Parameters
    ----------
    betas : array, shape (n_images, n_repeats, n_voxels)
        Single-trial responses; ``n_repeats >= 2``.

    Returns
    -------
    ncsnr : ndarray, shape (n_voxels,)
    """
    b = check_array(betas, "betas", "(n_images, n_repeats, n_voxels)", ndim=3, finite=False, dtype=np.float64)
    if b.shape[1] < 2 or b.shape[0] < 2:
        raise bad_value("betas", "an array (n_images >= 2, n_repeats >= 2, n_voxels)", f"<shape {b.shape}>")
    if not np.isfinite(b).all():
        raise bad_value("betas", "finite (no NaN or inf)", "<non-finite values>")
    flat = b.reshape(-1, b.shape[2])
    sd = flat.std(0)
    z = (b - flat.mean(0)) / np.where(sd > 0, sd, 1.0)
    noise_var = z.var(1, ddof=1).mean(0)
    noise_sd = np.sqrt(noise_var)
    signal_sd = np.sqrt(np.clip(1.0 - noise_var, 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(noise_sd > 0, signal_sd / np.where(noise_sd > 0, noise_sd, 1.0), np.inf)


def ncsnr_to_ceiling(ncsnr, n_average=1, as_r=True):
    """Noise ceiling from ncsnr: ``NC = ncsnr^2 / (ncsnr^2 + 1/n_average)``.

    Parameters
    ----------
    ncsnr : array, shape (n_voxels,)
    n_average : int
        Number of repeats averaged in the predicted data.
    as_r : bool
        Return the ceiling as a Pearson r (``sqrt(NC)``) instead of a fraction
        of explainable variance (NSD reports ``100 * NC`` percent).
    """
    s2 = check_array(ncsnr, "ncsnr", "(n_voxels,)", ndim=1, finite=False, dtype=np.float64) ** 2
    if np.isnan(s2).any():
        raise bad_value("ncsnr", "free of NaN (inf: a noiseless voxel)", f"<{int(np.isnan(s2).sum())} NaN values>")
    if n_average < 1:
        raise bad_value("n_average", ">= 1", n_average)
    with np.errstate(invalid="ignore"):
        nc = np.where(np.isinf(s2), 1.0, s2 / (s2 + 1.0 / n_average))
    return np.sqrt(nc) if as_r else nc


def noise_ceiling_split_half(betas, n_splits=100, random_state=0, n_average=None):
    """Split-half noise ceiling (Pearson r) with Spearman-Brown correction.

    Repeats are split at random into two halves, the half-means are correlated
    over images, and ``r_half`` is stepped up to the number of repeats
    averaged: ``r_k = k r / (1 + (k - 1) r)`` with ``k = n_average / (n_repeats/2)``;
    the ceiling in Pearson r for predicting the average of ``n_average``
    repeats is ``sqrt(r_k)`` (a perfect model correlates with the true signal).

    Parameters
    ----------
    betas : array, shape (n_images, n_repeats, n_voxels)
    n_splits : int
        Random splits averaged.
    random_state : int
    n_average : int, optional
        Repeats averaged in the predicted data (default ``n_repeats``).

    Returns
    -------
    ceiling : ndarray, shape (n_voxels,)
    """
    b = check_array(betas, "betas", "(n_images, n_repeats, n_voxels)", ndim=3, dtype=np.float64)
    if b.shape[1] < 2 or b.shape[0] < 3:
        raise bad_value("betas", "an array (n_images >= 3, n_repeats >= 2, n_voxels)", f"<shape {b.shape}>")
    n_rep = b.shape[1]
    n_average = n_rep if n_average is None else n_average
    rng = np.random.default_rng(random_state)
    rs = []
    for _ in range(n_splits):
        perm = rng.permutation(n_rep)
        h = n_rep // 2
        r = pearson_r(b[:, perm[:h]].mean(1), b[:, perm[h : 2 * h]].mean(1))
        rs.append(np.nan_to_num(r))
    r = np.clip(np.mean(rs, axis=0), 0.0, 1.0)
    k = n_average / (n_rep // 2)
    rk = k * r / (1.0 + (k - 1.0) * r)
    return np.sqrt(rk)


def normalize_by_ceiling(score, ceiling, min_ceiling=0.05):
    """Score divided by the noise ceiling; ``nan`` where the ceiling is below ``min_ceiling``."""
    score = check_array(score, "score", "(n_voxels,) (NaN allowed)", ndim=(1, 2), finite=False, dtype=np.float64)
    ceiling = check_array(ceiling, "ceiling", "(n_voxels,) (NaN allowed)", ndim=(1, 2), finite=False, dtype=np.float64)
    for name, a in (("score", score), ("ceiling", ceiling)):
        if np.isinf(a).any():
            raise bad_value(name, "free of inf (NaN marks an undefined value)", f"<{int(np.isinf(a).sum())} inf>")
    if score.shape != ceiling.shape:
        raise bad_value("ceiling", f"the shape of score {score.shape}", f"<shape {ceiling.shape}>")
    return np.where(ceiling >= min_ceiling, score / np.where(ceiling >= min_ceiling, ceiling, 1.0), np.nan)


def permutation_pvalues(y_true, y_pred, n_permutations=1000, random_state=0, block_size=1):
    """One-sided permutation p-values of voxelwise Pearson r.

    Samples of ``y_pred`` are permuted (in blocks of ``block_size`` consecutive
    samples, for autocorrelated time series) and the null distribution of r is
    built; ``p = (1 + #{r_null >= r}) / (1 + n_permutations)``.

    Returns
    -------
    r : ndarray, shape (n_voxels,)
    pvalues : ndarray, shape (n_voxels,)
    """
    a, b = _pair(y_true, y_pred)
    if n_permutations < 1 or block_size < 1:
        raise bad_value("n_permutations", ">= 1 (and block_size >= 1)", (n_permutations, block_size))
    a = (a - a.mean(0)) / np.where(a.std(0) > 0, a.std(0), 1.0)
    b = (b - b.mean(0)) / np.where(b.std(0) > 0, b.std(0), 1.0)
    n = a.shape[0]
    r = (a * b).mean(0)
    blocks = [np.arange(s, min(s + block_size, n)) for s in range(0, n, block_size)]
    rng = np.random.default_rng(random_state)
    count = np.zeros(a.shape[1])
    for _ in range(n_permutations):
        idx = np.concatenate([blocks[i] for i in rng.permutation(len(blocks))])
        count += (a * b[idx]).mean(0) >= r
    return r, (1.0 + count) / (1.0 + n_permutations)
