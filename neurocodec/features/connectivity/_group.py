"""Bodies of the ``connectivity_group`` and ``predict_phenotype`` stages."""

from __future__ import annotations

import numpy as np

from ...pipeline import bad_value, check, save_array, save_json, save_table
from ._io import diagnosis_to_group
from ._spd import shrink_to_spd
from ._vectors import vectorize

__all__ = [
    "train_test_split_sites",
    "group_difference",
    "edge_recovery_auc",
    "run_group",
    "run_predict",
    "predict_inputs",
]


def train_test_split_sites(subjects, test_fraction: float, seed: int) -> np.ndarray:
    """Boolean test mask, stratified by site x group (all train when fraction is 0)."""
    n = len(subjects)
    test = np.zeros(n, bool)
    if test_fraction <= 0:
        return test
    rng = np.random.default_rng(seed)
    site = subjects["site"].astype(str).to_numpy() if "site" in subjects else np.full(n, "all")
    group = subjects["group"].astype(str).to_numpy() if "group" in subjects else np.full(n, "all")
    for key in sorted(set(zip(site, group))):
        idx = np.flatnonzero((site == key[0]) & (group == key[1]))
        k = int(round(test_fraction * len(idx)))
        test[rng.permutation(idx)[:k]] = True
    check(test.sum() < n, "test_fraction", "leaving training subjects", test_fraction)
    return test


