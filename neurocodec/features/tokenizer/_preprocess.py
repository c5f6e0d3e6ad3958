"""EEG input handling for the TFM-Tokenizer: arrays / mne objects -> scaled 200-Hz windows -> STFT."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from ...pipeline import bad_value, check

__all__ = ["as_trials", "resample", "scale_signals", "continuous_windows", "stft_magnitude", "quantile_scale",
           "fit_offset"]

#: Sampling rate the tokenizer works at.
TARGET_SFREQ = 200.0


def as_trials(data: Any, sfreq: float | None = None) -> tuple[np.ndarray, float, list[str]]:
    """Bring any EEG input to ``(X, sfreq, ch_names)``.

    Parameters
    ----------
    data : mne.io.BaseRaw, mne.BaseEpochs or array
        Continuous raw (becomes one trial), epochs, or an array of shape
        ``(n_chans, n_times)`` or ``(n_trials, n_chans, n_times)``.
    sfreq : float, optional
        Sampling rate of an array input (required then; ignored for mne).

    Returns
    -------
    X : ndarray (n_trials, n_chans, n_times), float32
    sfreq : float
    ch_names : list of str
    """
    if hasattr(data, "get_data") and hasattr(data, "info"):
        x = np.asarray(data.get_data(), dtype=np.float64)
        sfreq = float(data.info["sfreq"])
        names = list(data.ch_names)
        if x.ndim == 2:
            x = x[None]
    else:
        x = np.asarray(data)
        if x.dtype == object or not np.issubdtype(x.dtype, np.number):
            raise bad_value("data", "a numeric array, mne Raw or Epochs", f"<{type(data).__name__} of dtype {x.dtype}>")
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3:
            raise bad_value("data", "an array of shape (n_chans, n_times) or (n_trials, n_chans, n_times)", f"<shape {x.shape}>")
        if sfreq is None:
            raise bad_value("sfreq", "given for an array input", None)
        names = [f"EEG{i:03d}" for i in range(x.shape[1])]
    sfreq = float(sfreq)
    check(np.isfinite(sfreq) and sfreq > 0, "sfreq", "> 0", sfreq, of="data")
    check(x.shape[0] > 0 and x.shape[1] > 0 and x.shape[2] > 0, "data", "non-empty", f"<shape {x.shape}>")
    bad = ~np.isfinite(x)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise bad_value("data", "finite (no NaN or inf)", f"<{int(bad.sum())} non-finite values, first at index {first}>")
    return x.astype(np.float32, copy=False), sfreq, names


def resample(x: np.ndarray, sfreq: float, target: float = TARGET_SFREQ) -> np.ndarray:
    """Polyphase resampling of the last axis from ``sfreq`` to ``target`` Hz.

    The signal is extended linearly beyond its ends before filtering
    (``padtype="line"``), so offsets and slow drifts (e.g. slow cortical
    potentials) do not ring or decay towards zero at the trial edges.
    """
    if abs(sfreq - target) < 1e-9:
        return x.astype(np.float32, copy=False)
    from scipy.signal import resample_poly

    ratio = Fraction(target / sfreq).limit_denominator(1000)
    return resample_poly(x, ratio.numerator, ratio.denominator, axis=-1, padtype="line").astype(np.float32)


def quantile_scale(x: np.ndarray, q: float = 0.95, axis: tuple[int, ...] = (-1,)) -> np.ndarray:
    """The ``q`` quantile of ``|x|`` along ``axis`` (kept dims), floored at 1e-8."""
    return np.maximum(np.quantile(np.abs(x), q, axis=axis, keepdims=True), 1e-8).astype(np.float32)


def fit_offset(x: np.ndarray, mode: str = "auto", ratio: float = 5.0) -> np.ndarray | None:
    """Per-channel offset to remove, estimated on training trials.

    Parameters
    ----------
    x : ndarray (n_trials, n_chans, n_times)
    mode : {"none", "auto", "channel"}
        ``"channel"``: the median of the trial means of every channel;
        ``"auto"``: only for channels whose offset is constant across trials
        (``|median| > ratio x`` the standard deviation of the trial means,
        e.g. a DC-coupled amplifier's electrode offset); ``"none"``: None.
    ratio : float
        Threshold of ``"auto"``.

    Returns
    -------
    ndarray (1, n_chans, 1) float32, or None when nothing is removed.
    """
    if mode not in ("none", "auto", "channel"):
        raise bad_value("center", "one of 'none', 'auto', 'channel'", mode)
    if mode == "none":
        return None
    means = x.mean(-1)
    med = np.median(means, axis=0)
    use = np.ones_like(med, dtype=bool) if mode == "channel" else np.abs(med) > ratio * means.std(0)
    if not use.any():
        return None
    return np.where(use, med, 0.0).astype(np.float32).reshape(1, -1, 1)


def scale_signals(x: np.ndarray, mode: str = "trial", q: float = 0.95, scale: np.ndarray | None = None) -> np.ndarray:
    """Divide each channel by the ``q`` quantile of its absolute value.

    Parameters
    ----------
    x : ndarray (n_trials, n_chans, n_times)
    mode : {"trial", "channel", "none"}
        ``"trial"`` (reference): per trial and channel; ``"channel"``: one
        scale per channel (``scale`` if given, e.g. fitted on training
        trials, else computed over ``x``); ``"none"``: unchanged.
    q : float
        Quantile in (0, 1].
    scale : ndarray (1, n_chans, 1), optional
        Precomputed per-channel scale for ``mode="channel"``.
    """
    check(0 < q <= 1, "scale_quantile", "in (0, 1]", q)
    if mode == "none":
        return x
    if mode == "trial":
        return x / quantile_scale(x, q, axis=(-1,))
    if mode == "channel":
        s = quantile_scale(x, q, axis=(0, 2)) if scale is None else np.asarray(scale, dtype=np.float32)
        check(s.shape == (1, x.shape[1], 1), "scale", f"of shape (1, {x.shape[1]}, 1)", f"<shape {s.shape}>")
        return x / s
    raise bad_value("scaling", "one of 'trial', 'channel', 'none'", mode)


def continuous_windows(x: np.ndarray, window: int, hop: int = 100, frame: int = 200) -> tuple[np.ndarray, int]:
    """Cut a continuous recording into windows whose frames tile time without gaps.

    Consecutive windows overlap by ``frame - hop`` samples so that frame
    ``k`` of the concatenated token sequence always starts at ``k * hop``.

    Parameters
    ----------
    x : ndarray (n_chans, n_times)
    window : int
        Samples per window (>= ``frame``).

    Returns
    -------
    windows : ndarray (n_windows, n_chans, window)
        The last window is zero-padded.
    n_frames : int
        Frames of the whole recording, ``(n_times - frame) // hop + 1``.
    """
    n_chans, n_times = x.shape
    if n_times < frame:
        raise bad_value("n_times", f">= {frame} samples (one {frame / TARGET_SFREQ:g}-s frame at 200 Hz)", n_times, of="recording")
    n_frames = (n_times - frame) // hop + 1
    per_window = (window - frame) // hop + 1
    starts = np.arange(0, n_frames, per_window) * hop
    need = starts[-1] + window
    if need > n_times:
        x = np.concatenate([x, np.zeros((n_chans, need - n_times), dtype=x.dtype)], axis=1)
    return np.stack([x[:, s:s + window] for s in starts]), n_frames


def stft_magnitude(signal: Any, n_fft: int = 200, hop: int = 100, n_freqs: int = 100, signed_dc: bool = False) -> Any:
    """Hann-window STFT magnitude, no centering, first ``n_freqs`` bins.

    Parameters
    ----------
    signal : Tensor (batch, n_times)
    signed_dc : bool
        Keep bin 0 (the Hann-weighted frame sum, a real number) with its sign
        instead of its magnitude, so the spectrum tells a positive from a
        negative slow shift; every other bin stays a magnitude.

    Returns
    -------
    Tensor (batch, n_freqs, n_frames)
    """
    import torch

    window = torch.hann_window(n_fft, device=signal.device, dtype=signal.dtype)
    spec = torch.stft(signal, n_fft=n_fft, hop_length=hop, window=window, center=False, onesided=True, return_complex=True)
    mag = spec.abs()[:, :n_freqs, :]
    return torch.cat([spec.real[:, :1, :], mag[:, 1:, :]], dim=1) if signed_dc else mag
