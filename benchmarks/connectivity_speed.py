"""Tangent-space embedding speed: NeuroCodec vs nilearn ConnectivityMeasure(kind="tangent").

696 subjects x 200 ROIs (ABIDE's shape). Each subject's time series (200 time
points) is drawn from its real ABIDE Schaefer-200 correlation matrix (shrunk
to be positive definite) when ../shared/data is present, else from a simulated
subject-specific covariance. Both implementations get the same series, in the
same run, with the same (Ledoit-Wolf) covariance estimator; the output
tangent matrices are compared on float64.

nilearn is timed twice: as installed (its default BLAS threading; the
``speedup_vs_nilearn`` reference) and with BLAS held to one thread
(``speedup_vs_nilearn_1thread``): on a shared machine multi-threaded OpenBLAS on
200x200 matrices can spin and slow down. NeuroCodec runs batched LAPACK calls on
chunks of subjects in parallel threads (one BLAS thread each), timed in both
``mean_precision`` settings: ``"single"`` (float32 inside the geometric-mean
iterations, float64 mean and outputs; the headline figure) and ``"double"``. The load
average is recorded before and after, since wall times depend on it.

The geometric mean follows nilearn's iterations exactly (gradient descent
from the arithmetic mean, stopped at nilearn's tolerance): nilearn stops while
its mean is still ~1e-4 away from the converged one, so a converged mean, however
fast, would not agree with nilearn within 1e-5.
"""

from __future__ import annotations

import os
import time

import numpy as np

from _common import SHARED_DATA, emit, parse_args, peak_rss_mb


def make_series(n_subjects: int, n_rois: int, n_times: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    path = SHARED_DATA / "abide_schaefer200" / "fc_upper.npz"
    if path.is_file() and n_rois <= 200:
        from neurocodec.features.connectivity import shrink_to_spd, unvectorize

        fc = np.load(path, allow_pickle=False)["fc"][:n_subjects].astype(np.float64)
        corr = unvectorize(fc, discard_diagonal=True)[:, :n_rois, :n_rois]
        covs = shrink_to_spd(corr, "auto", min_eigenvalue=1e-2)[0]
        source = "abide_correlations"
    else:
        base = rng.standard_normal((n_rois, n_rois)) / np.sqrt(n_rois)
        mix = base + 0.5 * rng.standard_normal((n_subjects, n_rois, n_rois)) / np.sqrt(n_rois)
        covs = mix @ np.swapaxes(mix, 1, 2) + 0.1 * np.eye(n_rois)
        source = "simulated"
    chol = np.linalg.cholesky(covs)
    series = [rng.standard_normal((n_times, n_rois)) @ chol[i].T for i in range(len(covs))]
    return series, source


def main(argv=None):
    def extra(p):
        p.add_argument("--n-jobs", type=int, default=None, help="Threads (default: all cores).")
        p.add_argument("--n-subjects", type=int, default=696, help="Subjects (full run).")

    args = parse_args(__doc__.splitlines()[0], argv, extra=extra)
    n_subjects, n_rois, n_times = (40, 30, 50) if args.quick else (args.n_subjects, 200, 200)
    series, source = make_series(n_subjects, n_rois, n_times)

    from nilearn.connectome import ConnectivityMeasure

    from neurocodec.features.connectivity import FunctionalConnectivity

    load_before = os.getloadavg()
    ours_runs = {}
    for precision in ("single", "double"):
        t0, c0 = time.perf_counter(), time.process_time()
        out = FunctionalConnectivity(kind="tangent", mean_precision=precision, n_jobs=args.n_jobs).fit_transform(series)
        ours_runs[precision] = (out, time.perf_counter() - t0, time.process_time() - c0)
    ours, t_ours, c_ours = ours_runs["single"]
    ours_double, t_double, c_double = ours_runs["double"]

    from threadpoolctl import threadpool_limits

    timings = {}
    for label in ("default", "1thread"):
        t0, c0 = time.perf_counter(), time.process_time()
        if label == "default":
            ref = ConnectivityMeasure(kind="tangent").fit_transform(series)
        else:
            with threadpool_limits(1):
                ref_1 = ConnectivityMeasure(kind="tangent").fit_transform(series)
        timings[label] = (time.perf_counter() - t0, time.process_time() - c0)
    load_after = os.getloadavg()
    (t_nilearn, c_nilearn), (t_nilearn_1, c_nilearn_1) = timings["default"], timings["1thread"]

    result = {
        "n_subjects": n_subjects,
        "n_rois": n_rois,
        "n_times": n_times,
        "data": source,
        # NeuroCodec's fast configuration: mean_precision="single" (float32 inside the
        # geometric-mean iterations, float64 mean and outputs); "double" timed too
        "neurocodec_mean_precision": "single",
        "neurocodec_s": round(t_ours, 3),
        "neurocodec_double_s": round(t_double, 3),
        "nilearn_s": round(t_nilearn, 3),
        "nilearn_1thread_s": round(t_nilearn_1, 3),
        # CPU seconds (all threads): less sensitive than wall time to other jobs sharing the cores
        "neurocodec_cpu_s": round(c_ours, 3),
        "nilearn_cpu_s": round(c_nilearn, 3),
        "nilearn_1thread_cpu_s": round(c_nilearn_1, 3),
        "speedup_vs_nilearn": round(t_nilearn / t_ours, 2),
        "speedup_vs_nilearn_1thread": round(t_nilearn_1 / t_ours, 2),
        "speedup_vs_nilearn_double": round(t_nilearn / t_double, 2),
        "speedup_vs_nilearn_1thread_double": round(t_nilearn_1 / t_double, 2),
        "neurocodec_double_cpu_s": round(c_double, 3),
        # the worse of both NeuroCodec configurations against both nilearn runs
        "max_abs_diff": float(max(np.abs(o - r).max() for o in (ours, ours_double) for r in (ref, ref_1))),
        "max_abs_diff_single": float(max(np.abs(ours - ref).max(), np.abs(ours - ref_1).max())),
        "max_abs_diff_double": float(max(np.abs(ours_double - ref).max(), np.abs(ours_double - ref_1).max())),
        # Riemannian gradient left at the shared (nilearn-rule) mean: the mean tangent matrix (0 when converged)
        "gradient_norm_at_mean": float(np.linalg.norm(ours.mean(axis=0))),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "n_cpus": os.cpu_count(),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    return emit("connectivity_speed", result, quick=args.quick)


if __name__ == "__main__":
    main()
