"""Artifact file formats: arrays as .npy/.npz, tables as TSV, metadata as JSON (model weights: see
:class:`neurocodec.pipeline.PretrainedMixin`). Nothing is ever loaded with pickle.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

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
    return np.load(Path(path), allow_pickle=False, mmap_mode=mmap_mode)


def save_arrays(path: str | Path, compress: bool = False, **arrays: Any) -> Path:
    """Save several named arrays as one ``.npz``."""
    path = Path(path)
    clean = {k: np.asarray(v) for k, v in arrays.items()}
    for k, v in clean.items():
        if v.dtype == object:
            raise TypeError(f"The array {k!r} saved to {path} must have a numeric or string dtype, got dtype object.")
    (np.savez_compressed if compress else np.savez)(path, **clean)
    return path


def load_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """Load every array of a ``.npz`` into a dict (no pickle)."""
    with np.load(Path(path), allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def save_json(path: str | Path, obj: Any) -> Path:
    """Write JSON (numpy scalars/arrays converted) with sorted keys."""
    path = Path(path)
    path.write_text(json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")
    return path


def load_json(path: str | Path) -> Any:
    """Read a JSON file."""
    return json.loads(Path(path).read_text())


def save_table(path: str | Path, table: Any) -> Path:
    """Write a table (pandas DataFrame or mapping of columns) as TSV."""
    import pandas as pd

    path = Path(path)
    frame = table if isinstance(table, pd.DataFrame) else pd.DataFrame(table)
    frame.to_csv(path, sep="\t", index=False)
    return path


def load_table(path: str | Path) -> Any:
    """Read a TSV table into a pandas DataFrame."""
    import pandas as pd

    return pd.read_csv(Path(path), sep="\t")
