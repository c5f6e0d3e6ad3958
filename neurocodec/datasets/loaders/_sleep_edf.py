"""Sleep-EDF Expanded (PhysioNet): PSG + hypnogram EDF pairs -> 30-s epochs with stage labels.

Layout: ``sleep-cassette/SC4ssNE0-PSG.edf`` with ``SC4ssN?-Hypnogram.edf`` (and
``sleep-telemetry/ST7ssNJ0-PSG.edf`` / ``ST7ssN?-Hypnogram.edf``); a pair shares
the first 7 characters of the file name.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...pipeline import bad_value
from .._paths import dataset_dir

__all__ = ["SLEEP_EDF_URL", "SLEEP_STAGES", "sleep_edf_pairs", "read_hypnogram", "load_sleep_edf_record"]

SLEEP_EDF_URL = "https://physionet.org/content/sleep-edfx/1.0.0/"
#: R&K annotation -> AASM stage (stages 3 and 4 merged into N3).
SLEEP_STAGES = {
    "Sleep stage W": "W",
    "Sleep stage 1": "N1",
    "Sleep stage 2": "N2",
    "Sleep stage 3": "N3",
    "Sleep stage 4": "N3",
    "Sleep stage R": "REM",
}
STAGE_CODES = {"W": 0, "N1": 1, "N2": 2, "N3": 3, "REM": 4}


def sleep_edf_pairs(root=None, *, data_dir=None) -> list[tuple[Path, Path]]:
    """All (PSG, hypnogram) pairs under ``root`` (default ``sleep_edf`` in the data home)."""
    root = Path(root).expanduser() if root is not None else dataset_dir("sleep_edf", data_dir)
    psgs = sorted(root.rglob("*-PSG.edf"))
    if not psgs:
        raise FileNotFoundError(
            f"The 'Sleep-EDF' data must be in {str(root)!r}, got no *-PSG.edf files. Download it from {SLEEP_EDF_URL} "
            "and pass its folder as data_dir, or set $NEUROCODEC_DATA (default ~/neurocodec_data/sleep_edf)."
        )
    hyps = {p.name[:7]: p for p in root.rglob("*-Hypnogram.edf")}
    missing = [p.name for p in psgs if p.name[:7] not in hyps]
    if missing:
        raise bad_value(
            "hypnogram", "a *-Hypnogram.edf for every PSG file", f"<none for {missing[:3]}>", exc=FileNotFoundError
        )
    return [(p, hyps[p.name[:7]]) for p in psgs]


def read_hypnogram(path):
    """Hypnogram annotations (``mne.Annotations``) of a ``*-Hypnogram.edf`` file."""
    import mne

    try:
        ann = mne.read_annotations(str(path))
    except Exception as err:
        raise bad_value(
            "hypnogram", "an EDF+ annotation file", f"<{Path(path).name}: {type(err).__name__}: {err}>"
        ) from None
    if not len(ann):
        raise bad_value("hypnogram", "a file with sleep-stage annotations", f"<{Path(path).name} with none>")
    return ann


def load_sleep_edf_record(
    psg,
    hypnogram,
    *,
    channels=("EEG Fpz-Cz", "EEG Pz-Oz"),
    epoch_s: float = 30.0,
    crop_wake_min: float | None = 30.0,
    l_freq: float | None = None,
    h_freq: float | None = None,
):
    """One night as 30-s epochs with AASM labels.

    Parameters
    ----------
    psg, hypnogram : path
        The pair of EDF files.
    channels : sequence of str
        PSG channels to keep.
    crop_wake_min : float, optional
        Keep only this many minutes of wake before the first and after the
        last sleep epoch (the long wake periods of the cassette recordings).

    Returns
    -------
    X : ndarray, shape (n_epochs, n_chans, n_times), float32 (volts)
    y : ndarray, shape (n_epochs,), int (W=0, N1=1, N2=2, N3=3, REM=4)
    sfreq : float
    """
    import mne

    from .._validation import check_channels_present
    from ..eeg import read_raw

    raw = read_raw(psg, preload=False, check_data=False)
    check_channels_present(list(channels), raw.ch_names, of=Path(psg).name)
    raw.pick(list(channels)).load_data()
    ann = read_hypnogram(hypnogram)
    if ann.onset.max() > raw.times[-1] + epoch_s:
        raise bad_value(
            "hypnogram",
            f"annotations inside the recording (0 to {raw.times[-1]:.0f} s)",
            f"<last onset {ann.onset.max():.0f} s>",
        )
    raw.set_annotations(ann, emit_warning=False)
    if crop_wake_min is not None:
        sleep = [o for o, d in zip(ann.onset, ann.description) if SLEEP_STAGES.get(d, "W") != "W"]
        if sleep:
            tmin = max(0.0, sleep[0] - crop_wake_min * 60)
            tmax = min(raw.times[-1], sleep[-1] + crop_wake_min * 60)
            raw.crop(tmin, tmax)
    if l_freq is not None or h_freq is not None:
        raw.filter(l_freq, h_freq, verbose="error")
    wanted = {d: STAGE_CODES[s] for d, s in SLEEP_STAGES.items() if d in set(raw.annotations.description)}
    if not wanted:
        raise bad_value(
            "hypnogram", f"sleep-stage annotations {sorted(SLEEP_STAGES)}", f"<{sorted(set(ann.description))}>"
        )
    events, _ = mne.events_from_annotations(raw, event_id=wanted, chunk_duration=epoch_s, verbose="error")
    sfreq = raw.info["sfreq"]
    epochs = mne.Epochs(
        raw,
        events,
        tmin=0.0,
        tmax=epoch_s - 1.0 / sfreq,
        baseline=None,
        preload=True,
        on_missing="ignore",
        verbose="error",
    )
    return epochs.get_data(copy=True).astype(np.float32), epochs.events[:, 2].astype(np.int64), float(sfreq)
