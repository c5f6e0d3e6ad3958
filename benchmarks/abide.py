"""ABIDE-I autism vs controls from Schaefer-200 correlation matrices: configs/abide.yaml through the engine.

696 subjects from 16 sites (../shared/data/abide_schaefer200: upper triangles of
Pearson correlation matrices + phenotypes). The config loads the matrices
(``load_abide`` with ``data: matrices``, the connectomes kind) and runs
``predict_phenotype`` (the ConnectomeClassifier on the correlation matrices:
Fisher-z edges, standardised, l2-logistic C = 0.01) leave-one-site-out.
Every fitted step sees the training sites only.

The previous default of this benchmark, an unselected 80-config kernel-ridge
ensemble (clean figure: mean accuracy 0.649), and how it compared with this
simple recipe on other ABIDE sites, are documented in docs/benchmarks.md.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from _common import SHARED_DATA, emit, parse_args, peak_rss_mb

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "abide.yaml"
QUICK_SITES = ["CALTECH", "OHSU", "SDSU"]


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv)
    from neurocodec.pipeline import ArtifactStore, load_json, load_table, read_yaml, run_pipeline

    cfg = read_yaml(CONFIG)
    cfg["stages"]["abide"]["inputs"]["root"] = str(SHARED_DATA / "abide_schaefer200")
    if args.quick:
        cfg["stages"]["abide"]["params"]["sites"] = QUICK_SITES
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as cache:
        summary = run_pipeline(cfg, cache=cache, show_progress=False, report=False)
        if not summary.ok:
            raise SystemExit("pipeline failed: " + "; ".join(r.error for r in summary.results if r.error))
        key = {r.step_id: r.key for r in summary.results}["loso"]
        art = ArtifactStore(cache).open("predict_phenotype", key)
        metrics = load_json(art.file("metrics"))
        per_site = load_table(art.file("per_site"))
    result = {
        k: metrics[k]
        for k in (
            "mean_accuracy",
            "mean_auc",
            "pooled_accuracy",
            "pooled_auc",
            "n_sites",
            "n_sites_auc_defined",
            "auc_undefined",
            "n_subjects",
            "final_model",
        )
    }
    result["per_site"] = {
        r.site: {
            "n_subjects": int(r.n_subjects),
            "accuracy": round(float(r.accuracy), 4),
            "auc": None if r.auc != r.auc else round(float(r.auc), 4),
        }
        for r in per_site.itertuples()
    }
    result["model"] = cfg["stages"]["loso"]["params"]
    result.update(seconds=round(time.perf_counter() - t0, 1), peak_rss_mb=round(peak_rss_mb(), 1))
    return emit("abide", result, quick=args.quick)


if __name__ == "__main__":
    main()
