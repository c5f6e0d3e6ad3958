"""ABIDE-I leave-site-out classification of autism vs controls from Schaefer-200 FC.

696 subjects from 16 sites (../shared/data/abide_schaefer200: upper triangles of
Pearson correlation matrices + phenotypes). Every fitted step sees the training
sites only; each site is tested once by models that never saw it.

Default model (``--model nested``, ``--procedure all``): the mean score of a
pre-specified grid of 80 ridge classifiers (least squares on 0/1 labels,
threshold 0.5), with no selection. The grid:

* features: Fisher-z correlations; the same with each subject's vector z-scored
  across its own edges (removes the scan's global connectivity level, a
  per-subject step that needs no fit); log-Euclidean tangent vectors (``logm``
  of the correlation matrix shrunk to a smallest eigenvalue of 0.1, Abraham et
  al. 2017); network-block means (mean Fisher-z within and between the 14
  Yeo-7 network x hemisphere blocks, 105 features, no fit); each standardised
  with the outer fold's training statistics;
* confound regression (intercept, log age, its square, sex) fitted on the
  training rows, or none;
* site projection: none, or removal of the directions spanned by the
  group-balanced mean offsets of the training sites (``project_gram``; a test
  site is projected with the operator fitted on the training sites);
* (``--weightings unweighted site_weighted`` doubles the grid with sample
  weights 1 / training-site size; it scored lower in the inner CV);
* relative ridge penalty in {0.01, 0.1, 1, 10, 100} x the mean squared norm.

Every fitted step is refitted on each training set. In each outer fold the
benchmark also runs an inner leave-one-training-site-out CV of every config
(15 inner folds, training sites only) and records the inner figures
(``grid_inner_mean_accuracy``, ``procedure_per_fold``); ``--procedure`` top1 /
top5 / top20 average the best configs by that inner mean-over-sites accuracy
and ``auto`` picks the procedure per outer fold from the inner estimates (each
inner site scored by configs chosen on the other inner sites).
``outer_by_procedure`` and ``grid_outer`` list the outer figures of every
alternative for information; none of them drives a choice. Kernel space
(``gram_ridge_scores``, ``confound_gram``) makes one run about 6 minutes.

``--families`` sets the grid's feature families (default: the four above;
``--families correlation correlation_subject_z tangent_0.1`` is the previous
60-config default). Each family is 20 configs of the same unselected ensemble
(confounds x site projection x 5 penalties); besides the default ones:

* ``correlation_rank_gauss``: each subject's Fisher-z edges replaced by the
  normal quantiles of their ranks (per subject, no fit);
* ``tangent_ref_0.1``: the whitened tangent space of Abraham et al. 2017,
  ``logm(R^-1/2 C R^-1/2)`` at the log-Euclidean mean ``R`` of the outer fold's
  training matrices (shrunk to a smallest eigenvalue of 0.1); the reference is
  fitted per outer fold on its training sites and, like the column scaling,
  shared by that fold's inner folds;
* ``network_blocks``: mean Fisher-z within and between the 14 Yeo-7 network x
  hemisphere blocks of ``rois.txt`` (105 features, per subject, no fit).

How the default grid was chosen (inner figures only, then one outer run): the
inner-only run of all six families (``--inner-only``, 651 s) gave these
unselected-ensemble inner figures (mean over the 16 outer folds of the
leave-one-training-site-out mean-over-sites accuracy): previous 60-config
grid 0.6243; + correlation_rank_gauss 0.632; + tangent_ref_0.1 0.6196;
+ network_blocks 0.6506; + all three 0.6432 (alone: correlation_rank_gauss
0.6347, network_blocks 0.6124, tangent_ref_0.1 0.5835). The rule declared
before that run (highest inner figure, strictly above the previous grid's)
picked ``+ network_blocks``; its single outer run (307 s): mean accuracy
0.6491, mean AUC 0.6922, pooled accuracy 0.6839, pooled AUC 0.7339. (The
previous grid's outer 0.6506 is not a clean figure: that procedure was adopted
after outer results of others had been seen.)

``--inner-only`` runs the inner CV of every outer fold without any outer fit
and prints inner figures only (to ``results/abide_inner.json``;
``inner_ensemble_by_families``: for the default
families, each family, the default plus each new one and plus all new ones,
the mean over outer folds of the inner leave-one-training-site-out
mean-over-sites accuracy of that subset's unselected ensemble): a grid can be
chosen without any left-out-site figure being computed.

``--model nested_kfold``: the previous default, l2-logistic configs ranked by an
inner grouped 5-fold CV, top 3 averaged (mean accuracy 0.578).

Single pipelines: ``--model logistic|svm|pca_lda`` (Abraham 2017 / Dey 2012).
"""

