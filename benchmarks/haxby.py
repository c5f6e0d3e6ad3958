"""Haxby 2001 subject 1: faces vs houses decoded from the ventral-temporal mask.

Samples are blocks, not volumes (the field's usual block-design analysis):
each run is fitted with a least-squares-all first-level GLM (nilearn design
matrix, Glover HRF, cosine drift with a 1/128 Hz high-pass, OLS) holding one
regressor per block of all eight categories, so the haemodynamic lag and the
transitions between blocks are modelled rather than cut by hand. The block
betas are z-scored per voxel within each run, and the face and house blocks
(2 per run, 24 in all) are classified under leave-one-run-out cross-validation.

The classifier was fixed before looking at test folds: a standardised linear
SVM whose C (0.01, 0.1, 1, 10) is chosen by an inner leave-one-run-out search
on the training runs only (nested CV). Shrinkage LDA (Ledoit-Wolf, no
hyper-parameter) is reported beside it, and the former single-volume samples
(5 s lag, per-run detrended and z-scored volumes, same nested SVM) as the
baseline. The same block analysis with nilearn's default 0.01 Hz high-pass
is reported as a sensitivity check (with 24 samples, one block is 4.2 points
of accuracy). Every mask of the release is reported.

JSON keys: accuracy (VT mask, block betas, nested SVM), accuracy_by_mask,
accuracy_by_mask_lda, accuracy_by_mask_single_volume,
accuracy_by_mask_high_pass_0.01 (sensitivity to the drift model), accuracy_brain,
n_voxels_by_mask, n_voxels_vt, n_samples, n_runs, vt_runs_face_beta_above_house, sample_definition,
classifier, chance, target, note, seconds, peak_rss_mb.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED_DATA, emit, parse_args, peak_rss_mb  # noqa: E402

MASKS = ("vt", "hoc", "gray", "white", "brain")
CATEGORIES = ("face", "house")
C_GRID = (0.01, 0.1, 1.0, 10.0)
HIGH_PASS = 1.0 / 128  # Hz, SPM convention, fixed before any result
HIGH_PASS_ALT = 0.01  # Hz, nilearn default, reported as a sensitivity check

SAMPLE_DEFINITION = (
    "block-level GLM betas: per run, nilearn least-squares-all first-level model with one regressor per block "
    "(all 8 categories, Glover HRF, cosine drift high_pass=1/128 Hz, OLS); betas z-scored per voxel within run; "
    "the face and house blocks (2 per run) are the samples; leave-one-run-out CV"
)
CLASSIFIER = (
    "StandardScaler + LinearSVC, C in {0.01, 0.1, 1, 10} chosen by inner leave-one-run-out CV on the training runs "
    "only (nested); secondary: shrinkage LDA (Ledoit-Wolf)"
)
NOTE = (
    "../shared/data/haxby2001 is the PyMVPA test release, downsampled to 25 mm voxels (6x10x10 grid): its VT mask "
    "holds a SINGLE voxel, so the VT result is a threshold on one number per block (vt_runs_face_beta_above_house "
    "counts the runs where this voxel's face beta exceeds its house beta, which bounds what a VT classifier can "
    "reach). The >= 0.90 target of "
    "the issue refers to the full-resolution release (VT mask of several hundred ~3.5 mm voxels), not present "
    "here; the "
    "multi-voxel masks show the decoding pipeline itself."
)


def _union_mask(paths):
    """Union of the masks as one image, and each mask's column indices inside it."""
    import nibabel as nib
    import numpy as np

    imgs = {m: nib.load(str(p)) for m, p in paths.items()}
    ref = next(iter(imgs.values()))
    arrays = {m: np.asarray(img.dataobj) > 0 for m, img in imgs.items()}
    union = np.logical_or.reduce(list(arrays.values()))
    flat = np.flatnonzero(union.ravel())  # NiftiMasker order: C-order of the mask voxels
    pos = {v: i for i, v in enumerate(flat)}
    columns = {m: np.array([pos[v] for v in np.flatnonzero(a.ravel())]) for m, a in arrays.items()}
    return nib.Nifti1Image(union.astype(np.uint8), ref.affine), columns


def _nested_svm():
    from sklearn.model_selection import GridSearchCV, LeaveOneGroupOut
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    pipe = make_pipeline(StandardScaler(), LinearSVC(max_iter=20000))
    return GridSearchCV(pipe, {"linearsvc__C": list(C_GRID)}, cv=LeaveOneGroupOut())


