"""ABIDE-I leave-site-out classification of autism vs controls from Schaefer-200 FC.

696 subjects from 16 sites (../shared/data/abide_schaefer200: upper triangles of
Pearson correlation matrices + phenotypes). Every fitted step sees the training
sites only; each site is tested once by models that never saw it.

Default model (``--model ensemble``, fixed a priori, not selected on the test
sites): the mean of the out-of-fold probabilities of three published pipelines,
each refitted per fold,

* log-Euclidean tangent space (correlations shrunk toward the identity to be
  SPD, ``logm(C)`` centred on the training mean) + standardisation +
  l2-logistic regression, C=1 (Abraham et al. 2017);
* Fisher-z correlations + standardisation + l2-logistic regression, C=1;
* tangent vectors + standardisation + PCA (50 components) + LDA (Dey et al. 2012).

The l2 models first rotate the standardised training features onto their
principal axes keeping all ``n_train`` components (exact for l2 penalties: the
solution lies in the span of the training samples), which turns 19,900 edges
into ~650 coordinates. Single pipelines: ``--model logistic|svm|pca_lda``.
"""

from __future__ import annotations

import time

import numpy as np

from _common import SHARED_DATA, emit, parse_args, peak_rss_mb


def _first_columns(X, k):
    return X[:, :k]


def _pipeline(model: str, C: float, n_components: int):
    from sklearn.decomposition import PCA
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler
    from sklearn.svm import LinearSVC

    steps = [StandardScaler(), PCA(svd_solver="full", random_state=0)]  # full-rank rotation (all n_train axes)
    if model == "logistic":
        steps.append(LogisticRegression(C=C, max_iter=5000))
    elif model == "svm":
        steps.append(LinearSVC(C=C, max_iter=50000, random_state=0))
    else:
        steps += [FunctionTransformer(_first_columns, kw_args={"k": n_components}), LinearDiscriminantAnalysis()]
    return make_pipeline(*steps)


def _per_site(pred):
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, roc_auc_score
    import pandas as pd

    rows = []
    for site, g in pred.groupby("site", sort=True):
        two = g["y"].nunique() == 2
        rows.append({"site": site, "n_subjects": len(g), "accuracy": accuracy_score(g["y"], g["predicted"]),
                     "balanced_accuracy": balanced_accuracy_score(g["y"], g["predicted"]) if two else np.nan,
                     "auc": roc_auc_score(g["y"], g["score"]) if two else np.nan})
    return pd.DataFrame(rows)


