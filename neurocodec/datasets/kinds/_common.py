"""What every kind class shares: the kind header JSON and resolving an Artifact or a path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...pipeline import bad_value, load_json, save_json

__all__ = ["kind_root", "write_header", "read_header"]


def kind_root(source: Any) -> Path:
    """The folder (or file) of a kind: an Artifact's ``kind_path`` (else its folder), or a path."""
    if hasattr(source, "manifest") and hasattr(source, "path"):
        return Path(source.kind_path if getattr(source, "kind_path", None) is not None else source.path)
    if isinstance(source, (str, Path)):
        return Path(source)
    raise bad_value("source", "an artifact or a folder path", f"<{type(source).__name__}>", exc=TypeError)


def write_header(folder: Path, kind: str, version: int, **fields: Any) -> Path:
    """Write ``<kind>.json`` = ``{"kind", "version", **fields}`` into ``folder``."""
    return save_json(Path(folder) / f"{kind}.json", {"kind": kind, "version": version, **fields})


def read_header(folder: Path, kind: str, version: int) -> dict[str, Any]:
    """Read and check ``<kind>.json`` of ``folder`` (kind name and format version)."""
    path = Path(folder) / f"{kind}.json"
    if not path.is_file():
        raise bad_value("source", f"a {kind} folder holding {kind}.json", str(folder), exc=FileNotFoundError)
    meta = load_json(path)
    if meta.get("kind") != kind or meta.get("version") != version:
        raise bad_value(
            "source",
            f"a {kind} artifact of format version {version}",
            f"kind {meta.get('kind')!r} version {meta.get('version')!r} in {str(path)!r}",
        )
    return meta
