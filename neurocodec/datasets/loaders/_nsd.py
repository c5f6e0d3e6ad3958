"""Natural Scenes Dataset (Allen et al. 2022), in the layout of the public release (AWS bucket).

``<root>/nsddata/experiments/nsd/nsd_expdesign.mat`` (masterordering,
subjectim, sharedix; MATLAB v5), ``nsd_stim_info_merged.csv`` beside it,
``<root>/nsddata/ppdata/subjNN/<space>/roi/nsdgeneral.nii.gz`` (-1 outside the
brain, 0, 1 inside), ``<root>/nsddata_betas/ppdata/subjNN/<space>/
betas_fithrf_GLMdenoise_RR/betas_sessionSS.nii.gz`` (int16, percent signal
change x 300, 750 trials per session), ``<root>/nsddata_stimuli/stimuli/nsd/
nsd_stimuli.hdf5`` (``imgBrick`` (73000, 425, 425, 3) uint8) and COCO caption
files ``.../stimuli/nsd/annotations/captions_{train,val}2017.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...pipeline import bad_value, check, check_array
from .._paths import dataset_dir, require_files
from .._validation import check_finite

__all__ = [
    "NSD_URL",
    "NSD_SESSIONS",
    "NSDTrials",
    "load_nsd_design",
    "nsd_trials",
    "nsd_shared_test_ids",
    "load_nsd_betas",
    "average_repeats",
    "load_nsd_images",
    "load_nsd_captions",
    "nsd_root",
]

NSD_URL = "https://naturalscenesdataset.org (s3://natural-scenes-dataset, data access agreement required)"
#: Sessions per subject in the full release.
NSD_SESSIONS = {1: 40, 2: 40, 3: 32, 4: 30, 5: 40, 6: 32, 7: 40, 8: 30}
TRIALS_PER_SESSION = 750
BETAS = "betas_fithrf_GLMdenoise_RR"
EXPDESIGN = "nsddata/experiments/nsd/nsd_expdesign.mat"


def nsd_root(root=None, data_dir=None) -> Path:
    """NSD folder: ``root`` or ``nsd`` under the data home."""
    return Path(root).expanduser() if root is not None else dataset_dir("nsd", data_dir)


def _check_subject(subject: int) -> None:
    if subject not in NSD_SESSIONS:
        raise bad_value("subject", "an NSD subject 1-8", subject)


def load_nsd_design(root) -> dict[str, np.ndarray]:
    """Experimental design, 0-based: masterordering (n_trials,), subjectim (8, 10000), sharedix (1000,)."""
    from scipy.io import loadmat

    (path,) = require_files(Path(root), [EXPDESIGN], dataset="NSD", url=NSD_URL)
    try:
        mat = loadmat(path)
    except Exception as err:
        raise bad_value("nsd_expdesign.mat", "a readable MATLAB file", f"<{type(err).__name__}: {err}>") from None
    missing = [k for k in ("masterordering", "subjectim", "sharedix") if k not in mat]
    if missing:
        raise bad_value("nsd_expdesign.mat", "variables masterordering, subjectim, sharedix", f"<missing {missing}>")
    return {
        "masterordering": mat["masterordering"].ravel().astype(np.int64) - 1,
        "subjectim": np.atleast_2d(mat["subjectim"]).astype(np.int64) - 1,
        "sharedix": mat["sharedix"].ravel().astype(np.int64) - 1,
    }


@dataclass
class NSDTrials:
    """Trials of one subject: 73k image id (0-based), session (1-based) and whether shared."""

    image_ids: np.ndarray
    sessions: np.ndarray
    shared: np.ndarray


def nsd_trials(design: dict, subject: int, sessions) -> NSDTrials:
    """Image shown on every trial of ``sessions`` (1-based) for ``subject``."""
    _check_subject(subject)
    _check_design(design)
    order, subjectim = design["masterordering"], design["subjectim"]
    ids, sess = [], []
    for s in sessions:
        sl = order[(s - 1) * TRIALS_PER_SESSION : s * TRIALS_PER_SESSION]
        if len(sl) != TRIALS_PER_SESSION:
            raise bad_value("sessions", f"sessions covered by masterordering (1-{len(order) // TRIALS_PER_SESSION})", s)
        ids.append(subjectim[subject - 1, sl])
        sess.append(np.full(TRIALS_PER_SESSION, s))
    ids = np.concatenate(ids)
    return NSDTrials(ids, np.concatenate(sess), np.isin(ids, design["sharedix"]))


def nsd_shared_test_ids(design: dict, sessions_per_subject: dict[int, int], n_repeats: int = 3) -> np.ndarray:
    """Shared images seen ``n_repeats`` times by every listed subject within its first sessions.

    With all sessions this is the shared-1000 set; with the 37 sessions
    released before 2023 for subjects 1, 2, 5, 7 it is the usual 982-image test set.
    """
    _check_design(design)
    keep = set(design["sharedix"].tolist())
    for subject, n_sess in sessions_per_subject.items():
        t = nsd_trials(design, subject, range(1, n_sess + 1))
        ids, counts = np.unique(t.image_ids[t.shared], return_counts=True)
        keep &= set(ids[counts >= n_repeats].tolist())
    return np.array(sorted(keep), dtype=np.int64)


def _check_design(design) -> None:
    keys = ("masterordering", "subjectim", "sharedix")
    if not isinstance(design, dict) or not set(keys) <= set(design):
        got = f"<keys {sorted(design)}>" if isinstance(design, dict) else f"<{type(design).__name__}>"
        raise bad_value("design", f"the NSD design of load_nsd_design (keys {', '.join(keys)})", got, exc=TypeError)


def _roi_mask(root: Path, subject: int, space: str, roi: str, labels) -> tuple[np.ndarray, np.ndarray]:
    import nibabel as nib

    rel = f"nsddata/ppdata/subj{subject:02d}/{space}/roi/{roi}.nii.gz"
    (path,) = require_files(root, [rel], dataset="NSD", url=NSD_URL)
    img = nib.load(str(path))
    data = np.asarray(img.dataobj)
    mask = np.isin(data, list(labels)) if labels else data > 0
    if not mask.any():
        raise bad_value("roi", f"a region with voxels for labels {labels or '> 0'}", f"<empty {roi}.nii.gz>")
    return mask, img.affine


def _read_session(path: Path, mask: np.ndarray) -> np.ndarray:
    if path.suffix == ".hdf5":
        import h5py

        with h5py.File(path, "r") as f:
            data = f["betas"][...]  # (n_trials, z, y, x): reversed axes of the NIfTI
        data = data.transpose(3, 2, 1, 0)
    else:
        import nibabel as nib

        data = np.asarray(nib.load(str(path)).dataobj)
    if data.shape[:3] != mask.shape:
        raise bad_value(path.name, f"volumes on the ROI grid {mask.shape}", f"<shape {data.shape[:3]}>")
    if data.shape[3] != TRIALS_PER_SESSION:
        raise bad_value(path.name, f"{TRIALS_PER_SESSION} trials", f"<{data.shape[3]}>")
    return data[mask].T.astype(np.float32) / 300.0


def load_nsd_betas(
    root,
    subject: int,
    sessions,
    *,
    space: str = "func1pt8mm",
    roi: str = "nsdgeneral",
    roi_labels=(),
    zscore_sessions: bool = True,
) -> tuple[np.ndarray, NSDTrials, np.ndarray]:
    """Single-trial betas (percent signal change) of ``sessions`` within an ROI.

    Returns
    -------
    betas : ndarray, shape (n_trials, n_voxels), float32
        z-scored per voxel within each session when ``zscore_sessions``.
    trials : NSDTrials
    voxel_ijk : ndarray, shape (n_voxels, 3)
        Voxel indices in the ``space`` grid.
    """
    _check_subject(subject)
    root = Path(root)
    sessions = list(sessions)
    bad = [s for s in sessions if not 1 <= s <= NSD_SESSIONS[subject]]
    if bad:
        raise bad_value("sessions", f"in 1-{NSD_SESSIONS[subject]} for subject {subject}", bad)
    design = load_nsd_design(root)
    mask, _ = _roi_mask(root, subject, space, roi, roi_labels)
    folder = f"nsddata_betas/ppdata/subj{subject:02d}/{space}/{BETAS}"
    files = []
    for s in sessions:
        cands = [root / folder / f"betas_session{s:02d}{ext}" for ext in (".nii.gz", ".hdf5")]
        found = next((c for c in cands if c.is_file()), None)
        if found is None:
            require_files(root, [f"{folder}/betas_session{s:02d}.nii.gz"], dataset="NSD", url=NSD_URL)
        files.append(found)
    parts = []
    for f in files:
        b = _read_session(f, mask)
        if zscore_sessions:
            sd = b.std(axis=0)
            b = (b - b.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
        parts.append(b)
    betas = np.concatenate(parts)
    check_finite(betas, "betas", of=f"NSD subject {subject}")
    return betas, nsd_trials(design, subject, sessions), np.argwhere(mask)


def average_repeats(betas: np.ndarray, image_ids: np.ndarray, ids=None) -> tuple[np.ndarray, np.ndarray]:
    """Average the trials of each image (all images, or those in ``ids``, sorted)."""
    betas = check_array(betas, "betas", "(n_trials, n_voxels)", ndim=2)
    image_ids = np.asarray(image_ids)
    check(
        image_ids.shape == betas.shape[:1],
        "image_ids",
        f"one id per trial ({len(betas)})",
        f"<shape {image_ids.shape}>",
    )
    check(image_ids.dtype.kind in "iu", "image_ids", "integer image ids", f"<dtype {image_ids.dtype}>", exc=TypeError)
    uniq = np.unique(image_ids) if ids is None else np.asarray(ids)
    out = np.empty((len(uniq), betas.shape[1]), dtype=np.float32)
    for i, im in enumerate(uniq):
        sel = image_ids == im
        if not sel.any():
            raise bad_value("ids", "images shown in the loaded sessions", int(im))
        out[i] = betas[sel].mean(axis=0)
    return out, uniq


def load_nsd_images(root, ids) -> np.ndarray:
    """Stimuli (n_images, 425, 425, 3) uint8 for 0-based 73k ``ids`` (read from ``nsd_stimuli.hdf5``)."""
    import h5py

    (path,) = require_files(
        Path(root), ["nsddata_stimuli/stimuli/nsd/nsd_stimuli.hdf5"], dataset="NSD stimuli", url=NSD_URL
    )
    ids = np.asarray(ids, dtype=np.int64)
    with h5py.File(path, "r") as f:
        brick = f["imgBrick"]
        if ids.size and (ids.min() < 0 or ids.max() >= brick.shape[0]):
            raise bad_value("ids", f"in [0, {brick.shape[0]})", f"<range {ids.min()}..{ids.max()}>")
        order = np.argsort(ids)
        data = (
            brick[np.sort(ids).tolist()]
            if len(np.unique(ids)) == len(ids)
            else np.stack([brick[i] for i in ids[order]])
        )
    out = np.empty_like(data)
    out[order] = data
    return out


def load_nsd_captions(root, ids) -> list[list[str]]:
    """COCO captions of 0-based 73k ``ids`` (via ``nsd_stim_info_merged.csv`` cocoId / cocoSplit)."""
    import pandas as pd

    root = Path(root)
    (info_path,) = require_files(root, ["nsddata/experiments/nsd/nsd_stim_info_merged.csv"], dataset="NSD", url=NSD_URL)
    info = pd.read_csv(info_path)
    by_nsd = info.set_index("nsdId")
    caps: dict[int, list[str]] = {}
    ann = "nsddata_stimuli/stimuli/nsd/annotations"
    for split in ("train2017", "val2017"):
        (path,) = require_files(root, [f"{ann}/captions_{split}.json"], dataset="NSD captions", url=NSD_URL)
        for a in json.loads(path.read_text())["annotations"]:
            caps.setdefault(int(a["image_id"]), []).append(a["caption"].strip())
    out = []
    for i in np.asarray(ids, dtype=np.int64):
        if i not in by_nsd.index:
            raise bad_value("ids", "nsdId values of nsd_stim_info_merged.csv", int(i))
        out.append(caps.get(int(by_nsd.loc[i, "cocoId"]), []))
    return out
