"""Sensor geometry and signal sources of the EEG / sEEG / ECoG simulator.

Channel layouts (10-05 scalp positions, sEEG shafts of contacts, ECoG grids), aperiodic 1/f^beta
background, volume-conduction mixing by distance, and the waveforms of the planted motifs
(:data:`MOTIFS`: duration range in seconds and amplitude in units of the background s.d.).
"""

from __future__ import annotations

import numpy as np

from ...pipeline import bad_value, check

__all__ = ["MOTIFS", "channel_layout", "motif_waveform"]

MOTIFS = {
    "alpha_burst": (0.5, 2.0, 3.0),
    "spindle": (0.5, 1.5, 3.0),
    "spike": (0.35, 0.35, 6.0),
    "slow_wave": (0.5, 2.0, 4.0),
}
_KINDS = ("eeg", "seeg", "ecog")
_EEG_ORDER = [
    "Fp1",
    "Fp2",
    "F7",
    "F3",
    "Fz",
    "F4",
    "F8",
    "T7",
    "C3",
    "Cz",
    "C4",
    "T8",
    "P7",
    "P3",
    "Pz",
    "P4",
    "P8",
    "O1",
    "O2",
    "Fpz",
    "Oz",
    "AF3",
    "AF4",
    "FC5",
    "FC1",
    "FC2",
    "FC6",
    "CP5",
    "CP1",
    "CP2",
    "CP6",
    "PO3",
    "PO4",
    "F1",
    "F2",
    "C1",
    "C2",
    "P1",
    "P2",
    "AF7",
    "AF8",
    "F5",
    "F6",
    "FT7",
    "FT8",
    "C5",
    "C6",
    "TP7",
    "TP8",
    "P5",
    "P6",
    "PO7",
    "PO8",
    "FCz",
    "CPz",
    "POz",
    "AFz",
    "FC3",
    "FC4",
    "CP3",
    "CP4",
    "PO1",
    "PO2",
    "AF1",
    "AF2",
    "F9",
    "F10",
    "FT9",
    "FT10",
    "T9",
    "T10",
    "TP9",
    "TP10",
    "P9",
    "P10",
    "PO9",
    "PO10",
    "O9",
    "O10",
    "Iz",
    "AF5",
    "AF6",
    "PO5",
    "PO6",
]
_SHAFTS = ["LA", "LH", "RA", "RH", "LT", "RT", "LF", "RF", "LO", "RO", "LP", "RP", "LC", "RC", "LI", "RI"]
#: Per kind: background sd (V), spatial spread of motifs and of volume conduction (m).
_SCALE = {"eeg": (10e-6, 0.04, 0.03), "seeg": (30e-6, 0.006, 0.004), "ecog": (50e-6, 0.012, 0.008)}


def _standard_montage():
    """The 10-05 template montage (named ``colin27_1005`` since MNE 1.12, ``standard_1005`` before)."""
    import mne

    builtin = mne.channels.get_builtin_montages()
    return mne.channels.make_standard_montage("colin27_1005" if "colin27_1005" in builtin else "standard_1005")


