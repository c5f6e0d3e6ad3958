"""Artifact file formats: arrays as .npy/.npz, tables as TSV, metadata as JSON (model weights: see
:class:`neurocodec.pipeline.PretrainedMixin`). Nothing is ever loaded with pickle.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import bad_value

__all__ = [
    "save_array",
    "load_array",
    "save_arrays",
    "load_arrays",
    "save_json",
    "load_json",
    "save_table",
    "load_table",
]


def save_array(path: str | Path, array: Any) -> Path:
    """Save one array as ``.npy`` (object arrays are refused)."""
    array = np.asarray(array)
    if array.dtype == object:
        raise TypeError(f"The 'array' saved to {path} must have a numeric or string dtype, got dtype object.")
    path = Path(path)
    np.save(path, array, allow_pickle=False)
    return path


def load_array(path: str | Path, mmap_mode: str | None = None) -> np.ndarray:
    """Load a ``.npy`` array without pickle."""
    return np.load(_existing(path), allow_pickle=False, mmap_mode=mmap_mode)


def save_arrays(path: str | Path, compress: bool = False, **arrays: Any) -> Path:
    """Save several named arrays as one ``.npz``."""
    path = Path(path)
    clean = {k: np.asarray(v) for k, v in arrays.items()}
    for k, v in clean.items():
        if v.dtype == object:
            raise bad_value(k, "a numeric or string array", "<dtype object>", of=str(path), exc=TypeError)
    (np.savez_compressed if compress else np.savez)(path, **clean)
    return path


def load_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """Load every array of a ``.npz`` into a dict (no pickle)."""
    with np.load(_existing(path), allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise bad_value(
        "obj", "JSON data (numbers, str, lists, dicts, numpy arrays, paths)", f"<{type(obj).__name__}>", exc=TypeError
    )


def save_json(path: str | Path, obj: Any) -> Path:
    """Write JSON (numpy scalars/arrays converted), keys in their insertion order.

    Keys are never re-sorted: a mapping whose order labels an array axis (bands, channels,
    classes, layers) reads back in the order it was written (``load_json`` keeps it).
    """
    path = Path(path)
    path.write_text(json.dumps(obj, indent=2, default=_json_default) + "\n")
    return path


def load_json(path: str | Path) -> Any:
    """Read a JSON file."""
    return json.loads(_existing(path).read_text())


def save_table(path: str | Path, table: Any) -> Path:
    """Write a table (pandas DataFrame or mapping of columns) as TSV."""
    import pandas as pd

    path = Path(path)
    if isinstance(table, Mapping):
        lengths = {k: len(v) for k, v in table.items() if np.ndim(v) > 0}
        if len(set(lengths.values())) > 1:
            raise bad_value("table", "columns of one length", f"<column lengths {lengths}>", of=str(path.name))
    frame = table if isinstance(table, pd.DataFrame) else pd.DataFrame(table)
    frame.to_csv(path, sep="\t", index=False)
    return path


def load_table(path: str | Path) -> Any:
    """Read a TSV table into a pandas DataFrame."""
    import pandas as pd

    return pd.read_csv(_existing(path), sep="\t")


def _existing(path: str | Path) -> Path:
    """``path`` as a Path, or the template FileNotFoundError when no such file exists."""
    path = Path(path)
    if not path.is_file():
        raise bad_value("path", "an existing file", str(path), exc=FileNotFoundError)
    return path
