"""The tokenizer benchmarks' --quick runs (seconds-long smoke versions of the full runs)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
METRICS = {"balanced_accuracy", "kappa", "weighted_f1", "auroc"}


def _run_bench(name, *args, shared=None):
    env = dict(os.environ, NEUROCODEC_THREADS="1", OMP_NUM_THREADS="1")
    if shared is not None:
        env["NEUROCODEC_SHARED_DATA"] = str(shared)
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / f"{name}.py"), "--quick", *args], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_speed_benchmark_quick():
    res = _run_bench("tokenizer_speed", "--minutes", "0.2", "--threads", "1")
    assert {"channel_hours_per_s", "train_step_s", "peak_rss_mb", "sweep", "fastest", "profile_s"} <= set(res)
    assert res["channel_hours_per_s"] > 0 and res["train_step_s"] > 0
    assert {r["batch_size"] for r in res["sweep"]} >= {16, 64}
    assert set(res["profile_s"]["share"]) == {"stft", "frequency_path", "temporal_path", "quantiser_search"}


@pytest.mark.realdata
@pytest.mark.slow
def test_bonn_benchmark_quick(shared_data):
    res = _run_bench("bonn_eeg", shared=shared_data)
    assert set(res["protocols"]) == {"A_vs_E", "AB_vs_CD_vs_E", "A_B_C_D_E"}
    for row in res["protocols"].values():
        for method in ("tfm", "baseline", "tfm_transfer"):
            assert METRICS <= set(row[method]) and set(row[method]["kappa"]) == {"mean", "sd"}


@pytest.mark.realdata
@pytest.mark.slow
def test_uea_benchmark_quick(shared_data):
    res = _run_bench("uea_eeg", shared=shared_data)
    for row in res["datasets"].values():
        for method in ("tfm", "tfm_transfer", "baseline"):
            assert METRICS <= set(row[method])
    assert set(res["transfer_mean_balanced_accuracy"]) == {"tfm", "tfm_transfer"}
