"""Running planned steps: the per-step cache protocol, and the executors.

:func:`execute_step` is the one place that decides hit or recompute; the local
and Dask executors both call it, so they share cache semantics exactly.
Stages fan work out inside themselves with :func:`parallel_map`, which runs
serially in a local run and as Dask tasks on a Dask run.
"""

from __future__ import annotations

import contextvars
import logging
import os
import platform
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from ._errors import StageError
from ._registry import get_stage
from ._store import ArtifactStore

__all__ = [
    "StepResult",
    "execute_step",
    "LocalExecutor",
    "DaskExecutor",
    "make_executor",
    "parallel_map",
    "progress",
]

log = logging.getLogger("neurocodec")

#: "local" or "dask": how parallel_map fans out inside the current stage.
_FANOUT: contextvars.ContextVar[str] = contextvars.ContextVar("neurocodec_fanout", default="local")
_SHOW_PROGRESS: contextvars.ContextVar[bool] = contextvars.ContextVar("neurocodec_progress", default=True)


def progress(iterable: Iterable[Any], desc: str = "", total: int | None = None) -> Iterable[Any]:
    """Wrap ``iterable`` in a progress bar (to stderr) when progress is enabled."""
    if not _SHOW_PROGRESS.get():
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, leave=False, file=sys.stderr, mininterval=0.5)


def parallel_map(fn: Callable[[Any], Any], items: Sequence[Any], desc: str = "") -> list[Any]:
    """Apply ``fn`` to each item, in parallel on the Dask cluster of a Dask run.

    ``fn`` must be a picklable (module-level) function and its results small or
    arrays; order is preserved.
    """
    items = list(items)
    if _FANOUT.get() == "dask" and len(items) > 1:
        from distributed import worker_client

        with worker_client() as client:
            futures = client.map(fn, items, pure=False)
            return client.gather(futures)
    return [fn(item) for item in progress(items, desc=desc, total=len(items))]


@dataclass
class StepResult:
    """Outcome of one step."""

    step_id: str
    stage: str
    key: str
    status: str  # "hit", "ran", "failed", "skipped"
    seconds: float = 0.0
    error: str = ""
    size_bytes: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _git_sha() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def _package_version() -> str:
    try:
        return version("neurocodec")
    except PackageNotFoundError:
        return "unknown"


def execute_step(
    store_root: str,
    step: dict[str, Any],
    force: bool = False,
    fanout: str = "local",
    show_progress: bool = True,
) -> StepResult:
    """Bring one step's artifact into the store (cache hit or computation).

    Parameters
    ----------
    store_root : str
        Artifact store root.
    step : dict
        ``PlannedStep`` fields: ``step_id``, ``stage``, ``params``, ``inputs``,
        ``key``, ``key_doc``, ``stage_keys`` (step id -> (stage, key) of
        upstream steps).
    force : bool
        Recompute even when a valid artifact exists.
    """
    _FANOUT.set(fanout)
    _SHOW_PROGRESS.set(show_progress)
    store = ArtifactStore(store_root)
    stage_cls = get_stage(step["stage"])
    key = step["key"]
    t0 = time.perf_counter()
    with store.lock(stage_cls.name, key):
        if not force:
            art = store.open(stage_cls.name, key)
            if art is not None:
                problems = store.verify(art)
                if not problems:
                    return StepResult(
                        step["step_id"],
                        stage_cls.name,
                        key,
                        "hit",
                        time.perf_counter() - t0,
                        size_bytes=store.size_bytes(art),
                    )
                log.warning(
                    "%s: cached artifact %s is corrupted (%s); recomputing.",
                    step["step_id"],
                    key[:12],
                    "; ".join(problems),
                )
        store.remove_stale_tmp(stage_cls.name, key)
        inputs: dict[str, Any] = {}
        for name, (kind, ref) in step["inputs"].items():
            if kind == "path":
                inputs[name] = Path(ref)
                continue
            refs = [ref] if kind == "artifact" else list(ref)
            arts = []
            for r in refs:
                up_stage, up_key = step["stage_keys"][r]
                art = store.open(up_stage, up_key)
                if art is None:
                    raise StageError(f"Upstream step {r!r} of {step['step_id']!r} has no artifact {up_key[:12]}.")
                up_kind = step.get("kinds", {}).get(name, {}).get(r)
                arts.append(art.as_kind(up_kind, get_stage(up_stage).kind_output(up_kind).path) if up_kind else art)
            inputs[name] = arts[0] if kind == "artifact" else arts
        params = stage_cls.Params.model_validate(step["params"])
        tmp = store.new_tmp_dir(stage_cls.name, key)
        try:
            stage_cls().run(params, inputs, tmp)
            missing = [o.path for o in stage_cls.outputs.values() if not (tmp / o.path).exists()]
            if missing:
                raise StageError(f"Stage {stage_cls.name!r} did not write its declared outputs {missing}.")
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        seconds = time.perf_counter() - t0
        manifest = {
            "step_id": step["step_id"],
            "stage": stage_cls.name,
            "key": key,
            "key_inputs": step["key_doc"],
            "params": step["params"],
            "declared_outputs": {n: o.path for n, o in stage_cls.outputs.items()},
            "kinds": {k: stage_cls.kind_output(k).path for k in stage_cls.wired_kinds(params, inputs)},
            "upstream": {r: list(v) for r, v in step["stage_keys"].items()},
            "timings": {"run_s": round(seconds, 4)},
            "neurocodec_version": _package_version(),
            "git_sha": _git_sha(),
            "python": platform.python_version(),
            "host": platform.node(),
        }
        art = store.commit(tmp, stage_cls.name, key, manifest)
    return StepResult(step["step_id"], stage_cls.name, key, "ran", seconds, size_bytes=store.size_bytes(art))


