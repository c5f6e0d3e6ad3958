"""TFM-Tokenizer pipelines vs a MiniRocket + ridge baseline on the UEA EEG sets (official splits).

Runs ``configs/real/uea_{scp1,scp2,fingers,eyes}.yaml`` through the engine and reads the TFM figures from their
artifacts: ``<set>_eval`` averages three seeded pipelines (``tfm_tokenize`` with the tokenizer trained on the
training trials -> ``tfm_pretrain`` -> ``tfm_finetune`` with a 20 % validation split for early stopping), the
figures of ``TFMEnsembleClassifier`` with the same seeds (tests/test_tokenizer_ensemble_pipeline.py);
``<set>_transfer_eval`` is the same recipe with the tokenizer trained on the union of real EEG and frozen. The
only thing computed here is the anchor, MiniRocket + ridge, on the same trials. Metrics on the official test
trials: balanced accuracy, Cohen's kappa, weighted F1, AUROC. How the recipe was chosen: docs/benchmarks.md.

Usage: python benchmarks/uea_eeg.py [--quick] [--datasets A,B] [--seed 0] [--members K] [--device cpu]
[--no-transfer] [--cache DIR]  (``--seed S`` shifts every seed of the configs by S and seeds MiniRocket with S:
results/uea_eeg_seedS.json; ``--members K`` runs K seeded pipelines instead of the configs' 3:
results/uea_eeg_xK.json.)
"""

from __future__ import annotations

import copy
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED_DATA, emit, parse_args, peak_rss_mb  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: UEA problem -> (its config, the prefix of its step ids).
CONFIGS = {
    "SelfRegulationSCP1": ("uea_scp1.yaml", "scp1"),
    "SelfRegulationSCP2": ("uea_scp2.yaml", "scp2"),
    "FingerMovements": ("uea_fingers.yaml", "fingers"),
    "EyesOpenShut": ("uea_eyes.yaml", "eyes"),
}
_TINY = dict(n_codes=64, emb_size=32, decoder_depth=1, freq_depth=1, temporal_depth=1, restart_after=2)
#: The --quick run: parameters replaced per stage, training / test trials kept per class, seed-ensemble size.
QUICK = {
    "tfm_tokenize": dict(_TINY, epochs=1, max_signals_per_epoch=64, batch_size=64),
    "tfm_pretrain": dict(depth=1, epochs=1),
    "tfm_finetune": dict(epochs=2, patience=0),
    "tfm_train_tokenizer": dict(_TINY, epochs=1, max_signals_per_epoch=32, max_per_set=200),
}
QUICK_TRIALS = (12, 8)
QUICK_MEMBERS = 2
_PREFIX = "../../../shared/data/"


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _refs(ref) -> list[str]:
    return [ref] if isinstance(ref, str) else list(ref)


def _ancestors(stages: dict, sid: str) -> set[str]:
    """The step ``sid`` and every step it reads from."""
    seen, todo = set(), [sid]
    while todo:
        s = todo.pop()
        if s in seen or s not in stages:
            continue
        seen.add(s)
        todo += [r for ref in stages[s].get("inputs", {}).values() for r in _refs(ref)]
    return seen


def _set_members(stages: dict, k: int) -> None:
    """Every ``tfm_evaluate`` step averages ``k`` pipelines: drop the last ones, or add copies of the first one's
    steps (ids ending ``_0`` -> ``_j``) with its seeds + j."""
    for step in [s for s in stages.values() if s["stage"] == "tfm_evaluate"]:
        models, tokens = _refs(step["inputs"]["model"]), _refs(step["inputs"]["tokens"])
        paired = len(tokens) > 1  # one tokenizer per member, else one shared (frozen) tokenizer
        chain = [models[0], stages[models[0]]["inputs"]["pretrained"]] + ([tokens[0]] if paired else [])
        for j in range(len(models), k):
            new = {sid: sid[: -len("_0")] + f"_{j}" for sid in chain}
            for sid, nid in new.items():
                if not sid.endswith("_0") or nid in stages:
                    raise ValueError(f"The step {sid!r} must end in '_0' (member 0) to be copied for member {j}.")
                clone = copy.deepcopy(stages[sid])
                clone["params"]["seed"] = clone["params"].get("seed", 0) + j
                clone["inputs"] = {n: new.get(r, r) for n, r in clone["inputs"].items()}
                stages[nid] = clone
            models.append(new[models[0]])
            tokens += [new[tokens[0]]] if paired else []
        step["inputs"]["model"] = models[:k]
        step["inputs"]["tokens"] = tokens[:k] if paired else tokens