from __future__ import annotations

import sys
import time

import numpy as np

from _abide_features import (DEFAULT_FAMILIES, FAMILIES, FEATURES, family_features, family_subsets, fc_features,
                             train_gram)
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


def _site_summary(per_site, pred) -> dict:
    """The issue's keys from per-site rows and pooled predictions (mean = unweighted over tested sites)."""
    from sklearn.metrics import accuracy_score, roc_auc_score

    big = per_site["n_subjects"] >= 10
    return {
        "mean_accuracy": round(float(per_site["accuracy"].mean()), 4),
        "mean_auc": round(float(np.nanmean(per_site["auc"])), 4),
        "pooled_accuracy": round(float(accuracy_score(pred["y"], pred["predicted"])), 4),
        "pooled_auc": round(float(roc_auc_score(pred["y"], pred["score"])), 4) if pred["y"].nunique() == 2 else None,
        # sites of a handful of subjects (CALTECH has 1) make the unweighted mean noisy
        "mean_accuracy_sites_ge10": round(float(per_site.loc[big, "accuracy"].mean()), 4),
        "mean_auc_sites_ge10": round(float(per_site.loc[big, "auc"].mean()), 4),
        "per_site": {r.site: {"n": int(r.n_subjects), "accuracy": round(float(r.accuracy), 4),
                              "auc": round(float(r.auc), 4)} for r in per_site.itertuples()},
    }


CS = (1e-3, 1e-2, 1e-1, 1.0)  # inverse penalties of the nested_kfold logistic grid


