"""ABIDE / ADHD-200 style connectivity datasets: FC matrices or ROI time series + phenotypes.

Two on-disk layouts are read:

* an FC release (the layout of ``../shared/data/abide_schaefer200``):
  ``fc_upper.npz`` holding ``fc`` (n_subjects, n_rois * (n_rois - 1) / 2), the
  row-major upper triangle (``numpy.triu_indices(n_rois, 1)``) of each
  subject's correlation matrix, ``phenotypes.tsv`` (one row per subject, same
  order) and optionally ``rois.txt`` (ROI names);
* ROI time series (:func:`load_abide_timeseries`, kind ``roi_timeseries``), in
  the release layout of ``../shared/data/abide_pcp_cc200`` (``timeseries.npz``
  keyed by ``FILE_ID``, ``phenotypes.tsv``, ``<ATLAS>.nii.gz``) or the
  Preprocessed Connectomes Project download layout (``rois_<atlas>/<FILE_ID>_rois_<atlas>.1D``,
  searched recursively, + ``Phenotypic_V1_0b_preprocessed1.csv``) for any PCP
  atlas (cc200, cc400, aal, ho, tt, ez, dosenbach160).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...pipeline import bad_value, check, check_array
from .._paths import dataset_dir, require_files
from .._validation import check_finite

__all__ = [
    "load_abide_fc",
    "load_abide_timeseries",
    "read_1d",
    "fc_from_upper",
    "ABIDE_URL",
    "PCP_ATLASES",
    "ZERO_VARIANCE_POLICIES",
]

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
    upper = check_array(upper, "upper", "(n_subjects, n_pairs)", ndim=(1, 2))
    check(upper.shape[-1] > 0, "upper", "at least one pair per subject", f"<shape {upper.shape}>")
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


PCP_ATLASES = ("cc200", "cc400", "aal", "ho", "tt", "ez", "dosenbach160")
ZERO_VARIANCE_POLICIES = ("drop_subject", "drop_roi", "error")
PCP_PHENOTYPES = "Phenotypic_V1_0b_preprocessed1.csv"
_PCP_QC = ("qc_rater_1", "qc_func_rater_2", "qc_func_rater_3")


def read_1d(path) -> tuple[np.ndarray, list[str] | None]:
    """Read one PCP ``.1D`` ROI time-series file.

    Parameters
    ----------
    path : str or path-like
        Whitespace-separated table, one row per time point and one column per
        ROI, with an optional ``#`` header naming the columns (``#1  #2 ...``).

    Returns
    -------
    series : ndarray, shape (n_times, n_rois) float32
    names : list of str or None
        Column names from the header (without ``#``), when present.
    """
    path = Path(path)
    if not path.is_file():
        raise bad_value("path", "an existing .1D file", str(path), exc=FileNotFoundError)
    names = None
    with open(path) as fh:
        first = fh.readline()
    if first.startswith("#"):
        tokens = [t.lstrip("#") for t in first.split()]
        names = [t for t in tokens if t] or None
    try:
        x = np.loadtxt(path, comments="#", dtype=np.float64, ndmin=2)
    except ValueError as err:
        raise bad_value("path", "a numeric .1D table (n_times rows, n_rois columns)", str(path)) from err
    check_finite(x, "time series", of=path.name)
    if names is not None and len(names) != x.shape[1]:
        names = None
    return x.astype(np.float32), names


def _standard_columns(ph):
    """Add ``subject, site, group, diagnosis, age, sex, eyes, mean_fd`` from the PCP phenotype columns."""
    import pandas as pd

    need = ("FILE_ID", "SITE_ID", "DX_GROUP")
    missing = [c for c in need if c not in ph.columns]
    if missing:
        raise bad_value("phenotypes", f"a PCP phenotype table with columns {list(need)}", f"<missing {missing}>")
    out = pd.DataFrame({"subject": ph["FILE_ID"].astype(str), "site": ph["SITE_ID"].astype(str)})
    dx = pd.to_numeric(ph["DX_GROUP"], errors="coerce")
    if not dx.isin([1, 2]).all():
        raise bad_value(
            "DX_GROUP",
            "1 (autism) or 2 (control) for every subject",
            f"<values {sorted(set(ph['DX_GROUP'].astype(str)))[:4]}>",
        )
    out["group"] = (dx == 1).astype(int)
    out["diagnosis"] = np.where(dx == 1, "ASD", "HC")
    if "AGE_AT_SCAN" in ph:
        out["age"] = pd.to_numeric(ph["AGE_AT_SCAN"], errors="coerce")
    if "SEX" in ph:
        out["sex"] = ph["SEX"].map({1: "male", 2: "female"})
    if "EYE_STATUS_AT_SCAN" in ph:
        out["eyes"] = ph["EYE_STATUS_AT_SCAN"].map({1: "open", 2: "closed"})
    if "func_mean_fd" in ph:
        out["mean_fd"] = pd.to_numeric(ph["func_mean_fd"], errors="coerce")
    rest = ph.drop(columns=[c for c in ph.columns if c in out.columns])
    return pd.concat([out, rest.reset_index(drop=True)], axis=1)


def _find_layout(root: Path, atlas: str):
    """``("release", npz, phenotypes)`` or ``("pcp", [1D files], phenotypes)``."""
    if (root / "timeseries.npz").is_file() and (root / "phenotypes.tsv").is_file():
        atlases = sorted(p.name[: -len(".nii.gz")].lower() for p in root.glob("*.nii.gz"))
        if atlases and atlas not in atlases:
            raise bad_value("atlas", f"the atlas of this release ({atlases[0]!r})", atlas)
        return "release", root / "timeseries.npz", root / "phenotypes.tsv"
    files = sorted(root.rglob(f"*_rois_{atlas}.1D"))
    if not files:
        raise bad_value(
            "path",
            f"an ABIDE folder holding timeseries.npz + phenotypes.tsv, or PCP files "
            f"rois_{atlas}/*_rois_{atlas}.1D (see {ABIDE_URL})",
            str(root),
            exc=FileNotFoundError,
        )
    candidates = [root / PCP_PHENOTYPES, *sorted(root.rglob(PCP_PHENOTYPES))]
    ph = next((p for p in candidates if p.is_file()), None)
    if ph is None:
        raise bad_value(
            "path", f"a PCP folder holding {PCP_PHENOTYPES} beside rois_{atlas}/", str(root), exc=FileNotFoundError
        )
    return "pcp", files, ph


def _roi_table(root: Path, atlas: str, n_rois: int, names):
    """ROI names (the atlas labels) and MNI centroids when the atlas image is beside the data."""
    import pandas as pd

    table = pd.DataFrame({"name": names if names is not None else [str(k + 1) for k in range(n_rois)]})
    img = next((p for p in root.glob("*.nii.gz") if p.name[: -len(".nii.gz")].lower() == atlas), None)
    if img is None:
        return table
    import nibabel as nib

    atlas_img = nib.load(str(img))
    data = np.asarray(atlas_img.dataobj).astype(int)
    labels = (
        np.arange(1, n_rois + 1)
        if names is None or not all(n.isdigit() for n in names)
        else np.array([int(n) for n in names])
    )
    ijk = np.argwhere(np.isin(data, labels))
    lab = data[tuple(ijk.T)]
    xyz = nib.affines.apply_affine(atlas_img.affine, ijk)
    cent = np.full((n_rois, 3), np.nan)
    for k, label in enumerate(labels):
        m = lab == label
        if m.any():
            cent[k] = xyz[m].mean(0)
    table["x"], table["y"], table["z"] = cent.T
    return table


def load_abide_timeseries(
    path=None,
    *,
    atlas: str = "cc200",
    data_dir=None,
    sites=None,
    subjects=None,
    qc_columns=None,
    qc_accept=("OK",),
    max_mean_fd: float | None = None,
    min_timepoints: int = 10,
    eyes: str | None = None,
    age_range=None,
    sex: str | None = None,
    zero_variance: str = "drop_subject",
):
    """ABIDE ROI time series + phenotypes as a :class:`~neurocodec.datasets.kinds.RoiTimeseries` cohort.

    Parameters
    ----------
    path : str or path-like, optional
        The release folder (``timeseries.npz`` keyed by FILE_ID, ``phenotypes.tsv``,
        ``<ATLAS>.nii.gz``) or a PCP download folder (``*_rois_<atlas>.1D`` files,
        searched recursively, and ``Phenotypic_V1_0b_preprocessed1.csv``). When
        None, ``abide_pcp_<atlas>`` under ``data_dir`` -> ``$NEUROCODEC_DATA`` ->
        ``~/neurocodec_data``.
    atlas : str
        PCP atlas tag (one of :data:`PCP_ATLASES`).
    data_dir : str, optional
        Data home used when ``path`` is None.
    sites, subjects : list of str, optional
        Keep only these SITE_IDs / FILE_IDs (or SUB_IDs).
    qc_columns : list of str, optional
        QC rating columns (e.g. ``["qc_rater_1", "qc_func_rater_2", "qc_func_rater_3"]``);
        a subject is kept when each of them is in ``qc_accept`` (a missing
        rating is not accepted). None: no QC filter.
    qc_accept : sequence of str
        Accepted ratings (PCP raters write ``OK``, ``maybe``, ``fail``).
    max_mean_fd : float, optional
        Keep subjects with ``func_mean_fd`` (mm) at most this.
    min_timepoints : int
        Keep subjects with at least this many time points (>= 3).
    eyes : {"open", "closed"}, optional
        Keep subjects scanned with eyes open / closed only.
    age_range : (float, float), optional
        Keep ages in ``[low, high]`` (years).
    sex : {"male", "female"}, optional
    zero_variance : {"drop_subject", "drop_roi", "error"}
        What to do with ROIs of zero variance in a subject (outside its field
        of view): drop those subjects; drop those ROIs from every subject (on
        the CC200 release this drops 153 of 200 ROIs); or raise. The policy and
        what it removed are recorded in ``info["zero_variance"]``.

    Returns
    -------
    RoiTimeseries
        ``subjects``: ``subject`` (FILE_ID), ``site``, ``group`` (1 ASD, 0
        control), ``diagnosis``, ``age``, ``sex``, ``eyes``, ``mean_fd``,
        ``n_times`` and the phenotype file's columns. ``info``: source,
        layout, atlas, filters, and ``exclusions`` (ordered list of
        ``{"reason", "n_subjects"}``).
    """
    import pandas as pd

    from ..kinds import RoiTimeseries

    check(atlas in PCP_ATLASES, "atlas", f"one of {PCP_ATLASES}", atlas)
    check(zero_variance in ZERO_VARIANCE_POLICIES, "zero_variance", f"one of {ZERO_VARIANCE_POLICIES}", zero_variance)
    check(int(min_timepoints) >= 3, "min_timepoints", ">= 3", min_timepoints)
    check(eyes in (None, "open", "closed"), "eyes", "'open', 'closed' or None", eyes)
    check(sex in (None, "male", "female"), "sex", "'male', 'female' or None", sex)
    if age_range is not None:
        check(
            len(age_range) == 2 and float(age_range[0]) <= float(age_range[1]),
            "age_range",
            "[low, high] with low <= high (years)",
            age_range,
        )
    if max_mean_fd is not None:
        check(max_mean_fd > 0, "max_mean_fd", "> 0 (mm)", max_mean_fd)
    root = Path(path).expanduser() if path is not None else dataset_dir(f"abide_pcp_{atlas}", data_dir)
    if not root.is_dir():
        raise bad_value("path", f"an existing ABIDE folder (see {ABIDE_URL})", str(root), exc=FileNotFoundError)
    layout, data, ph_file = _find_layout(root, atlas)
    raw = pd.read_csv(ph_file, sep="\t" if ph_file.suffix == ".tsv" else ",")
    if layout == "release":
        npz = np.load(data, allow_pickle=False)
        available = {k: k for k in npz.files}
    else:
        available = {f.name[: -len(f"_rois_{atlas}.1D")]: f for f in data}
    if "FILE_ID" in raw:
        raw = raw[raw["FILE_ID"].astype(str) != "no_filename"]
    table = _standard_columns(raw.drop_duplicates("FILE_ID"))
    missing = sorted(set(available) - set(table["subject"]))
    if missing:
        raise bad_value(
            "phenotypes",
            f"a row of {ph_file.name} for every subject with a time series",
            f"<no row for {len(missing)} subjects, e.g. {missing[:3]}>",
        )
    table = table[table["subject"].isin(available)].reset_index(drop=True)
    exclusions = []

    def keep(mask, reason):
        nonlocal table
        mask = np.asarray(mask, bool)
        if (~mask).any():
            exclusions.append({"reason": reason, "n_subjects": int((~mask).sum())})
        table = table[mask].reset_index(drop=True)

    if sites is not None:
        unknown = sorted(set(map(str, sites)) - set(table["site"]))
        check(not unknown, "sites", f"SITE_IDs of this release {sorted(set(table['site']))}", unknown)
        keep(table["site"].isin([str(s) for s in sites]), "site filter")
    if subjects is not None:
        wanted = {str(s) for s in subjects}
        ids = table["subject"].isin(wanted)
        if "SUB_ID" in table:
            ids |= table["SUB_ID"].astype(str).isin(wanted)
        check(bool(ids.any()), "subjects", "FILE_IDs or SUB_IDs of this release", sorted(wanted)[:3])
        keep(ids, "subject filter")
    if qc_columns:
        absent = [c for c in qc_columns if c not in table]
        check(not absent, "qc_columns", f"columns of {ph_file.name} (e.g. {list(_PCP_QC)})", absent)
        ok = np.ones(len(table), bool)
        for col in qc_columns:
            ok &= table[col].astype(str).isin([str(a) for a in qc_accept]).to_numpy()
        keep(ok, f"QC: {', '.join(qc_columns)} not in {list(qc_accept)}")
    if max_mean_fd is not None:
        check("mean_fd" in table, "max_mean_fd", "used with a phenotype file holding func_mean_fd", max_mean_fd)
        keep(table["mean_fd"] <= max_mean_fd, f"mean FD > {max_mean_fd} mm")
    if eyes is not None:
        keep(table["eyes"] == eyes, f"eyes not {eyes}")
    if age_range is not None:
        keep(table["age"].between(float(age_range[0]), float(age_range[1])), f"age outside {list(age_range)}")
    if sex is not None:
        keep(table["sex"] == sex, f"sex not {sex}")
    check(len(table) > 0, "filters", "leaving at least one subject", f"<{exclusions}>")

    series, names, n_rois = {}, None, None
    for sid in table["subject"]:
        if layout == "release":
            x = np.asarray(npz[sid], dtype=np.float32)
            check_finite(x, "time series", of=sid)
        else:
            x, header = read_1d(available[sid])
            names = names or header
        if n_rois is None:
            n_rois = x.shape[1]
        if x.ndim != 2 or x.shape[1] != n_rois:
            raise bad_value(
                "time series", f"(n_times, {n_rois}) arrays like the first subject", f"<shape {x.shape}>", of=sid
            )
        series[sid] = x
    if layout == "release":
        npz.close()
    table["n_times"] = [len(series[s]) for s in table["subject"]]
    short = table["n_times"] < int(min_timepoints)
    keep(~short, f"fewer than {int(min_timepoints)} time points")
    check(len(table) > 0, "min_timepoints", "leaving at least one subject", min_timepoints)
    series = {s: series[s] for s in table["subject"]}

    zero = {s: np.flatnonzero(x.std(0) <= 1e-6 * max(float(np.abs(x).max()), 1e-30)) for s, x in series.items()}
    zero = {s: v for s, v in zero.items() if len(v)}
    rois = _roi_table(root, atlas, n_rois, names)
    zv = {
        "policy": zero_variance,
        "n_subjects_with_zero_variance_rois": len(zero),
        "subjects": sorted(zero),
        "dropped_rois": [],
        "dropped_subjects": [],
    }
    if zero and zero_variance == "error":
        worst = max(zero, key=lambda s: len(zero[s]))
        raise bad_value(
            "zero_variance",
            "'drop_subject' or 'drop_roi' for a cohort with zero-variance ROIs",
            f"<{len(zero)} subjects with zero-variance ROIs, e.g. {worst} ({len(zero[worst])} ROIs)>",
        )
    if zero and zero_variance == "drop_subject":
        zv["dropped_subjects"] = sorted(zero)
        keep(~table["subject"].isin(zero), "zero-variance ROIs")
        check(len(table) > 0, "zero_variance", "a policy leaving at least one subject", zero_variance)
        series = {s: series[s] for s in table["subject"]}
    if zero and zero_variance == "drop_roi":
        drop = np.unique(np.concatenate(list(zero.values())))
        check(len(drop) <= n_rois - 2, "zero_variance", "a policy leaving at least 2 ROIs", zero_variance)
        kept = np.setdiff1d(np.arange(n_rois), drop)
        zv["dropped_rois"] = rois["name"].iloc[drop].tolist()
        rois = rois.iloc[kept].reset_index(drop=True)
        series = {s: x[:, kept] for s, x in series.items()}
    info = {
        "dataset": "ABIDE-I (Preprocessed Connectomes Project)",
        "source": str(root),
        "layout": layout,
        "atlas": atlas,
        "phenotypes": ph_file.name,
        "exclusions": exclusions,
        "zero_variance": zv,
        "n_subjects": len(table),
        "n_rois": len(rois),
        "n_subjects_fewer_times_than_rois": int((table["n_times"] < len(rois)).sum()),
        "filters": {
            "sites": None if sites is None else [str(s) for s in sites],
            "subjects": None if subjects is None else len(subjects),
            "qc_columns": qc_columns,
            "qc_accept": list(qc_accept),
            "max_mean_fd": max_mean_fd,
            "min_timepoints": int(min_timepoints),
            "eyes": eyes,
            "age_range": None if age_range is None else list(age_range),
            "sex": sex,
        },
    }
    return RoiTimeseries(series, table, rois, info)
