"""RSA of EfficientNet-Lite0 layers vs human IT fMRI RDMs (Kriegeskorte et al. 2008, 92 images).

Runs ``configs/real/kriegeskorte_rsa.yaml`` through the engine (load_kriegeskorte92 -> features -> rsa) and,
beside it, the anchor: a category-model RDM (0 same finest category, 0.5 same animacy, 1 otherwise) scored the
same way. ``--quick`` uses 64-px inputs and two layers.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED_DATA, emit, parse_args, peak_rss_mb  # noqa: E402

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "real" / "kriegeskorte_rsa.yaml"


def category_rdm(categories) -> np.ndarray:
    """0 for pairs of one category (face / body / natural / artificial ...), 0.5 same animacy, 1 otherwise."""
    fine = categories["category"].to_numpy()
    anim = categories["animal"].to_numpy() | categories["human"].to_numpy()
    same_fine, same_anim = fine[:, None] == fine[None, :], anim[:, None] == anim[None, :]
    return np.where(same_fine, 0.0, np.where(same_anim, 0.5, 1.0))


def main(argv=None):
    from neurocodec.datasets import load_kriegeskorte92
    from neurocodec.datasets.kinds import RDMs
    from neurocodec.encoders.rsa import rsa_scores
    from neurocodec.pipeline import ArtifactStore, read_yaml, run_pipeline

    args = parse_args(__doc__.splitlines()[0], argv)
    folder = SHARED_DATA / "kriegeskorte92"
    if not folder.is_dir():
        raise SystemExit(f"real data folder {folder} is absent (set NEUROCODEC_SHARED_DATA)")
    cfg = read_yaml(CONFIG)
    cfg["stages"]["k92"]["inputs"]["root"] = str(folder)
    if args.quick:
        cfg["stages"]["effnet"]["params"].update(layers=["blocks.2", "global_pool"], image_size=64)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as cache:
        summary = run_pipeline(cfg, cache=cache, show_progress=False, report=False)
        if not summary.ok:
            raise SystemExit(f"pipeline failed: {[r.error for r in summary.results if r.error]}")
        store, keys = ArtifactStore(summary.cache), {r.step_id: (r.stage, r.key) for r in summary.results}
        rsa = store.open(*keys["rsa"]).load("summary")
        brain = RDMs.load(store.open(*keys["k92"]).path / "rdms")
    pipeline_s = time.perf_counter() - t0
    data = load_kriegeskorte92(folder)
    anchor_rows, _ = rsa_scores(
        {"category_model": category_rdm(data["categories"])}, brain.matrices, brain.table["subject"]
    )
    return emit(
        "rsa_kriegeskorte",
        dict(
            mean_spearman=dict(rsa["mean_r"]),
            best_layer=rsa["best"],
            best_mean_spearman=rsa["best_mean_r"],
            noise_ceiling=rsa["noise_ceiling"],
            anchors=dict(category_model=float(np.mean([r["r"] for r in anchor_rows]))),
            n_images=rsa["n_stimuli"],
            pipeline_s=pipeline_s,
            peak_rss_mb=peak_rss_mb(),
            quick=bool(args.quick),
            command="python benchmarks/rsa_kriegeskorte.py",
        ),
        quick=args.quick,
    )


if __name__ == "__main__":
    main()
