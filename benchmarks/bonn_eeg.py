"""TFM-Tokenizer on the Bonn epilepsy EEG (10-fold CV, segments never split) vs MiniRocket + ridge on the same folds.

Runs ``configs/real/bonn.yaml`` through the engine (``load_bonn`` -> ``tfm_cross_validate``: protocols A vs E,
AB vs CD vs E and A-E), then MiniRocket + ridge on the very same folds in the same run. Prints per protocol
``tfm`` and ``baseline`` with ``balanced_accuracy``, ``kappa``, ``weighted_f1``, ``auroc`` (mean and sd over
folds) and wall times. How the recipe was chosen: docs/benchmarks.md (TFM-Tokenizer on Bonn).

Usage: python benchmarks/bonn_eeg.py [--quick] [--cache DIR]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED_DATA, emit, parse_args, peak_rss_mb  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "real" / "bonn.yaml"
#: A seconds-long smoke version of the config (tiny model, 2 segments per set, 2 folds).
QUICK = {"tokenizer_epochs": 1, "max_signals_per_epoch": 32, "pretrain_epochs": 0, "finetune_epochs": 1,
         "n_codes": 16, "emb_size": 16, "n_heads": 2, "freq_depth": 1, "temporal_depth": 1, "decoder_depth": 1,
         "depth": 1, "n_folds": 2}


def _config(quick: bool) -> dict:
    """The config, its shared-data paths pointed at SHARED_DATA (quick: tiny model and data)."""
    from neurocodec.pipeline import read_yaml

    cfg = read_yaml(CONFIG)
    cfg.pop("cache", None)
    prefix = "../../../shared/data/"
    for step in cfg["stages"].values():
        for name, ref in (step.get("inputs") or {}).items():
            if isinstance(ref, str) and ref.startswith(prefix):
                step["inputs"][name] = str(SHARED_DATA / ref[len(prefix):])
    if quick:
        cfg["stages"]["bonn"]["params"]["max_segments"] = 4
        for sid in ("bonn_tfm", "bonn_tfm_transfer"):
            cfg["stages"][sid]["params"].update(QUICK)
        union = cfg["stages"]["union_tokenizer"]["params"]
        union.update({k: v for k, v in QUICK.items() if k in ("n_codes", "emb_size", "n_heads", "freq_depth",
                                                              "temporal_depth", "decoder_depth")},
                     epochs=1, max_signals_per_epoch=32)
    return cfg


def _baseline(epochs, protocols: dict, n_folds: int, group: str, seed: int, n_features: int) -> dict:
    """MiniRocket + standardisation + RidgeClassifierCV on the folds of the pipeline (one transform per fold,
    fitted on its training windows of every class; one ridge per protocol)."""
    import numpy as np
    from sklearn.linear_model import RidgeClassifierCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from neurocodec.baselines import MiniRocket
    from neurocodec.features.tokenizer import classification_metrics, protocol_labels, summarize_folds

    labels = epochs.labels()
    coded = {name: protocol_labels(labels, classes) for name, classes in protocols.items()}
    out = {name: {"classes": names, "folds": [], "wall_s": 0.0} for name, (_, names) in coded.items()}
    t_feat = 0.0
    for k, (train, test) in enumerate(epochs.folds(n_folds, group=group, seed=seed)):
        t0 = time.time()
        rocket = MiniRocket(n_features=n_features, random_state=seed).fit(epochs.X[train])
        feats = rocket.transform(epochs.X)
        t_feat += time.time() - t0
        for name, (y, names) in coded.items():
            t1 = time.time()
            tr, te = train[y[train] >= 0], test[y[test] >= 0]
            ridge = make_pipeline(StandardScaler(), RidgeClassifierCV(alphas=np.logspace(-3, 3, 10))).fit(feats[tr], y[tr])
            s = ridge.decision_function(feats[te])
            s = np.stack([-s / 2, s / 2], axis=1) if s.ndim == 1 else s
            proba = np.exp(s - s.max(1, keepdims=True))
            proba /= proba.sum(1, keepdims=True)
            row = classification_metrics(y[te], proba)
            row.update(fold=k, n_train=int(len(tr)), n_test=int(len(te)), wall_s=time.time() - t1)
            out[name]["folds"].append(row)
            out[name]["wall_s"] += row["wall_s"]
    for name in out:
        out[name].update(summarize_folds(out[name]["folds"]))
    return {"protocols": out, "features_wall_s": t_feat}


def main(argv=None) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv, extra=lambda p: p.add_argument("--cache", default=None))
    import torch

    from neurocodec.datasets.kinds import EpochsData
    from neurocodec.pipeline import ArtifactStore, run_pipeline

    threads = int(os.environ.get("NEUROCODEC_THREADS", "1"))
    torch.set_num_threads(threads)
    cfg = _config(args.quick)
    cache = Path(args.cache) if args.cache else Path(tempfile.mkdtemp(prefix="bonn_cache_"))
    t0 = time.time()
    summary = run_pipeline(cfg, cache=cache, show_progress=False, report=False)
    if not summary.ok:
        bad = [(r.step_id, r.error) for r in summary.results if r.status not in ("hit", "ran")]
        raise RuntimeError(f"The pipeline {CONFIG.name} failed: {bad}")
    pipe_s = time.time() - t0
    store = ArtifactStore(cache)
    arts = {r.step_id: store.open(r.stage, r.key) for r in summary.results}
    tfm = arts["bonn_tfm"].load("metrics")
    transfer = arts["bonn_tfm_transfer"].load("metrics") if "bonn_tfm_transfer" in arts else None
    epochs = EpochsData.load(arts["bonn"].file("epochs"))
    p = cfg["stages"]["bonn_tfm"]["params"]
    t1 = time.time()
    base = _baseline(epochs, p["protocols"], p.get("n_folds", 10), p.get("group", "segment"), p.get("fold_seed", 0),
                     1000 if args.quick else 10_000)
    base_s = time.time() - t1
    keys = ("balanced_accuracy", "kappa", "weighted_f1", "auroc")
    result = {"protocols": {}, "quick": args.quick, "n_trials": epochs.n_trials, "n_folds": tfm["n_folds"],
              "group": tfm["group"], "threads": threads, "config": str(CONFIG.relative_to(ROOT))}
    for name, row in tfm["protocols"].items():
        b = base["protocols"][name]
        result["protocols"][name] = {
            "classes": row["classes"],
            "tfm": dict({k: row[k] for k in keys}, wall_s=row["wall_s"], n_collapsed=row["n_collapsed"],
                        per_fold_balanced_accuracy=[f["balanced_accuracy"] for f in row["folds"]]),
            "baseline": dict({k: b[k] for k in keys}, wall_s=b["wall_s"], method="MiniRocket (10k) + RidgeClassifierCV",
                             per_fold_balanced_accuracy=[f["balanced_accuracy"] for f in b["folds"]])}
        if transfer is not None:
            t = transfer["protocols"][name]
            result["protocols"][name]["tfm_transfer"] = dict(
                {k: t[k] for k in keys}, wall_s=t["wall_s"], n_collapsed=t["n_collapsed"],
                per_fold_balanced_accuracy=[f["balanced_accuracy"] for f in t["folds"]],
                tokenizer="union_tokenizer (UEA training trials + EEGLAB + yasa recordings), frozen")
    steps = {r.step_id: r.seconds for r in summary.results}
    result.update(tfm_tokenizer_wall_s=tfm["tokenizer_wall_s"], pipeline_wall_s=pipe_s, step_s=steps,
                  baseline_wall_s=base_s, baseline_features_wall_s=base["features_wall_s"],
                  wall_s=time.time() - t0, peak_rss_mb=peak_rss_mb(), load_avg_1min=os.getloadavg()[0])
    if "union_tokenizer" in arts:
        result["union_tokenizer"] = {k: v for k, v in arts["union_tokenizer"].load("stats").items() if k != "history"}
    for name, row in result["protocols"].items():
        print(name, "tfm %.3f +- %.3f" % (row["tfm"]["balanced_accuracy"]["mean"], row["tfm"]["balanced_accuracy"]["sd"]),
              "baseline %.3f +- %.3f" % (row["baseline"]["balanced_accuracy"]["mean"],
                                         row["baseline"]["balanced_accuracy"]["sd"]), file=sys.stderr, flush=True)
    return emit("bonn_eeg", result, quick=args.quick)


if __name__ == "__main__":
    main()
