"""Reading the upstream artifacts of the connectivity stages, and ABIDE FC."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...pipeline import bad_value

__all__ = ["read_source", "load_abide_vectors", "diagnosis_to_group"]


def diagnosis_to_group(values) -> np.ndarray:
    """0/1 labels from a diagnosis/group column (ASD/patient -> 1, HC/control -> 0, or 0/1 already)."""
    vals = np.asarray(values)
    if vals.dtype.kind in "iub" or (vals.dtype.kind == "f" and np.all(np.isin(vals, [0, 1]))):
        out = vals.astype(int)
    else:
        text = np.char.lower(vals.astype(str))
        pos = np.isin(text, ["asd", "autism", "patient", "case", "1", "adhd", "scz"])
        neg = np.isin(text, ["hc", "tc", "td", "control", "controls", "0"])
        if not np.all(pos | neg):
            raise bad_value("target", "binary labels (0/1, ASD/HC, patient/control)", f"<values {sorted(set(text))[:6]}>")
        out = pos.astype(int)
    if not np.all(np.isin(out, [0, 1])):
        raise bad_value("target", "binary labels 0/1", f"<values {np.unique(out)[:6]}>")
    return out


def read_source(artifact):
    """Subjects table, time series (or None) and matrices (or None) of an upstream step.

    ``simulate_rest_fmri``: ROI time series of each subject; ``load_abide``:
    correlation matrices. The subjects table always has ``subject``, ``site``
    and (when a label exists) ``group`` 0/1.
    """
    import pandas as pd

    if artifact.stage == "simulate_rest_fmri":
        from ...datasets.simulate import RestingStateCohort

        cohort = RestingStateCohort.load(artifact.path)
        subjects = cohort.subjects.copy()
        return subjects, [np.asarray(x, dtype=np.float64) for x in cohort.timeseries], None
    if artifact.stage == "load_abide":
        fc = artifact.load("fc").astype(np.float64)
        subjects = artifact.load("phenotypes")
        if "group" not in subjects and "diagnosis" in subjects:
            subjects["group"] = diagnosis_to_group(subjects["diagnosis"])
        return pd.DataFrame(subjects), None, fc
    raise bad_value("source", "a simulate_rest_fmri or load_abide step", f"<stage {artifact.stage}>")


def load_abide_vectors(folder: str | Path):
    """ABIDE FC upper triangles and phenotypes straight from ``fc_upper.npz`` + ``phenotypes.tsv``.

    Returns
    -------
    fc : ndarray, shape (n_subjects, n_rois (n_rois - 1) / 2) float64
        Correlation vectors in :func:`vectorize`'s (nilearn's) order, converted
        from the release's upper triangles (``triu_to_vectorized``).
    phenotypes : pandas.DataFrame
        With an added ``group`` column (ASD 1, HC 0).
    """
    import pandas as pd

    folder = Path(folder)
    for name in ("fc_upper.npz", "phenotypes.tsv"):
        if not (folder / name).is_file():
            raise bad_value("folder", f"a folder holding {name}", str(folder), exc=FileNotFoundError)
    with np.load(folder / "fc_upper.npz", allow_pickle=False) as z:
        from ._spd import triu_to_vectorized

        fc = triu_to_vectorized(z["fc"].astype(np.float64), discard_diagonal=True)
    ph = pd.read_csv(folder / "phenotypes.tsv", sep="\t")
    if len(ph) != len(fc):
        raise bad_value("phenotypes.tsv", f"{len(fc)} rows like fc_upper.npz", f"<{len(ph)} rows>")
    ph["group"] = diagnosis_to_group(ph["diagnosis"])
    return fc, ph
