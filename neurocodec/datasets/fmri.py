"""fMRI readers: NIfTI/GIFTI images, masking and ROI extraction, cleaning, single-trial betas.

Images are read with nibabel, masked with nilearn maskers (brain mask, label
atlas or probabilistic atlas), cleaned with nilearn's signal cleaning
(confounds, detrending, high-pass, standardisation), and single-trial betas
come from nilearn's first-level design matrices and GLM (``run_glm``), either
least-squares-all (LSA) or least-squares-separate (LSS; Mumford et al. 2012).
Heavy libraries are imported inside the functions.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..pipeline import bad_value
from ._validation import check_file, check_finite, check_mask_not_empty, check_ndim_img, check_same_grid

__all__ = [
    "load_img",
    "load_surface",
    "load_mask",
    "load_confounds",
    "extract_signals",
    "single_trial_betas",
    "load_events",
    "atlas_regions",
    "mask_voxels",
    "bids_subject",
]

_NIFTI = (".nii", ".nii.gz")


def load_img(path: Any, ndim: int | None = None, name: str = "img"):
    """Read a NIfTI image with nibabel, checking it is whole and has ``ndim`` dimensions.

    Parameters
    ----------
    path : str or path-like or nibabel image
        File (``.nii`` / ``.nii.gz``) or an already loaded image.
    ndim : {3, 4}, optional
        Required number of dimensions.
    name : str
        Name used in error messages.

    Returns
    -------
    img : nibabel.Nifti1Image
    """
    import nibabel as nib

    if isinstance(path, (str, Path)):
        p = check_file(path, name, suffixes=_NIFTI)
        try:
            img = nib.load(str(p))
            if not isinstance(img, (nib.Nifti1Image, nib.Nifti2Image)):
                raise TypeError(f"{type(img).__name__} is not NIfTI")
            # Reading everything now turns a truncated file into this error, once.
            img = type(img)(img.get_fdata(dtype=np.float32), img.affine, img.header)
        except Exception as err:  # nibabel raises several types for corrupt files
            raise bad_value(name, "a readable NIfTI file", f"<{p.name}: {type(err).__name__}: {err}>") from None
    else:
        img = path
        if not hasattr(img, "affine") or not hasattr(img, "shape"):
            raise bad_value(name, "a NIfTI file path or nibabel image", f"<{type(img).__name__}>")
    if ndim is not None:
        check_ndim_img(img, ndim, name)
    return img


def load_surface(path: Any, name: str = "img") -> np.ndarray:
    """Read surface fMRI (GIFTI ``.gii`` or FreeSurfer ``.mgz``/``.mgh``) as (n_times, n_vertices) float32."""
    import nibabel as nib

    p = check_file(path, name, suffixes=(".gii", ".mgz", ".mgh"))
    try:
        img = nib.load(str(p))
        if p.name.endswith(".gii"):
            arrays = [d.data for d in img.darrays]
            data = np.stack(arrays, axis=0) if arrays and arrays[0].ndim == 1 else np.asarray(arrays[0]).T
        else:
            data = (
                np.asarray(img.get_fdata(dtype=np.float32)).reshape(-1, img.shape[-1] if len(img.shape) == 4 else 1).T
            )
    except Exception as err:
        raise bad_value(name, "a readable GIFTI/MGH surface file", f"<{p.name}: {type(err).__name__}: {err}>") from None
    data = np.asarray(data, dtype=np.float32)
    return check_finite(data, name)


def load_mask(path: Any, ref=None, name: str = "mask"):
    """Read a 3-D mask, check it is non-empty and (when ``ref`` is given) on ``ref``'s grid."""
    import nibabel as nib

    img = load_img(path, 3, name)
    data = np.asarray(img.dataobj)
    if data.ndim == 4:
        data = data[..., 0]
    check_mask_not_empty(data, name)
    if ref is not None:
        check_same_grid(img, ref, name, "the functional image")
    return nib.Nifti1Image((data != 0).astype(np.uint8), img.affine)


