"""Speed of the simulation suite: demo-sized visual fMRI + resting-state + EEG data.

Prints one JSON object (last stdout line) with ``seconds`` (total wall time of
the three demo-sized simulations, imports of scipy/pandas/skimage/MNE included:
the issue's budget is <= 20 s on 2 cores), the per-simulator times, their
sizes and ``peak_rss_mb``. ``--quick`` runs tiny versions in about a second.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, parse_args, peak_rss_mb  # noqa: E402


def main(argv=None) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv)
    from neurocodec.datasets.simulate import simulate_eeg, simulate_rest_cohort, simulate_visual_experiment

    if args.quick:
        visual_kw = dict(n_subjects=2, n_voxels=[30, 40], image_size=16, n_train_images=20, n_test_images=5)
        rest_kw = dict(n_subjects=6, n_rois=20, n_networks=3, n_differing_edges=3)
        eeg_kw = dict(n_chans=8, sfreq=128.0, duration=10.0)
    else:  # the demo-sized defaults
        visual_kw, rest_kw, eeg_kw = {}, {}, {}
    out = {"quick": bool(args.quick)}
    total = time.perf_counter()
    t = time.perf_counter()
    exp = simulate_visual_experiment(seed=0, **visual_kw)
    out["visual_seconds"] = time.perf_counter() - t
    out["visual_images"] = int(exp.n_images)
    out["visual_voxels"] = int(sum(s.n_voxels for s in exp.subjects.values()))
    t = time.perf_counter()
    cohort = simulate_rest_cohort(seed=0, **rest_kw)
    out["rest_seconds"] = time.perf_counter() - t
    out["rest_subjects"], out["rest_rois"] = len(cohort.timeseries), cohort.n_rois
    t = time.perf_counter()
    rec = simulate_eeg(seed=0, **eeg_kw)
    out["eeg_seconds"] = time.perf_counter() - t
    out["eeg_samples"] = int(rec.raw.n_times * len(rec.raw.ch_names))
    out["seconds"] = time.perf_counter() - total
    out["within_budget_20s"] = out["seconds"] <= 20.0
    out["peak_rss_mb"] = peak_rss_mb()
    return emit(
        "simulate_speed", {k: (round(v, 3) if isinstance(v, float) else v) for k, v in out.items()}, quick=args.quick
    )


if __name__ == "__main__":
    main()
