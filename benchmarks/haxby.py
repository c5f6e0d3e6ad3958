"""Haxby 2001 subject 1: faces vs houses decoded from the ventral-temporal mask.

Runs ``configs/real/haxby.yaml`` through the engine (load_haxby -> decode_categories) and, as more steps of the
same run, the same two stages on every other mask of the release and with nilearn's default 0.01 Hz high-pass
(a sensitivity check, not used to pick anything). Samples are blocks, not volumes: each run is fitted with a
least-squares-all GLM holding one regressor per block of all eight categories (Glover HRF, cosine drift with a
1/128 Hz high-pass, OLS), the block betas are z-scored per voxel within each run, and the face and house blocks
(2 per run, 24 in all) are classified under leave-one-run-out cross-validation: a standardised linear SVM whose C
(0.01, 0.1, 1, 10) is chosen by an inner leave-one-run-out search on the training runs only (nested CV), and
shrinkage LDA (Ledoit-Wolf) beside it. The anchor computed beside the pipeline is the former single-volume
samples (5 s lag, per-run detrended and z-scored volumes, same nested SVM). With 24 samples, one block is 4.2
points of accuracy. ``--quick`` runs the config alone (VT mask) and the VT single-volume anchor.

JSON keys: accuracy (VT mask, block betas, nested SVM), accuracy_by_mask, accuracy_by_mask_lda,
accuracy_by_mask_single_volume, accuracy_by_mask_high_pass_0.01 (sensitivity to the drift model), accuracy_brain,
fold_accuracy_vt, n_voxels_by_mask, n_voxels_vt, n_samples, n_runs, vt_runs_face_beta_above_house,
sample_definition, classifier, chance, target, note, pipeline_s, seconds, peak_rss_mb, quick, command.
"""

from __future__ import annotations

import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED_DATA, emit, parse_args, peak_rss_mb  # noqa: E402

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "real" / "haxby.yaml"
MASKS = ("vt", "hoc", "gray", "white", "brain")
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
    "reach). The >= 0.90 target of the issue refers to the full-resolution release (VT mask of several hundred "
    "~3.5 mm voxels), not present here; the multi-voxel masks show the decoding pipeline itself."
)


def _config(root: Path, quick: bool) -> dict:
    """configs/real/haxby.yaml, plus (full runs) its two steps for every other mask and the 0.01 Hz high-pass."""
    from neurocodec.pipeline import read_yaml

    cfg = read_yaml(CONFIG)
    cfg["stages"]["haxby"]["inputs"]["root"] = str(root)
    base_load, base_decode = cfg["stages"]["haxby"], cfg["stages"]["decode"]
    variants = [] if quick else [(m, None) for m in MASKS if m != "vt"] + [(m, HIGH_PASS_ALT) for m in MASKS]
    for mask, high_pass in variants:
        tag = mask + ("_hp001" if high_pass else "")
        params = dict(base_load["params"], mask=mask, **({"high_pass": high_pass} if high_pass else {}))
        cfg["stages"][f"haxby_{tag}"] = dict(base_load, params=params)
        cfg["stages"][f"decode_{tag}"] = dict(base_decode, inputs={"experiment": f"haxby_{tag}"})
    return cfg


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning)

    from neurocodec.datasets import haxby_volume_samples, load_haxby
    from neurocodec.datasets.kinds import StimulusResponses
    from neurocodec.decoders import CategoryDecoder, cross_validate_categories
    from neurocodec.pipeline import ArtifactStore, run_pipeline

    t0 = time.perf_counter()
    root = SHARED_DATA / "haxby2001"
    if not root.is_dir():
        raise SystemExit(f"Haxby data absent at {root} (set NEUROCODEC_SHARED_DATA)")
    cfg = _config(root, args.quick)
    categories = list(cfg["stages"]["decode"]["params"]["categories"])
    with tempfile.TemporaryDirectory() as cache:
        summary = run_pipeline(cfg, cache=cache, show_progress=False, report=False)
        if not summary.ok:
            raise SystemExit(f"pipeline failed: {[r.error for r in summary.results if r.error]}")
        pipeline_s = time.perf_counter() - t0
        store, keys = ArtifactStore(summary.cache), {r.step_id: (r.stage, r.key) for r in summary.results}

        def scores(step):
            return store.open(*keys[step]).load("scores")["subjects"]

        vt_scores = scores("decode")
        subject = next(iter(vt_scores))
        masks = ["vt"] + [m for m in MASKS if m != "vt" and f"decode_{m}" in keys]
        by_mask = {m: scores("decode" if m == "vt" else f"decode_{m}")[subject] for m in masks}
        alt = {m: scores(f"decode_{m}_hp001")[subject]["svm"]["accuracy"] for m in MASKS if f"decode_{m}_hp001" in keys}
        exp = StimulusResponses.load(store.open(*keys["haxby"]))
        n_vox = {m: StimulusResponses.load(store.open(*keys["haxby" if m == "vt" else f"haxby_{m}"])) for m in masks}
        n_vox = {m: e.subjects[subject].n_voxels for m, e in n_vox.items()}

    # The VT bound: runs where the (single) VT voxel's face beta exceeds its house beta (run means of blocks).
    sub = exp.subjects[subject]
    ids, betas = sub.all_trials()
    label = np.asarray(exp.category_names)[exp.categories[ids]]
    keep = np.isin(label, categories)
    vt = betas[:, 0] if betas.shape[1] == 1 else betas.mean(axis=1)
    by_run = sub.trials.assign(beta=vt)[keep].pivot_table(
        index="run", columns="trial_type", values="beta", aggfunc="mean"
    )
    face_above = int((by_run["face"] > by_run["house"]).sum())

    # Anchor beside the pipeline: single-volume samples, the same nested SVM.
    data = load_haxby(root, 1)
    acc_vol = {}
    for m in masks:
        Xv, yv, gv = haxby_volume_samples(data, m, lag=5.0, categories=categories)
        res = cross_validate_categories(CategoryDecoder("svm", C=cfg["stages"]["decode"]["params"]["C"]), Xv, yv, gv)
        acc_vol[m] = round(res.accuracy, 4)

    svm = {m: round(s["svm"]["accuracy"], 4) for m, s in by_mask.items()}
    return emit(
        "haxby",
        {
            "accuracy": svm["vt"],
            "accuracy_brain": svm.get("brain"),
            "accuracy_by_mask": svm,
            "accuracy_by_mask_lda": {m: round(s["lda"]["accuracy"], 4) for m, s in by_mask.items()},
            "accuracy_by_mask_single_volume": acc_vol,
            "accuracy_by_mask_high_pass_0.01": {m: round(a, 4) for m, a in alt.items()},
            "fold_accuracy_vt": by_mask["vt"]["svm"]["fold_accuracy"],
            "n_voxels_by_mask": n_vox,
            "n_voxels_vt": n_vox["vt"],
            "n_samples": by_mask["vt"]["svm"]["n_samples"],
            "n_runs": len(data.runs),
            "vt_runs_face_beta_above_house": face_above,
            "sample_definition": SAMPLE_DEFINITION,
            "classifier": CLASSIFIER,
            "chance": by_mask["vt"]["svm"]["chance"],
            "target": 0.9,
            "note": NOTE,
            "pipeline_s": round(pipeline_s, 2),
            "seconds": round(time.perf_counter() - t0, 2),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "quick": bool(args.quick),
            "command": "python benchmarks/haxby.py" + (" --quick" if args.quick else ""),
        },
        quick=args.quick,
    )


if __name__ == "__main__":
    main()
