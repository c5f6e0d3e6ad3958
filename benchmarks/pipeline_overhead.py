"""Pipeline overhead: a cold run of the demo, then a warm run that must be all cache hits.

JSON keys: ``cold_s`` (first run, empty cache), ``warm_s`` (second run, wall time of the
whole ``neurocodec run`` command), ``warnings_printed`` (warning lines in the cold run's console
output: Python warnings and logged warnings), plus ``warm_all_hits``. ``--quick`` runs only the
first demo step.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, parse_args  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NEUROCODEC = Path(sys.executable).with_name("neurocodec")


def _warning_lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if "Warning" in ln or ln.lower().startswith("warning")]


def _run(config: Path, cache: Path, extra: list[str]) -> tuple[float, str]:
    cmd = [str(NEUROCODEC), "run", str(config), "--cache", str(cache), "--no-progress", *extra]
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    dt = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stdout}\n{out.stderr}")
    return dt, out.stdout + out.stderr


def main(argv=None) -> dict:
    args = parse_args(__doc__, argv, lambda p: p.add_argument("--config", default=str(ROOT / "configs" / "demo.yaml")))
    config = Path(args.config)
    extra: list[str] = []
    if args.quick:
        from neurocodec.pipeline import plan_run

        extra = ["--until", plan_run(config, check_paths=False).order[0]]
    with tempfile.TemporaryDirectory(prefix="nc-overhead-") as tmp:
        cache = Path(tmp) / "cache"
        cold, cold_out = _run(config, cache, extra)
        warm, out = _run(config, cache, extra)
    summary = next(line for line in reversed(out.strip().splitlines()) if " ran, " in line)
    all_hits = summary.startswith("0 ran,") and " 0 failed" in summary
    warned = _warning_lines(cold_out)
    return emit(
        "pipeline_overhead",
        {
            "cold_s": round(cold, 3),
            "warm_s": round(warm, 3),
            "warm_all_hits": all_hits,
            "warnings_printed": len(warned),
            "warnings": warned[:20],
            "config": config.name,
            "quick": args.quick,
        },
        quick=args.quick,
    )


if __name__ == "__main__":
    main()
