"""The pipeline engine: cache keys, reuse, invalidation, crash safety, concurrency, config errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from neurocodec.pipeline import ArtifactStore, ConfigError, plan_run, run_pipeline

ROOT = Path(__file__).resolve().parent.parent


def _config(tmp_path: Path, **overrides) -> Path:
    cfg = {
        "name": "toy",
        "report": False,
        "stages": {
            "a": {"stage": "toy_make", "params": {"n": 4, "seed": 1}},
            "b": {"stage": "toy_make", "params": {"n": 4, "seed": 2}},
            "sa": {"stage": "toy_scale", "inputs": {"source": "a"}, "params": {"factor": 3}},
            "sb": {"stage": "toy_scale", "inputs": {"source": "b"}},
            "total": {"stage": "toy_sum", "inputs": {"parts": ["sa", "sb"]}},
        },
    }
    for dotted, value in overrides.items():
        node = cfg
        keys = dotted.split("__")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _statuses(summary) -> dict[str, str]:
    return {r.step_id: r.status for r in summary.results}


def test_second_run_is_all_cache_hits(tmp_path):
    cfg = _config(tmp_path)
    first = run_pipeline(cfg, cache=tmp_path / "cache", show_progress=False)
    assert set(_statuses(first).values()) == {"ran"}
    second = run_pipeline(cfg, cache=tmp_path / "cache", show_progress=False)
    assert set(_statuses(second).values()) == {"hit"}
    store = ArtifactStore(tmp_path / "cache")
    total = next(a for a in store.iter_artifacts() if a.stage == "toy_sum").load("total")[0]
    x1 = np.random.default_rng(1).standard_normal(4)
    x2 = np.random.default_rng(2).standard_normal(4)
    assert total == pytest.approx(3 * x1.sum() + 2 * x2.sum())


def test_param_change_reruns_exactly_stage_and_dependents(tmp_path, monkeypatch):
    log = tmp_path / "runs.log"
    monkeypatch.setenv("TOY_RUN_LOG", str(log))
    run_pipeline(_config(tmp_path), cache=tmp_path / "cache", show_progress=False)
    log.write_text("")
    changed = _config(tmp_path, stages__sb__params={"factor": 5.0})
    summary = run_pipeline(changed, cache=tmp_path / "cache", show_progress=False)
    assert _statuses(summary) == {"a": "hit", "b": "hit", "sa": "hit", "sb": "ran", "total": "ran"}
    assert log.read_text().splitlines() == ["toy_scale 5.0"]


def test_runtime_fields_do_not_change_keys(tmp_path):
    k1 = plan_run(_config(tmp_path)).steps["a"].key
    k2 = plan_run(_config(tmp_path, stages__a__params={"n": 4, "seed": 1, "n_jobs": 8})).steps["a"].key
    k3 = plan_run(_config(tmp_path, stages__a__params={"n": 5, "seed": 1})).steps["a"].key
    assert k1 == k2 != k3


def test_key_is_stable_and_covers_version_and_inputs(tmp_path):
    plan = plan_run(_config(tmp_path))
    doc = plan.steps["sa"].key_doc
    assert doc["stage"] == "toy_scale" and doc["version"] == 1
    assert doc["inputs"]["source"] == {"artifact": plan.steps["a"].key}
    assert "numpy" in doc["libraries"] and doc["libraries"]["numpy"].count(".") == 1
    assert plan_run(_config(tmp_path)).steps["total"].key == plan.steps["total"].key


def test_file_input_hash_uses_content_not_mtime(tmp_path):
    extra = tmp_path / "extra.txt"
    extra.write_text("1\n2\n")
    cfg = _config(tmp_path, stages__total__inputs={"parts": ["sa"], "extra": str(extra)})
    cache = tmp_path / "cache"
    cache.mkdir()
    key1 = plan_run(cfg, cache).steps["total"].key
    os.utime(extra, (time.time() + 10, time.time() + 10))
    assert plan_run(cfg, cache).steps["total"].key == key1
    extra.write_text("1\n3\n")
    assert plan_run(cfg, cache).steps["total"].key != key1
    summary = run_pipeline(cfg, cache=cache, show_progress=False)
    assert summary.ok


def test_corrupted_output_is_detected_and_recomputed(tmp_path):
    cfg = _config(tmp_path)
    cache = tmp_path / "cache"
    run_pipeline(cfg, cache=cache, show_progress=False)
    store = ArtifactStore(cache)
    art = next(a for a in store.iter_artifacts() if a.stage == "toy_sum")
    good = art.load("total").copy()
    target = art.file("total")
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF
    target.write_bytes(bytes(data))
    assert store.verify(art)
    summary = run_pipeline(cfg, cache=cache, show_progress=False)
    assert _statuses(summary)["total"] == "ran"
    assert np.array_equal(store.lookup("toy_sum", art.key).load("total"), good)
    # a deleted output is recomputed too
    art.file("total").unlink()
    assert _statuses(run_pipeline(cfg, cache=cache, show_progress=False))["total"] == "ran"


def test_force_and_until(tmp_path):
    cfg = _config(tmp_path)
    cache = tmp_path / "cache"
    s = run_pipeline(cfg, cache=cache, until="sa", show_progress=False)
    assert [r.step_id for r in s.results] == ["a", "sa"] or set(r.step_id for r in s.results) == {"a", "sa"}
    s = run_pipeline(cfg, cache=cache, force=["sa"], show_progress=False)
    st = _statuses(s)
    assert st["sa"] == "ran" and st["total"] == "ran" and st["a"] == "hit" and st["sb"] == "ran"
    with pytest.raises(ConfigError, match="--until"):
        run_pipeline(cfg, cache=cache, until="nope", show_progress=False)


def test_on_error_continue_runs_independent_steps(tmp_path):
    cfg = _config(tmp_path, stages__bad={"stage": "toy_fail"})
    s = run_pipeline(cfg, cache=tmp_path / "c1", on_error="continue", show_progress=False)
    st = _statuses(s)
    assert st["bad"] == "failed" and st["total"] == "ran" and not s.ok
    assert "toy failure" in next(r.error for r in s.results if r.step_id == "bad")
    # nothing partial was left in the store for the failed stage
    assert not list((tmp_path / "c1" / "toy_fail").glob("[0-9a-f]*"))


def test_dask_executor_same_cache_semantics(tmp_path):
    cfg = _config(tmp_path)
    cache = tmp_path / "cache"
    s = run_pipeline(cfg, cache=cache, executor="dask", show_progress=False)
    assert s.ok and set(_statuses(s).values()) == {"ran"}
    local = run_pipeline(cfg, cache=cache, show_progress=False)
    assert set(_statuses(local).values()) == {"hit"}
    assert [r.key for r in s.results] == [r.key for r in local.results]
    s2 = run_pipeline(cfg, cache=cache, executor="dask", show_progress=False)
    assert set(_statuses(s2).values()) == {"hit"}


def _cli(args, env_extra=None, **kw):
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "neurocodec.pipeline.cli", *args], env=env,
                          capture_output=True, text=True, **kw)


def test_kill_minus_9_mid_stage_then_rerun(tmp_path):
    cfg = _config(tmp_path, stages__a__params={"n": 4, "seed": 1, "sleep_s": 30.0})
    cache = tmp_path / "cache"
    env = dict(os.environ)
    proc = subprocess.Popen([sys.executable, "-m", "neurocodec.pipeline.cli", "run", str(cfg), "--cache", str(cache),
                             "--no-progress"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    partial = []
    while time.time() < deadline and not partial:
        partial = list((cache / "toy_make").glob(".tmp/*/values.npy")) if (cache / "toy_make").exists() else []
        time.sleep(0.05)
    assert partial, "stage never started"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    store = ArtifactStore(cache)
    key_a = plan_run(cfg).steps["a"].key
    assert store.open("toy_make", key_a) is None  # nothing partial is visible
    fast = _config(tmp_path, stages__a__params={"n": 4, "seed": 1, "sleep_s": 0.0})
    s = run_pipeline(fast, cache=cache, show_progress=False)
    assert s.ok
    art = store.lookup("toy_make", key_a)
    assert art is not None and art.load("values").shape == (4,)
    assert not list((cache / "toy_make" / ".tmp").glob(f"{key_a}-*"))


def test_two_concurrent_runs_share_one_cache(tmp_path):
    cfg = _config(tmp_path, stages__a__params={"n": 4, "seed": 1, "sleep_s": 1.0})
    cache = tmp_path / "cache"
    cmd = [sys.executable, "-m", "neurocodec.pipeline.cli", "run", str(cfg), "--cache", str(cache), "--no-progress"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    store = ArtifactStore(cache)
    arts = list(store.iter_artifacts())
    assert len(arts) == 5 and all(not store.verify(a) for a in arts)
    # exactly one of the two computed `a`, the other waited on the lock and reused it
    statuses = [next(line.split()[2] for line in o[0].splitlines() if line.startswith("a ")) for o in outs]
    assert sorted(statuses) == ["hit", "ran"], outs


@pytest.mark.parametrize(
    "mutate, key",
    [
        (lambda c: c.update(bogus=1), "bogus"),
        (lambda c: c["stages"]["a"].update(parms={}), "stages.a.parms"),
        (lambda c: c["stages"]["a"]["params"].update(nn=3), "stages.a.params.nn"),
        (lambda c: c["stages"]["a"]["params"].update(n="four"), "stages.a.params.n"),
        (lambda c: c["stages"]["a"]["params"].update(n=-1), "stages.a.params.n"),
        (lambda c: c["stages"]["a"].update(stage="no_such_stage"), "stages.a.stage"),
        (lambda c: c["stages"]["sa"]["inputs"].update(source="ghost"), "stages.sa.inputs.source"),
        (lambda c: c["stages"]["sa"].update(inputs={}), "stages.sa.inputs.source"),
        (lambda c: c["stages"]["sa"]["inputs"].update(source="total"), "stages"),
        (lambda c: c["stages"]["sa"]["inputs"].update(source="sb"), "stages.sa.inputs.source"),
        (lambda c: c["stages"]["sa"]["inputs"].update(other="a"), "stages.sa.inputs.other"),
        (lambda c: c["stages"]["total"]["inputs"].update(extra="/no/such/file.txt"), "stages.total.inputs.extra"),
    ],
    ids=["unknown-top-key", "unknown-step-key", "unknown-param", "wrong-type", "out-of-range", "unknown-stage",
         "missing-input-step", "missing-required-input", "cycle", "wrong-upstream-stage", "unknown-input",
         "missing-file"],
)
def test_malformed_configs_name_the_key(tmp_path, mutate, key):
    cfg = yaml.safe_load(_config(tmp_path).read_text())
    if key == "stages":  # a -> total -> sa -> a
        cfg["stages"] = {
            "a": {"stage": "toy_sum", "inputs": {"parts": ["total"]}},
            "sa": {"stage": "toy_sum", "inputs": {"parts": ["a"]}},
            "total": {"stage": "toy_sum", "inputs": {"parts": ["sa"]}},
        }
    else:
        mutate(cfg)
    with pytest.raises(ConfigError) as info:
        plan_run(cfg)
    msg = str(info.value)
    assert f"'{key}" in msg, msg
    assert msg.count("\n") == 0
    if key == "stages":
        assert "cycle" in msg


def test_cli_status_ls_clean(tmp_path):
    cfg = _config(tmp_path)
    cache = tmp_path / "cache"
    r = _cli(["status", str(cfg), "--cache", str(cache)])
    assert r.returncode == 0 and "0/5 steps cached" in r.stdout, r.stderr
    r = _cli(["run", str(cfg), "--cache", str(cache), "--no-progress"])
    assert r.returncode == 0 and "5 ran" in r.stdout, r.stderr
    r = _cli(["status", str(cfg), "--cache", str(cache)])
    assert "5/5 steps cached" in r.stdout
    r = _cli(["ls", "--cache", str(cache)])
    assert r.stdout.count("toy_make") == 2
    assert "toy_scale" in _cli(["ls", "stages"]).stdout
    r = _cli(["clean", "--cache", str(cache), "--stage", "toy_sum"])
    assert r.returncode == 0 and "Removed 1" in r.stdout
    r = _cli(["run", str(cfg), "--cache", str(cache), "--no-progress"])
    assert "1 ran, 4 cached" in r.stdout
    smaller = _config(tmp_path, stages={"a": {"stage": "toy_make", "params": {"n": 4, "seed": 1}}})
    r = _cli(["clean", "--cache", str(cache), "--unused", str(smaller)])
    assert "Removed 4" in r.stdout
    bad = _cli(["run", str(_config(tmp_path, stages__a__params={"n": "x"})), "--cache", str(cache)])
    assert bad.returncode == 2 and "stages.a.params.n" in bad.stderr


def test_stage_modules_import_cheaply():
    code = ("import sys, neurocodec.pipeline as p; p.load_plugins(); "
            "heavy = [m for m in ('torch', 'mne', 'nilearn', 'diffusers', 'sklearn', 'open_clip') if m in sys.modules]; "
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"stage modules import heavy libraries at top level: {out.stdout}"


def test_one_upstream_step_read_as_two_kinds(tmp_path):
    """Two inputs wired to the same step each get the kind they accept (the simulator's responses and features)."""
    from neurocodec.pipeline import plan_run

    cfg = {"stages": {"sim": {"stage": "simulate_visual_fmri", "params": {"n_subjects": 1, "n_voxels": [20],
                                                                         "n_train_images": 20, "n_test_images": 5}},
                      "enc": {"stage": "fit_encoder", "params": {"cv": 2}, "inputs": {"experiment": "sim", "features": "sim"}}}}
    plan = plan_run(cfg)
    assert plan.steps["enc"].kinds == {"experiment": {"sim": "stimulus_responses"}, "features": {"sim": "stimulus_features"}}
    s = run_pipeline(cfg, cache=tmp_path, show_progress=False, report=False)
    assert s.ok, [r.error for r in s.results]