def _nested(fc, y, sites, ph, args):
    from sklearn.metrics import accuracy_score, roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold
    import pandas as pd

    from neurocodec.features.connectivity import site_splits
    from neurocodec.features.connectivity._predict import (
        confound_design,
        confound_operator,
        gram_logistic_scores,
        project_gram,
    )

    t_start = time.perf_counter()
    feats = fc_features(fc)
    W = confound_design(ph["age"].to_numpy(float), ph["sex"].to_numpy())
    configs = [(f, conf, proj, C) for f in feats for conf in (False, True) for proj in (False, True) for C in CS]
    names = [f"{f}{'+confounds' if c else ''}{'+siteproj' if p else ''}+logistic(C={C:g})" for f, c, p, C in configs]
    outer = np.zeros((len(configs), len(y)))
    CRITERIA = ("site_mean", "pooled")
    chosen, fold_rows = {}, {c: [] for c in CRITERIA}
    for train, test in site_splits(y, sites, "leave_site_out"):
        n_inner = min(args.inner_splits, len(np.unique(sites[train])))
        inner = [(train[a], train[b]) for a, b in StratifiedGroupKFold(n_inner, shuffle=True, random_state=0)
                 .split(train, y[train], groups=sites[train])]
        oof = np.zeros((len(configs), len(y)))
        k = 0
        for f in feats:
            G0 = train_gram(feats[f], train)
            for conf in (False, True):
                for proj in (False, True):
                    # confound regression and site projection refitted on every (inner) training set only
                    for fit_rows, val_rows, dest in [(train, test, outer)] + [(a, b, oof) for a, b in inner]:
                        G = G0
                        if conf:
                            R = confound_operator(W, fit_rows)
                            G = R @ G @ R.T
                        if proj:
                            G = project_gram(G, fit_rows, y, sites)
                        dest[k:k + len(CS), val_rows] = gram_logistic_scores(G, fit_rows, val_rows, y, CS)
                    k += len(CS)
        print(f"fold {sites[test][0]}: {time.perf_counter() - t_start:.0f} s", file=sys.stderr, flush=True)
        hit = (oof[:, train] > 0.5) == y[train]
        inner_score = {"pooled": hit.mean(1),  # unweighted mean over the training sites, like the target metric:
                       "site_mean": np.mean([hit[:, sites[train] == t].mean(1) for t in np.unique(sites[train])], 0)}
        site = str(sites[test][0])
        for crit in CRITERIA:
            best = np.argsort(-inner_score[crit], kind="stable")[:args.top_k]
            if crit == args.inner_criterion:
                chosen[site] = [names[i] for i in best]
            fold_rows[crit].append(pd.DataFrame({"subject_index": test, "site": sites[test], "y": y[test],
                                                 "score": outer[best][:, test].mean(0)}))
    preds, per_sites = {}, {}
    for crit in CRITERIA:
        preds[crit] = pd.concat(fold_rows[crit]).sort_values("subject_index").reset_index(drop=True)
        preds[crit]["predicted"] = (preds[crit]["score"] > 0.5).astype(int)
        per_sites[crit] = _per_site(preds[crit])
    pred, per_site = preds[args.inner_criterion], per_sites[args.inner_criterion]
    by_criterion = {c: {"mean_accuracy": round(float(per_sites[c]["accuracy"].mean()), 4),
                        "mean_auc": round(float(np.nanmean(per_sites[c]["auc"])), 4),
                        "pooled_accuracy": round(float(accuracy_score(preds[c]["y"], preds[c]["predicted"])), 4)}
                    for c in CRITERIA}
    # no selection at all: mean probability of every grid config (reported for comparison, never a default choice)
    all_score = outer.mean(0)
    all_hit = (all_score > 0.5) == y
    grid_mean = {"mean_accuracy": round(float(np.mean([all_hit[sites == s].mean() for s in np.unique(sites)])), 4),
                 "pooled_accuracy": round(float(all_hit.mean()), 4),
                 "pooled_auc": round(float(roc_auc_score(y, all_score)), 4)}
    grid = {}
    for i, name in enumerate(names):
        hit = (outer[i] > 0.5) == y
        grid[name] = {"mean_accuracy": round(float(np.mean([hit[sites == s].mean() for s in np.unique(sites)])), 4),
                      "pooled_accuracy": round(float(hit.mean()), 4)}
    return {
        **_site_summary(per_site, pred),
        "model": f"nested: mean probability of the top {args.top_k} of {len(configs)} l2-logistic configs, "
                 f"ranked per outer fold by inner {args.inner_splits}-fold grouped-by-site CV accuracy ({args.inner_criterion})",
        "recipe": {"features": {k: ("fisher_z" if v is None else f"log_euclidean_tangent(min_eigenvalue={v})")
                                for k, v in FEATURES.items()},
                   "confound_regression": [False, "intercept + log age + log age^2 + sex, fitted on training rows"],
                   "site_projection": [False, True], "C": list(CS), "top_k": args.top_k,
                   "inner_cv": f"StratifiedGroupKFold({args.inner_splits}, shuffle, seed 0) over training sites",
                   "inner_criterion": {"site_mean": "unweighted mean over training sites of out-of-fold accuracy",
                                       "pooled": "pooled out-of-fold accuracy"}[args.inner_criterion]},
        "by_inner_criterion": by_criterion,
        "grid_mean_ensemble": grid_mean,
        "chosen_per_fold": chosen,
        "grid_outer": grid,
        "n_subjects": int(len(y)),
        "n_sites": int(len(per_site)),
    }


ALPHAS = (0.01, 0.1, 1.0, 10.0, 100.0)


def _site_acc(hit, sites):
    """(n_sites, n_cfg) accuracy of each config on each site from a (n_cfg, n_rows) hit matrix."""
    return np.array([hit[:, sites == t].mean(1) for t in np.unique(sites)])


# None: every config; a weighting: every config of that weighting; k: the top k by inner CV.
# Order = preference on ties in --procedure auto (least selection first).
PROCEDURES = {"all": None, "unweighted": "unweighted", "site_weighted": "site_weighted", "top20": 20, "top5": 5,
              "top1": 1}
WEIGHTINGS = ("unweighted", "site_weighted")


def _procedures(weighting):
    """The procedures that apply to this grid (one per weighting only when the grid holds several)."""
    present = set(weighting.tolist())
    return {p: k for p, k in PROCEDURES.items() if not isinstance(k, str) or (k in present and len(present) > 1)}


def _rank(oof, y, sites):
    """Configs best first: inner mean-over-sites accuracy, ties broken by pooled inner AUC."""
    from sklearn.metrics import roc_auc_score

    acc = _site_acc((oof > 0.5) == y, sites).mean(0)
    auc = np.array([roc_auc_score(y, o) for o in oof]) if len(np.unique(y)) == 2 else np.zeros(len(oof))
    return np.lexsort((-auc, -acc))


def _members(spec, oof, y, sites, weighting):
    if spec is None:
        return np.arange(len(oof))
    if isinstance(spec, str):
        return np.flatnonzero(weighting == spec)
    return _rank(oof, y, sites)[:spec]


