"""Cohort kinds: ROI time series (``roi_timeseries``) and connectivity matrices (``connectomes``).

On disk (a folder, no pickle):

* ``roi_timeseries``: ``timeseries.npz`` (one float32 array (n_times, n_rois)
  per subject, keyed by subject id), ``subjects.tsv`` (one row per subject, in
  order: ``subject``, ``site``, optional ``group`` and confound columns),
  ``rois.tsv`` (``name`` [, ``x``, ``y``, ``z``, ``network``]), ``extras.npz``
  (optional ground truth) and ``roi_timeseries.json`` (kind, version, info);
* ``connectomes``: ``connectomes.npy`` (n_subjects, n_rois, n_rois) float32,
  ``subjects.tsv``, ``rois.tsv``, ``extras.npz`` and ``connectomes.json``
  (kind, version, info with ``measure`` and ``estimator``).

Order-carrying metadata (subjects, ROIs) lives in the TSV tables, never in
JSON object keys (which are written sorted).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...pipeline import bad_value, check, load_arrays, save_array, save_arrays, save_table
from ._common import kind_root, read_header, write_header

__all__ = ["RoiTimeseries", "Connectomes"]


def _check_subjects(subjects, n: int):
    import pandas as pd

    subjects = pd.DataFrame(subjects).reset_index(drop=True)
    for col in ("subject", "site"):
        if col not in subjects:
            raise bad_value("subjects", f"a table with a {col!r} column", f"<columns {list(subjects.columns)}>")
    check(len(subjects) == n, "subjects", f"one row per subject ({n})", f"<{len(subjects)} rows>")
    subjects["subject"] = subjects["subject"].astype(str)
    subjects["site"] = subjects["site"].astype(str)
    dup = subjects["subject"][subjects["subject"].duplicated()]
    check(dup.empty, "subjects", "unique subject ids", f"<duplicated {dup.tolist()[:3]}>")
    return subjects


def _check_rois(rois, n_rois: int):
    import pandas as pd

    if rois is None:
        rois = pd.DataFrame({"name": [f"roi_{k + 1}" for k in range(n_rois)]})
    rois = pd.DataFrame(rois).reset_index(drop=True)
    if "name" not in rois:
        raise bad_value("rois", "a table with a 'name' column", f"<columns {list(rois.columns)}>")
    check(len(rois) == n_rois, "rois", f"one row per ROI ({n_rois})", f"<{len(rois)} rows>")
    rois["name"] = rois["name"].astype(str)
    return rois


def _write_tables(folder: Path, cohort, n_subjects: int, n_rois: int) -> None:
    """The files both cohort kinds share: subjects.tsv, rois.tsv, extras.npz and the ``<kind>.json`` header."""
    save_table(folder / "subjects.tsv", cohort.subjects)
    save_table(folder / "rois.tsv", cohort.rois)
    if cohort.extras:
        save_arrays(folder / "extras.npz", **cohort.extras)
    write_header(folder, cohort.KIND, cohort.VERSION, info=cohort.info, n_subjects=n_subjects, n_rois=n_rois)


def _read_tables(folder: Path):
    import pandas as pd

    subjects = pd.read_csv(folder / "subjects.tsv", sep="\t", dtype={"subject": str, "site": str})
    rois = pd.read_csv(folder / "rois.tsv", sep="\t", dtype={"name": str})
    extras = load_arrays(folder / "extras.npz") if (folder / "extras.npz").is_file() else {}
    return subjects, rois, extras


@dataclass
class RoiTimeseries:
    """A cohort of ROI time series (kind ``roi_timeseries``, version 1).

    Attributes
    ----------
    timeseries : dict of str -> ndarray, each (n_times_i, n_rois) float32
        In the order of ``subjects["subject"]``.
    subjects : pandas.DataFrame
        One row per subject: ``subject``, ``site`` (str), optional ``group``
        and any confound columns (age, sex, mean_fd, tr, ...).
    rois : pandas.DataFrame
        One row per ROI: ``name`` [, ``x``, ``y``, ``z``, ``network``].
    info : dict
        Source, dataset, atlas, filters and policies applied, ...
    extras : dict of str -> ndarray
        Optional ground truth (simulators), written to ``extras.npz``.
    """

    timeseries: dict[str, np.ndarray]
    subjects: Any
    rois: Any = None
    info: dict = field(default_factory=dict)
    extras: dict[str, np.ndarray] = field(default_factory=dict)

    KIND = "roi_timeseries"
    VERSION = 1

    def __post_init__(self):
        check(
            isinstance(self.timeseries, dict) and len(self.timeseries) > 0,
            "timeseries",
            "a non-empty dict subject id -> (n_times, n_rois) array",
            f"<{type(self.timeseries).__name__}>",
        )
        self.subjects = _check_subjects(self.subjects, len(self.timeseries))
        ids = self.subjects["subject"].tolist()
        series = {str(k): v for k, v in self.timeseries.items()}
        missing = [s for s in ids if s not in series]
        check(not missing, "timeseries", "one array per subject of the table", f"<no series for {missing[:3]}>")
        n_rois = None
        for sid in ids:
            x = np.asarray(series[sid], dtype=np.float32)
            if x.ndim != 2:
                raise bad_value(f"timeseries[{sid!r}]", "a 2-D array (n_times, n_rois)", f"<shape {x.shape}>")
            n_rois = x.shape[1] if n_rois is None else n_rois
            check(
                x.shape[1] == n_rois,
                f"timeseries[{sid!r}]",
                f"{n_rois} ROIs like the first subject",
                f"<{x.shape[1]} ROIs>",
            )
            series[sid] = x
        self.timeseries = {sid: series[sid] for sid in ids}
        self.rois = _check_rois(self.rois, n_rois)
        self.extras = {k: np.asarray(v) for k, v in (self.extras or {}).items()}

    @property
    def n_subjects(self) -> int:
        return len(self.subjects)

    @property
    def n_rois(self) -> int:
        return len(self.rois)

    def series(self) -> list[np.ndarray]:
        """The time series as a list, in subject order."""
        return [self.timeseries[s] for s in self.subjects["subject"]]

    def save(self, folder) -> Path:
        """Write the kind's files into ``folder`` (created); returns it."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_arrays(folder / "timeseries.npz", **self.timeseries)
        _write_tables(folder, self, self.n_subjects, self.n_rois)
        return folder

    @classmethod
    def load(cls, source) -> RoiTimeseries:
        """Read a folder written by :meth:`save` (a path or an Artifact holding the kind)."""
        folder = kind_root(source)
        meta = read_header(folder, cls.KIND, cls.VERSION)
        subjects, rois, extras = _read_tables(folder)
        series = load_arrays(folder / "timeseries.npz")
        return cls(series, subjects, rois, meta.get("info", {}), extras)