def main(argv=None):
    def extra(p):
        p.add_argument("--model", default="ensemble", choices=["ensemble", "logistic", "svm", "pca_lda"],
                       help="Classifier (ensemble: mean probability of the three default pipelines).")
        p.add_argument("--features", default="tangent", choices=["tangent", "correlation"],
                       help="Single-model runs: log-Euclidean tangent vectors or Fisher-z correlations.")
        p.add_argument("--C", type=float, default=1.0, help="Inverse regularisation (logistic, svm).")
        p.add_argument("--n-components", type=int, default=50, help="PCA components of pca_lda.")
        p.add_argument("--harmonize", action="store_true", help="Per-site harmonisation fitted on training folds.")
        p.add_argument("--min-eigenvalue", type=float, default=1e-3, help="SPD shrinkage target.")

    args = parse_args(__doc__.splitlines()[0], argv, extra=extra)
    folder = SHARED_DATA / "abide_schaefer200"
    if not folder.is_dir():
        raise SystemExit(f"ABIDE data folder {folder} is absent (set NEUROCODEC_SHARED_DATA)")

    import pandas as pd
    from threadpoolctl import threadpool_limits

    from neurocodec.features.connectivity import (
        map_eigenvalues,
        shrink_to_spd,
        site_cross_validate,
        unvectorize,
        vectorize,
    )
    from neurocodec.features.connectivity._io import load_abide_vectors
    from sklearn.metrics import accuracy_score, roc_auc_score

    fc, ph = load_abide_vectors(folder)
    sites = ph["site"].astype(str).to_numpy()
    y = ph["group"].to_numpy()
    if args.quick:  # 4 sites, first 40 ROIs: a seconds-long smoke run of the same code
        keep = np.isin(sites, sorted(set(sites))[:4])
        mats = unvectorize(fc[keep], discard_diagonal=True)[:, :40, :40]
        fc, sites, y = vectorize(mats, discard_diagonal=True), sites[keep], y[keep]
    t0 = time.perf_counter()
    # one BLAS thread: multi-threaded OpenBLAS collapses on a shared, loaded machine
    with threadpool_limits(1):
        # log-Euclidean tangent: per-subject logm (no cross-subject fit); the fold's scaler removes the training mean
        mats = shrink_to_spd(unvectorize(fc, discard_diagonal=True), "auto", args.min_eigenvalue)[0]
        feats = {"tangent": vectorize(map_eigenvalues(np.log, mats)),
                 "correlation": np.arctanh(np.clip(fc, -0.999999, 0.999999))}
        del mats
        if args.model == "ensemble":
            components = [("tangent", "logistic"), ("correlation", "logistic"), ("tangent", "pca_lda")]
        else:
            components = [(args.features, args.model)]
        preds, comp_summary = [], {}
        for feat, model in components:
            est = _pipeline(model, args.C, args.n_components)
            per_site, pred = site_cross_validate(est, feats[feat], y, sites, cv="leave_site_out",
                                                 harmonize=args.harmonize)
            pred = pred.sort_values("subject_index").reset_index(drop=True)
            if model != "logistic":  # decision values -> probabilities-like scores in (0, 1)
                pred["score"] = 1.0 / (1.0 + np.exp(-pred["score"]))
            preds.append(pred)
            comp_summary[f"{feat}+{model}"] = {
                "mean_accuracy": round(float(per_site["accuracy"].mean()), 4),
                "pooled_accuracy": round(float(accuracy_score(pred["y"], pred["predicted"])), 4)}
    pred = preds[0].copy()
    pred["score"] = np.mean([p["score"].to_numpy() for p in preds], axis=0)
    pred["predicted"] = (pred["score"] > 0.5).astype(int)
    per_site = _per_site(pred)
    seconds = time.perf_counter() - t0
    big = per_site["n_subjects"] >= 10
    name = " + ".join(comp_summary) if args.model == "ensemble" else next(iter(comp_summary))
    result = {
        "mean_accuracy": round(float(per_site["accuracy"].mean()), 4),  # unweighted over all tested sites
        "mean_auc": round(float(np.nanmean(per_site["auc"])), 4),
        "pooled_accuracy": round(float(accuracy_score(pred["y"], pred["predicted"])), 4),
        "pooled_auc": round(float(roc_auc_score(pred["y"], pred["score"])), 4) if pred["y"].nunique() == 2 else None,
        # sites of a handful of subjects (CALTECH has 1) make the unweighted mean noisy
        "mean_accuracy_sites_ge10": round(float(per_site.loc[big, "accuracy"].mean()), 4),
        "mean_auc_sites_ge10": round(float(per_site.loc[big, "auc"].mean()), 4),
        "per_site": {r.site: {"n": int(r.n_subjects), "accuracy": round(float(r.accuracy), 4),
                              "auc": round(float(r.auc), 4)} for r in per_site.itertuples()},
        "model": (f"mean probability of [{name}]" if args.model == "ensemble" else name)
                 + f" (C={args.C}, PCA-LDA {args.n_components} comps)" + (" + harmonize" if args.harmonize else ""),
        "components": comp_summary,
        "n_subjects": int(len(y)),
        "n_sites": int(len(per_site)),
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    del pd
    return emit("abide", result, quick=args.quick)


if __name__ == "__main__":
    main()
