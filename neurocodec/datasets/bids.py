"""BIDS discovery: subjects / sessions / tasks / runs of a raw or derivatives dataset, and
per-subject pipeline inputs built from them (mne-bids' path matching; MNE-free otherwise).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..pipeline import bad_value

__all__ = ["bids_entities", "find_bids_files", "bids_pipeline_steps"]

_ENTITIES = {
    "subject": "sub",
    "session": "ses",
    "task": "task",
    "run": "run",
    "acquisition": "acq",
    "space": "space",
    "description": "desc",
}


def _root(root: Any) -> Path:
    root = Path(root).expanduser()
    if not root.is_dir():
        raise bad_value("root", "an existing BIDS folder", str(root), exc=FileNotFoundError)
    if not any(root.glob("sub-*")):
        raise bad_value("root", "a BIDS folder with sub-* folders", f"<{str(root)!r} has none>", exc=FileNotFoundError)
    return root


def bids_entities(root: Any) -> dict[str, list[str]]:
    """Values of subject, session, task, run, acquisition, space, description and datatype found under ``root``.

    ``root`` may be a raw dataset or a derivatives folder (e.g. ``derivatives/fmriprep``).
    """
    from mne_bids import get_entity_vals

    root = _root(root)
    out = {
        name: list(
            get_entity_vals(
                root,
                name,
                ignore_dirs=("sourcedata",) if "derivatives" in root.parts else ("derivatives", "sourcedata"),
            )
        )
        for name in _ENTITIES
    }
    out["datatype"] = sorted(
        {
            p.name
            for s in root.glob("sub-*")
            for p in list(s.iterdir()) + list(s.glob("ses-*/*"))
            if p.is_dir() and not p.name.startswith("ses-")
        }
    )
    return out


def find_bids_files(
    root: Any,
    *,
    subjects: Sequence[str] | None = None,
    sessions: Sequence[str] | None = None,
    tasks: Sequence[str] | None = None,
    runs: Sequence[str] | None = None,
    datatypes: Sequence[str] | None = None,
    suffixes: Sequence[str] | None = None,
    extensions: Sequence[str] | None = None,
    spaces: Sequence[str] | None = None,
    descriptions: Sequence[str] | None = None,
):
    """Files matching the given entities, one row each.

    Returns
    -------
    files : pandas.DataFrame
        Columns subject, session, task, run, datatype, suffix, extension, path
        (sorted). Raises when a requested entity value does not exist or when
        nothing matches.
    """
    import pandas as pd
    from mne_bids import find_matching_paths

    root = _root(root)
    known = bids_entities(root)
    for name, vals in (
        ("subject", subjects),
        ("session", sessions),
        ("task", tasks),
        ("run", runs),
        ("datatype", datatypes),
        ("space", spaces),
        ("description", descriptions),
    ):
        if vals:
            unknown = [v for v in vals if v not in known[name]]
            if unknown:
                raise bad_value(f"{name}s", f"values present in the dataset ({known[name][:10]})", list(unknown))
    paths = find_matching_paths(
        root,
        subjects=subjects or None,
        sessions=sessions or None,
        tasks=tasks or None,
        runs=runs or None,
        datatypes=datatypes or None,
        suffixes=suffixes or None,
        extensions=extensions or None,
        spaces=spaces or None,
        descriptions=descriptions or None,
        check=False,
    )
    rows = [
        {
            "subject": p.subject,
            "session": p.session,
            "task": p.task,
            "run": p.run,
            "datatype": p.datatype,
            "suffix": p.suffix,
            "extension": p.extension,
            "path": str(p.fpath),
        }
        for p in paths
        if Path(p.fpath).is_file()
    ]
    if not rows:
        asked = {
            k: v
            for k, v in dict(
                subjects=subjects,
                sessions=sessions,
                tasks=tasks,
                runs=runs,
                datatypes=datatypes,
                suffixes=suffixes,
                extensions=extensions,
            ).items()
            if v
        }
        raise bad_value("entities", f"a selection matching files in {str(root)!r}", f"<nothing matches {asked}>")
    return pd.DataFrame(rows).sort_values("path").reset_index(drop=True)


def bids_pipeline_steps(
    files,
    stage: str,
    input_name: str,
    *,
    params: dict | None = None,
    group_by: str = "subject",
    prefix: str | None = None,
    folder: bool = False,
) -> dict[str, dict]:
    """Config steps, one per subject (or session / run), feeding matched files to ``stage``.

    Parameters
    ----------
    files : pandas.DataFrame
        Output of :func:`find_bids_files`.
    stage, input_name : str
        Stage to run and its path input to fill.
    group_by : {"subject", "session", "run"}
        One step per group; with several files per group, ``folder=True``
        passes their common folder (the stage's glob then selects them),
        otherwise each group must hold exactly one file.
    """
    import os

    if group_by not in ("subject", "session", "run"):
        raise bad_value("group_by", "'subject', 'session' or 'run'", group_by)
    keys = {"subject": ["subject"], "session": ["subject", "session"], "run": ["subject", "session", "task", "run"]}[
        group_by
    ]
    steps = {}
    for key, group in files.groupby(keys, dropna=False, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        sid = "_".join(f"{_ENTITIES.get(k, k)}-{v}" for k, v in zip(keys, key) if v is not None and v == v)
        sid = f"{prefix or stage}_{sid}"
        if len(group) > 1 and not folder:
            raise bad_value("group_by", f"groups of one file (or folder=True); {sid} matches", f"<{len(group)} files>")
        path = os.path.commonpath(list(group["path"])) if len(group) > 1 else group["path"].iloc[0]
        steps[sid] = {"stage": stage, "params": dict(params or {}), "inputs": {input_name: path}}
    return steps
