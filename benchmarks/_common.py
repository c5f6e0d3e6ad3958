"""Shared helpers for benchmarks: argument parsing, peak memory, JSON output.

Every benchmark prints one JSON object as its last stdout line and writes it to
``benchmarks/results/NAME.json`` (not committed). ``--quick`` runs a
seconds-long smoke version that the test suite exercises.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
#: ../shared/data beside the checkout (override with NEUROCODEC_SHARED_DATA).
SHARED_DATA = Path(
    os.environ.get("NEUROCODEC_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data")
)


def parse_args(description: str, argv=None, extra=None) -> argparse.Namespace:
    """Parse ``--quick`` (and extra options added by ``extra(parser)``)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="Seconds-long smoke run.")
    if extra is not None:
        extra(p)
    return p.parse_args(argv)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def emit(name: str, result: dict, quick: bool = False) -> dict:
    """Write ``results/NAME.json`` (``NAME.quick.json`` for quick runs) and print it as the last line."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = ".quick.json" if quick else ".json"
    text = json.dumps(result, sort_keys=True, default=float)
    (RESULTS / f"{name}{suffix}").write_text(text + "\n")
    sys.stdout.flush()
    print(text)
    return result