def group_difference(mats: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Welch t statistic (group 1 minus group 0) of every matrix entry."""
    a, b = mats[groups == 1], mats[groups == 0]
    check(len(a) >= 2 and len(b) >= 2, "group", ">= 2 subjects per group", f"<{len(a)} and {len(b)}>")
    se = np.sqrt(a.var(0, ddof=1) / len(a) + b.var(0, ddof=1) / len(b))
    t = np.divide(a.mean(0) - b.mean(0), se, out=np.zeros_like(se), where=se > 0)
    np.fill_diagonal(t, 0.0)
    return t


def edge_recovery_auc(t_map: np.ndarray, truth: np.ndarray) -> float:
    """ROC AUC of |t| for detecting the true differing edges (upper triangle)."""
    from sklearn.metrics import roc_auc_score

    rows, cols = np.triu_indices(len(truth), 1)
    y = truth[rows, cols].astype(int)
    if y.min() == y.max():
        return float("nan")
    return float(roc_auc_score(y, np.abs(t_map[rows, cols])))


def run_group(params, inputs, out_dir) -> None:
    from ...datasets.kinds import Connectomes
    from ._fc import TangentSpace

    data = Connectomes.load(inputs["fc"])
    fc, subjects = data.matrices.astype(np.float64), data.subjects
    test = train_test_split_sites(subjects, params.test_fraction, params.seed)
    info = {"kind": params.kind, "measure": data.measure, "n_train": int((~test).sum()), "n_test": int(test.sum())}
    if params.kind == "tangent":
        shrink = "auto" if params.shrinkage is None else params.shrinkage
        mats, amounts = shrink_to_spd(fc, shrink, params.min_eigenvalue)
        info.update(
            shrinkage_mean=float(amounts.mean()), shrinkage_max=float(amounts.max()), reference=params.reference
        )
        ts = TangentSpace(
            reference=params.reference, mean_precision=params.mean_precision, n_jobs=params.n_jobs or None
        ).fit(mats[~test])
        feats = ts.transform(mats)
        reference = ts.mean_
        vec = vectorize(feats, discard_diagonal=params.discard_diagonal)
    else:
        feats = fc
        reference = fc[~test].mean(0)
        vec = vectorize(fc, discard_diagonal=params.discard_diagonal, scale_diagonal=False)
    subjects = subjects.copy()
    subjects["split"] = np.where(test, "test", "train")
    t_map = np.zeros(fc.shape[1:])
    if "group" in subjects and subjects["group"].nunique() == 2:
        groups = diagnosis_to_group(subjects["group"])
        t_map = group_difference(feats[~test], groups[~test])
    truth = data.extras.get("differing_edges")
    info["ground_truth"] = (
        "differing_edges from the source's extras"
        if truth is not None
        else "absent (no planted edges in the source): edge recovery not scored"
    )
    if truth is not None:
        truth = truth.astype(bool)
        if truth.shape != t_map.shape:
            raise bad_value("fc", f"ground truth over {t_map.shape[0]} ROIs", f"<shape {truth.shape}>")
        info["edge_recovery_auc"] = edge_recovery_auc(t_map, truth)
        k = int(np.triu(truth, 1).sum())
        if k:
            rows, cols = np.triu_indices(len(truth), 1)
            top = np.argsort(-np.abs(t_map[rows, cols]))[:k]
            info["edge_recovery_precision_at_k"] = float(truth[rows[top], cols[top]].mean())
            info["n_true_edges"] = k
    save_array(out_dir / "vectors.npy", vec.astype(np.float32))
    save_array(out_dir / "reference.npy", reference)
    save_array(out_dir / "group_difference.npy", t_map)
    save_table(out_dir / "subjects.tsv", subjects)
    save_json(out_dir / "info.json", info)


def predict_inputs(source, params):
    """``(X, input, subjects, rois)`` for a ConnectomeClassifier from a roi_timeseries or connectomes artifact."""
    from ...datasets.kinds import Connectomes, RoiTimeseries

    if getattr(source, "kind", "roi_timeseries") == "connectomes":
        data = Connectomes.load(source)
        check(
            data.measure in ("correlation", "covariance"),
            "source",
            "connectomes of measure 'correlation' or 'covariance' (or ROI time series)",
            data.measure,
        )
        return data.matrices.astype(np.float64), data.measure, data.subjects, data.rois
    data = RoiTimeseries.load(source)
    return [x.astype(np.float64) for x in data.series()], "timeseries", data.subjects, data.rois


def run_predict(params, inputs, out_dir) -> None:
    from ._classifier import ConnectomeClassifier, binary_labels
    from ._predict import cv_summary, site_cross_validate

    X, what, subjects, _ = predict_inputs(inputs["source"], params)
    if params.target not in subjects:
        raise bad_value("target", f"a column of the subjects table {list(subjects.columns)}", params.target)
    missing = [c for c in params.confounds if c not in subjects]
    if missing:
        raise bad_value("confounds", f"columns of the subjects table {list(subjects.columns)}", missing)
    labels = subjects[params.target].to_numpy()
    classes, _ = binary_labels(labels, name="target")
    sites = subjects["site"].astype(str).to_numpy()
    confounds = subjects[params.confounds] if params.confounds else None
    clf = ConnectomeClassifier(
        kind=params.kind if len(params.kind) > 1 else params.kind[0],
        C=params.C if len(params.C) > 1 else params.C[0],
        input=what,
        cov_estimator=params.cov_estimator,
        inner_cv=params.inner_cv,
        random_state=params.seed,
        n_jobs=params.n_jobs or None,
    )
    chosen = []
    per_site, pred = site_cross_validate(
        clf,
        X,
        labels,
        sites,
        cv=params.cv,
        n_splits=params.n_splits,
        random_state=params.seed,
        min_site_size=params.min_site_size,
        confounds=confounds,
        fitted=chosen,
    )
    pred.insert(0, "subject", subjects["subject"].astype(str).to_numpy()[pred["subject_index"]])
    save_table(out_dir / "per_site.tsv", per_site)
    save_table(out_dir / "predictions.tsv", pred)
    final = clf.fit(X, subjects[params.target].to_numpy(), sites=sites, confounds=confounds)
    final.save_pretrained(out_dir / "model")
    save_json(
        out_dir / "metrics.json",
        cv_summary(per_site, pred)
        | {
            "classes": classes.tolist(),
            "positive_class": str(classes[1]),
            "chosen_per_fold": [{"fold": k, "kind": e.kind_, "C": e.C_} for k, e in enumerate(chosen)],
            "final_model": {"kind": final.kind_, "C": final.C_},
            "params": params.model_dump(),
        },
    )
