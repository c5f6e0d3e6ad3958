"""Running a whole config: plan, select steps, execute, record the run."""

from __future__ import annotations

import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._config import Plan, plan_run
from ._errors import ConfigError
from ._execute import LocalExecutor, StepResult, make_executor
from ._io import save_json
from ._store import ArtifactStore

__all__ = ["RunSummary", "resolve_cache", "run_pipeline", "pipeline_status", "step_payload"]

log = logging.getLogger("neurocodec")


def resolve_cache(cli_cache: str | None, plan_or_config_cache: str | None, base_dir: Path | None = None) -> Path:
    """Cache root: ``--cache`` > ``NEUROCODEC_CACHE`` > config ``cache`` > ``./.neurocodec/cache``."""
    if cli_cache:
        return Path(cli_cache).expanduser().absolute()
    if os.environ.get("NEUROCODEC_CACHE"):
        return Path(os.environ["NEUROCODEC_CACHE"]).expanduser().absolute()
    if plan_or_config_cache:
        return Path(plan_or_config_cache).expanduser().absolute()
    return (Path.cwd() / ".neurocodec" / "cache").absolute()


@dataclass
class RunSummary:
    """What a run did."""

    run_id: str
    name: str
    cache: Path
    results: list[StepResult]
    seconds: float
    record: Path | None = None
    report: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(r.status in ("hit", "ran") for r in self.results)

    def table(self) -> str:
        rows = [("step", "stage", "status", "seconds", "key")]
        rows += [(r.step_id, r.stage, r.status, f"{r.seconds:.2f}", r.key[:12]) for r in self.results]
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
        counts = {s: sum(r.status == s for r in self.results) for s in ("ran", "hit", "failed", "skipped")}
        lines.append(
            f"{counts['ran']} ran, {counts['hit']} cached, {counts['failed']} failed, {counts['skipped']} skipped "
            f"in {self.seconds:.2f} s (cache {self.cache})"
        )
        return "\n".join(lines)


def step_payload(plan: Plan, sid: str) -> dict[str, Any]:
    """Plain-data description of a planned step, as sent to executors."""
    s = plan.steps[sid]
    stage_keys = {}
    for kind, ref in s.inputs.values():
        if kind in ("artifact", "artifacts"):
            for r in [ref] if kind == "artifact" else ref:
                stage_keys[r] = (plan.steps[r].stage, plan.steps[r].key)
    inputs = {n: (k, str(v) if k == "path" else v) for n, (k, v) in s.inputs.items()}
    return {
        "step_id": sid,
        "stage": s.stage,
        "params": s.params,
        "inputs": inputs,
        "key": s.key,
        "key_doc": s.key_doc,
        "stage_keys": stage_keys,
        "kinds": {name: dict(refs) for name, refs in s.kinds.items()},
        "upstream": list(s.upstream),
    }


def _select(plan: Plan, until: str | None, force: list[str]) -> tuple[list[str], set[str]]:
    for name, value in [("--until", until)] + [("--force", f) for f in force]:
        if value is not None and value not in plan.steps:
            raise ConfigError(f"The '{name}' must name a step of the config ({', '.join(plan.order)}), got {value!r}.")
    order = plan.order
    if until is not None:
        keep = plan.ancestors(until) | {until}
        order = [s for s in order if s in keep]
    forced: set[str] = set()
    for f in force:
        forced |= {f} | plan.descendants(f)
    return order, forced & set(order)


def run_pipeline(
    config: str | Path | dict[str, Any],
    cache: str | Path | None = None,
    executor: str = "local",
    force: list[str] | None = None,
    until: str | None = None,
    on_error: str = "abort",
    show_progress: bool = True,
    report: bool | None = None,
) -> RunSummary:
    """Run a config; return a :class:`RunSummary` (also written as a run record).

    Parameters
    ----------
    config : path or dict
        Run config.
    cache : path, optional
        Store root (see :func:`resolve_cache`).
    executor : str
        ``"local"``, ``"dask"`` or ``"dask:ADDRESS"``.
    force : list of str
        Step ids to recompute (with everything downstream of them).
    until : str, optional
        Run only this step and its ancestors.
    on_error : {"abort", "continue"}
        On a failure, stop (``abort``) or keep running the steps that do not
        depend on the failed one (``continue``).
    report : bool, optional
        Write ``report.html`` (default: the config's ``report`` option).
    """
    if on_error not in ("abort", "continue"):
        raise ConfigError(f"The '--on-error' must be abort or continue, got {on_error!r}.")
    t0 = time.perf_counter()
    from ._config import load_config

    cfg, _ = load_config(config)
    root = resolve_cache(str(cache) if cache else None, cfg.cache)
    root.mkdir(parents=True, exist_ok=True)
    plan = plan_run(config, root)
    order, forced = _select(plan, until, force or [])
    payloads = [step_payload(plan, s) for s in order]
    ex = make_executor(executor)

    def _log(res: StepResult) -> None:
        msg = {"hit": "reused", "ran": "ran", "failed": "FAILED", "skipped": "skipped"}[res.status]
        log.info("%-24s %-8s %6.2f s  %s", res.step_id, msg, res.seconds, res.key[:12])
        if res.status == "failed":
            first, _, rest = (res.error or "").partition("\n")
            log.error("%s failed: %s", res.step_id, first)
            if rest.strip():  # the traceback: with -v, and always in the run record (run.json)
                log.debug("%s", rest.rstrip())

    try:
        results = ex.run(str(root), payloads, forced, on_error, show_progress, _log)
    finally:
        ex.close()
    run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]
    summary = RunSummary(run_id, cfg.name, root, results, time.perf_counter() - t0)
    record_dir = ArtifactStore(root).runs_dir / run_id
    record_dir.mkdir(parents=True, exist_ok=True)
    summary.record = save_json(
        record_dir / "run.json",
        {
            "run_id": run_id,
            "name": cfg.name,
            "config_path": None if isinstance(config, dict) else str(Path(config).absolute()),
            "config": cfg.model_dump(mode="json"),
            "executor": executor,
            "cache": str(root),
            "seconds": round(summary.seconds, 4),
            "order": order,
            "steps": [r.to_dict() for r in results],
        },
    )
    want_report = cfg.report if report is None else report
    if want_report and summary.ok:
        summary.report = _maybe_report(summary)
    return summary


def _maybe_report(summary: RunSummary) -> Path | None:
    """Write the run's HTML report when the report module is available."""
    try:
        from .report import write_report
    except ImportError:
        return None
    return write_report(summary.record)


def pipeline_status(config: str | Path | dict[str, Any], cache: str | Path | None = None) -> list[dict[str, Any]]:
    """For each step: cached or not, key, size, and missing inputs (no computation)."""
    from ._config import load_config

    cfg, _ = load_config(config)
    root = resolve_cache(str(cache) if cache else None, cfg.cache)
    plan = plan_run(config, root if root.exists() else None, check_paths=False)
    store = ArtifactStore(root)
    rows = []
    for sid in plan.order:
        s = plan.steps[sid]
        art = store.open(s.stage, s.key) if not s.missing else None
        rows.append({
            "step_id": sid,
            "stage": s.stage,
            "key": s.key,
            "cached": art is not None and not store.verify(art),
            "size_bytes": store.size_bytes(art) if art else 0,
            "missing": list(s.missing),
            "blocked_by": sorted(u for u in plan.ancestors(sid) if plan.steps[u].missing),
        })
    return rows