def _quick_data(folder: Path) -> Path:
    """The four sets with QUICK_TRIALS trials per class (first ones of each split) in the UEA layout."""
    import numpy as np

    for name in CONFIGS:
        src = SHARED_DATA / "uea_eeg" / name
        with np.load(src / f"{name}.npz", allow_pickle=False) as d:
            arrays = {k: d[k] for k in d.files}
        out = {}
        for part, n in zip(("train", "test"), QUICK_TRIALS):
            y = arrays[f"y_{part}"]
            keep = np.concatenate([np.flatnonzero(y == c)[:n] for c in np.unique(y)])
            out.update({f"X_{part}": arrays[f"X_{part}"][keep], f"y_{part}": y[keep]})
        (folder / name).mkdir(parents=True, exist_ok=True)
        np.savez(folder / name / f"{name}.npz", **out)
        (folder / name / f"{name}.json").write_text((src / f"{name}.json").read_text())
    return folder


def _config(name: str, args, quick_root: Path | None) -> dict:
    """The set's config: shared-data paths pointed at SHARED_DATA; seeds, members, device, quick size applied."""
    from neurocodec.pipeline import get_stage, read_yaml

    cfg = read_yaml(ROOT / "configs" / "real" / CONFIGS[name][0])
    cfg.pop("cache", None)
    stages = cfg["stages"]
    for step in stages.values():
        for key, ref in (step.get("inputs") or {}).items():
            if isinstance(ref, str) and ref.startswith(_PREFIX):
                step["inputs"][key] = str(SHARED_DATA / ref[len(_PREFIX) :])
        if step["stage"] == "load_uea_eeg" and quick_root is not None:
            step["inputs"]["root"] = str(quick_root)
        fields = get_stage(step["stage"]).Params.model_fields
        params = step.setdefault("params", {})
        if args.quick:
            params.update(QUICK.get(step["stage"], {}))
        if args.seed and "seed" in fields:
            params["seed"] = params.get("seed", 0) + args.seed
        if "device" in fields:
            params["device"] = args.device
    members = args.members or (QUICK_MEMBERS if args.quick else None)
    if members:
        _set_members(stages, members)
    short = CONFIGS[name][1]
    targets = [f"{short}_eval"] + ([] if args.no_transfer else [f"{short}_transfer_eval"])
    keep = set().union(*(_ancestors(stages, t) for t in targets))
    cfg["stages"] = {sid: step for sid, step in stages.items() if sid in keep}
    return cfg


def _member_rows(arts: dict, cfg: dict, eval_id: str) -> list[dict]:
    stages = cfg["stages"]
    models, tokens = _refs(stages[eval_id]["inputs"]["model"]), _refs(stages[eval_id]["inputs"]["tokens"])
    rows = []
    for model, tokens in zip(models, tokens * len(models) if len(tokens) == 1 else tokens):
        tok, fin = arts[tokens].load("stats")["history"], arts[model].load("history")
        rows.append(
            {
                "seed": stages[model]["params"]["seed"],
                "codebook_active_codes": tok["active_codes"][-1] if tok else None,  # none: a frozen tokenizer
                "codebook_perplexity": tok["perplexity"][-1] if tok else None,
                "best_epoch": fin["best_epoch"],
                "collapse": fin["collapse"],
                "logit_threshold": fin["threshold"],
            }
        )
    return rows


def _args(argv=None):
    return parse_args(
        __doc__.splitlines()[0],
        argv,
        extra=lambda p: (
            p.add_argument("--datasets", default=None),
            p.add_argument("--device", default="cpu"),
            p.add_argument("--seed", type=int, default=0),
            p.add_argument("--members", type=int, default=None, help="Override the configs' seed-ensemble size."),
            p.add_argument("--no-transfer", action="store_true", help="Skip the tfm_transfer rows."),
            p.add_argument("--cache", default=None, help="Artifact cache (default: a new temporary folder)."),
        ),
    )


