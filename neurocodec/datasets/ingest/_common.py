"""Helpers shared by the ingest stages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...pipeline import bad_value


def expand_files(path: Path | None, pattern: str, *, name: str) -> list[Path]:
    """A file, or the sorted files of a folder matching ``pattern`` (recursive glob)."""
    if path is None:
        return []
    path = Path(path)
    if path.is_file():
        return [path]
    files = sorted(p for p in path.glob(pattern) if p.is_file())
    if not files:
        raise bad_value(
            name,
            f"a file or a folder with files matching {pattern!r}",
            f"<nothing matches in {str(path)!r}>",
            exc=FileNotFoundError,
        )
    return files


def artifact_files(artifact: Any, pattern: str, *, name: str) -> list[Path]:
    """Files of an upstream artifact matching ``pattern``."""
    files = sorted(p for p in Path(artifact.path).glob(pattern) if p.is_file())
    if not files:
        raise bad_value(
            name,
            f"an artifact holding files matching {pattern!r}",
            f"<{artifact.stage}/{artifact.key[:12]} without such files>",
        )
    return files


def table_files(artifact: Any, pattern: str, *, name: str) -> list[Path]:
    """Files of a ``file_table`` artifact (its ``path`` column) matching ``pattern``, all of one subject."""
    from fnmatch import fnmatch

    import pandas as pd

    table = pd.read_csv(artifact.kind_path, sep="\t", dtype=str, keep_default_na=False)
    rows = table[[fnmatch(Path(f).as_posix(), pattern) for f in table["path"]]]
    if rows.empty:
        raise bad_value(
            name,
            f"a file table listing files matching {pattern!r}",
            f"<{artifact.stage}/{artifact.key[:12]} without such files>",
        )
    subjects = sorted(set(rows["subject"])) if "subject" in rows else []
    if len(subjects) > 1:
        raise bad_value(
            name, "a file table of one subject (select it with bids_inputs' 'subjects')", f"<subjects {subjects}>"
        )
    return sorted(Path(f) for f in rows["path"])


def one_source(inputs: dict, names: tuple[str, str]) -> str:
    """Exactly one of two alternative inputs must be given; return its name."""
    given = [n for n in names if n in inputs]
    if len(given) != 1:
        raise bad_value("inputs", f"exactly one of {names[0]!r} or {names[1]!r}", f"<{given or 'neither'}>")
    return given[0]


def info_section(title: str, artifact: Any, output: str, keys: tuple[str, ...], caption: str = "") -> Any:
    """Report section: a two-column table of selected fields of a JSON output."""
    from ...pipeline.report import Section, Table

    info = artifact.load(output)
    rows = []
    for k in keys:
        if k in info:
            v = info[k]
            if isinstance(v, (list, dict)) and len(str(v)) > 120:
                v = f"{type(v).__name__} of {len(v)}"
            rows.append([k, str(v)])
    return Section(title, [Table(["field", "value"], rows, caption=caption)])
