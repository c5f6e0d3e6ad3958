"""Every pipeline in configs/real plans against ../shared/data (kinds, params, files), and the cheap ones run.

The heavy ones (ABIDE, Bonn, UEA) run in their benchmarks (``--quick`` in their own tests); here each is planned
with every input present, so a kind or parameter error cannot hide until a benchmark runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from neurocodec.pipeline import pipeline_status, read_yaml, run_pipeline

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs" / "real").glob("*.yaml"))


def _with_data(path: Path, shared: Path) -> dict:
    """The config with its ../shared/data paths pointed at ``shared`` (NEUROCODEC_SHARED_DATA)."""
    cfg = read_yaml(path)
    for step in cfg["stages"].values():
        for name, ref in step.get("inputs", {}).items():
            if isinstance(ref, str) and "shared/data/" in ref:
                step["inputs"][name] = str(shared / ref.split("shared/data/", 1)[1])
    return cfg


@pytest.mark.realdata
@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_real_config_plans_with_every_input(path, shared_data, tmp_path):
    rows = pipeline_status(_with_data(path, shared_data), cache=tmp_path / "cache")
    assert rows and not [r["missing"] for r in rows if r["missing"]]


@pytest.mark.realdata
@pytest.mark.slow
def test_recordings_config_runs(shared_data, tmp_path):
    cfg = _with_data(Path(CONFIGS[0]).parent / "recordings_eeg.yaml", shared_data)
    cfg["stages"]["eeglab_tokens"]["params"].update(epochs=1, max_signals_per_epoch=64, n_codes=16)
    s = run_pipeline(cfg, cache=tmp_path / "cache", show_progress=False, report=False)
    assert s.ok, {r.step_id: r.error for r in s.results if r.error}
