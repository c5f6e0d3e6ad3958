"""BOLD time series from single-trial betas (HRF convolution, TR, drift, AR(1) noise) and the
least-squares-all GLM that recovers the betas.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...pipeline import check, check_array
from ._hrf import blas_single_thread, spm_hrf

__all__ = ["SimulatedBold", "simulate_bold", "trial_design", "fit_glm_betas"]


@dataclass
class SimulatedBold:
    """A simulated event-related BOLD run.

    Attributes
    ----------
    bold : ndarray, shape (n_scans, n_voxels), float32
    onsets : ndarray, shape (n_trials,)
        Trial onsets in seconds.
    trial_duration : float
        Seconds each stimulus stays on.
    tr : float
        Repetition time in seconds.
    betas : ndarray, shape (n_trials, n_voxels), float32
        The true betas used.
    drift : ndarray, shape (n_scans, n_voxels), float32
        The true slow drift (baseline included).
    noise_sd : ndarray, shape (n_voxels,)
    """

    bold: np.ndarray
    onsets: np.ndarray
    trial_duration: float
    tr: float
    betas: np.ndarray
    drift: np.ndarray
    noise_sd: np.ndarray

    def design(self) -> np.ndarray:
        """Trial regressors, shape (n_scans, n_trials) (see :func:`trial_design`)."""
        return trial_design(self.onsets, self.trial_duration, self.tr, self.bold.shape[0])


def trial_design(onsets, duration, tr, n_scans, oversampling=16) -> np.ndarray:
    """One regressor per trial: a boxcar convolved with SPM's canonical HRF, sampled at each scan.

    Parameters
    ----------
    onsets : array-like, shape (n_trials,)
        Seconds.
    duration : float
        Stimulus duration in seconds.
    tr : float
        Repetition time (> 0).
    n_scans : int
    oversampling : int
        Time resolution of the convolution, in samples per TR.

    Returns
    -------
    design : ndarray, shape (n_scans, n_trials), float64
        The HRF has unit sum over its samples, so a regressor's plateau equals the response to a long stimulus.
    """
    check(tr > 0, "tr", "> 0", tr)
    onsets = check_array(onsets, "onsets", "(n_trials,) in seconds", ndim=1, dtype=float)
    dt = tr / oversampling
    n_fine = n_scans * oversampling
    hrf = spm_hrf(tr, oversampling)
    t = np.arange(n_fine) * dt
    box = ((t[:, None] >= onsets[None]) & (t[:, None] < onsets[None] + duration)).astype(float)
    n = n_fine + len(hrf) - 1
    nfft = 1 << (n - 1).bit_length()
    fine = np.fft.irfft(np.fft.rfft(box, nfft, axis=0) * np.fft.rfft(hrf, nfft)[:, None], nfft, axis=0)[:n_fine]
    return fine[::oversampling]


def _drift_basis(n_scans, order):
    x = np.linspace(-1, 1, n_scans)
    return np.polynomial.legendre.legvander(x, order)  # (n_scans, order + 1), constant first


def simulate_bold(
    betas,
    tr=1.0,
    trial_duration=3.0,
    trial_interval=4.0,
    jitter=1.0,
    snr=2.0,
    drift_order=3,
    drift_amplitude=1.0,
    ar_coef=0.3,
    baseline=100.0,
    seed=0,
) -> SimulatedBold:
    """Simulate a BOLD run whose trial responses are ``betas``.

    Parameters
    ----------
    betas : ndarray, shape (n_trials, n_voxels)
        Single-trial betas in presentation order.
    tr : float
        Repetition time in seconds (> 0).
    trial_duration : float
        Stimulus on-time in seconds (NSD: 3 s).
    trial_interval : float
        Onset-to-onset time in seconds before jitter (>= trial_duration).
    jitter : float
        Extra uniform random delay in [0, jitter] seconds added to each interval.
    snr : float
        Std of the evoked signal over scans / std of the noise, per voxel (> 0).
    drift_order : int
        Order of the Legendre polynomial drift (>= 0; 0: constant baseline only).
    drift_amplitude : float
        Std of the drift coefficients, relative to the evoked-signal std.
    ar_coef : float
        AR(1) coefficient of the noise, in [0, 1).
    baseline : float
        Mean signal level.
    seed : int or None

    Returns
    -------
    SimulatedBold
    """
    betas = check_array(betas, "betas", "(n_trials, n_voxels)", ndim=2, dtype=np.float64)
    check(
        betas.shape[0] > 0 and betas.shape[1] > 0,
        "betas",
        "a non-empty (n_trials, n_voxels) array",
        f"<shape {betas.shape}>",
    )
    check(tr > 0, "tr", "> 0", tr)
    check(trial_duration > 0, "trial_duration", "> 0", trial_duration)
    check(trial_interval >= trial_duration, "trial_interval", f">= trial_duration={trial_duration}", trial_interval)
    check(snr > 0, "snr", "> 0", snr)
    check(drift_order >= 0, "drift_order", ">= 0", drift_order)
    check(0 <= ar_coef < 1, "ar_coef", "in [0, 1)", ar_coef)
    with blas_single_thread():
        rng = np.random.default_rng(seed)
        n_trials, n_vox = betas.shape
        onsets = 6.0 + np.arange(n_trials) * trial_interval + np.cumsum(rng.uniform(0, jitter, n_trials))
        n_scans = int(np.ceil((onsets[-1] + trial_interval + 20.0) / tr))
        design = trial_design(onsets, trial_duration, tr, n_scans)
        evoked = design @ betas
        scale = evoked.std(0)
        scale[scale == 0] = 1.0
        coefs = rng.normal(0, drift_amplitude, (drift_order + 1, n_vox)) * scale
        coefs[0] += baseline
        drift = _drift_basis(n_scans, drift_order) @ coefs
        white = rng.standard_normal((n_scans, n_vox))
        noise = np.empty_like(white)
        noise[0] = white[0]
        for t in range(1, n_scans):  # AR(1), unit stationary variance
            noise[t] = ar_coef * noise[t - 1] + np.sqrt(1 - ar_coef**2) * white[t]
        noise_sd = scale / snr
        bold = evoked + drift + noise * noise_sd
    return SimulatedBold(
        bold.astype(np.float32),
        onsets,
        float(trial_duration),
        float(tr),
        betas.astype(np.float32),
        drift.astype(np.float32),
        noise_sd,
    )


def fit_glm_betas(bold, onsets, trial_duration, tr, drift_order=3) -> np.ndarray:
    """Least-squares-all GLM: one regressor per trial plus Legendre drift terms.

    Parameters
    ----------
    bold : ndarray, shape (n_scans, n_voxels)
    onsets : array-like, shape (n_trials,)
    trial_duration, tr : float
    drift_order : int

    Returns
    -------
    betas : ndarray, shape (n_trials, n_voxels), float32
    """
    bold = check_array(bold, "bold", "(n_scans, n_voxels)", ndim=2, dtype=np.float64)
    onsets = check_array(onsets, "onsets", "(n_trials,) in seconds", ndim=1, dtype=float)
    check(len(bold) > len(onsets), "bold", f"more scans than trials ({len(onsets)})", f"<shape {bold.shape}>")
    x = np.hstack([trial_design(onsets, trial_duration, tr, bold.shape[0]), _drift_basis(bold.shape[0], drift_order)])
    with blas_single_thread():
        coef, *_ = np.linalg.lstsq(x, bold, rcond=None)
    return coef[: len(onsets)].astype(np.float32)