def _safe_execute(*args: Any, **kwargs: Any) -> StepResult:
    step = args[1]
    try:
        return execute_step(*args, **kwargs)
    except Exception as err:  # reported in the run summary
        tb = traceback.format_exc(limit=8)
        log.debug(tb)
        return StepResult(
            step["step_id"], step["stage"], step["key"], "failed", error=f"{type(err).__name__}: {err}\n{tb}"
        )


class LocalExecutor:
    """Runs steps one after the other in this process."""

    name = "local"

    def run(
        self,
        store_root: str,
        steps: list[dict[str, Any]],
        force: set[str],
        on_error: str,
        show_progress: bool = True,
        on_result: Callable[[StepResult], None] | None = None,
    ) -> list[StepResult]:
        results: dict[str, StepResult] = {}
        for step in steps:
            bad = [u for u in step["upstream"] if results[u].status in ("failed", "skipped")]
            if bad:
                res = StepResult(step["step_id"], step["stage"], step["key"], "skipped", error=f"upstream {bad} failed")
            elif any(r.status == "failed" for r in results.values()) and on_error == "abort":
                res = StepResult(step["step_id"], step["stage"], step["key"], "skipped", error="run aborted")
            else:
                log.info("%s (%s) ...", step["step_id"], step["stage"])
                res = _safe_execute(store_root, step, step["step_id"] in force, "local", show_progress)
            results[step["step_id"]] = res
            if on_result:
                on_result(res)
        return list(results.values())

    def close(self) -> None:
        pass


def _dask_task(
    store_root: str, step: dict[str, Any], force: bool, show_progress: bool, *upstream: StepResult
) -> StepResult:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    bad = [u.step_id for u in upstream if u.status in ("failed", "skipped")]
    if bad:
        return StepResult(step["step_id"], step["stage"], step["key"], "skipped", error=f"upstream {bad} failed")
    return _safe_execute(store_root, step, force, "dask", False)


class DaskExecutor:
    """Runs independent steps concurrently on a ``dask.distributed`` cluster.

    Parameters
    ----------
    address : str, optional
        Scheduler address; a ``LocalCluster`` is started when omitted.
    n_workers : int, optional
        Workers of the local cluster (default: CPU count, at most 4).
    """

    name = "dask"

    def __init__(self, address: str | None = None, n_workers: int | None = None):
        from distributed import Client, LocalCluster

        for name in list(logging.root.manager.loggerDict):
            if name.startswith(("distributed", "bokeh", "tornado")):
                logging.getLogger(name).setLevel(logging.WARNING)
        self.address = address
        self._cluster = None
        if address:
            self.client = Client(address)
        else:
            n = n_workers or max(1, min(4, os.cpu_count() or 1))
            self._cluster = LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
                env={"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
            )
            self.client = Client(self._cluster)

    def run(
        self,
        store_root: str,
        steps: list[dict[str, Any]],
        force: set[str],
        on_error: str,
        show_progress: bool = True,
        on_result: Callable[[StepResult], None] | None = None,
    ) -> list[StepResult]:
        from distributed import as_completed

        futures: dict[str, Any] = {}
        for step in steps:
            deps = [futures[u] for u in step["upstream"]]
            futures[step["step_id"]] = self.client.submit(
                _dask_task,
                store_root,
                step,
                step["step_id"] in force,
                show_progress,
                *deps,
                key=f"{step['step_id']}-{step['key'][:12]}-{os.urandom(4).hex()}",
                pure=False,
            )
        results: dict[str, StepResult] = {}
        by_future = {f.key: sid for sid, f in futures.items()}
        for fut in as_completed(list(futures.values())):
            res = fut.result()
            results[by_future[fut.key]] = res
            if on_result:
                on_result(res)
            if res.status == "failed" and on_error == "abort":
                for sid, f in futures.items():
                    if sid not in results:
                        f.cancel()
                        results[sid] = StepResult(sid, "", "", "skipped", error="run aborted")
                break
        order = [s["step_id"] for s in steps]
        stage_of = {s["step_id"]: (s["stage"], s["key"]) for s in steps}
        out = []
        for sid in order:
            r = results[sid]
            if not r.stage:
                r.stage, r.key = stage_of[sid]
            out.append(r)
        return out

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(spec: str) -> LocalExecutor | DaskExecutor:
    """``"local"``, ``"dask"`` (LocalCluster) or ``"dask:ADDRESS"``."""
    if spec == "local":
        return LocalExecutor()
    if spec == "dask":
        return DaskExecutor()
    if spec.startswith("dask:"):
        return DaskExecutor(address=spec[len("dask:") :])
    raise ValueError(f"The '--executor' must be local, dask or dask:ADDRESS, got {spec!r}.")