def _loro(make_clf, X, y, groups, nested):
    """Leave-one-run-out accuracy (mean over folds = over samples: every run holds the same count)."""
    import numpy as np
    from sklearn.model_selection import LeaveOneGroupOut

    correct = []
    for train, test in LeaveOneGroupOut().split(X, y, groups):
        clf = make_clf()
        fit_kw = {"groups": groups[train]} if nested else {}
        clf.fit(X[train], y[train], **fit_kw)
        correct.extend(clf.predict(X[test]) == y[test])
    return float(np.mean(correct))


def _lda():
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    return LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning)

    from neurocodec.datasets import haxby_volume_samples, load_haxby, single_trial_betas

    t0 = time.perf_counter()
    root = SHARED_DATA / "haxby2001"
    if not root.is_dir():
        raise SystemExit(f"Haxby data absent at {root} (set NEUROCODEC_SHARED_DATA)")
    data = load_haxby(root, 1)
    if args.quick:
        data.runs, data.events = data.runs[:3], data.events[:3]
    masks = [m for m in MASKS if m in data.masks]
    union, columns = _union_mask({m: data.masks[m] for m in masks})

    # Betas are voxel-wise (OLS and per-voxel z-scoring), so one fit on the union serves every mask.
    def block_betas(high_pass):
        return single_trial_betas(
            data.runs,
            data.events,
            union,
            t_r=data.t_r,
            method="lsa",
            hrf_model="glover",
            drift_model="cosine",
            high_pass=high_pass,
            noise_model="ols",
            standardize_betas=True,
        )

    betas, trials = block_betas(HIGH_PASS)
    keep = trials["trial_type"].isin(CATEGORIES).to_numpy()
    y = trials["trial_type"].to_numpy()[keep].astype(str)
    groups = trials["run"].to_numpy()[keep]

    acc, acc_lda, acc_vol, n_vox = {}, {}, {}, {}
    for m in masks:
        X = betas[keep][:, columns[m]]
        n_vox[m] = int(X.shape[1])
        acc[m] = round(_loro(_nested_svm, X, y, groups, nested=True), 4)
        acc_lda[m] = round(_loro(_lda, X, y, groups, nested=False), 4)
        Xv, yv, gv = haxby_volume_samples(data, m, lag=5.0, categories=list(CATEGORIES))
        acc_vol[m] = round(_loro(_nested_svm, Xv, yv, gv, nested=True), 4)
    # Sensitivity (not used to pick anything): the same analysis with nilearn's default 0.01 Hz high-pass.
    betas_alt, trials_alt = block_betas(HIGH_PASS_ALT)
    if not (trials_alt["trial_type"].to_numpy() == trials["trial_type"].to_numpy()).all():
        raise RuntimeError("block tables differ between the two high-pass fits")
    acc_alt = {m: round(_loro(_nested_svm, betas_alt[keep][:, columns[m]], y, groups, nested=True), 4) for m in masks}

    vt = betas[:, columns["vt"][0]] if n_vox.get("vt") == 1 else betas[:, columns["vt"]].mean(axis=1)
    by_run = trials.assign(beta=vt)[keep].pivot_table(index="run", columns="trial_type", values="beta", aggfunc="mean")
    face_above = int((by_run["face"] > by_run["house"]).sum())

    emit(
        "haxby",
        {
            "accuracy": acc["vt"],
            "accuracy_brain": acc["brain"],
            "accuracy_by_mask": acc,
            "accuracy_by_mask_lda": acc_lda,
            "accuracy_by_mask_single_volume": acc_vol,
            "accuracy_by_mask_high_pass_0.01": acc_alt,
            "n_voxels_by_mask": n_vox,
            "n_voxels_vt": n_vox["vt"],
            "n_samples": int(keep.sum()),
            "n_runs": len(data.runs),
            "vt_runs_face_beta_above_house": face_above,
            "sample_definition": SAMPLE_DEFINITION,
            "classifier": CLASSIFIER,
            "chance": 0.5,
            "target": 0.9,
            "note": NOTE,
            "seconds": round(time.perf_counter() - t0, 2),
            "peak_rss_mb": round(peak_rss_mb(), 1),
        },
        quick=args.quick,
    )


if __name__ == "__main__":
    main()
