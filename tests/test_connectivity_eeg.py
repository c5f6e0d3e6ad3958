"""EEG/sEEG band connectivity against mne-connectivity and on signals with known coupling."""

import numpy as np
import pytest

from neurocodec.features.connectivity import eeg_connectivity


def _coupled(n_epochs=20, sfreq=200.0, n_times=400, lag_s=0.02, seed=0):
    """ch0, ch1: 10 Hz oscillation with a random phase per epoch, ch1 lagged; ch2: independent."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_times) / sfreq
    X = 0.5 * rng.standard_normal((n_epochs, 3, n_times))
    for e in range(n_epochs):
        phase = rng.uniform(0, 2 * np.pi)
        amp = 1.0 + 0.5 * np.sin(2 * np.pi * 0.5 * t + rng.uniform(0, 2 * np.pi))  # shared slow envelope
        X[e, 0] += amp * np.sin(2 * np.pi * 10 * t + phase)
        X[e, 1] += amp * np.sin(2 * np.pi * 10 * (t - lag_s) + phase)
        X[e, 2] += np.sin(2 * np.pi * 10 * t + rng.uniform(0, 2 * np.pi))
    return X, sfreq


BANDS = {"alpha": [8.0, 12.0], "beta": [20.0, 30.0]}


def test_matches_mne_connectivity():
    from mne_connectivity import spectral_connectivity_epochs

    X, sfreq = _coupled()
    methods = ["coh", "imcoh", "plv", "pli", "wpli", "wpli2_debiased"]
    ours = eeg_connectivity(X, sfreq, bands=BANDS, methods=methods)
    cons = spectral_connectivity_epochs(
        X,
        method=methods,
        sfreq=sfreq,
        fmin=(8.0, 20.0),
        fmax=(12.0, 30.0),
        faverage=True,
        mode="multitaper",
        verbose=False,
    )
    for m, con in zip(methods, cons):
        dense = con.get_data(output="dense")
        assert ours[m].shape == (2, 3, 3)
        for b in range(2):
            np.testing.assert_allclose(
                ours[m][b][np.tril_indices(3, -1)], dense[..., b][np.tril_indices(3, -1)], atol=1e-12
            )
            np.testing.assert_allclose(ours[m][b], ours[m][b].T)


def test_known_coupling_recovered():
    X, sfreq = _coupled()
    out = eeg_connectivity(X, sfreq, bands=BANDS, methods=["plv", "wpli", "imcoh", "aec"])
    alpha = 0
    for m in ("plv", "wpli"):
        assert out[m][alpha, 0, 1] > 0.8 > 0.4 > out[m][alpha, 0, 2], m
        assert out[m][1, 0, 1] < 0.5  # no coupling in beta
    assert abs(out["imcoh"][alpha, 1, 0]) > 0.3  # lagged coupling -> imaginary part
    assert out["aec"][alpha, 0, 1] > 0.5 > abs(out["aec"][alpha, 0, 2])


def test_aec_matches_manual_envelopes():
    from mne.filter import filter_data
    from scipy.signal import hilbert

    X, sfreq = _coupled(n_epochs=4)
    out = eeg_connectivity(X, sfreq, bands={"alpha": [8.0, 12.0]}, methods=["aec"])["aec"][0]
    env = np.abs(hilbert(filter_data(X, sfreq, 8.0, 12.0, verbose=False), axis=-1))
    manual = np.mean([np.corrcoef(e) for e in env], axis=0)
    np.fill_diagonal(manual, 0)
    np.testing.assert_allclose(out, manual, atol=1e-6)


def test_mne_epochs_input_and_bad_inputs():
    import mne

    X, sfreq = _coupled(n_epochs=4)
    info = mne.create_info(["a", "b", "c"], sfreq, "eeg")
    epochs = mne.EpochsArray(X, info, verbose=False)
    out = eeg_connectivity(epochs, bands={"alpha": [8.0, 12.0]}, methods=["coh"])
    np.testing.assert_allclose(
        out["coh"], eeg_connectivity(X, sfreq, bands={"alpha": [8.0, 12.0]}, methods=["coh"])["coh"]
    )
    with pytest.raises(ValueError, match="'epochs' must be a 3-D array"):
        eeg_connectivity(X[0], sfreq)
    bad = X.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="'epochs' must be finite"):
        eeg_connectivity(bad, sfreq)
    with pytest.raises(ValueError, match="'sfreq' of epochs must be > 0"):
        eeg_connectivity(X, -1.0)
    with pytest.raises(ValueError, match=r"bands\['gamma'\]' must be 0 < fmin < fmax <= Nyquist"):
        eeg_connectivity(X, sfreq, bands={"gamma": [80.0, 120.0]})
    with pytest.raises(ValueError, match="'methods' must be a subset"):
        eeg_connectivity(X, sfreq, methods=["granger"])
