"""The ``epochs`` artifact kind: trials x channels x times with labels, groups and a split.

On disk (one folder)::

    epochs.npz    X (n_trials, n_chans, n_times) float32, y (n_trials,) int64 [if labelled],
                  split (n_trials,) str [if split]
    trials.tsv    one row per trial: subject, session, recording (+ any other group columns)
    epochs.json   {"kind": "epochs", "version": 1, "sfreq", "ch_names", "ch_types", "label_names", "info"}
    extras.npz    optional ground truth (simulators)

No pickle: every array is numeric or unicode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...pipeline import bad_value, check, load_json, save_json

__all__ = ["EpochsData"]

_GROUPS = ("subject", "session", "recording")


def _folder(source: Any) -> Path:
    """Folder of an epochs kind: an Artifact (``kind_path``, else ``path`` / ``epochs/``) or a path."""
    for attr in ("kind_path", "path"):
        path = getattr(source, attr, None)
        if path is not None:
            path = Path(path)
            if attr == "path" and not (path / "epochs.json").is_file() and (path / "epochs" / "epochs.json").is_file():
                path = path / "epochs"
            return path
    return Path(source)


@dataclass
class EpochsData:
    """Trials of one or many recordings (kind ``epochs``, version 1).

    Parameters
    ----------
    X : ndarray (n_trials, n_chans, n_times) float32
        Signals (volts for MNE sources; the source's unit otherwise, see ``info``).
    sfreq : float
        Sampling rate (Hz).
    ch_names : list of str
        One per channel.
    ch_types : list of str, optional
        MNE channel types (default ``"eeg"`` each).
    y : ndarray (n_trials,) int64, optional
        Class of each trial, an index into ``label_names``.
    label_names : list of str, optional
        Class names (required with ``y``).
    groups : pandas.DataFrame, optional
        One row per trial with at least ``subject``, ``session``, ``recording``
        (str; filled with ``"0"`` when absent); more columns allowed (e.g. ``segment``).
    split : ndarray (n_trials,) of str, optional
        ``"train"`` / ``"test"`` per trial.
    info : dict
        JSON metadata (source, dataset, unit, ...).
    extras : dict of str -> ndarray
        Optional ground truth, saved in ``extras.npz``.
    """

    X: np.ndarray
    sfreq: float
    ch_names: list[str]
    ch_types: list[str] | None = None
    y: np.ndarray | None = None
    label_names: list[str] | None = None
    groups: Any = None
    split: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, np.ndarray] = field(default_factory=dict)

    KIND = "epochs"
    VERSION = 1

    def __post_init__(self) -> None:
        import pandas as pd

        X = np.asarray(self.X)
        if X.ndim != 3:
            raise bad_value("X", "a 3-D array (n_trials, n_chans, n_times)", f"<shape {X.shape}>", of="epochs")
        if not np.issubdtype(X.dtype, np.number):
            raise bad_value("X", "numeric", f"<dtype {X.dtype}>", of="epochs")
        self.X = np.ascontiguousarray(X, dtype=np.float32)
        n, c, _ = self.X.shape
        check(np.isfinite(self.sfreq) and float(self.sfreq) > 0, "sfreq", "> 0 (Hz)", self.sfreq, of="epochs")
        self.sfreq = float(self.sfreq)
        self.ch_names = [str(s) for s in self.ch_names]
        check(len(self.ch_names) == c, "ch_names", f"{c} names (one per channel)", f"<{len(self.ch_names)} names>",
              of="epochs")
        self.ch_types = ["eeg"] * c if self.ch_types is None else [str(s) for s in self.ch_types]
        check(len(self.ch_types) == c, "ch_types", f"{c} types (one per channel)", f"<{len(self.ch_types)} types>",
              of="epochs")
        if self.y is not None:
            y = np.asarray(self.y)
            if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer):
                raise bad_value("y", f"integer class indices of shape ({n},)", f"<{y.dtype} of shape {y.shape}>",
                                of="epochs")
            if self.label_names is None:
                raise bad_value("label_names", "given with y (one name per class)", None, of="epochs")
            self.label_names = [str(s) for s in self.label_names]
            if n and (y.min() < 0 or y.max() >= len(self.label_names)):
                raise bad_value("y", f"indices in [0, {len(self.label_names)}) into label_names",
                                f"<range [{y.min()}, {y.max()}]>", of="epochs")
            self.y = y.astype(np.int64)
        elif self.label_names is not None:
            self.label_names = [str(s) for s in self.label_names]
        groups = pd.DataFrame(index=range(n)) if self.groups is None else pd.DataFrame(self.groups).reset_index(drop=True)
        check(len(groups) == n, "groups", f"{n} rows (one per trial)", f"<{len(groups)} rows>", of="epochs")
        for col in _GROUPS:
            if col not in groups:
                groups[col] = "0"
        self.groups = groups.astype(str)
        if self.split is not None:
            split = np.asarray(self.split).astype(str)
            check(split.shape == (n,), "split", f"of shape ({n},)", f"<shape {split.shape}>", of="epochs")
            bad = sorted(set(split.tolist()) - {"train", "test"})
            if bad:
                raise bad_value("split", "'train' or 'test' per trial", bad, of="epochs")
            self.split = split
        self.extras = {str(k): np.asarray(v) for k, v in (self.extras or {}).items()}

    # -- views ------------------------------------------------------------
    @property
    def n_trials(self) -> int:
        return int(self.X.shape[0])

    def labels(self) -> np.ndarray:
        """Class name of each trial (n_trials,) str ('' when unlabelled)."""
        if self.y is None:
            return np.full(self.n_trials, "", dtype="<U1")
        return np.asarray(self.label_names)[self.y]

    def select(self, index: Any) -> "EpochsData":
        """The trials ``index`` (boolean mask or integer indices) as new epochs (extras dropped)."""
        idx = np.arange(self.n_trials)[index]
        return EpochsData(self.X[idx], self.sfreq, self.ch_names, self.ch_types,
                          None if self.y is None else self.y[idx], self.label_names,
                          self.groups.iloc[idx].reset_index(drop=True), None if self.split is None else self.split[idx],
                          dict(self.info))

    def folds(self, n_folds: int = 10, group: str = "segment", seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
        """Cross-validation folds stratified by class where one group never falls on both sides.

        Parameters
        ----------
        n_folds : int
            Folds (every trial is tested once).
        group : str
            Column of ``groups`` whose values stay together (e.g. ``segment``:
            the windows cut from one segment; ``subject``).
        seed : int
            Shuffling of the groups.

        Returns
        -------
        list of (train, test) integer index arrays
            ``sklearn.model_selection.StratifiedGroupKFold`` (shuffled) folds.
        """
        from sklearn.model_selection import StratifiedGroupKFold

        if self.y is None:
            raise bad_value("y", "class labels (folds are stratified by class)", None, of="epochs")
        if group not in self.groups:
            raise bad_value("group", f"a column of the epochs' groups ({list(self.groups.columns)})", group)
        g = self.groups[group].to_numpy()
        n_groups = min(len(np.unique(g[self.y == k])) for k in np.unique(self.y))
        check(isinstance(n_folds, (int, np.integer)) and 2 <= n_folds <= n_groups, "n_folds",
              f"an integer in [2, {n_groups}] (the {group}s of the rarest class)", n_folds)
        cv = StratifiedGroupKFold(int(n_folds), shuffle=True, random_state=seed)
        return [(tr, te) for tr, te in cv.split(np.zeros(self.n_trials), self.y, g)]

    # -- persistence ------------------------------------------------------
    def save(self, folder: str | Path) -> Path:
        """Write the kind's files into ``folder`` (created); returns it."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {"X": self.X}
        if self.y is not None:
            arrays["y"] = self.y
        if self.split is not None:
            arrays["split"] = self.split.astype(str)
        np.savez(folder / "epochs.npz", **arrays)
        self.groups.to_csv(folder / "trials.tsv", sep="\t", index=False)
        save_json(folder / "epochs.json", {
            "kind": self.KIND, "version": self.VERSION, "sfreq": self.sfreq, "n_trials": self.n_trials,
            "n_chans": int(self.X.shape[1]), "n_times": int(self.X.shape[2]), "ch_names": self.ch_names,
            "ch_types": self.ch_types, "label_names": self.label_names, "info": self.info})
        if self.extras:
            np.savez(folder / "extras.npz", **self.extras)
        return folder

    @classmethod
    def load(cls, source: Any) -> "EpochsData":
        """Read epochs from a folder written by :meth:`save` or an Artifact holding one."""
        import pandas as pd

        folder = _folder(source)
        meta_path = folder / "epochs.json"
        if not meta_path.is_file():
            raise bad_value("epochs", "a folder holding epochs.json (kind 'epochs')", f"<{folder}>",
                            exc=FileNotFoundError)
        meta = load_json(meta_path)
        if meta.get("kind") != cls.KIND:
            raise bad_value("kind", f"'{cls.KIND}'", meta.get("kind"), of=str(meta_path))
        if meta.get("version") != cls.VERSION:
            raise bad_value("version", f"{cls.VERSION} (the epochs format this release reads)", meta.get("version"),
                            of=str(meta_path))
        with np.load(folder / "epochs.npz", allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        extras = {}
        if (folder / "extras.npz").is_file():
            with np.load(folder / "extras.npz", allow_pickle=False) as z:
                extras = {k: z[k] for k in z.files}
        groups = pd.read_csv(folder / "trials.tsv", sep="\t", dtype=str, keep_default_na=False)
        return cls(arrays["X"], meta["sfreq"], meta["ch_names"], meta["ch_types"], arrays.get("y"),
                   meta.get("label_names"), groups, arrays.get("split"), meta.get("info") or {}, extras)
