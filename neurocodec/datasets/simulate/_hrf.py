"""Haemodynamic response function and coloured-noise helpers shared by the simulators."""

from __future__ import annotations

from math import lgamma

import numpy as np

__all__ = ["spm_hrf", "convolve_hrf", "blas_single_thread", "single_blas_thread"]


def _gamma_pdf(t: np.ndarray, shape: float, scale: float = 1.0) -> np.ndarray:
    t = np.asarray(t, dtype=np.float64) / scale
    out = np.zeros_like(t)
    pos = t > 0
    out[pos] = np.exp((shape - 1) * np.log(t[pos]) - t[pos] - lgamma(shape)) / scale
    return out


def spm_hrf(
    tr: float,
    oversampling: int = 1,
    length: float = 32.0,
    peak: float = 6.0,
    undershoot: float = 16.0,
    ratio: float = 1 / 6,
) -> np.ndarray:
    """SPM's canonical double-gamma HRF sampled every ``tr / oversampling`` seconds.

    Parameters
    ----------
    tr : float
        Repetition time in seconds (> 0).
    oversampling : int
        Samples per TR.
    length : float
        Duration of the kernel in seconds.
    peak, undershoot : float
        Shapes (in seconds, unit scale) of the response and undershoot gammas.
    ratio : float
        Amplitude of the undershoot relative to the peak.

    Returns
    -------
    hrf : ndarray, shape (n_samples,)
        Normalised to unit sum.
    """
    if not (isinstance(tr, (int, float, np.number)) and not isinstance(tr, bool)):
        raise TypeError(f"The 'tr' must be a number of seconds, got {tr!r}.")
    if not (np.isfinite(tr) and tr > 0):
        raise ValueError(f"The 'tr' must be > 0, got {tr!r}.")
    dt = tr / oversampling
    t = np.arange(0, length, dt)
    h = _gamma_pdf(t, peak) - ratio * _gamma_pdf(t, undershoot)
    return h / h.sum()


def convolve_hrf(x: np.ndarray, hrf: np.ndarray, axis: int = 0) -> np.ndarray:
    """Causal convolution of ``x`` with ``hrf`` along ``axis`` (FFT; output as long as ``x``)."""
    n = x.shape[axis] + len(hrf) - 1
    nfft = 1 << (n - 1).bit_length()
    shape = [1] * x.ndim
    shape[axis] = -1
    spec = np.fft.rfft(x, nfft, axis=axis) * np.fft.rfft(hrf, nfft).reshape(shape)
    full = np.fft.irfft(spec, nfft, axis=axis)
    return np.take(full, np.arange(x.shape[axis]), axis=axis)


def blas_single_thread():
    """Context manager limiting BLAS/OpenMP to one thread (the simulators do many small
    matrix products, for which threading only adds contention on a shared machine).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        from contextlib import nullcontext

        return nullcontext()
    return threadpool_limits(limits=1)


def single_blas_thread(fn):
    """Decorator: run ``fn`` inside :func:`blas_single_thread`."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with blas_single_thread():
            return fn(*args, **kwargs)

    return wrapper
