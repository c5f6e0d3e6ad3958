"""Where public datasets live: argument -> ``NEUROCODEC_DATA`` -> ``~/neurocodec_data``."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DATA_ENV", "get_data_home", "dataset_dir", "require_files"]

#: Environment variable naming the folder that holds public datasets.
DATA_ENV = "NEUROCODEC_DATA"


def get_data_home(data_dir: str | os.PathLike | None = None) -> Path:
    """Folder holding public datasets.

    Parameters
    ----------
    data_dir : str or path-like, optional
        Explicit folder. When None, the ``NEUROCODEC_DATA`` environment
        variable, else ``~/neurocodec_data``.
    """
    if data_dir is not None and str(data_dir) != "":
        return Path(data_dir).expanduser()
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    return Path("~/neurocodec_data").expanduser()


def dataset_dir(name: str, data_dir: str | os.PathLike | None = None, *, subfolder: str | None = None) -> Path:
    """Folder of dataset ``name``.

    ``data_dir`` may be the dataset folder itself or the data home that holds
    ``<subfolder or name>/``; the first that exists is returned (the data home
    variant otherwise, so that error messages name the expected place).
    """
    sub = subfolder or name
    if data_dir is not None and str(data_dir) != "":
        given = Path(data_dir).expanduser()
        if (given / sub).is_dir():
            return given / sub
        if given.is_dir():
            return given
        return given
    return get_data_home() / sub


def require_files(root: Path, relpaths, *, dataset: str, url: str, hint: str = "") -> list[Path]:
    """Check that every ``root/relpath`` exists, else raise one clear error.

    The message names the dataset, the missing files (first five), where it
    looked, how the location is chosen, and where to download the data.
    """
    root = Path(root)
    paths = [root / r for r in relpaths]
    missing = [str(p.relative_to(root)) for p in paths if not p.exists()]
    if missing:
        shown = ", ".join(missing[:5]) + (f" (+{len(missing) - 5} more)" if len(missing) > 5 else "")
        raise FileNotFoundError(
            f"The '{dataset}' data must be in {str(root)!r}, got missing files: {shown}. "
            f"Download it from {url}{' ' + hint if hint else ''} and pass its folder as data_dir, "
            f"or set ${DATA_ENV} (default ~/neurocodec_data)."
        )
    return paths