def load_confounds(
    path: Any, n_times: int, columns: Sequence[str] | None = None, name: str = "confounds"
) -> np.ndarray:
    """Read a confound table (TSV/CSV with header, e.g. fMRIPrep ``*_desc-confounds_timeseries.tsv``).

    NaN in the first rows of derivative columns (fMRIPrep convention) are set
    to 0; other non-finite values are rejected.

    Returns
    -------
    confounds : ndarray, shape (n_times, n_confounds), float64
    """
    import pandas as pd

    p = check_file(path, name, suffixes=(".tsv", ".csv", ".txt"))
    table = pd.read_csv(p, sep="," if p.suffix == ".csv" else "\t")
    if columns:
        missing = [c for c in columns if c not in table.columns]
        if missing:
            raise bad_value(
                "confound_columns", f"columns of {p.name} ({list(table.columns)[:8]}...)", f"<missing {missing}>"
            )
        table = table[list(columns)]
    values = table.to_numpy(dtype=np.float64)
    if len(values) != n_times:
        raise bad_value(name, f"one row per volume ({n_times})", f"<{len(values)} rows in {p.name}>")
    lead = np.cumprod(np.isnan(values), axis=0).astype(bool)  # leading NaN of derivatives
    values[lead] = 0.0
    return check_finite(values, name, of=p.name)


def _atlas_masker(atlas_img, mask_img, clean: dict):
    from nilearn.maskers import NiftiLabelsMasker, NiftiMapsMasker

    if len(atlas_img.shape) == 4 and atlas_img.shape[3] > 1:
        return NiftiMapsMasker(maps_img=atlas_img, mask_img=mask_img, resampling_target="data", **clean)
    labels = np.asarray(atlas_img.dataobj)
    if not np.allclose(labels, np.round(labels)):
        raise bad_value(
            "atlas", "a label image of integers (or a 4-D probabilistic atlas)", "<a 3-D image with non-integer values>"
        )
    check_mask_not_empty(labels, "atlas")
    return NiftiLabelsMasker(labels_img=atlas_img, mask_img=mask_img, resampling_target="data", **clean)


def extract_signals(
    bold: Any,
    mask: Any = None,
    atlas: Any = None,
    confounds: np.ndarray | None = None,
    *,
    t_r: float | None = None,
    standardize: str | bool = "zscore_sample",
    detrend: bool = True,
    high_pass: float | None = None,
    low_pass: float | None = None,
    smoothing_fwhm: float | None = None,
) -> tuple[np.ndarray, Any]:
    """Masked voxel time series or ROI time series of one run, cleaned.

    Parameters
    ----------
    bold : path or nibabel image
        4-D functional image (n_x, n_y, n_z, n_times).
    mask : path or image, optional
        3-D brain mask on the grid of ``bold``. Without a mask nor an atlas, a
        background mask is computed by nilearn.
    atlas : path or image, optional
        3-D label image (one integer per region, 0 = background) or 4-D
        probabilistic atlas; signals are then (n_times, n_regions).
    confounds : ndarray, shape (n_times, n_confounds), optional
        Regressed out (nilearn ``signal.clean``, orthogonal to the filters).
    t_r : float, optional
        Repetition time in seconds (required for filters).
    standardize : {"zscore_sample", "psc", "none"}
        Standardisation of each time series.
    detrend, high_pass, low_pass, smoothing_fwhm
        nilearn cleaning / smoothing options.

    Returns
    -------
    signals : ndarray, shape (n_times, n_features), float32
    masker : fitted nilearn masker (``inverse_transform`` maps back to images).
    """
    from nilearn.maskers import NiftiMasker

    img = load_img(bold, 4, "bold")
    if standardize in ("none", False):
        standardize = None
    if (high_pass or low_pass) and not t_r:
        raise bad_value("t_r", "> 0 when high_pass or low_pass is set", t_r)
    mask_img = load_mask(mask, img) if mask is not None else None
    clean = dict(
        standardize=standardize,
        detrend=detrend,
        high_pass=high_pass,
        low_pass=low_pass,
        t_r=t_r,
        smoothing_fwhm=smoothing_fwhm,
    )
    if atlas is not None:
        atlas_img = load_img(atlas, None, "atlas")
        check_same_grid(atlas_img, img, "atlas", "the functional image")
        masker = _atlas_masker(atlas_img, mask_img, clean)
    else:
        masker = NiftiMasker(mask_img=mask_img, **clean)
    if confounds is not None:
        confounds = np.asarray(confounds, dtype=np.float64)
        if confounds.ndim == 1:
            confounds = confounds[:, None]
        if confounds.shape[0] != img.shape[3]:
            raise bad_value("confounds", f"one row per volume ({img.shape[3]})", f"<{confounds.shape[0]} rows>")
        check_finite(confounds, "confounds")
    data = np.asarray(img.dataobj)
    check_finite(data, "bold")
    signals = masker.fit_transform(img, confounds=confounds)
    return np.asarray(signals, dtype=np.float32), masker


