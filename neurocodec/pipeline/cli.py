"""The ``neurocodec`` command line."""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from pathlib import Path

from ._errors import NeuroCodecError
from ._io import load_json
from ._runner import pipeline_status, resolve_cache, run_pipeline
from ._store import ArtifactStore

__all__ = ["main", "build_parser"]


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="neurocodec", description="Staged brain-data pipelines with cached artifacts.")
    p.add_argument("-v", "--verbose", action="count", default=0, help="More logging (-vv for debug).")
    p.add_argument("-q", "--quiet", action="store_true", help="Only warnings and the summary.")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="Run a config: cached steps are reused, the rest computed.")
    r.add_argument("config", help="YAML run config.")
    r.add_argument(
        "--cache", help="Cache folder (default: NEUROCODEC_CACHE, the config's 'cache', ./.neurocodec/cache)."
    )
    r.add_argument(
        "--force",
        action="append",
        default=[],
        metavar="STEP",
        help="Recompute STEP and everything downstream (repeatable).",
    )
    r.add_argument("--until", metavar="STEP", help="Run only STEP and the steps it needs.")
    r.add_argument("--executor", default="local", help="local (default), dask (LocalCluster) or dask:ADDRESS.")
    r.add_argument(
        "--on-error",
        default="abort",
        choices=["abort", "continue"],
        help="On a failed step: stop, or keep running steps that do not depend on it.",
    )
    r.add_argument("--no-progress", action="store_true", help="Hide progress bars.")
    r.add_argument("--no-report", action="store_true", help="Do not write report.html at the end.")
    r.add_argument("--dry-run", action="store_true", help="Validate and show what would run (same as status).")

    s = sub.add_parser("status", help="Each step: cached or not, key, size, missing inputs.")
    s.add_argument("config")
    s.add_argument("--cache")

    c = sub.add_parser("clean", help="Remove artifacts: of a stage, or those not used by given configs.")
    c.add_argument("--cache")
    c.add_argument("--stage", action="append", default=[], help="Remove every artifact of this stage (repeatable).")
    c.add_argument(
        "--unused",
        action="append",
        default=[],
        metavar="CONFIG",
        help="Remove artifacts not referenced by any of these configs (repeatable).",
    )
    c.add_argument("--tmp", action="store_true", help="Remove leftovers of interrupted runs (temp folders).")

    ls = sub.add_parser("ls", help="List stages (registered) or artifacts (in the cache).")
    ls.add_argument("what", nargs="?", default="artifacts", choices=["artifacts", "stages", "runs"])
    ls.add_argument("--cache")

    rep = sub.add_parser("report", help="Write the HTML report of a run (run id, run folder or run.json).")
    rep.add_argument("run", nargs="?", default="latest")
    rep.add_argument("--cache")
    rep.add_argument("-o", "--output", help="Output HTML path (default: next to the run record).")
    d = sub.add_parser("docs", help="Print (or write) the configuration reference of every stage option.")
    d.add_argument("-o", "--output", help="Write to this file instead of stdout (e.g. docs/configuration.md).")
    return p


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr)
    logging.getLogger("neurocodec").setLevel(level)
    for noisy in ("distributed", "matplotlib", "PIL", "urllib3", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _cmd_status(args: argparse.Namespace) -> int:
    rows = pipeline_status(args.config, args.cache)
    width = max(len(r["step_id"]) for r in rows)
    for r in rows:
        state = (
            "cached"
            if r["cached"]
            else ("missing input" if r["missing"] else ("blocked" if r["blocked_by"] else "to run"))
        )
        size = _human(r["size_bytes"]) if r["cached"] else ""
        print(f"{r['step_id'].ljust(width)}  {r['stage']:<28} {state:<13} {r['key'][:12]}  {size}")
        for m in r["missing"]:
            print(f"{'':{width}}  missing: {m}")
    missing = sum(bool(r["missing"]) for r in rows)
    print(f"{sum(r['cached'] for r in rows)}/{len(rows)} steps cached; {missing} with missing inputs.")
    return 1 if missing else 0


def _cmd_clean(args: argparse.Namespace) -> int:
    root = resolve_cache(args.cache, None)
    store = ArtifactStore(root)
    if not (args.stage or args.unused or args.tmp):
        print("Nothing to do: give --stage STAGE, --unused CONFIG or --tmp.", file=sys.stderr)
        return 2
    keep: set[tuple[str, str]] | None = None
    if args.unused:
        from ._config import plan_run

        keep = set()
        for cfg in args.unused:
            plan = plan_run(cfg, root, check_paths=False)
            keep |= {(s.stage, s.key) for s in plan.steps.values()}
    removed = 0
    freed = 0
    for art in list(store.iter_artifacts()):
        if art.stage in args.stage or (keep is not None and (art.stage, art.key) not in keep):
            freed += store.size_bytes(art)
            store.remove(art.stage, art.key)
            removed += 1
    if args.tmp and root.is_dir():
        for tmp in root.glob("*/.tmp/*"):
            stage, key = tmp.parent.parent.name, tmp.name.split("-")[0]
            lock = store.lock(stage, key)
            try:
                lock.acquire(timeout=0)
            except Exception:
                continue  # a live run is writing it
            try:
                shutil.rmtree(tmp, ignore_errors=True)
                removed += 1
            finally:
                lock.release()
    print(f"Removed {removed} item(s), {_human(freed)} of artifacts, from {root}.")
    return 0


def _cmd_ls(args: argparse.Namespace) -> int:
    if args.what == "stages":
        from ._registry import registered_stages

        for name, cls in registered_stages().items():
            takes = "; ".join(
                f"{i}: {'path' if d.source == 'path' else '|'.join(d.kinds)}" for i, d in cls.inputs.items()
            )
            gives = (
                ", ".join(
                    k + (f" (with {'+'.join(cls.kind_output(k).requires)})" if cls.kind_output(k).requires else "")
                    for k in cls.produced_kinds()
                )
                or "-"
            )
            print(f"{name:<24} v{cls.version}  [{takes or 'no inputs'}] -> {gives}\n{'':<28}{cls.describe()}")
        return 0
    root = resolve_cache(args.cache, None)
    store = ArtifactStore(root)
    if args.what == "runs":
        for run in sorted(store.runs_dir.glob("*/run.json")) if store.runs_dir.is_dir() else []:
            rec = load_json(run)
            n_ran = sum(s["status"] == "ran" for s in rec["steps"])
            print(f"{rec['run_id']}  {rec['name']:<20} {len(rec['steps'])} steps, {n_ran} ran, {rec['seconds']:.1f} s")
        return 0
    total = 0
    for art in store.iter_artifacts():
        size = store.size_bytes(art)
        total += size
        print(f"{art.stage:<30} {art.key[:12]}  {_human(size):>10}  {art.manifest.get('created', '')}")
    print(f"total {_human(total)} in {root}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .report import find_run_record, write_report

    record = find_run_record(args.run, resolve_cache(args.cache, None))
    out = write_report(record, Path(args.output) if args.output else None)
    print(out)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose, args.quiet)
    try:
        if args.command == "run":
            if args.dry_run:
                return _cmd_status(argparse.Namespace(config=args.config, cache=args.cache))
            summary = run_pipeline(
                args.config,
                cache=args.cache,
                executor=args.executor,
                force=args.force,
                until=args.until,
                on_error=args.on_error,
                show_progress=not args.no_progress,
                report=False if args.no_report else None,
            )
            print(summary.table())
            if summary.report:
                print(f"report: {summary.report}")
            return 0 if summary.ok else 1
        if args.command == "status":
            return _cmd_status(args)
        if args.command == "clean":
            return _cmd_clean(args)
        if args.command == "ls":
            return _cmd_ls(args)
        if args.command == "report":
            return _cmd_report(args)
        if args.command == "docs":
            from ._docs import config_reference_markdown

            text = config_reference_markdown()
            if args.output:
                Path(args.output).parent.mkdir(parents=True, exist_ok=True)
                Path(args.output).write_text(text)
            else:
                sys.stdout.write(text)
            return 0
    except NeuroCodecError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