@dataclass
class Connectomes:
    """Per-subject connectivity matrices (kind ``connectomes``, version 1).

    Attributes
    ----------
    matrices : ndarray, shape (n_subjects, n_rois, n_rois) float32
        Symmetric matrices in the order of ``subjects``.
    subjects : pandas.DataFrame
        As in :class:`RoiTimeseries`.
    rois : pandas.DataFrame
    info : dict
        ``measure`` (correlation, partial correlation, covariance, precision,
        tangent, ...), ``estimator`` and provenance.
    extras : dict of str -> ndarray
    """

    matrices: np.ndarray
    subjects: Any
    rois: Any = None
    info: dict = field(default_factory=dict)
    extras: dict[str, np.ndarray] = field(default_factory=dict)

    KIND = "connectomes"
    VERSION = 1

    def __post_init__(self):
        mats = np.asarray(self.matrices, dtype=np.float32)
        if mats.ndim != 3 or mats.shape[1] != mats.shape[2] or len(mats) == 0:
            raise bad_value("matrices", "a non-empty stack (n_subjects, n_rois, n_rois)", f"<shape {mats.shape}>")
        self.matrices = mats
        self.subjects = _check_subjects(self.subjects, len(mats))
        self.rois = _check_rois(self.rois, mats.shape[1])
        self.info = dict(self.info or {})
        self.extras = {k: np.asarray(v) for k, v in (self.extras or {}).items()}

    @property
    def measure(self) -> str | None:
        return self.info.get("measure")

    def save(self, folder) -> Path:
        """Write the kind's files into ``folder`` (created); returns it."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_array(folder / "connectomes.npy", self.matrices)
        _write_tables(folder, self, len(self.matrices), self.matrices.shape[1])
        return folder

    @classmethod
    def load(cls, source) -> Connectomes:
        """Read a folder written by :meth:`save` (a path or an Artifact holding the kind)."""
        folder = kind_root(source)
        meta = read_header(folder, cls.KIND, cls.VERSION)
        subjects, rois, extras = _read_tables(folder)
        mats = np.load(folder / "connectomes.npy", allow_pickle=False)
        return cls(mats, subjects, rois, meta.get("info", {}), extras)