def load_events(path: Any, name: str = "events"):
    """Read a BIDS ``events.tsv`` (columns onset, duration, trial_type) as a DataFrame."""
    import pandas as pd

    p = check_file(path, name, suffixes=(".tsv", ".csv"))
    table = pd.read_csv(p, sep="," if p.suffix == ".csv" else "\t")
    missing = [c for c in ("onset", "duration") if c not in table.columns]
    if missing:
        raise bad_value(name, "a table with onset and duration columns", f"<{p.name} without {missing}>")
    if "trial_type" not in table.columns:
        table["trial_type"] = "trial"
    check_finite(table[["onset", "duration"]].to_numpy(dtype=np.float64), name, of=p.name)
    return table[
        ["onset", "duration", "trial_type"] + [c for c in table.columns if c not in ("onset", "duration", "trial_type")]
    ]


def _frame_times(n_scans: int, t_r: float, slice_time_ref: float) -> np.ndarray:
    return (np.arange(n_scans) + slice_time_ref) * t_r


def _glm_betas(Y: np.ndarray, design, columns: list[str], noise_model: str) -> np.ndarray:
    from nilearn.glm.first_level import run_glm

    X = design.to_numpy(dtype=np.float64)
    labels, results = run_glm(Y, X, noise_model=noise_model)
    idx = [list(design.columns).index(c) for c in columns]
    out = np.empty((len(idx), Y.shape[1]), dtype=np.float64)
    for lab, res in results.items():
        sel = labels == lab
        out[:, sel] = res.theta[idx]
    return out


