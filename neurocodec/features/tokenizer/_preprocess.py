"""EEG input handling for the TFM-Tokenizer: arrays / mne objects -> scaled 200-Hz windows -> STFT."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from ...pipeline import bad_value, check, check_array

__all__ = [
    "as_trials",
    "resample",
    "scale_signals",
    "continuous_windows",
    "stft_magnitude",
    "quantile_scale",
    "fit_offset",
    "fit_scaling",
    "prepare_trials",
]

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
        if x.dtype.kind not in "biuf":
            raise bad_value("data", "a numeric array, mne Raw or Epochs", f"<{type(data).__name__} of dtype {x.dtype}>")
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3:
            raise bad_value(
                "data", "an array of shape (n_chans, n_times) or (n_trials, n_chans, n_times)", f"<shape {x.shape}>"
            )
        if sfreq is None:
            raise bad_value("sfreq", "given for an array input", None)
        names = [f"EEG{i:03d}" for i in range(x.shape[1])]
    check(
        isinstance(sfreq, (int, float, np.number)) and not isinstance(sfreq, bool),
        "sfreq",
        "a number (Hz)",
        sfreq,
        of="data",
        exc=TypeError,
    )
    sfreq = float(sfreq)
    check(np.isfinite(sfreq) and sfreq > 0, "sfreq", "> 0", sfreq, of="data")
    check(x.shape[0] > 0 and x.shape[1] > 0 and x.shape[2] > 0, "data", "non-empty", f"<shape {x.shape}>")
    bad = ~np.isfinite(x)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise bad_value(
            "data", "finite (no NaN or inf)", f"<{int(bad.sum())} non-finite values, first at index {first}>"
        )
    return x.astype(np.float32, copy=False), sfreq, names


def resample(x: np.ndarray, sfreq: float, target: float = TARGET_SFREQ) -> np.ndarray:
    """Polyphase resampling of the last axis from ``sfreq`` to ``target`` Hz.

    The signal is extended linearly beyond its ends before filtering
    (``padtype="line"``), so offsets and slow drifts (e.g. slow cortical
    potentials) do not ring or decay towards zero at the trial edges.
    """
    x = check_array(x, "x", "(..., n_times)", ndim=(1, 2, 3))
    check(x.shape[-1] > 0, "x", "at least one sample", f"<shape {x.shape}>")
    check(
        isinstance(sfreq, (int, float, np.number)) and not isinstance(sfreq, bool) and np.isfinite(sfreq) and sfreq > 0,
        "sfreq",
        "> 0 Hz",
        sfreq,
    )
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
    mode : {"none", "auto"}
        ``"auto"``: the median of the trial means, only for channels whose
        offset is constant across trials (``|median| > ratio x`` the standard
        deviation of the trial means, e.g. a DC-coupled amplifier's electrode
        offset); ``"none"``: None.
    ratio : float
        Threshold of ``"auto"``.

    Returns
    -------
    ndarray (1, n_chans, 1) float32, or None when nothing is removed.
    """
    if mode not in ("none", "auto"):
        raise bad_value("center", "'none' or 'auto'", mode)
    x = check_array(x, "x", "(n_trials, n_chans, n_times)", ndim=3)
    if mode == "none":
        return None
    means = x.mean(-1)
    med = np.median(means, axis=0)
    use = np.abs(med) > ratio * means.std(0)
    if not use.any():
        return None
    return np.where(use, med, 0.0).astype(np.float32).reshape(1, -1, 1)


def scale_signals(x: np.ndarray, mode: str = "trial", q: float = 0.95, scale: np.ndarray | None = None) -> np.ndarray:
    """Divide each channel by the ``q`` quantile of its absolute value.

    Parameters
    ----------
    x : ndarray (n_trials, n_chans, n_times)
    mode : {"trial", "channel"}
        ``"trial"`` (reference): per trial and channel; ``"channel"``: one
        scale per channel (``scale`` if given, e.g. fitted on training
        trials, else computed over ``x``).
    q : float
        Quantile in (0, 1].
    scale : ndarray (1, n_chans, 1), optional
        Precomputed per-channel scale for ``mode="channel"``.
    """
    check(0 < q <= 1, "scale_quantile", "in (0, 1]", q)
    x = check_array(x, "x", "(n_trials, n_chans, n_times)", ndim=3)
    check(x.shape[-1] > 0, "x", "at least one sample", f"<shape {x.shape}>")
    if mode == "trial":
        return x / quantile_scale(x, q, axis=(-1,))
    if mode == "channel":
        s = quantile_scale(x, q, axis=(0, 2)) if scale is None else np.asarray(scale, dtype=np.float32)
        check(s.shape == (1, x.shape[1], 1), "scale", f"of shape (1, {x.shape[1]}, 1)", f"<shape {s.shape}>")
        return x / s
    raise bad_value("scaling", "'trial' or 'channel'", mode)


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
    x = check_array(x, "x", "(n_chans, n_times)", ndim=2)
    n_chans, n_times = x.shape
    if n_times < frame:
        raise bad_value(
            "n_times", f">= {frame} samples (one {frame / TARGET_SFREQ:g}-s frame at 200 Hz)", n_times, of="recording"
        )
    n_frames = (n_times - frame) // hop + 1
    per_window = (window - frame) // hop + 1
    starts = np.arange(0, n_frames, per_window) * hop
    need = starts[-1] + window
    if need > n_times:
        x = np.concatenate([x, np.zeros((n_chans, need - n_times), dtype=x.dtype)], axis=1)
    return np.stack([x[:, s : s + window] for s in starts]), n_frames


