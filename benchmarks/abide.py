"""ABIDE-I leave-site-out classification of autism vs controls from Schaefer-200 FC.

696 subjects from 16 sites (../shared/data/abide_schaefer200: upper triangles of
Pearson correlation matrices + phenotypes). Pipeline fitted on the training
sites only: correlation matrices shrunk toward the identity to be SPD ->
tangent space at the training subjects' mean -> standardisation -> l2-logistic
regression (Abraham et al. 2017). Default: log-Euclidean tangent space, where
the per-subject part logm(C) involves no other subject and is computed once;
subtracting the training mean of the logs (the reference) is then exactly the
centring of the fold's StandardScaler. ``--reference geometric`` refits the
affine-invariant tangent space at the geometric mean inside every fold. Each site is tested once by a
model that never saw it; accuracy and AUC are reported per site and averaged
over sites.
"""

from __future__ import annotations

import time

import numpy as np

from _common import SHARED_DATA, emit, parse_args, peak_rss_mb


def main(argv=None):
    def extra(p):
        p.add_argument("--model", default="logistic", choices=["logistic", "svm", "pca_lda"], help="Classifier.")
        p.add_argument("--no-tangent", action="store_true", help="Fisher-z correlations instead of tangent space.")
        p.add_argument("--reference", default="log_euclidean", choices=["geometric", "log_euclidean"], help="Tangent reference.")
        p.add_argument("--C", type=float, default=1.0, help="Inverse regularisation.")
        p.add_argument("--harmonize", action="store_true", help="Per-site harmonisation fitted on training folds.")
        p.add_argument("--min-eigenvalue", type=float, default=1e-3, help="SPD shrinkage target.")

    args = parse_args(__doc__.splitlines()[0], argv, extra=extra)
    folder = SHARED_DATA / "abide_schaefer200"
    if not folder.is_dir():
        raise SystemExit(f"ABIDE data folder {folder} is absent (set NEUROCODEC_SHARED_DATA)")

    from sklearn.pipeline import make_pipeline

    from neurocodec.features.connectivity import (
        classifier_head,
        make_classifier,
        map_eigenvalues,
        shrink_to_spd,
        site_cross_validate,
        unvectorize,
        vectorize,
    )
    from neurocodec.features.connectivity._io import load_abide_vectors

    fc, ph = load_abide_vectors(folder)
    sites = ph["site"].astype(str).to_numpy()
    y = ph["group"].to_numpy()
    if args.quick:  # 4 sites, first 40 ROIs: a seconds-long smoke run of the same code
        keep = np.isin(sites, sorted(set(sites))[:4])
        mats = unvectorize(fc[keep], discard_diagonal=True)[:, :40, :40]
        fc, sites, y = vectorize(mats, discard_diagonal=True), sites[keep], y[keep]
    t0 = time.perf_counter()
    if args.reference == "log_euclidean" and not args.no_tangent:
        # per-subject matrix logarithm (no fitting across subjects); the fold's scaler removes the training mean
        mats = shrink_to_spd(unvectorize(fc, discard_diagonal=True), "auto", args.min_eigenvalue)[0]
        fc = vectorize(map_eigenvalues(np.log, mats))
        est = make_pipeline(*classifier_head(args.model, C=args.C))
    else:
        est = make_classifier(args.model, tangent=not args.no_tangent, reference=args.reference, C=args.C,
                              min_eigenvalue=args.min_eigenvalue)
    per_site, pred = site_cross_validate(est, fc, y, sites, cv="leave_site_out", harmonize=args.harmonize)
    seconds = time.perf_counter() - t0
    from neurocodec.features.connectivity._group import summarize

    summary = summarize(per_site, pred)
    result = {
        "mean_accuracy": round(summary["mean_accuracy"], 4),
        "mean_auc": round(summary["mean_auc"], 4),
        "pooled_accuracy": round(summary["pooled_accuracy"], 4),
        # sites of a handful of subjects (CALTECH has 1) make the unweighted mean noisy
        "mean_accuracy_sites_ge10": round(float(per_site.loc[per_site["n_subjects"] >= 10, "accuracy"].mean()), 4),
        "mean_auc_sites_ge10": round(float(per_site.loc[per_site["n_subjects"] >= 10, "auc"].mean()), 4),
        "pooled_auc": round(summary["pooled_auc"], 4),
        "per_site": {r.site: {"n": int(r.n_subjects), "accuracy": round(float(r.accuracy), 4),
                              "auc": round(float(r.auc), 4)} for r in per_site.itertuples()},
        "n_subjects": int(len(y)),
        "n_sites": int(len(per_site)),
        "pipeline": f"{'corr-fisher-z' if args.no_tangent else 'tangent-' + args.reference} + {args.model} (C={args.C})"
                    + (" + harmonize" if args.harmonize else ""),
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    return emit("abide", result, quick=args.quick)


if __name__ == "__main__":
    main()
