"""TFM-Tokenizer pipeline vs a MiniRocket + ridge baseline on the UEA EEG sets (official splits).

For each set: the tokenizer is trained on the training trials only, the TFM-Encoder is pretrained (masked
tokens) and fine-tuned on them (20 % stratified validation split for early stopping), and three such pipelines
with consecutive seeds are averaged (``TFMEnsembleClassifier``); then both methods are scored on the official
test trials: balanced accuracy, Cohen's kappa, weighted F1, AUROC. The training budget (epochs, signals per
epoch, codebook size) and the recipe (scaling, centring, decision threshold) are set here for CPU; the model
defaults stay the paper's. How the recipe was chosen (training trials only): docs/benchmarks.md.

Usage: python benchmarks/uea_eeg.py [--quick] [--datasets A,B] [--seed 0] [--members K] [--device cpu]
(``--seed S`` != 0 seeds both methods with S and writes results/uea_eeg_seedS.json).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED_DATA, emit, parse_args, peak_rss_mb  # noqa: E402

DATASETS = ["SelfRegulationSCP1", "SelfRegulationSCP2", "FingerMovements", "EyesOpenShut"]
#: CPU training budget of the full run (the paper trains 100 / 50 / 50 epochs on GPUs).
FULL = dict(tokenizer_config=dict(n_codes=128, decoder_depth=2, restart_after=5), tokenizer_epochs=6,
            tokenizer_max_signals=512, tokenizer_batch_size=128, pretrain_epochs=15, finetune_epochs=30,
            batch_size=32, patience=10, lr=1e-3, scaling="channel", center="auto", threshold="auto", n_members=3)
QUICK = dict(tokenizer_config=dict(n_codes=64, emb_size=32, decoder_depth=1, freq_depth=1, temporal_depth=1,
                                   restart_after=2),
             encoder_config=dict(depth=1), tokenizer_epochs=1, tokenizer_max_signals=64, tokenizer_batch_size=64,
             pretrain_epochs=1, finetune_epochs=2, batch_size=32, patience=0, scaling="channel", center="auto",
             threshold="auto", n_members=2)


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def load(name: str):
    import numpy as np

    folder = SHARED_DATA / "uea_eeg"
    path = folder / name / f"{name}.npz"
    path = path if path.is_file() else folder / f"{name}.npz"
    if not path.is_file():
        raise FileNotFoundError(f"The UEA set {name} must be at {path}; set NEUROCODEC_SHARED_DATA.")
    meta = path.with_suffix(".json")
    sfreq = float(json.loads(meta.read_text())["sfreq"]) if meta.is_file() else None
    with np.load(path, allow_pickle=False) as d:
        return d["X_train"], d["y_train"], d["X_test"], d["y_test"], sfreq


def union_tokenizer(budget: dict, seed: int, quick: bool):
    """A tokenizer trained on the union of the real EEG here: the UEA sets' training trials, the Bonn segments
    and the vendor recordings (EEGLAB, yasa: 2-s windows); each set scaled on its own (``fit_union_tokenizer``)."""
    import numpy as np

    from neurocodec.datasets import make_epochs, read_raw
    from neurocodec.datasets.kinds import EpochsData
    from neurocodec.datasets.loaders import load_bonn
    from neurocodec.features.tokenizer import TrainConfig, fit_union_tokenizer

    sets = []
    for name in DATASETS:
        X_tr, y_tr, _, _, sfreq = load(name)
        sets.append(EpochsData(X_tr, sfreq, [f"EEG{i:03d}" for i in range(X_tr.shape[1])], info={"dataset": name}))
    sets.append(load_bonn(SHARED_DATA / "bonn_eeg", n_windows=2, max_segments=4 if quick else None))
    for rec in ("EEGLAB/test_raw.set", "yasa/data_resting_EO_200Hz_raw.fif"):
        path = SHARED_DATA / "recordings" / rec
        if path.is_file():
            ep = make_epochs(read_raw(path), window=2.0)
            sets.append(EpochsData(ep.get_data().astype(np.float32), ep.info["sfreq"], ep.ch_names,
                                   info={"dataset": path.name}))
    n = 32 if quick else 256
    cfg = TrainConfig(epochs=1 if quick else 30, batch_size=budget["tokenizer_batch_size"], seed=seed,
                      max_examples_per_epoch=n, warmup_epochs=0.1 if quick else 3.0)
    return fit_union_tokenizer(sets, budget["tokenizer_config"], cfg, budget["scaling"], center=budget["center"],
                               window_s=2.0, max_per_set=200 if quick else 2000)


def main(argv=None) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv, extra=lambda p: (
        p.add_argument("--datasets", default=None), p.add_argument("--device", default="cpu"),
        p.add_argument("--seed", type=int, default=0),
        p.add_argument("--members", type=int, default=None, help="Override the recipe's seed-ensemble size."),
        p.add_argument("--no-transfer", action="store_true", help="Skip the tfm_transfer rows.")))
    import numpy as np
    import torch

    from neurocodec.baselines import MiniRocketClassifier
    from sklearn.base import clone

    from neurocodec.features.tokenizer import TFMClassifier, TFMEnsembleClassifier, classification_metrics

    torch.set_num_threads(int(os.environ.get("NEUROCODEC_THREADS", "1")))
    budget = dict(QUICK if args.quick else FULL)
    n_members = budget.pop("n_members")
    n_members = n_members if args.members is None else args.members
    out = {"datasets": {}, "budget": dict(budget, n_members=n_members), "quick": args.quick, "seed": args.seed}
    t_all, c_all = time.time(), _cpu_s()
    names = args.datasets.split(",") if args.datasets else (["EyesOpenShut"] if args.quick else DATASETS)
    union = None
    if not args.no_transfer:
        t0 = time.time()
        union, union_record = union_tokenizer(budget, args.seed, args.quick)
        out["union_tokenizer"] = dict({k: v for k, v in union_record.items() if k != "history"},
                                      wall_s=time.time() - t0)
    for name in names:
        X_tr, y_tr, X_te, y_te, sfreq = load(name)
        if args.quick:  # a few trials per class, seconds-long
            keep = np.concatenate([np.flatnonzero(y_tr == c)[:12] for c in np.unique(y_tr)])
            test = np.concatenate([np.flatnonzero(y_te == c)[:8] for c in np.unique(y_te)])
            X_tr, y_tr, X_te, y_te = X_tr[keep], y_tr[keep], X_te[test], y_te[test]
        row = {"n_train": int(len(X_tr)), "n_test": int(len(X_te)), "n_chans": int(X_tr.shape[1]),
               "n_times": int(X_tr.shape[2]), "sfreq": sfreq}
        t0, c0 = time.time(), _cpu_s()
        template = TFMClassifier(**budget, pad_short=True, seed=args.seed, device=args.device)
        tfm = TFMEnsembleClassifier(template, n_members=n_members).fit(X_tr, y_tr, sfreq=sfreq)
        proba = tfm.predict_proba(X_te, sfreq=sfreq)
        y_idx = np.searchsorted(tfm.classes_, y_te)
        row["tfm"] = classification_metrics(y_idx, proba)
        row["tfm"].update(wall_s=time.time() - t0, cpu_s=_cpu_s() - c0, n_members=n_members)
        row["tfm"]["members"] = [{
            "seed": m.seed, "codebook_active_codes": m.history_["tokenizer"]["active_codes"][-1],
            "codebook_perplexity": m.history_["tokenizer"]["perplexity"][-1],
            "best_epoch": m.history_["finetune"]["best_epoch"], "collapse": m.history_["finetune"]["collapse"],
            "logit_threshold": m.history_["finetune"]["threshold"]} for m in tfm.members_]
        if union is not None:  # the same recipe, the tokenizer trained on the union and frozen
            t0, c0 = time.time(), _cpu_s()
            frozen = TFMEnsembleClassifier(clone(template).set_params(tokenizer=union), n_members=n_members)
            frozen.fit(X_tr, y_tr, sfreq=sfreq)
            row["tfm_transfer"] = classification_metrics(y_idx, frozen.predict_proba(X_te, sfreq=sfreq))
            row["tfm_transfer"].update(wall_s=time.time() - t0, cpu_s=_cpu_s() - c0, n_members=n_members,
                                       n_collapsed=sum(bool(m.history_["finetune"]["collapse"]["detected"])
                                                       for m in frozen.members_))
        t0, c0 = time.time(), _cpu_s()
        n_feat = 1000 if args.quick else 10_000
        base = MiniRocketClassifier(n_features=n_feat, random_state=args.seed).fit(X_tr, y_tr)
        row["baseline"] = classification_metrics(np.searchsorted(base.classes_, y_te), base.predict_proba(X_te))
        row["baseline"].update(wall_s=time.time() - t0, cpu_s=_cpu_s() - c0, method="MiniRocket (numpy) + "
                                                                                    "RidgeClassifierCV")
        out["datasets"][name] = row
        print(name, json.dumps({k: row[k] for k in ("tfm", "tfm_transfer", "baseline") if k in row}, default=float),
              file=sys.stderr, flush=True)
    if union is not None:
        done = [n for n in names if "tfm_transfer" in out["datasets"][n]]
        out["transfer_mean_balanced_accuracy"] = {
            m: float(np.mean([out["datasets"][n][m]["balanced_accuracy"] for n in done])) for m in ("tfm", "tfm_transfer")}
    out.update(wall_s=time.time() - t_all, cpu_s=_cpu_s() - c_all, peak_rss_mb=peak_rss_mb(),
               load_avg_1min=os.getloadavg()[0])
    name = "uea_eeg" + (f"_seed{args.seed}" if args.seed else "")
    if args.members is not None:  # a variant never overwrites the recipe's results
        name += f"_x{n_members}"
    return emit(name, out, quick=args.quick)


if __name__ == "__main__":
    main()