def stft_magnitude(signal: Any, n_fft: int = 200, hop: int = 100, n_freqs: int = 100) -> Any:
    """Hann-window STFT magnitude, no centering, first ``n_freqs`` bins.

    Parameters
    ----------
    signal : Tensor (batch, n_times)

    Returns
    -------
    Tensor (batch, n_freqs, n_frames)
    """
    import torch

    if not torch.is_tensor(signal):
        signal = torch.as_tensor(check_array(signal, "signal", "(batch, n_times)", ndim=2))
    signal = check_array(signal, "signal", "(batch, n_times)", ndim=2)
    check(signal.is_floating_point(), "signal", "a float tensor", f"<dtype {signal.dtype}>", exc=TypeError)
    check(signal.shape[1] >= n_fft, "signal", f">= n_fft = {n_fft} samples", f"<shape {tuple(signal.shape)}>")
    window = torch.hann_window(n_fft, device=signal.device, dtype=signal.dtype)
    spec = torch.stft(
        signal, n_fft=n_fft, hop_length=hop, window=window, center=False, onesided=True, return_complex=True
    )
    return spec[:, :n_freqs, :].abs()


def fit_scaling(
    X: Any, sfreq: float | None = None, scaling: str = "trial", scale_quantile: float = 0.95, center: str = "none"
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Per-channel ``(scale, offset)`` fitted on training trials (the one copy the classifier and stages use).

    Parameters
    ----------
    X : array (n_trials, n_chans, n_times), mne Raw or Epochs
        Training trials (see :func:`as_trials`).
    sfreq : float, optional
        Sampling rate of an array input.
    scaling : {"trial", "channel"}
        ``"channel"``: one ``scale_quantile`` quantile of ``|x|`` per channel
        over all training trials (after centring); ``"trial"``: none fitted
        (each trial is scaled by itself).
    center : {"none", "auto"}
        See :func:`fit_offset`.

    Returns
    -------
    scale, offset : ndarray (1, n_chans, 1) float32 or None
    """
    check(scaling in ("trial", "channel"), "scaling", "'trial' or 'channel'", scaling)
    check(center in ("none", "auto"), "center", "'none' or 'auto'", center)
    x, sf, _ = as_trials(X, sfreq)
    if scaling == "trial" and center == "none":
        return None, None
    x = resample(x, sf)
    offset = fit_offset(x, center)
    if offset is not None:
        x = x - offset
    scale = quantile_scale(x, scale_quantile, axis=(0, 2)) if scaling == "channel" else None
    return scale, offset


def prepare_trials(
    X: Any,
    sfreq: float | None = None,
    scaling: str = "trial",
    scale_quantile: float = 0.95,
    scale: np.ndarray | None = None,
    pad_short: bool = False,
    frame: int = 200,
    offset: np.ndarray | None = None,
) -> np.ndarray:
    """Trials resampled to 200 Hz, centred and scaled, as float32 (n_trials, n_chans, n_times).

    Parameters
    ----------
    X : array, mne Raw or Epochs
        See :func:`as_trials`.
    sfreq : float, optional
        Sampling rate of an array input.
    scaling, scale_quantile, scale
        See :func:`scale_signals` (``scale``: from :func:`fit_scaling`).
    pad_short : bool
        Zero-pad (centred) trials shorter than one frame up to ``frame``
        samples instead of raising.
    frame : int
        Samples of one frame at 200 Hz.
    offset : ndarray (1, n_chans, 1), optional
        Per-channel offset subtracted (after resampling) before scaling.
    """
    x, sfreq, _ = as_trials(X, sfreq)
    x = resample(x, sfreq, TARGET_SFREQ)
    if offset is not None:
        off = np.asarray(offset, dtype=np.float32)
        check(off.shape == (1, x.shape[1], 1), "offset", f"of shape (1, {x.shape[1]}, 1)", f"<shape {off.shape}>")
        x = x - off
    if x.shape[-1] < frame:
        if not pad_short:
            raise bad_value(
                "n_times",
                f">= {frame} samples at 200 Hz (1 s; or set pad_short)",
                x.shape[-1],
                of="trials after resampling",
            )
        left = (frame - x.shape[-1]) // 2
        x = np.pad(x, ((0, 0), (0, 0), (left, frame - x.shape[-1] - left)))
    return np.ascontiguousarray(scale_signals(x, scaling, scale_quantile, scale), dtype=np.float32)
