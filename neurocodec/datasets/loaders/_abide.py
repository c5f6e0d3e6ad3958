"""ABIDE / ADHD-200 style connectivity datasets: FC matrices or ROI time series + phenotypes.

Two on-disk layouts are read:

* an FC release (the layout of ``../shared/data/abide_schaefer200``):
  ``fc_upper.npz`` holding ``fc`` (n_subjects, n_rois * (n_rois - 1) / 2), the
  row-major upper triangle (``numpy.triu_indices(n_rois, 1)``) of each
  subject's correlation matrix, ``phenotypes.tsv`` (one row per subject, same
  order) and optionally ``rois.txt`` (ROI names);
* the Preprocessed Connectomes Project layout of ABIDE / ADHD-200 ROI time
  series: ``<root>/<SITE>_<SUBJECT>_rois_<atlas>.1D`` (whitespace table, one
  column per ROI, ``#`` header) and a phenotype CSV/TSV with a subject column.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ...pipeline import bad_value
from .._paths import dataset_dir, require_files
from .._validation import check_finite

__all__ = ["load_abide_fc", "load_roi_timeseries", "fc_from_upper", "ABIDE_URL"]

ABIDE_URL = "http://preprocessed-connectomes-project.org/abide/ (FC release: github.com/asamallab/Curvature-FCN-ASD)"


def fc_from_upper(upper: np.ndarray, n_rois: int | None = None, diagonal: float = 1.0) -> np.ndarray:
    """Rebuild symmetric matrices from row-major upper triangles (k=1).

    Parameters
    ----------
    upper : ndarray, shape (n_subjects, n_pairs)
        ``matrix[numpy.triu_indices(n_rois, 1)]`` per subject.
    n_rois : int, optional
        Number of ROIs (inferred from ``n_pairs`` when None).
    diagonal : float
        Value on the diagonal (1 for correlations).

    Returns
    -------
    fc : ndarray, shape (n_subjects, n_rois, n_rois), float32
    """
    upper = np.asarray(upper)
    if upper.ndim == 1:
        upper = upper[None]
    if upper.ndim != 2:
        raise bad_value("upper", "a 2-D array (n_subjects, n_pairs)", f"<shape {upper.shape}>")
    n_pairs = upper.shape[1]
    inferred = int(round((1 + np.sqrt(1 + 8 * n_pairs)) / 2))
    if inferred * (inferred - 1) // 2 != n_pairs:
        raise bad_value("upper", "n_rois * (n_rois - 1) / 2 columns", f"<{n_pairs} columns>")
    if n_rois is not None and n_rois != inferred:
        raise bad_value("n_rois", f"{inferred} (from {n_pairs} pairs)", n_rois)
    iu = np.triu_indices(inferred, 1)
    fc = np.empty((upper.shape[0], inferred, inferred), dtype=np.float32)
    fc[:, iu[0], iu[1]] = upper
    fc[:, iu[1], iu[0]] = upper
    idx = np.arange(inferred)
    fc[:, idx, idx] = diagonal
    return fc


def load_abide_fc(path=None, *, data_dir=None):
    """Load an FC release: matrices and phenotype table.

    Parameters
    ----------
    path : str or path-like, optional
        Folder with ``fc_upper.npz`` and ``phenotypes.tsv``. When None, the
        ``abide_schaefer200`` folder under ``data_dir`` -> ``$NEUROCODEC_DATA``
        -> ``~/neurocodec_data``.
    data_dir : str, optional
        Data home used when ``path`` is None.

    Returns
    -------
    fc : ndarray, shape (n_subjects, n_rois, n_rois), float32
        Symmetric correlation matrices, unit diagonal.
    phenotypes : pandas.DataFrame
        One row per subject in the order of ``fc`` (columns as in the file,
        e.g. site, subject, age, sex, diagnosis). ``fc.attrs``-like metadata,
        the ROI names, is in ``phenotypes.attrs["rois"]`` when ``rois.txt`` exists.
    """
    import pandas as pd

    root = Path(path).expanduser() if path is not None else dataset_dir("abide_schaefer200", data_dir)
    fc_file, ph_file = require_files(root, ["fc_upper.npz", "phenotypes.tsv"], dataset="ABIDE FC", url=ABIDE_URL)
    with np.load(fc_file, allow_pickle=False) as z:
        if "fc" not in z.files:
            raise bad_value("fc_upper.npz", "an archive holding an 'fc' array", f"<arrays {z.files}>")
        upper = z["fc"]
    check_finite(upper, "fc", of=str(fc_file))
    phenotypes = pd.read_csv(ph_file, sep="\t")
    if len(phenotypes) != upper.shape[0]:
        raise bad_value("phenotypes.tsv", f"one row per subject ({upper.shape[0]})", f"<{len(phenotypes)} rows>")
    fc = fc_from_upper(upper)
    rois_file = root / "rois.txt"
    if rois_file.is_file():
        rois = [line.strip() for line in rois_file.read_text().splitlines() if line.strip()]
        if len(rois) != fc.shape[1]:
            raise bad_value("rois.txt", f"{fc.shape[1]} ROI names", f"<{len(rois)} names>")
        phenotypes.attrs["rois"] = rois
    return fc, phenotypes


_PCP = re.compile(r"^(?P<site>.+)_(?P<subject>\d+)_rois_(?P<atlas>[A-Za-z0-9]+)\.1D$")


def load_roi_timeseries(root, atlas: str, phenotypes=None, *, subject_column: str = "SUB_ID", min_length: int = 10):
    """Read per-subject ROI time series in the PCP ``.1D`` layout.

    Parameters
    ----------
    root : str or path-like
        Folder holding ``<SITE>_<SUBJECT>_rois_<atlas>.1D`` files (searched recursively).
    atlas : str
        Atlas tag, e.g. ``"cc200"``, ``"aal"``, ``"ho"``.
    phenotypes : str or path-like, optional
        CSV/TSV phenotype table; rows are matched on ``subject_column`` and
        returned in the order of the series.
    subject_column : str
        Subject id column of the phenotype table.
    min_length : int
        Minimum number of time points per subject.

    Returns
    -------
    series : list of ndarray, each (n_times, n_rois) float32
    subjects : pandas.DataFrame
        Columns site, subject (+ phenotype columns when given).
    """
    import pandas as pd

    root = Path(root).expanduser()
    if not root.is_dir():
        raise bad_value("root", "an existing folder of .1D ROI time series", str(root), exc=FileNotFoundError)
    files = sorted(p for p in root.rglob(f"*_rois_{atlas}.1D") if _PCP.match(p.name))
    if not files:
        raise bad_value("atlas", f"an atlas with *_rois_<atlas>.1D files in {str(root)!r}", atlas, exc=FileNotFoundError)
    series, rows, n_rois = [], [], None
    for f in files:
        m = _PCP.match(f.name)
        x = np.loadtxt(f, comments="#", dtype=np.float64, ndmin=2).astype(np.float32)
        check_finite(x, "time series", of=f.name)
        if n_rois is None:
            n_rois = x.shape[1]
        if x.shape[1] != n_rois:
            raise bad_value("n_rois", f"{n_rois} in every file", f"<{x.shape[1]} in {f.name}>")
        if x.shape[0] < min_length:
            raise bad_value("n_times", f">= {min_length}", x.shape[0], of=f.name)
        series.append(x)
        rows.append({"site": m["site"], "subject": int(m["subject"])})
    table = pd.DataFrame(rows)
    if phenotypes is not None:
        ph_path = Path(phenotypes)
        sep = "\t" if ph_path.suffix in (".tsv", ".txt") else ","
        ph = pd.read_csv(ph_path, sep=sep)
        if subject_column not in ph.columns:
            raise bad_value("subject_column", f"a column of {ph_path.name} ({list(ph.columns)[:6]}...)", subject_column)
        ph = ph.drop_duplicates(subject_column).set_index(subject_column)
        missing = sorted(set(table["subject"]) - set(ph.index))
        if missing:
            raise bad_value("phenotypes", "a row for every subject", f"<no row for subjects {missing[:5]}>")
        table = table.join(ph.drop(columns=[c for c in ("site",) if c in ph.columns]), on="subject")
    return series, table
