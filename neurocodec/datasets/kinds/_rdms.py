"""The ``rdms`` kind: representational dissimilarity matrices of brain regions (or models) over a stimulus set.

On disk (format version 1): ``rdms.npy`` (n_rdms, n_stimuli, n_stimuli) float32, ``rdms.tsv`` (one row per RDM:
``name``, ``subject``, ``session``, ``region``), ``rdms.json`` (kind, version, dissimilarity, info).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...pipeline import check, save_array, save_table
from ._common import kind_root, read_header, write_header

__all__ = ["RDMs"]

KIND = "rdms"
VERSION = 1


@dataclass
class RDMs:
    """Dissimilarity matrices (kind ``rdms``).

    Attributes
    ----------
    matrices : ndarray, shape (n_rdms, n_stimuli, n_stimuli), float32
        Symmetric, zero diagonal.
    table : pandas.DataFrame
        One row per matrix: ``name``, ``subject``, ``session``, ``region``.
    dissimilarity : str
        How they were computed (e.g. ``"1 - pearson"``).
    info : dict
    """

    matrices: np.ndarray
    table: Any
    dissimilarity: str = "1 - pearson"
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        m = np.asarray(self.matrices)
        check(
            m.ndim == 3 and m.shape[1] == m.shape[2],
            "matrices",
            "an array (n_rdms, n_stimuli, n_stimuli)",
            f"<shape {m.shape}>",
        )
        check(len(self.table) == len(m), "table", f"one row per RDM ({len(m)})", f"<{len(self.table)} rows>")

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_array(folder / "rdms.npy", np.asarray(self.matrices, np.float32))
        save_table(folder / "rdms.tsv", self.table)
        write_header(folder, KIND, VERSION, dissimilarity=self.dissimilarity, info=self.info)
        return folder

    @classmethod
    def load(cls, source: Any) -> RDMs:
        import pandas as pd

        folder = kind_root(source)
        meta = read_header(folder, KIND, VERSION)
        return cls(
            np.load(folder / "rdms.npy", allow_pickle=False),
            pd.read_csv(folder / "rdms.tsv", sep="\t", keep_default_na=False),
            meta["dissimilarity"],
            meta.get("info", {}),
        )