def single_trial_betas(
    runs: Sequence[Any],
    events: Sequence[Any],
    mask: Any,
    *,
    t_r: float,
    method: str = "lss",
    hrf_model: str = "glover",
    drift_model: str | None = "cosine",
    high_pass: float = 0.01,
    noise_model: str = "ols",
    confounds: Sequence[np.ndarray | None] | None = None,
    sessions: Sequence[Any] | None = None,
    slice_time_ref: float = 0.0,
    standardize_betas: bool = False,
):
    """Single-trial response amplitudes from an event-related design.

    Parameters
    ----------
    runs : sequence of path or image
        4-D functional images, one per run.
    events : sequence of path or DataFrame
        Per run, events with ``onset``, ``duration``, ``trial_type`` (seconds).
    mask : path or image
        3-D mask on the grid of the runs.
    t_r : float
        Repetition time (s).
    method : {"lss", "lsa"}
        ``"lsa"``: one GLM with one regressor per trial. ``"lss"``: one GLM
        per trial with the trial, and one regressor per condition for all
        other trials (Mumford et al. 2012, LSS-2).
    hrf_model, drift_model, high_pass, noise_model
        nilearn first-level options (``noise_model`` ``"ols"`` or ``"ar1"``).
    confounds : sequence of ndarray (n_times, n_confounds) or None, optional
        Per-run nuisance regressors added to the design.
    sessions : sequence, optional
        Session label of each run (kept in the trial table).
    slice_time_ref : float
        Fraction of the TR at which each volume is referenced.
    standardize_betas : bool
        z-score each voxel's betas within each run.

    Returns
    -------
    betas : ndarray, shape (n_trials, n_voxels), float32
    trials : pandas.DataFrame
        One row per trial: run, session, onset, duration, trial_type.
    """
    import pandas as pd
    from nilearn.glm.first_level import make_first_level_design_matrix
    from nilearn.maskers import NiftiMasker

    if method not in ("lss", "lsa"):
        raise bad_value("method", "'lss' or 'lsa'", method)
    if t_r is None or t_r <= 0:
        raise bad_value("t_r", "> 0", t_r)
    if len(runs) != len(events):
        raise bad_value("events", f"one table per run ({len(runs)})", f"<{len(events)} tables>")
    if len(runs) == 0:
        raise bad_value("runs", "at least one functional run", "<none>")
    first = load_img(runs[0], 4, "bold")
    masker = NiftiMasker(mask_img=load_mask(mask, first), standardize=None).fit()
    all_betas, rows = [], []
    for r, (run, ev) in enumerate(zip(runs, events)):
        img = load_img(run, 4, f"bold (run {r})")
        check_same_grid(img, first, f"bold (run {r})", "run 0")
        Y = masker.transform(img).astype(np.float64)
        check_finite(Y, "bold", of=f"run {r}")
        table = load_events(ev) if not isinstance(ev, pd.DataFrame) else ev.copy()
        n_scans = img.shape[3]
        duration = n_scans * t_r
        outside = (table["onset"] < 0) | (table["onset"] >= duration)
        if outside.any():
            raise bad_value(
                "events",
                f"onsets inside the run (0 to {duration:g} s)",
                f"<{int(outside.sum())} events outside in run {r}, first at {table['onset'][outside].iloc[0]:g} s>",
            )
        table = table.reset_index(drop=True)
        frame_times = _frame_times(n_scans, t_r, slice_time_ref)
        add = None
        if confounds is not None and confounds[r] is not None:
            add = np.asarray(confounds[r], dtype=np.float64).reshape(n_scans, -1)
        kw = dict(hrf_model=hrf_model, drift_model=drift_model, high_pass=high_pass, add_regs=add)
        trial_names = [f"trial{i:04d}" for i in range(len(table))]
        if method == "lsa":
            ev_lsa = table[["onset", "duration"]].assign(trial_type=trial_names)
            design = make_first_level_design_matrix(frame_times, ev_lsa, **kw)
            betas = _glm_betas(Y, design, trial_names, noise_model)
        else:
            betas = np.empty((len(table), Y.shape[1]))
            conds = table["trial_type"].astype(str).to_numpy()
            for i in range(len(table)):
                labels = np.where(np.arange(len(table)) == i, "target__", "other__" + conds)
                ev_lss = table[["onset", "duration"]].assign(trial_type=labels)
                design = make_first_level_design_matrix(frame_times, ev_lss, **kw)
                betas[i] = _glm_betas(Y, design, ["target__"], noise_model)[0]
        if standardize_betas:
            sd = betas.std(axis=0)
            betas = (betas - betas.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
        all_betas.append(betas.astype(np.float32))
        meta = table.assign(run=r, session=(sessions[r] if sessions is not None else 0))
        rows.append(meta)
    trials = pd.concat(rows, ignore_index=True)
    cols = ["run", "session", "onset", "duration", "trial_type"]
    trials = trials[cols + [c for c in trials.columns if c not in cols]]
    return np.concatenate(all_betas, axis=0), trials


def bids_subject(path: Any, default: str = "sub-01") -> str:
    """The ``sub-<label>`` entity of a BIDS file name (or of one of its folders), else ``default``."""
    if not isinstance(path, (str, os.PathLike)):
        raise bad_value("path", "a file name (str or path)", path, exc=TypeError)
    p = Path(path)
    for part in [p.name, *reversed(p.parent.parts)]:
        for entity in part.split("_"):
            if entity.startswith("sub-") and len(entity) > 4:
                return entity.split(".")[0]
    return default


def _read_region_names(path: Any, n: int, values: np.ndarray | None) -> list[str]:
    """Names of ``n`` regions from a TSV (``index``, ``name``; BIDS dseg.tsv) or a text file (one name a line)."""
    import pandas as pd

    p = check_file(path, "labels", suffixes=(".tsv", ".txt", ".csv"))
    if p.suffix in (".tsv", ".csv"):
        table = pd.read_csv(p, sep="\t" if p.suffix == ".tsv" else ",")
        if "name" not in table.columns:
            raise bad_value("labels", "a table with a 'name' column (and 'index': the atlas label)", p.name)
        if "index" in table.columns and values is not None:
            by_index = dict(zip(table["index"].astype(int), table["name"].astype(str)))
            missing = [int(v) for v in values if int(v) not in by_index]
            if missing:
                raise bad_value("labels", "a name for every label of the atlas", f"<no name for labels {missing[:5]}>")
            return [by_index[int(v)] for v in values]
        names = table["name"].astype(str).tolist()
    else:
        names = [line.strip() for line in p.read_text().splitlines() if line.strip()]
    if len(names) != n:
        raise bad_value("labels", f"one name per region of the atlas ({n})", f"<{len(names)} names in {p.name}>")
    return names


def atlas_regions(atlas: Any, labels: Any = None):
    """One row per region of a label or probabilistic atlas, in the order of :func:`extract_signals`' columns.

    Parameters
    ----------
    atlas : path or image
        3-D label image (integers, 0 = background) or 4-D probabilistic atlas (one map per region).
    labels : path, optional
        Region names: a TSV with ``index`` (the atlas label) and ``name`` columns (a BIDS ``dseg.tsv``), or a
        text file with one name a line in label order. Default: the label value (maps: ``map_<k>``).

    Returns
    -------
    pandas.DataFrame
        ``name``, ``label`` (label value, maps: the map index) and ``x``, ``y``, ``z``: the region's centre of
        mass in world (mm) coordinates.
    """
    import pandas as pd

    img = load_img(atlas, None, "atlas")
    data = np.asarray(img.dataobj)
    ijk = np.indices(data.shape[:3]).reshape(3, -1).T.astype(np.float64)
    if data.ndim == 4 and data.shape[3] > 1:
        values = np.arange(data.shape[3])
        weights = [np.clip(data[..., k].ravel().astype(np.float64), 0, None) for k in values]
        default = [f"map_{k}" for k in values]
    else:
        flat = np.round(data.reshape(-1)).astype(np.int64)
        values = np.unique(flat[flat != 0])
        weights = [(flat == v).astype(np.float64) for v in values]
        default = [str(int(v)) for v in values]
    centres = np.array([(w @ ijk) / max(w.sum(), 1e-12) for w in weights]).reshape(-1, 3)
    xyz = centres @ img.affine[:3, :3].T + img.affine[:3, 3]
    names = (
        default
        if labels is None
        else _read_region_names(labels, len(values), None if data.ndim == 4 and data.shape[3] > 1 else values)
    )
    return pd.DataFrame({"name": names, "label": values, "x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2]})


def mask_voxels(mask: Any):
    """One row per voxel of a mask, in masker (C) order: ``voxel``, ``i``, ``j``, ``k``, ``x``, ``y``, ``z`` (mm)."""
    import pandas as pd

    img = load_img(mask, 3, "mask")
    ijk = np.argwhere(np.asarray(img.dataobj) != 0)
    xyz = ijk @ img.affine[:3, :3].T + img.affine[:3, 3]
    return pd.DataFrame(
        {"voxel": np.arange(len(ijk)), "i": ijk[:, 0], "j": ijk[:, 1], "k": ijk[:, 2]}
        | {c: xyz[:, n] for n, c in enumerate("xyz")}
    )