def main(argv=None) -> dict:
    args = _args(argv)
    import numpy as np
    import torch

    from neurocodec.baselines import MiniRocketClassifier
    from neurocodec.datasets.kinds import EpochsData
    from neurocodec.features.tokenizer import classification_metrics
    from neurocodec.pipeline import ArtifactStore, run_pipeline

    threads = int(os.environ.get("NEUROCODEC_THREADS", "1"))
    torch.set_num_threads(threads)
    names = args.datasets.split(",") if args.datasets else (["EyesOpenShut"] if args.quick else list(CONFIGS))
    for name in names:
        if name not in CONFIGS:
            raise SystemExit(f"The '--datasets' must be among {', '.join(CONFIGS)}, got {name!r}.")
    scratch = tempfile.TemporaryDirectory(prefix="uea_eeg_")
    cache = Path(args.cache) if args.cache else Path(scratch.name if args.quick else tempfile.mkdtemp("_uea_cache"))
    quick_root = _quick_data(Path(scratch.name) / "uea_eeg") if args.quick else None
    store = ArtifactStore(cache)
    out = {"datasets": {}, "quick": args.quick, "seed": args.seed, "threads": threads, "cache": str(cache)}
    t_all, c_all = time.time(), _cpu_s()
    for name in names:
        cfg = _config(name, args, quick_root)
        short = CONFIGS[name][1]
        t0 = time.time()
        summary = run_pipeline(cfg, cache=cache, show_progress=False, report=False)
        if not summary.ok:
            bad = [(r.step_id, r.error) for r in summary.results if r.status not in ("hit", "ran")]
            raise RuntimeError(f"The pipeline {CONFIGS[name][0]} failed: {bad}")
        arts = {r.step_id: store.open(r.stage, r.key) for r in summary.results}
        seconds = {r.step_id: r.seconds for r in summary.results}
        epochs = EpochsData.load(arts[f"uea_{short}"].file("epochs"))
        row = {
            "config": f"configs/real/{CONFIGS[name][0]}",
            "pipeline_wall_s": time.time() - t0,
            "n_train": int((epochs.split == "train").sum()),
            "n_test": int((epochs.split == "test").sum()),
            "n_chans": int(epochs.X.shape[1]),
            "n_times": int(epochs.X.shape[2]),
            "sfreq": epochs.sfreq,
        }
        for key, eval_id in (("tfm", f"{short}_eval"), ("tfm_transfer", f"{short}_transfer_eval")):
            if eval_id not in arts:
                continue
            metrics = arts[eval_id].load("metrics")
            steps = _ancestors(cfg["stages"], eval_id) - {"union_tokenizer"}
            row[key] = {k: metrics[k] for k in ("balanced_accuracy", "kappa", "weighted_f1", "auroc")}
            row[key].update(
                wall_s=sum(seconds[s] for s in steps if cfg["stages"][s]["stage"].startswith("tfm_")),
                n_members=metrics["n_members"],
                member_balanced_accuracy=[m["balanced_accuracy"] for m in metrics["members"]],
                step=eval_id,
            )
            members = _member_rows(arts, cfg, eval_id)
            if key == "tfm":
                row[key]["members"] = members
            else:
                row[key]["n_collapsed"] = sum(bool(m["collapse"]["detected"]) for m in members)
        if "union_tokenizer" in arts and "union_tokenizer" not in out:
            stats = arts["union_tokenizer"].load("stats")
            out["union_tokenizer"] = dict(
                {k: v for k, v in stats.items() if k != "history"}, wall_s=seconds["union_tokenizer"]
            )
        t0, c0 = time.time(), _cpu_s()
        train, test = epochs.split == "train", epochs.split == "test"
        labels = epochs.labels()
        base = MiniRocketClassifier(n_features=1000 if args.quick else 10_000, random_state=args.seed)
        base.fit(epochs.X[train], labels[train])
        row["baseline"] = classification_metrics(
            np.searchsorted(base.classes_, labels[test]), base.predict_proba(epochs.X[test])
        )
        row["baseline"].update(
            wall_s=time.time() - t0, cpu_s=_cpu_s() - c0, method="MiniRocket (numpy) + RidgeClassifierCV"
        )
        out["datasets"][name] = row
        print(
            name,
            json.dumps({k: row[k] for k in ("tfm", "tfm_transfer", "baseline") if k in row}, default=float),
            file=sys.stderr,
            flush=True,
        )
    done = [n for n in names if "tfm_transfer" in out["datasets"][n]]
    if done:
        out["transfer_mean_balanced_accuracy"] = {
            m: float(np.mean([out["datasets"][n][m]["balanced_accuracy"] for n in done]))
            for m in ("tfm", "tfm_transfer")
        }
    out.update(
        n_members=out["datasets"][names[0]]["tfm"]["n_members"],
        wall_s=time.time() - t_all,
        cpu_s=_cpu_s() - c_all,
        peak_rss_mb=peak_rss_mb(),
        load_avg_1min=os.getloadavg()[0],
    )
    result_name = "uea_eeg" + (f"_seed{args.seed}" if args.seed else "")
    if args.members is not None:  # a variant never overwrites the recipe's results
        result_name += f"_x{args.members}"
    result = emit(result_name, out, quick=args.quick)
    scratch.cleanup()
    return result


if __name__ == "__main__":
    main()