def channel_layout(kind: str, n_chans: int, contacts_per_shaft: int = 8, seed: int | None = 0):
    """Channel names and positions (head coordinates, metres).

    Parameters
    ----------
    kind : {"eeg", "seeg", "ecog"}
        ``"eeg"``: 10-20 / 10-10 scalp positions; ``"seeg"``: depth shafts of
        ``contacts_per_shaft`` contacts 3.5 mm apart, named ``LA1..LA8``,
        ``LH1..`` (contact 1 deepest); ``"ecog"``: a curved 8-column grid with
        10 mm spacing over the left lateral cortex, ``G1..``.
    n_chans : int
    contacts_per_shaft : int
    seed : int or None
        Jitter of the sEEG trajectories.

    Returns
    -------
    names : list of str
    pos : ndarray, shape (n_chans, 3)
    """
    check(kind in _KINDS, "kind", "one of 'eeg', 'seeg', 'ecog'", kind)
    check(
        isinstance(n_chans, (int, np.integer)) and not isinstance(n_chans, bool),
        "n_chans",
        "an int",
        n_chans,
        exc=TypeError,
    )
    if kind == "eeg":
        check(0 < n_chans <= len(_EEG_ORDER), "n_chans", f"in [1, {len(_EEG_ORDER)}] for EEG", n_chans)
        montage = _standard_montage()
        ch_pos = montage.get_positions()["ch_pos"]
        names = _EEG_ORDER[:n_chans]
        return names, np.array([ch_pos[n] for n in names])
    check(n_chans > 0, "n_chans", "> 0", n_chans)
    rng = np.random.default_rng(seed)
    if kind == "seeg":
        check(contacts_per_shaft > 0, "contacts_per_shaft", "> 0", contacts_per_shaft)
        n_shafts = -(-n_chans // contacts_per_shaft)
        check(n_shafts <= len(_SHAFTS), "n_chans", f"<= {len(_SHAFTS) * contacts_per_shaft} for sEEG", n_chans)
        names, pos = [], []
        for s in range(n_shafts):
            side = -1.0 if _SHAFTS[s][0] == "L" else 1.0
            entry = np.array([side * 0.065, rng.uniform(-0.06, 0.05), rng.uniform(-0.02, 0.04)])
            direction = np.array([-side, rng.normal(0, 0.15), rng.normal(0, 0.15)])
            direction /= np.linalg.norm(direction)
            deepest = entry + direction * 0.0035 * (contacts_per_shaft + 4)
            for c in range(min(contacts_per_shaft, n_chans - len(names))):
                names.append(f"{_SHAFTS[s]}{c + 1}")
                pos.append(deepest - direction * 0.0035 * c)
        return names, np.array(pos)
    cols = 8
    r, c = np.divmod(np.arange(n_chans), cols)
    ang_y, ang_z = (c - cols / 2) * 0.01 / 0.075, (r - 2) * 0.01 / 0.075
    pos = np.column_stack([-0.075 * np.cos(ang_y) * np.cos(ang_z), 0.075 * np.sin(ang_y), 0.075 * np.sin(ang_z) + 0.02])
    return [f"G{i + 1}" for i in range(n_chans)], pos


def _aperiodic(rng, shape, sfreq, exponent):
    """Unit-variance 1/f^exponent noise along the last axis (FFT shaping of white noise)."""
    n = shape[-1]
    freqs = np.fft.rfftfreq(n, 1 / sfreq)
    gain = np.zeros_like(freqs)
    gain[1:] = np.maximum(freqs[1:], 0.5) ** (-exponent / 2)
    x = np.fft.irfft(np.fft.rfft(rng.standard_normal(shape), axis=-1) * gain, n, axis=-1)
    return x / x.std(axis=-1, keepdims=True)


def _mixing(pos, spread):
    """Row-normalised spatial smoothing matrix exp(-d^2 / (2 spread^2)) (volume conduction)."""
    d2 = ((pos[:, None] - pos[None]) ** 2).sum(-1)
    m = np.exp(-d2 / (2 * spread**2))
    return m / np.sqrt((m**2).sum(1, keepdims=True))


def motif_waveform(name: str, duration: float, sfreq: float, rng: np.random.Generator) -> np.ndarray:
    """Unit-peak waveform of one motif occurrence, shape (round(duration * sfreq),)."""
    n = max(int(round(duration * sfreq)), 2)
    t = np.arange(n) / sfreq
    if name in ("alpha_burst", "spindle"):
        f = rng.uniform(8, 12) if name == "alpha_burst" else rng.uniform(11, 15)
        env = np.hanning(n) if name == "alpha_burst" else np.exp(-0.5 * ((t - duration / 2) / (duration / 5)) ** 2)
        w = env * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    elif name == "spike":
        peak = 0.05
        w = -np.exp(-0.5 * ((t - peak) / 0.012) ** 2) + 0.35 * np.exp(-0.5 * ((t - 0.2) / 0.05) ** 2)
    elif name == "slow_wave":
        w = -np.sin(2 * np.pi * t / duration) * np.hanning(n) ** 0.25
    else:
        raise bad_value("motifs", f"names among {sorted(MOTIFS)}", name)
    return w / np.abs(w).max()
