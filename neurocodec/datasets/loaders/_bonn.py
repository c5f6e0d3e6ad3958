"""Bonn University epilepsy EEG (Andrzejak et al. 2001, Phys. Rev. E 64:061907).

Five sets of 100 single-channel segments, 23.6 s at 173.61 Hz (4097 samples):
A, B scalp EEG of healthy volunteers (eyes open / closed); C, D intracranial
interictal (C opposite, D within the epileptogenic zone); E intracranial
seizure activity. Layout under ``data_dir`` (argument -> ``$NEUROCODEC_DATA/bonn_eeg``
-> ``~/neurocodec_data/bonn_eeg``): ``bonn.npz`` with keys ``A``..``E``, each
(100, 4097) float32 in microvolts, and optionally ``files.json`` (the original
file name of each segment).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from ...pipeline import bad_value, check
from .._paths import DATA_ENV, dataset_dir
from .._validation import check_finite

__all__ = ["BONN_SETS", "BONN_SFREQ", "BONN_URL", "load_bonn"]

BONN_URL = "https://www.ukbonn.de/epileptologie/arbeitsgruppen/ag-lehnertz-neurophysik/downloads/"
#: Sampling rate of the release (Hz).
BONN_SFREQ = 173.61
#: The five sets and what they hold.
BONN_SETS = {"A": "healthy, scalp, eyes open", "B": "healthy, scalp, eyes closed",
             "C": "interictal, intracranial, hippocampal formation opposite the epileptogenic zone",
             "D": "interictal, intracranial, within the epileptogenic zone", "E": "ictal (seizure), intracranial"}


def load_bonn(data_dir: Any = None, sets: tuple[str, ...] = ("A", "B", "C", "D", "E"), n_windows: int = 4,
              max_segments: int | None = None):
    """Bonn segments cut into equal non-overlapping windows, as ``epochs`` (kind).

    Parameters
    ----------
    data_dir : str or path, optional
        Folder holding ``bonn.npz`` (or the data home holding ``bonn_eeg/``).
    sets : tuple of str
        Sets to load, in label order (``label_names``).
    n_windows : int
        Windows cut from each 4097-sample segment (``4097 // n_windows``
        samples each; the remaining samples at the end are dropped).
    max_segments : int, optional
        Keep the first segments of each set only (smoke runs).

    Returns
    -------
    EpochsData
        ``X`` (n_segments * n_windows, 1, 4097 // n_windows) float32 in volts,
        ``y`` the set index, ``groups`` with ``subject`` (the set: subjects are
        not identified in the release), ``session``, ``recording`` and
        ``segment`` (the segment's file name, e.g. ``Z001``: the windows of one
        segment share it), no split (use :meth:`EpochsData.folds`).
    """
    import pandas as pd

    from ..kinds import EpochsData

    sets = tuple(str(s).upper() for s in sets)
    bad = [s for s in sets if s not in BONN_SETS]
    if bad or not sets or len(set(sets)) != len(sets):
        raise bad_value("sets", f"distinct names among {sorted(BONN_SETS)}", list(sets))
    check(isinstance(n_windows, (int, np.integer)) and 1 <= n_windows <= 4097 // 200, "n_windows",
          "an integer in [1, 20] (windows of >= 200 samples)", n_windows)
    check(max_segments is None or (isinstance(max_segments, (int, np.integer)) and max_segments >= 1),
          "max_segments", "None or an integer >= 1", max_segments)
    root = dataset_dir("bonn_eeg", data_dir)
    path = root / "bonn.npz"
    if not path.is_file():
        raise FileNotFoundError(f"The 'data_dir' of the Bonn EEG must hold bonn.npz, got {str(root)!r} without it. "
                                f"Download sets A-E from {BONN_URL}, stack each as (100, 4097) float32 under keys "
                                f"'A'..'E' in bonn.npz, and pass its folder or set ${DATA_ENV} (bonn_eeg/ inside).")
    names = json.loads((root / "files.json").read_text()) if (root / "files.json").is_file() else {}
    width = 4097 // int(n_windows)
    X, y, rows = [], [], []
    with np.load(path, allow_pickle=False) as z:
        for ci, s in enumerate(sets):
            if s not in z.files:
                raise bad_value("sets", f"keys of {path.name} ({z.files})", s)
            seg = np.asarray(z[s], dtype=np.float32)[:max_segments]
            if seg.ndim != 2 or seg.shape[1] < width * n_windows:
                raise bad_value(s, "an array (n_segments, 4097)", f"<shape {seg.shape}>", of=path.name)
            check_finite(seg, s, of=path.name)
            files = names.get(s) or [f"{s}{i + 1:03d}" for i in range(len(seg))]
            X.append(seg[:, :width * n_windows].reshape(len(seg) * n_windows, 1, width) * 1e-6)
            y.append(np.full(len(seg) * n_windows, ci, dtype=np.int64))
            for i in range(len(seg)):
                stem = str(files[i]).rsplit(".", 1)[0]
                rows += [{"subject": f"set_{s}", "session": "0", "recording": stem, "segment": stem,
                          "window": w} for w in range(n_windows)]
    info = {"dataset": "bonn_eeg", "source": str(path), "unit": "V", "sets": {s: BONN_SETS[s] for s in sets},
            "n_windows_per_segment": int(n_windows), "window_s": width / BONN_SFREQ,
            "reference": "Andrzejak et al. 2001, Phys. Rev. E 64:061907"}
    return EpochsData(np.concatenate(X), BONN_SFREQ, ["EEG"], ["eeg"], np.concatenate(y), list(sets),
                      pd.DataFrame(rows), None, info)