def _site_weights(sites):
    """1 / size of the row's site, scaled to mean 1: every training site weighs the same in the loss."""
    _, inv, counts = np.unique(sites, return_inverse=True, return_counts=True)
    w = 1.0 / counts[inv]
    return w / w.mean()


def _procedure_scores(oof, y, sites, weighting):
    """Inner estimate of each procedure: mean over inner sites t of the accuracy on t of the configs it
    picks from the other inner sites' held-out predictions (t's own labels never enter its choice)."""
    procs = _procedures(weighting)
    acc = {p: [] for p in procs}
    for t in np.unique(sites):
        on, off = sites == t, sites != t
        for p, k in procs.items():
            rows = _members(k, oof[:, off], y[off], sites[off], weighting)
            acc[p].append(np.mean((oof[rows][:, on].mean(0) > 0.5) == y[on]))
    return {p: float(np.mean(v)) for p, v in acc.items()}


def _nested_loso(fc, y, sites, ph, args):
    """Mean score of a kernel ridge grid (default, no selection), or configs/procedures chosen per outer fold
    by an inner leave-one-training-site-out CV (``--procedure``); inner figures are recorded either way."""
    from sklearn.metrics import roc_auc_score
    import pandas as pd

    from neurocodec.pipeline import check
    from neurocodec.features.connectivity import (
        confound_design,
        confound_gram,
        gram_ridge_scores,
        project_gram,
        site_splits,
        tangent_at_training_mean,
    )

    t_start = time.perf_counter()
    families = list(dict.fromkeys(args.families))
    feats = family_features(fc, families, args.rois)
    W = confound_design(ph["age"].to_numpy(float), ph["sex"].to_numpy())
    pre = [(f, conf, proj, wt) for f in families for conf in (False, True) for proj in (False, True)
           for wt in args.weightings]
    names = [f"{f}{'+confounds' if c else ''}{'+siteproj' if p else ''}{'+siteweights' if w != 'unweighted' else ''}"
             f"+ridge(alpha={a:g})" for f, c, p, w in pre for a in ALPHAS]
    weighting = np.array([w for *_, w in pre for _ in ALPHAS])
    family_of = np.array([f for f, *_ in pre for _ in ALPHAS])
    subsets = family_subsets(families)
    inner_by_subset = {k: [] for k in subsets}    # per outer fold: inner estimate of the subset's plain ensemble
    n_cfg, nA = len(names), len(ALPHAS)
    outer = np.zeros((n_cfg, len(y)))
    inner_site_mean = []                      # per outer fold: (n_cfg,) inner LOSO mean-over-sites accuracy
    chosen, fold_rows, inner_of_chosen, procedure_per_fold, saved = {}, [], {}, {}, {}
    procs = _procedures(weighting)
    check(args.procedure in ("auto", *procs), "procedure", f"one of {['auto', *procs]} for this grid", args.procedure)
    by_procedure = {p: np.zeros(len(y)) for p in ["auto", *procs]}
    for train, test in site_splits(y, sites, "leave_site_out"):
        tr_sites = np.unique(sites[train])
        inner = [(train[sites[train] != t], train[sites[train] == t]) for t in tr_sites]
        oof = np.zeros((n_cfg, len(y)))
        k = 0
        for f in families:
            # tangent_ref_0.1: reference fitted on the outer fold's training rows (like the column scaling, shared
            # by its inner folds); the test site is mapped with it
            X_f = tangent_at_training_mean(fc, train, "log_euclidean", 0.1, n_jobs=1) if f == "tangent_ref_0.1" \
                else feats[f]
            G0 = train_gram(X_f, train)
            del X_f
            for _, conf, proj, wt in [p for p in pre if p[0] == f]:
                # confound regression and site projection refitted on every (inner) training set only
                fits = [] if args.inner_only else [(train, test, outer)]
                for fit_rows, val_rows, dest in fits + [(a, b, oof) for a, b in inner]:
                    G = confound_gram(G0, W, fit_rows) if conf else G0
                    if proj:
                        G = project_gram(G, fit_rows, y, sites)
                    sw = _site_weights(sites[fit_rows]) if wt == "site_weighted" else None
                    dest[k:k + nA, val_rows] = gram_ridge_scores(G, fit_rows, val_rows, y, ALPHAS, sample_weight=sw)
                k += nA
        print(f"fold {sites[test][0]}: {time.perf_counter() - t_start:.0f} s", file=sys.stderr, flush=True)
        site = str(sites[test][0])
        ytr, str_ = y[train], sites[train]
        score = _site_acc((oof[:, train] > 0.5) == ytr, str_).mean(0)
        inner_site_mean.append(score)
        for key, fams in subsets.items():   # the plain (unselected) ensemble of these families, each inner site
            rows = np.isin(family_of, fams)
            inner_by_subset[key].append(float(_site_acc(((oof[rows][:, train].mean(0) > 0.5) == ytr)[None],
                                                        str_).mean()))
        # which procedure: estimated on the training sites only, each inner site scored by configs chosen
        # on the other inner sites' held-out predictions
        meta = _procedure_scores(oof[:, train], ytr, str_, weighting)
        auto = max(procs, key=lambda p: meta[p])  # ties: the first listed
        proc = auto if args.procedure == "auto" else args.procedure
        best = _members(PROCEDURES[proc], oof[:, train], ytr, str_, weighting)
        procedure_per_fold[site] = {"chosen": proc, "auto": auto, "inner_estimates": {p: round(float(v), 4) for p, v in meta.items()}}
        chosen[site] = [names[i] for i in best] if len(best) < n_cfg else ["all"]
        inner_of_chosen[site] = round(float(score[best].mean()), 4)
        for p_name, k_p in procs.items():
            rows = best if p_name == proc else _members(k_p, oof[:, train], ytr, str_, weighting)
            by_procedure[p_name][test] = outer[rows][:, test].mean(0)
        by_procedure["auto"][test] = by_procedure[auto][test]
        fold_rows.append(pd.DataFrame({"subject_index": test, "site": sites[test], "y": y[test],
                                       "score": outer[best][:, test].mean(0)}))
        if args.save_scores:
            saved[f"oof_{site}"] = oof[:, train]
    inner_figures = {
        "inner_ensemble_by_families": {k: round(float(np.mean(v)), 4) for k, v in inner_by_subset.items()},
        "inner_ensemble_by_families_per_fold": {k: [round(x, 4) for x in v] for k, v in inner_by_subset.items()},
        "inner_mean_accuracy_of_chosen": inner_of_chosen,
        "procedure_per_fold": procedure_per_fold,
        "grid_inner_mean_accuracy": {n: round(float(v), 4) for n, v in zip(names, np.mean(inner_site_mean, 0))},
    }
    if args.inner_only:  # no outer fit was made: nothing about the left-out sites is computed or shown
        if args.save_scores:
            np.savez(args.save_scores, y=y, sites=np.asarray(sites, dtype=str), names=np.array(names), **saved)
        return {"inner_only": True, "families": families, "n_configs": n_cfg, **inner_figures,
                "recipe": {"features": {f: FAMILIES[f] for f in families}, "procedure": args.procedure,
                           "inner_cv": "leave one training site out (15 inner folds) in each of the 16 outer folds"}}
    if args.save_scores:
        np.savez(args.save_scores, outer=outer, y=y, sites=np.asarray(sites, dtype=str), names=np.array(names), **saved)
    pred = pd.concat(fold_rows).sort_values("subject_index").reset_index(drop=True)
    pred["predicted"] = (pred["score"] > 0.5).astype(int)
    per_site = _per_site(pred)

    def _summary(score):
        hit = (score > 0.5) == y
        return {"mean_accuracy": round(float(_site_acc(hit[None], sites).mean()), 4),
                "pooled_accuracy": round(float(hit.mean()), 4), "pooled_auc": round(float(roc_auc_score(y, score)), 4)}

    return {
        **_site_summary(per_site, pred),
        "model": f"mean score of kernel ridge classifiers, procedure {args.procedure!r} over a grid of {n_cfg} "
                 "(all: every config, no selection; topk: ranked per outer fold by inner leave-one-training-site-out "
                 "mean-over-sites accuracy; auto: procedure picked per outer fold by that inner CV)",
        "recipe": {"features": {f: FAMILIES[f] for f in families},
                   "column_standardisation": "training sites of the outer fold",
                   "confound_regression": [False, "intercept + log age + log age^2 + sex, fitted on training rows"],
                   "site_projection": [False, True], "ridge_alpha_relative": list(ALPHAS),
                   "procedures": {p: ("mean of all configs" if k is None else f"mean of the top {k}")
                                  if not isinstance(k, str) else f"mean of the {k} configs"
                                  for p, k in procs.items()}, "procedure": args.procedure,
                   "sample_weights": {"unweighted": "none", "site_weighted": "1 / training-site size (mean 1)"},
                   "inner_cv": "leave one training site out (15 inner folds)",
                   "inner_criterion": "unweighted mean over training sites of held-out accuracy; ties: pooled AUC"},
        # inner figures (training sites only) that drove the choices
        **inner_figures,
        # for information only, never used for a choice
        "grid_mean_ensemble": _summary(outer.mean(0)),
        "outer_by_procedure": {p: _summary(v) for p, v in by_procedure.items()},
        "grid_outer": {n: _summary(o) for n, o in zip(names, outer)},
        "chosen_per_fold": chosen,
        "n_subjects": int(len(y)),
        "n_sites": int(len(per_site)),
    }


