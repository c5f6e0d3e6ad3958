"""Cross-validation of :class:`TFMClassifier` over several class protocols of one epochs set.

The folds are drawn once over all trials (stratified by class, whole groups
such as the windows of one segment on one side: :meth:`EpochsData.folds`), so
fold *k* of a protocol is the part of fold *k* that holds the protocol's
classes. In each fold the tokenizer (and the scaling) is fitted once on the
training trials of every class, without labels, and frozen; the encoder is
then pretrained and fine-tuned per protocol on that protocol's training
trials. No test trial enters any fit.
"""

from __future__ import annotations

import copy
import logging
import time
from typing import Any

import numpy as np

from ...pipeline import bad_value, check

__all__ = ["cross_validate", "protocol_labels", "summarize_folds"]

METRICS = ("balanced_accuracy", "kappa", "weighted_f1", "auroc")
log = logging.getLogger("neurocodec.features.tokenizer")


def protocol_labels(labels: np.ndarray, classes: list[list[str]]) -> tuple[np.ndarray, list[str]]:
    """Protocol class index of each trial (-1: not in the protocol) and the protocol's class names.

    Parameters
    ----------
    labels : ndarray (n_trials,) of str
    classes : list of list of str
        Each protocol class as the labels it merges, e.g. ``[["A", "B"], ["C", "D"], ["E"]]``.
    """
    labels = np.asarray(labels)
    check(
        labels.ndim == 1 and labels.size > 0, "labels", "a non-empty 1-D array (n_trials,)", f"<shape {labels.shape}>"
    )
    labels = labels.astype(str)
    check(len(classes) >= 2, "classes", "at least 2 protocol classes", classes)
    out = np.full(len(labels), -1, dtype=np.int64)
    seen: set[str] = set()
    names = []
    for k, members in enumerate(classes):
        members = [str(m) for m in members]
        for m in members:
            if m in seen:
                raise bad_value("classes", "disjoint label groups", classes)
            if not (labels == m).any():
                raise bad_value("classes", f"labels present in the epochs ({sorted(set(labels.tolist()))})", m)
            seen.add(m)
        out[np.isin(labels, members)] = k
        names.append("+".join(members))
    return out, names


def summarize_folds(folds: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and standard deviation over folds of each metric (``<metric>_mean``, ``<metric>_sd``)."""
    check(len(folds) >= 1, "folds", "at least one fold", folds)
    for i, f in enumerate(folds):
        check(isinstance(f, dict) and set(METRICS) <= set(f), f"folds[{i}]", f"a dict with {', '.join(METRICS)}", f)
    out: dict[str, Any] = {}
    for m in METRICS:
        v = np.array([f[m] for f in folds], dtype=float)
        out[m] = {"mean": float(np.nanmean(v)), "sd": float(np.nanstd(v, ddof=1)) if len(v) > 1 else 0.0}
    return out


def cross_validate(
    epochs: Any,
    protocols: dict[str, list[list[str]]],
    estimator: Any,
    n_folds: int = 10,
    group: str = "segment",
    seed: int = 0,
) -> dict[str, Any]:
    """K-fold cross-validation of a :class:`TFMClassifier` on several protocols of ``epochs``.

    Parameters
    ----------
    epochs : EpochsData
        Labelled trials (``groups`` holding ``group``).
    protocols : dict
        Protocol name -> its classes (see :func:`protocol_labels`), e.g.
        ``{"A_vs_E": [["A"], ["E"]]}``.
    estimator : TFMClassifier
        Template (cloned; its ``tokenizer`` may be a trained one: transfer).
    n_folds : int
        Folds over all trials (:meth:`EpochsData.folds`).
    group : str
        Column of ``epochs.groups`` kept together by the folds and by each
        fit's early-stopping split.
    seed : int
        Seed of the folds.

    Returns
    -------
    dict
        ``protocols``: name -> ``classes``, ``folds`` (per fold: the four
        metrics, n_train, n_test, collapse record, wall_s), the mean / sd of
        each metric, ``wall_s``; ``predictions``: name -> (trial, fold, label,
        predicted, proba) arrays; ``tokenizer_wall_s``; ``folds`` (the test
        indices of every fold).
    """
    from sklearn.base import clone

    from ._train import classification_metrics

    check(
        isinstance(protocols, dict) and len(protocols) >= 1,
        "protocols",
        "a non-empty mapping name -> classes",
        protocols,
    )
    from ...datasets.kinds import EpochsData

    check(isinstance(epochs, EpochsData), "epochs", "an EpochsData", f"<{type(epochs).__name__}>", exc=TypeError)
    labels = epochs.labels()
    coded = {name: protocol_labels(labels, classes) for name, classes in protocols.items()}
    folds = epochs.folds(n_folds, group=group, seed=seed)
    g = epochs.groups[group].to_numpy()
    res = {name: {"classes": names, "folds": [], "wall_s": 0.0} for name, (_, names) in coded.items()}
    preds: dict[str, dict[str, list]] = {name: {"trial": [], "fold": [], "label": [], "proba": []} for name in coded}
    tok_wall = 0.0
    for k, (train, test) in enumerate(folds):
        t0 = time.time()
        base = clone(estimator).fit_tokenizer(epochs.X[train], epochs.sfreq)
        tokens = base.transform(epochs.X, epochs.sfreq)
        tok_wall += time.time() - t0
        for name, (y, names) in coded.items():
            t1 = time.time()
            tr, te = train[y[train] >= 0], test[y[test] >= 0]
            clf = copy.deepcopy(base).fit_tokens(tokens[tr], y[tr], groups=g[tr])
            proba = np.zeros((len(te), len(names)))
            proba[:, clf.classes_] = clf.predict_proba_tokens(tokens[te])
            row = classification_metrics(y[te], proba)
            fin = clf.history_["finetune"]
            row.update(
                fold=k,
                n_train=int(len(tr)),
                n_test=int(len(te)),
                best_epoch=fin["best_epoch"],
                collapse=fin["collapse"],
                wall_s=time.time() - t1,
            )
            res[name]["folds"].append(row)
            log.info(
                "fold %d/%d %s: balanced accuracy %.3f, AUROC %.3f (%.0f s)",
                k + 1,
                len(folds),
                name,
                row["balanced_accuracy"],
                row["auroc"],
                row["wall_s"],
            )
            res[name]["wall_s"] += row["wall_s"]
            preds[name]["trial"].append(te)
            preds[name]["fold"].append(np.full(len(te), k))
            preds[name]["label"].append(y[te])
            preds[name]["proba"].append(proba)
    for name in res:
        res[name].update(summarize_folds(res[name]["folds"]))
        res[name]["n_collapsed"] = int(sum(bool(f["collapse"].get("detected")) for f in res[name]["folds"]))
    predictions = {name: {k: np.concatenate(v) for k, v in p.items()} for name, p in preds.items()}
    return {
        "protocols": res,
        "predictions": predictions,
        "tokenizer_wall_s": tok_wall,
        "folds": [te for _, te in folds],
        "n_folds": int(n_folds),
        "group": group,
        "seed": int(seed),
    }
