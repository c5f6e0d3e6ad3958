"""Tangent-space embedding speed: NeuroCodec vs nilearn ConnectivityMeasure(kind="tangent").

The 911 ABIDE-I PCP CC200 subjects (../shared/data/abide_pcp_cc200, 78-316
time points x 200 ROIs, read as they are from timeseries.npz) when present,
else simulated series of the same shape. Every implementation gets the same
series in the same run, with the same (Ledoit-Wolf) covariance estimator.

nilearn is timed twice: as installed (default BLAS threading) and with BLAS held
to one thread, its fastest configuration on this shared machine. NeuroCodec is
timed in three configurations:

* ``neurocodec_s``: the batched path on all cores (``n_jobs=None``) with the
  Anderson-accelerated geometric mean (``mean_solver="anderson"``, float32
  inside the iterations, ``fit_transform`` reusing the last iteration's
  eigendecompositions), the headline figure;
* ``neurocodec_1thread_s``: the same on one thread;
* ``neurocodec_gradient_s``: nilearn's own iterations (``mean_solver="gradient"``,
  float64), all cores: equal to nilearn (``max_abs_diff_gradient``).

Both solvers stop with the same rule as nilearn (gradient norm / n_rois^2 <
1e-7); nilearn stops while its mean is still off the converged one, so the
accuracy of each is measured against a tightly converged mean (tol 1e-10):
``mean_error`` (max abs entry of reference minus converged) and
``tangent_max_abs_diff_vs_nilearn``. The load average is recorded before and
after, since wall times depend on it.
"""

from __future__ import annotations

import os
import time

import numpy as np
from _common import SHARED_DATA, emit, parse_args, peak_rss_mb


def make_series(n_subjects: int | None, n_rois: int, n_times: int, seed: int = 0):
    path = SHARED_DATA / "abide_pcp_cc200" / "timeseries.npz"
    if path.is_file() and n_rois == 200:
        with np.load(path, allow_pickle=False) as z:
            keys = z.files[:n_subjects] if n_subjects else z.files
            return [z[k].astype(np.float64) for k in keys], "abide_pcp_cc200"
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n_rois, n_rois)) / np.sqrt(n_rois)
    series = []
    for _ in range(n_subjects or 911):
        mix = base + 0.5 * rng.standard_normal((n_rois, n_rois)) / np.sqrt(n_rois)
        series.append(rng.standard_normal((n_times, n_rois)) @ mix.T)
    return series, "simulated"


def _timed(fn):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def main(argv=None):
    def extra(p):
        p.add_argument("--n-jobs", type=int, default=None, help="Threads of the batched path (default: all cores).")
        p.add_argument("--n-subjects", type=int, default=None, help="Subjects (default: all 911).")

    args = parse_args(__doc__.splitlines()[0], argv, extra=extra)
    if args.quick:
        series, source = make_series(40, 30, 50)
    else:
        series, source = make_series(args.n_subjects, 200, 200)
    from nilearn.connectome import ConnectivityMeasure
    from threadpoolctl import threadpool_limits

    from neurocodec.features.connectivity import FunctionalConnectivity, covariances, geometric_mean

    fast = dict(kind="tangent", mean_precision="single", mean_solver="anderson")
    # warm-up (imports: torch, scipy's LAPACK wrappers), not timed
    FunctionalConnectivity(**fast, n_jobs=args.n_jobs).fit_transform(series[:8])
    ConnectivityMeasure(kind="tangent").fit_transform(series[:8])
    load_before = os.getloadavg()
    ours, t_ours, c_ours = _timed(lambda: FunctionalConnectivity(**fast, n_jobs=args.n_jobs).fit_transform(series))
    ours_1, t_ours_1, c_ours_1 = _timed(lambda: FunctionalConnectivity(**fast, n_jobs=1).fit_transform(series))
    fc_grad = FunctionalConnectivity(kind="tangent", n_jobs=args.n_jobs)
    grad, t_grad, _ = _timed(lambda: fc_grad.fit_transform(series))
    nil = ConnectivityMeasure(kind="tangent")
    ref, t_nil, c_nil = _timed(lambda: nil.fit_transform(series))

    def one_thread():
        with threadpool_limits(1):
            return ConnectivityMeasure(kind="tangent").fit_transform(series)

    ref_1, t_nil_1, c_nil_1 = _timed(one_thread)
    load_after = os.getloadavg()
    # accuracy against a tightly converged mean (not timed)
    covs = covariances(series)
    converged = geometric_mean(covs, tol=1e-10, max_iter=100, solver="anderson")
    fc_fast = FunctionalConnectivity(**fast, n_jobs=args.n_jobs).fit(series)
    scale = float(np.abs(converged).max())

    result = {
        "n_subjects": len(series),
        "n_rois": int(series[0].shape[1]),
        "n_times_range": [int(min(len(x) for x in series)), int(max(len(x) for x in series))],
        "data": source,
        "neurocodec_config": "mean_solver='anderson', mean_precision='single', n_jobs=all cores",
        "neurocodec_s": round(t_ours, 3),
        "neurocodec_1thread_s": round(t_ours_1, 3),
        "neurocodec_gradient_s": round(t_grad, 3),
        "nilearn_s": round(t_nil, 3),
        "nilearn_1thread_s": round(t_nil_1, 3),
        "neurocodec_cpu_s": round(c_ours, 3),
        "neurocodec_1thread_cpu_s": round(c_ours_1, 3),
        "nilearn_cpu_s": round(c_nil, 3),
        "nilearn_1thread_cpu_s": round(c_nil_1, 3),
        "speedup_vs_nilearn": round(t_nil / t_ours, 2),
        "speedup_vs_nilearn_1thread": round(t_nil_1 / t_ours, 2),
        "speedup_1thread_vs_nilearn_1thread": round(t_nil_1 / t_ours_1, 2),
        "speedup_gradient_vs_nilearn_1thread": round(t_nil_1 / t_grad, 2),
        # nilearn's own iterations reproduced: equal to nilearn
        "max_abs_diff_gradient": float(max(np.abs(grad - ref).max(), np.abs(grad - ref_1).max())),
        # the accelerated solver stops at another point within the same tolerance
        "tangent_max_abs_diff_vs_nilearn": float(np.abs(ours - ref_1).max()),
        "tangent_max_abs_diff_1thread_vs_multi": float(np.abs(ours - ours_1).max()),
        "mean_error_neurocodec": float(np.abs(fc_fast.mean_ - converged).max() / scale),
        "mean_error_nilearn": float(np.abs(nil.mean_ - converged).max() / scale),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "n_cpus": os.cpu_count(),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    return emit("connectivity_speed", result, quick=args.quick)


if __name__ == "__main__":
    main()
