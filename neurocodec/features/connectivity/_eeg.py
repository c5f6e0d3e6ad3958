"""EEG / sEEG functional connectivity per frequency band from epochs:
coherence, imaginary coherence, PLV, PLI, wPLI, debiased wPLI² (through
mne-connectivity) and amplitude-envelope correlation (AEC).
"""

from __future__ import annotations

import numpy as np

from ...pipeline import bad_value, check, check_array

__all__ = ["SPECTRAL_METHODS", "EEG_METHODS", "DEFAULT_BANDS", "check_epochs", "eeg_connectivity"]

#: mne-connectivity names of the spectral measures.
SPECTRAL_METHODS = {
    "coh": "coh",
    "imcoh": "imcoh",
    "plv": "plv",
    "pli": "pli",
    "wpli": "wpli",
    "wpli2_debiased": "wpli2_debiased",
}
EEG_METHODS = tuple(SPECTRAL_METHODS) + ("aec",)
DEFAULT_BANDS = {"theta": [4.0, 8.0], "alpha": [8.0, 13.0], "beta": [13.0, 30.0]}


def check_epochs(epochs, sfreq: float | None = None) -> tuple[np.ndarray, float]:
    """Epoch data ``(n_epochs, n_chans, n_times)`` and sfreq from an array or mne Epochs."""
    if hasattr(epochs, "get_data") and hasattr(epochs, "info"):
        sfreq = float(epochs.info["sfreq"])
        epochs = epochs.get_data(picks="all")
    data = check_array(epochs, "epochs", "(n_epochs, n_chans, n_times) or mne Epochs", ndim=3, dtype=np.float64)
    check(data.shape[1] >= 2, "epochs", "at least 2 channels", f"<{data.shape[1]} channel>")
    if not np.all(np.isfinite(data)):
        raise bad_value("epochs", "finite (no NaN or inf)", f"<{int(np.sum(~np.isfinite(data)))} non-finite values>")
    if (
        not isinstance(sfreq, (int, float, np.number))
        or isinstance(sfreq, bool)
        or not np.isfinite(sfreq)
        or sfreq <= 0
    ):
        raise bad_value("sfreq", "> 0", sfreq, of="epochs")
    return data, float(sfreq)


def _check_bands(bands: dict, sfreq: float, n_times: int) -> dict:
    check(isinstance(bands, dict) and len(bands) > 0, "bands", "a non-empty {name: [fmin, fmax]} mapping", bands)
    nyq = sfreq / 2
    for name, (lo, hi) in bands.items():
        check(0 < lo < hi <= nyq, f"bands[{name!r}]", f"0 < fmin < fmax <= Nyquist ({nyq:g} Hz)", [lo, hi])
        check(
            n_times / sfreq >= 2.0 / lo,
            f"bands[{name!r}]",
            f"fmin >= 2 cycles per epoch ({2 * sfreq / n_times:.3g} Hz)",
            [lo, hi],
        )
    return bands


def _aec(data, sfreq, lo, hi, orthogonalize):
    from mne.filter import filter_data
    from mne_connectivity import envelope_correlation
    from scipy.signal import hilbert

    filt = filter_data(data, sfreq, lo, hi, verbose=False)
    analytic = hilbert(filt, axis=-1)
    con = envelope_correlation(analytic, orthogonalize="pairwise" if orthogonalize else False, verbose=False)
    dense = con.get_data(output="dense")  # (n_epochs, n_chans, n_chans, 1)
    mat = dense.mean(axis=0)[..., 0]
    mat = 0.5 * (mat + mat.T)
    np.fill_diagonal(mat, 0.0)
    return mat


def eeg_connectivity(
    epochs,
    sfreq: float | None = None,
    bands: dict | None = None,
    methods=("coh", "wpli"),
    mode: str = "multitaper",
    aec_orthogonalize: bool = False,
    n_jobs: int = 1,
) -> dict[str, np.ndarray]:
    """Band-averaged connectivity matrices between channels.

    Parameters
    ----------
    epochs : ndarray, shape (n_epochs, n_chans, n_times), or mne.Epochs
    sfreq : float
        Sampling frequency (read from ``epochs.info`` for mne Epochs).
    bands : dict of str -> [fmin, fmax]
        Frequency bands in Hz (default theta, alpha, beta).
    methods : sequence of str
        Among ``coh, imcoh, plv, pli, wpli, wpli2_debiased`` (cross-spectral,
        computed by ``mne_connectivity.spectral_connectivity_epochs``) and
        ``aec`` (band-pass + Hilbert envelope correlation, averaged over
        epochs; ``aec_orthogonalize`` for pairwise orthogonalised envelopes,
        Hipp et al. 2012).
    mode : {"multitaper", "fourier", "cwt_morlet"}
        Spectral estimation of mne-connectivity.

    Returns
    -------
    dict of str -> ndarray, shape (n_bands, n_chans, n_chans)
        Symmetric matrices (zero diagonal) per method, bands in ``bands`` order.
        ``imcoh`` keeps its sign (antisymmetric in the lower triangle, mirrored
        as is to the upper one).
    """
    data, sfreq = check_epochs(epochs, sfreq)
    bands = _check_bands(dict(DEFAULT_BANDS if bands is None else bands), sfreq, data.shape[-1])
    methods = list(methods)
    check(len(methods) > 0, "methods", f"a non-empty subset of {EEG_METHODS}", methods)
    for m in methods:
        check(m in EEG_METHODS, "methods", f"a subset of {EEG_METHODS}", m)
    n_chans = data.shape[1]
    out: dict[str, np.ndarray] = {}
    spectral = [m for m in methods if m in SPECTRAL_METHODS]
    if spectral:
        from mne_connectivity import spectral_connectivity_epochs

        check(data.shape[0] >= 2, "epochs", "at least 2 epochs for cross-spectral measures", f"<{data.shape[0]} epoch>")
        fmin = tuple(float(b[0]) for b in bands.values())
        fmax = tuple(float(b[1]) for b in bands.values())
        kwargs = {"cwt_freqs": np.linspace(min(fmin), max(fmax), 20)} if mode == "cwt_morlet" else {}
        cons = spectral_connectivity_epochs(
            data,
            method=[SPECTRAL_METHODS[m] for m in spectral],
            mode=mode,
            sfreq=sfreq,
            fmin=fmin,
            fmax=fmax,
            faverage=True,
            n_jobs=n_jobs,
            verbose=False,
            **kwargs,
        )
        cons = cons if isinstance(cons, list) else [cons]
        for m, con in zip(spectral, cons):
            dense = con.get_data(output="dense")  # (n_chans, n_chans, n_bands[, n_times]) lower triangle
            if dense.ndim == 4:
                dense = dense.mean(-1)
            mats = np.moveaxis(dense, -1, 0)
            mats = mats + np.swapaxes(mats, 1, 2)
            mats[:, np.arange(n_chans), np.arange(n_chans)] = 0.0
            out[m] = mats
    if "aec" in methods:
        out["aec"] = np.stack([_aec(data, sfreq, lo, hi, aec_orthogonalize) for lo, hi in bands.values()])
    return {m: out[m] for m in methods}
