"""ABIDE-I autism vs controls from PCP CC200 ROI time series: configs/real/abide_pcp.yaml through the engine.

The config (load_abide -> predict_phenotype twice) gives the headline figures:
leave-one-site-out over the 17 sites (per-site accuracy and AUC, their means,
pooled figures) and stratified 10-fold over subjects. Beside it, in the same
run and on the same subjects and folds, two anchors refitted on every training
fold: nilearn ``ConnectivityMeasure(kind="tangent")`` + l2-logistic regression
(Abraham et al. 2017) and nilearn ``ConnectivityMeasure(kind="correlation")`` +
l2-logistic regression (scikit-learn's default C = 1). ``--n-jobs`` runs the
anchor folds in that many processes (one BLAS thread each).

How the classifier's procedure was chosen (inner CV on training sites only,
before any outer figure) is in docs/benchmarks.md (ABIDE section).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import SHARED_DATA, emit, parse_args, peak_rss_mb

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "real" / "abide_pcp.yaml"
QUICK_SITES = ["CALTECH", "OHSU", "SBL"]


def _anchor_fold(job):
    """Out-of-fold scores of one anchor on one fold (module level: runs in worker processes)."""
    from nilearn.connectome import ConnectivityMeasure
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    from neurocodec.features.connectivity import fisher_z

    series, y, train, test, kind = job
    with threadpool_limits(1):
        cm = ConnectivityMeasure(kind=kind, vectorize=True, discard_diagonal=kind == "correlation")
        Xtr = cm.fit_transform([series[i] for i in train])
        Xte = cm.transform([series[i] for i in test])
        if kind == "correlation":
            Xtr, Xte = fisher_z(Xtr), fisher_z(Xte)
        lr = LogisticRegression(C=1.0, max_iter=5000).fit(Xtr, y[train])
        return lr.decision_function(Xte)


def _anchors(series, y, sites, schemes, n_jobs):
    """``{anchor: {scheme: (per_site, predictions)}}`` with the same folds as the pipeline."""
    import pandas as pd
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, roc_auc_score

    jobs, index = [], []
    for kind in ("tangent", "correlation"):
        for scheme, splits in schemes.items():
            for fold, (train, test) in enumerate(splits):
                jobs.append((series, y, train, test, kind))
                index.append((kind, scheme, fold, test))
    if n_jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(n_jobs) as pool:
            scores = list(pool.map(_anchor_fold, jobs))
    else:
        scores = [_anchor_fold(j) for j in jobs]
    out = {}
    for (kind, scheme, fold, test), score in zip(index, scores):
        out.setdefault(kind, {}).setdefault(scheme, []).append(
            pd.DataFrame(
                {
                    "subject_index": test,
                    "site": sites[test],
                    "fold": fold,
                    "y": y[test],
                    "score": score,
                    "predicted": (score > 0).astype(int),
                }
            )
        )
    result = {}
    for kind, by_scheme in out.items():
        for scheme, frames in by_scheme.items():
            pred = pd.concat(frames, ignore_index=True)
            rows = []
            for site, g in pred.groupby("site", sort=True):
                two = g["y"].nunique() == 2
                rows.append(
                    {
                        "site": site,
                        "n_subjects": len(g),
                        "accuracy": accuracy_score(g["y"], g["predicted"]),
                        "balanced_accuracy": balanced_accuracy_score(g["y"], g["predicted"]) if two else np.nan,
                        "auc": roc_auc_score(g["y"], g["score"]) if two else np.nan,
                        "note": "" if two else "one class only: balanced accuracy and AUC undefined",
                    }
                )
            result.setdefault(kind, {})[scheme] = (pd.DataFrame(rows), pred)
    return result


def _clean(v):
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return round(v, 4) if isinstance(v, float) else v


def _figures(summary_loso, summary_kfold) -> dict:
    return {
        "loso_mean_accuracy": _clean(summary_loso["mean_accuracy"]),
        "loso_mean_auc": _clean(summary_loso["mean_auc"]),
        "loso_pooled_accuracy": _clean(summary_loso["pooled_accuracy"]),
        "loso_pooled_auc": _clean(summary_loso["pooled_auc"]),
        "loso_n_sites_auc_defined": summary_loso["n_sites_auc_defined"],
        "kfold_accuracy": _clean(summary_kfold["mean_fold_accuracy"]),
        "kfold_auc": _clean(summary_kfold["mean_fold_auc"]),
        "kfold_pooled_accuracy": _clean(summary_kfold["pooled_accuracy"]),
        "kfold_pooled_auc": _clean(summary_kfold["pooled_auc"]),
    }


def main(argv=None):
    def extra(p):
        p.add_argument("--n-jobs", type=int, default=1, help="Processes for the anchor folds (default 1).")
        p.add_argument("--cache", default=None, help="Pipeline cache (default: a fresh temporary folder).")

    args = parse_args(__doc__.splitlines()[0], argv, extra=extra)
    from neurocodec.datasets.kinds import RoiTimeseries
    from neurocodec.features.connectivity import cv_summary, site_splits
    from neurocodec.pipeline import ArtifactStore, load_json, load_table, read_yaml, run_pipeline

    cfg = read_yaml(CONFIG)
    cfg["stages"]["abide"]["inputs"]["root"] = str(SHARED_DATA / "abide_pcp_cc200")
    if args.quick:
        cfg["stages"]["abide"]["params"]["sites"] = QUICK_SITES
        cfg["stages"]["kfold"]["params"]["n_splits"] = 3
    t0, c0 = time.perf_counter(), time.process_time()
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(args.cache) if args.cache else Path(tmp)
        summary = run_pipeline(cfg, cache=cache, show_progress=False, report=False)
        if not summary.ok:
            raise SystemExit("pipeline failed: " + "; ".join(r.error for r in summary.results if r.error))
        t_pipeline, c_pipeline = time.perf_counter() - t0, time.process_time() - c0
        keys = {r.step_id: r.key for r in summary.results}
        store = ArtifactStore(cache)
        arts = {
            s: store.open(st, keys[s])
            for s, st in (("abide", "load_abide"), ("loso", "predict_phenotype"), ("kfold", "predict_phenotype"))
        }
        metrics = {s: load_json(arts[s].file("metrics")) for s in ("loso", "kfold")}
        per_site = load_table(arts["loso"].file("per_site"))
        cohort = RoiTimeseries.load(arts["abide"].path)
    series = [x.astype(np.float64) for x in cohort.series()]
    y = cohort.subjects["group"].to_numpy().astype(int)  # 1 ASD, 0 control (predict_phenotype's target 'group')
    sites = cohort.subjects["site"].astype(str).to_numpy()
    p_loso, p_kfold = cfg["stages"]["loso"]["params"], cfg["stages"]["kfold"]["params"]
    schemes = {
        "loso": site_splits(y, sites, "leave_site_out"),
        "kfold": site_splits(y, sites, "stratified_kfold", n_splits=p_kfold["n_splits"], random_state=0),
    }
    t1, c1 = time.perf_counter(), time.process_time()
    anchors_raw = _anchors(series, y, sites, schemes, args.n_jobs)
    t_anchors, c_anchors = time.perf_counter() - t1, time.process_time() - c1
    anchors = {}
    for kind, name in (("tangent", "nilearn_tangent_l2_logistic"), ("correlation", "nilearn_correlation_l2_logistic")):
        s_loso = cv_summary(*anchors_raw[kind]["loso"])
        s_kfold = cv_summary(*anchors_raw[kind]["kfold"])
        anchors[name] = _figures(s_loso, s_kfold)
        anchors[name]["per_site_accuracy"] = {
            r.site: _clean(float(r.accuracy)) for r in anchors_raw[kind]["loso"][0].itertuples()
        }
    result = _figures(metrics["loso"], metrics["kfold"])
    result.update(
        {
            "per_site": {
                r.site: {
                    "n_subjects": int(r.n_subjects),
                    "accuracy": _clean(float(r.accuracy)),
                    "auc": _clean(float(r.auc)),
                    "note": r.note if isinstance(r.note, str) else "",
                }
                for r in per_site.itertuples()
            },
            "auc_undefined": metrics["loso"]["auc_undefined"],
            "anchors": anchors,
            "procedure": {
                "loso": {k: p_loso[k] for k in ("kind", "C", "cov_estimator")},
                "final_model": metrics["loso"]["final_model"],
                "chosen_per_fold": sorted({(c["kind"], c["C"]) for c in metrics["loso"]["chosen_per_fold"]}),
            },
            "n_subjects": int(len(y)),
            "n_sites": int(len(np.unique(sites))),
            "n_asd": int(y.sum()),
            "exclusions": cohort.info["exclusions"],
            "pipeline_s": round(t_pipeline, 1),
            "anchors_s": round(t_anchors, 1),
            # CPU seconds of this process (the anchors' worker processes not counted when --n-jobs > 1): less
            # sensitive than wall time to other jobs sharing the cores
            "pipeline_cpu_s": round(c_pipeline, 1),
            "anchors_cpu_s": round(c_anchors, 1),
            "total_s": round(time.perf_counter() - t0, 1),
            "anchor_processes": args.n_jobs,
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "load_average": [round(v, 2) for v in os.getloadavg()],
        }
    )
    return emit("abide_pcp", result, quick=args.quick)


if __name__ == "__main__":
    main()