def main(argv=None):
    def extra(p):
        p.add_argument("--model", default="nested", choices=["nested", "nested_kfold", "ensemble", "logistic", "svm",
                                                             "pca_lda"],
                       help="nested: kernel ridge classifiers selected by inner leave-one-training-site-out CV "
                            "(default); nested_kfold: l2-logistic configs selected by inner grouped 5-fold CV; "
                            "ensemble: a-priori mean of tangent/correlation logistic + PCA-LDA; or one pipeline.")
        p.add_argument("--top-k", type=int, default=None,
                       help="nested_kfold: configs averaged in each outer fold (default 3).")
        p.add_argument("--procedure", default="all", choices=["auto", *PROCEDURES],
                       help="nested: average every config (all, default), those of one weighting, or the top k by "
                            "inner CV, or pick among these per outer fold by inner CV (auto).")
        p.add_argument("--weightings", nargs="+", default=["unweighted"], choices=list(WEIGHTINGS),
                       help="nested: training sample weightings in the grid (site_weighted: 1 / site size).")
        p.add_argument("--families", nargs="+", default=list(DEFAULT_FAMILIES), choices=list(FAMILIES),
                       help="nested: feature families of the grid (default: correlation correlation_subject_z "
                            "tangent_0.1 network_blocks; also correlation_rank_gauss tangent_ref_0.1).")
        p.add_argument("--inner-only", action="store_true",
                       help="nested: run only the inner leave-one-training-site-out CV of every outer fold (no "
                            "outer fit, no left-out-site figure), to choose a grid from inner figures alone.")
        p.add_argument("--save-scores", default=None, help="nested: write the outer and inner scores to this .npz.")
        p.add_argument("--inner-splits", type=int, default=5, help="nested: inner grouped folds.")
        p.add_argument("--inner-criterion", default="site_mean", choices=["site_mean", "pooled"],
                       help="nested: rank configs by the inner mean-over-sites accuracy (the target metric) or pooled.")
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
    from sklearn.metrics import accuracy_score

    fc, ph = load_abide_vectors(folder)
    rois_file = folder / "rois.txt"
    args.rois = np.array(rois_file.read_text().split()) if rois_file.is_file() else None
    if args.model == "nested" and "network_blocks" in args.families and args.rois is None:
        raise SystemExit(f"network_blocks needs the ROI names of {rois_file}")
    sites = ph["site"].astype(str).to_numpy()
    y = ph["group"].to_numpy()
    if args.quick:  # 4 sites, first 40 ROIs: a seconds-long smoke run of the same code
        keep = np.isin(sites, sorted(set(sites))[:4])
        mats = unvectorize(fc[keep], discard_diagonal=True)[:, :40, :40]
        fc, sites, y, ph = vectorize(mats, discard_diagonal=True), sites[keep], y[keep], ph[keep].reset_index(drop=True)
        args.rois = None if args.rois is None else args.rois[:40]
    t0 = time.perf_counter()
    if args.model in ("nested", "nested_kfold"):
        if args.top_k is None:
            args.top_k = 3
        with threadpool_limits(1):
            result = (_nested_loso if args.model == "nested" else _nested)(fc, y, sites, ph, args)
        result["seconds"] = round(time.perf_counter() - t0, 1)
        result["peak_rss_mb"] = round(peak_rss_mb(), 1)
        # inner-only runs go to results/abide_inner.json and never overwrite a full run's abide.json
        return emit("abide_inner" if args.inner_only else "abide", result, quick=args.quick)
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
    name = " + ".join(comp_summary) if args.model == "ensemble" else next(iter(comp_summary))
    result = {
        **_site_summary(per_site, pred),
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
