"""Haxby 2001 subject 1: faces vs houses decoded from the ventral-temporal mask.

Volumes falling in face or house blocks (5 s haemodynamic lag) are masked,
detrended and z-scored per run (nilearn), then classified with a linear SVM
(scikit-learn) under leave-one-run-out cross-validation. The same is reported
for the whole-brain mask. JSON keys: accuracy (VT mask), accuracy_brain,
n_voxels_vt, n_voxels_brain, n_samples, n_runs, chance, target, seconds.

Note: ../shared/data/haxby2001 is the PyMVPA test release, downsampled to
25 mm voxels (6 x 10 x 10 grid); its VT mask holds a single voxel.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED_DATA, emit, parse_args, peak_rss_mb  # noqa: E402


def _decode(data, mask):
    import numpy as np
    from sklearn.model_selection import LeaveOneGroupOut, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    from neurocodec.datasets import haxby_volume_samples

    X, y, runs = haxby_volume_samples(data, mask, categories=["face", "house"])
    clf = make_pipeline(StandardScaler(), LinearSVC(C=1.0, max_iter=10000))
    scores = cross_val_score(clf, X, y, groups=runs, cv=LeaveOneGroupOut())
    return float(np.mean(scores)), X.shape


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv)
    warnings.filterwarnings("ignore", category=FutureWarning)
    from neurocodec.datasets import load_haxby

    t0 = time.perf_counter()
    root = SHARED_DATA / "haxby2001"
    if not root.is_dir():
        raise SystemExit(f"Haxby data absent at {root} (set NEUROCODEC_SHARED_DATA)")
    data = load_haxby(root, 1)
    if args.quick:
        data.runs, data.events = data.runs[:3], data.events[:3]
    acc_vt, shape_vt = _decode(data, "vt")
    acc_brain, shape_brain = _decode(data, "brain")
    emit("haxby", {
        "accuracy": round(acc_vt, 4), "accuracy_brain": round(acc_brain, 4),
        "n_voxels_vt": shape_vt[1], "n_voxels_brain": shape_brain[1], "n_samples": shape_vt[0],
        "n_runs": len(data.runs), "chance": 0.5, "target": 0.9,
        "seconds": round(time.perf_counter() - t0, 2), "peak_rss_mb": round(peak_rss_mb(), 1),
    }, quick=args.quick)


if __name__ == "__main__":
    main()
