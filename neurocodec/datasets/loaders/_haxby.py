"""Haxby et al. 2001 in the OpenfMRI layout (``ds105``-style; the PyMVPA release).

``<root>/sub00N/BOLD/task001_runNNN/bold*.nii.gz``, block onsets
``<root>/sub00N/model/model001/onsets/task001_runNNN/condNNN.txt`` (onset,
duration, weight) named by ``<root>/models/model001/condition_key.txt``,
masks ``<root>/sub00N/masks/<res>/{brain,vt,...}.nii.gz``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...pipeline import bad_value, check
from .._paths import dataset_dir, require_files

__all__ = ["HaxbyData", "load_haxby", "haxby_volume_samples", "haxby_responses", "HAXBY_URL"]

HAXBY_URL = "https://openfmri.org/dataset/ds000105 (OpenNeuro ds000105) or the PyMVPA 'haxby2001' test data"


@dataclass
class HaxbyData:
    """File layout of one Haxby subject.

    Attributes
    ----------
    runs : list of Path
        4-D BOLD runs in run order.
    events : list of pandas.DataFrame
        Per run: onset, duration, trial_type (block design, seconds).
    masks : dict of str -> Path
        Mask name -> NIfTI file (``vt``, ``brain``, ...).
    conditions : list of str
        The 8 category names in condition-key order.
    t_r : float
        Repetition time (s).
    """

    runs: list
    events: list
    masks: dict
    conditions: list
    t_r: float = 2.5
    subject: str = "sub001"
    extra: dict = field(default_factory=dict)


def _condition_key(root: Path) -> dict[str, str]:
    key = root / "models" / "model001" / "condition_key.txt"
    out = {}
    for line in key.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 3:
            out[parts[1]] = " ".join(parts[2:])
    return out


def _run_events(root: Path, subject: str, run_name: str, conditions: dict[str, str], bold: Path):
    import pandas as pd

    onset_dir = root / subject / "model" / "model001" / "onsets" / run_name
    rows = []
    if onset_dir.is_dir():
        for cond_file in sorted(onset_dir.glob("cond*.txt")):
            cond = cond_file.stem
            if cond not in conditions:
                raise bad_value("condition_key.txt", f"a name for {cond}", f"<only {sorted(conditions)}>")
            table = np.loadtxt(cond_file, ndmin=2)
            for onset, duration, *_ in table:
                rows.append({"onset": float(onset), "duration": float(duration), "trial_type": conditions[cond]})
        return pd.DataFrame(rows).sort_values("onset").reset_index(drop=True)
    tsv = bold.parent / "bold_events.tsv"
    if tsv.is_file():
        return pd.read_csv(tsv, sep="\t")[["onset", "duration", "trial_type"]]
    raise bad_value(
        "onsets", f"condNNN.txt files in {str(onset_dir)!r} or a bold_events.tsv", "<neither>", exc=FileNotFoundError
    )


def load_haxby(root=None, subject: int = 1, *, resolution: str = "25mm", data_dir=None) -> HaxbyData:
    """Locate and check one subject of Haxby 2001.

    Parameters
    ----------
    root : str, optional
        Dataset folder (holding ``sub001/``); default ``haxby2001`` under
        ``data_dir`` -> ``$NEUROCODEC_DATA`` -> ``~/neurocodec_data``.
    subject : int
        Subject number (1-6).
    resolution : str
        Mask sub-folder (``25mm`` in the PyMVPA release).
    """
    root = Path(root).expanduser() if root is not None else dataset_dir("haxby2001", data_dir)
    sub = f"sub{subject:03d}"
    require_files(
        root,
        [f"{sub}/BOLD", "models/model001/condition_key.txt", f"{sub}/masks/{resolution}"],
        dataset="Haxby 2001",
        url=HAXBY_URL,
    )
    run_dirs = sorted(d for d in (root / sub / "BOLD").iterdir() if d.is_dir() and re.match(r"task\d+_run\d+$", d.name))
    if not run_dirs:
        raise bad_value(
            "BOLD", "task001_runNNN folders", f"<none in {str(root / sub / 'BOLD')!r}>", exc=FileNotFoundError
        )
    conditions = _condition_key(root)
    runs, events = [], []
    for d in run_dirs:
        niftis = sorted(d.glob("bold*.nii*"))
        if not niftis:
            raise bad_value(
                "run", "a folder with a bold*.nii.gz image", f"<{d.name} without one>", exc=FileNotFoundError
            )
        runs.append(niftis[0])
        events.append(_run_events(root, sub, d.name, conditions, niftis[0]))
    masks = {p.name.split(".")[0]: p for p in sorted((root / sub / "masks" / resolution).glob("*.nii*"))}
    t_r = 2.5
    scan_key = root / "scan_key.txt"
    if scan_key.is_file():
        m = re.search(r"TR\s+([0-9.]+)", scan_key.read_text())
        t_r = float(m.group(1)) if m else t_r
    return HaxbyData(runs=runs, events=events, masks=masks, conditions=list(conditions.values()), t_r=t_r, subject=sub)


def haxby_volume_samples(
    data: HaxbyData,
    mask: str = "vt",
    *,
    lag: float = 5.0,
    categories=None,
    detrend: bool = True,
    standardize: str = "zscore_sample",
):
    """Per-volume samples: masked, detrended, z-scored volumes labelled by the block they fall in.

    Each volume acquired between ``onset + lag`` and ``onset + duration + lag``
    (the haemodynamic delay) takes the block's category; others are rest and
    are left out.

    Returns
    -------
    X : ndarray, shape (n_samples, n_voxels), float32
    y : ndarray, shape (n_samples,), str
    runs : ndarray, shape (n_samples,), int
    """
    if not isinstance(data, HaxbyData):
        raise bad_value("data", "a HaxbyData (see load_haxby)", f"<{type(data).__name__}>", exc=TypeError)
    from ..fmri import extract_signals

    if mask not in data.masks:
        raise bad_value("mask", f"one of {sorted(data.masks)}", mask)
    X, y, groups = [], [], []
    for r, (run, ev) in enumerate(zip(data.runs, data.events)):
        sig, _ = extract_signals(run, data.masks[mask], t_r=data.t_r, detrend=detrend, standardize=standardize)
        times = np.arange(sig.shape[0]) * data.t_r
        labels = np.full(len(times), "", dtype=object)
        for onset, duration, kind in ev[["onset", "duration", "trial_type"]].itertuples(index=False):
            labels[(times >= onset + lag) & (times < onset + duration + lag)] = kind
        keep = labels != ""
        if categories is not None:
            keep &= np.isin(labels, list(categories))
        X.append(sig[keep])
        y.extend(labels[keep].tolist())
        groups.extend([r] * int(keep.sum()))
    return np.concatenate(X).astype(np.float32), np.asarray(y, dtype=str), np.asarray(groups)


def haxby_responses(
    data: HaxbyData,
    mask: str = "vt",
    *,
    method: str = "lsa",
    high_pass: float = 1.0 / 128,
    standardize_betas: bool = True,
    test_runs=None,
):
    """Block betas of one Haxby subject as :class:`~neurocodec.datasets.kinds.StimulusResponses`.

    Each run is fitted with a first-level GLM holding one regressor per block of all eight categories
    (:func:`~neurocodec.datasets.single_trial_betas`: Glover HRF, cosine drift with cutoff ``high_pass``, OLS),
    so the haemodynamic lag and the block transitions are modelled, not cut by hand. The categories are the
    stimuli (no images): one stimulus per category, in both splits; the run of each block is in the kind's
    per-subject trials table.

    Parameters
    ----------
    data : HaxbyData
        From :func:`load_haxby`.
    mask : str
        Mask name (``vt``, ``brain``, ``gray``, ...).
    method : {"lsa", "lss"}
        Least-squares-all (one GLM per run) or least-squares-separate.
    high_pass : float
        Cosine drift cutoff (Hz); 1/128 Hz (SPM's convention) by default.
    standardize_betas : bool
        z-score each voxel's betas within each run.
    test_runs : list of int, optional
        Runs (0-based) whose blocks are the test trials; default the last run.

    Returns
    -------
    StimulusResponses
        Subject ``data.subject``; betas (n_blocks, n_voxels) float32; voxel table with i, j, k, x, y, z.
    """
    from .._trial_responses import check_trial_design, responses_from_betas
    from ..fmri import mask_voxels, single_trial_betas

    check(isinstance(data, HaxbyData), "data", "a HaxbyData (from load_haxby)", data, exc=TypeError)
    if mask not in data.masks:
        raise bad_value("mask", f"one of {sorted(data.masks)}", mask)
    check_trial_design(data.events, test_runs)
    betas, trials = single_trial_betas(
        data.runs,
        data.events,
        data.masks[mask],
        t_r=data.t_r,
        method=method,
        hrf_model="glover",
        drift_model="cosine",
        high_pass=high_pass,
        noise_model="ols",
        standardize_betas=standardize_betas,
    )
    return responses_from_betas(
        betas,
        trials,
        subject=data.subject,
        test_runs=test_runs,
        voxels=mask_voxels(data.masks[mask]),
        info={
            "producer": "load_haxby",
            "dataset": "Haxby et al. 2001",
            "mask": mask,
            "method": method,
            "high_pass": high_pass,
            "standardize_betas": standardize_betas,
            "t_r": data.t_r,
        },
    )
