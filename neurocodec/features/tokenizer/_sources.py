"""Stage inputs -> labelled trials: simulate_eeg artifacts, .fif files and .npz trial sets."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...pipeline import bad_value

__all__ = ["TrialSet", "load_source", "frame_motif_labels"]


@dataclass
class TrialSet:
    """Trials of one source.

    Attributes
    ----------
    X : ndarray (n_trials, n_chans, n_times) float32
    sfreq : float
    labels : ndarray (n_trials,) str (empty strings when unlabelled)
    split : ndarray (n_trials,) str, "train" or "test"
    ch_names : list of str
    continuous : ndarray (n_chans, n_times) or None
        The whole recording when the source was continuous.
    motifs : pandas.DataFrame or None
        Planted motifs of a simulated recording.
    """

    X: np.ndarray
    sfreq: float
    labels: np.ndarray
    split: np.ndarray
    ch_names: list[str]
    continuous: np.ndarray | None = None
    motifs: Any = None
    info: dict[str, Any] = field(default_factory=dict)


def _split(labels: np.ndarray, test_fraction: float, seed: int) -> np.ndarray:
    split = np.full(len(labels), "train", dtype="<U5")
    if test_fraction <= 0:
        return split
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(labels))
    counts = np.unique(labels, return_counts=True)[1]
    strat = labels if counts.min() >= 2 and len(counts) > 1 else None
    _, test = train_test_split(idx, test_size=test_fraction, stratify=strat, random_state=seed)
    split[test] = "test"
    return split


def load_source(recording: Any = None, source: Path | None = None, epoch_s: float = 2.0, sfreq: float | None = None,
                test_fraction: float = 0.25, seed: int = 0) -> TrialSet:
    """Read a stage's recording / source input into a :class:`TrialSet`.

    Parameters
    ----------
    recording : Artifact, optional
        A ``simulate_eeg`` artifact: cut into ``epoch_s`` windows labelled by
        their dominant planted motif.
    source : Path, optional
        ``.fif`` (raw: cut into unlabelled ``epoch_s`` windows; epochs: one
        trial each, labelled by event name), or ``.npz`` holding ``X`` (and
        ``y``, ``sfreq``) or ``X_train, y_train, X_test, y_test`` (official
        split kept), or a folder holding one such ``.npz``.
    epoch_s : float
        Window length for continuous recordings.
    sfreq : float, optional
        Sampling rate of ``.npz`` data without an ``sfreq`` entry.
    test_fraction : float
        Share of trials marked "test" (stratified) when the source has no split.
    """
    if (recording is None) == (source is None):
        raise bad_value("inputs", "exactly one of 'recording' or 'source'",
                        "<both>" if recording is not None else "<neither>")
    if recording is not None:
        from ...datasets.simulate import SimulatedRecording

        rec = SimulatedRecording.load(recording.path)
        X, labels = rec.epochs(epoch_s)
        if len(X) == 0:
            raise bad_value("epoch_s", f"<= the recording length ({rec.raw.times[-1]:.1f} s)", epoch_s)
        return TrialSet(X, float(rec.raw.info["sfreq"]), labels.astype(str), _split(labels, test_fraction, seed),
                        list(rec.raw.ch_names), rec.raw.get_data().astype(np.float32), rec.motifs)
    path = Path(source)
    if path.is_dir():
        found = sorted(path.glob("*.npz")) + sorted(path.glob("*.fif"))
        if len(found) != 1:
            raise bad_value("source", "a file, or a folder holding exactly one .npz or .fif", f"<{len(found)} files in {path}>")
        path = found[0]
    if path.suffix == ".npz":
        return _load_npz(path, sfreq, test_fraction, seed)
    if path.name.endswith(".fif") or path.name.endswith(".fif.gz"):
        return _load_fif(path, epoch_s, test_fraction, seed)
    raise bad_value("source", "a .npz or .fif file", path.name)


def _load_npz(path: Path, sfreq: float | None, test_fraction: float, seed: int) -> TrialSet:
    with np.load(path, allow_pickle=False) as d:
        data = {k: d[k] for k in d.files}
    if "sfreq" in data:
        sfreq = float(data["sfreq"])
    elif sfreq is None and path.with_suffix(".json").is_file():
        import json

        sfreq = json.loads(path.with_suffix(".json").read_text()).get("sfreq")
    if sfreq is None:
        raise bad_value("sfreq", "given (params.sfreq, an 'sfreq' entry or a sibling .json)", None, of=path.name)
    if "X_train" in data:
        X = np.concatenate([data["X_train"], data["X_test"]])
        labels = np.concatenate([data["y_train"], data["y_test"]]).astype(str)
        split = np.array(["train"] * len(data["X_train"]) + ["test"] * len(data["X_test"]))
    elif "X" in data:
        X = data["X"]
        labels = data["y"].astype(str) if "y" in data else np.full(len(X), "", dtype="<U1")
        split = _split(labels, test_fraction, seed)
    else:
        raise bad_value("source", "an .npz with X (and y) or X_train, y_train, X_test, y_test", f"<keys {sorted(data)}>")
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 3:
        raise bad_value("X", "(n_trials, n_chans, n_times)", f"<shape {X.shape}>", of=path.name)
    return TrialSet(X, float(sfreq), labels, split, [f"EEG{i:03d}" for i in range(X.shape[1])])


def _load_fif(path: Path, epoch_s: float, test_fraction: float, seed: int) -> TrialSet:
    import mne

    try:
        epochs = mne.read_epochs(path, preload=True, verbose="error")
    except Exception:  # not an epochs file: continuous raw
        epochs = None
    if epochs is not None:
        inv = {v: k for k, v in epochs.event_id.items()}
        labels = np.array([inv[e] for e in epochs.events[:, 2]])
        return TrialSet(epochs.get_data().astype(np.float32), float(epochs.info["sfreq"]), labels,
                        _split(labels, test_fraction, seed), list(epochs.ch_names))
    raw = mne.io.read_raw_fif(path, preload=True, verbose="error")
    data = raw.get_data().astype(np.float32)
    n = int(round(epoch_s * raw.info["sfreq"]))
    n_ep = data.shape[1] // n
    if n_ep == 0:
        raise bad_value("epoch_s", f"<= the recording length ({raw.times[-1]:.1f} s)", epoch_s)
    X = data[:, : n_ep * n].reshape(data.shape[0], n_ep, n).transpose(1, 0, 2)
    labels = np.full(n_ep, "", dtype="<U1")
    return TrialSet(np.ascontiguousarray(X), float(raw.info["sfreq"]), labels, _split(labels, test_fraction, seed),
                    list(raw.ch_names), data)


def frame_motif_labels(motifs: Any, ch_names: list[str], n_frames: int, hop_s: float = 0.5, frame_s: float = 1.0) -> np.ndarray:
    """Planted motif with the largest overlap of each (channel, frame), else "background".

    Parameters
    ----------
    motifs : pandas.DataFrame
        ``motifs.tsv`` of a simulated recording (rows per involved channel).

    Returns
    -------
    ndarray (n_chans, n_frames) of str
    """
    out = np.full((len(ch_names), n_frames), "background", dtype=object)
    best = np.zeros((len(ch_names), n_frames))
    start = np.arange(n_frames) * hop_s
    index = {c: i for i, c in enumerate(ch_names)}
    for row in motifs.itertuples():
        ci = index.get(row.channel)
        if ci is None:
            continue
        overlap = np.clip(np.minimum(start + frame_s, row.onset_s + row.duration_s) - np.maximum(start, row.onset_s), 0, None)
        take = overlap > np.maximum(best[ci], 0.25 * min(frame_s, row.duration_s))
        out[ci, take] = row.motif
        best[ci, take] = overlap[take]
    return out.astype(str)
