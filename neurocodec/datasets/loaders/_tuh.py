"""Temple University Hospital EEG corpora: TUEV (events) and TUAB (abnormal / normal).

TUEV: ``edf/{train,eval}/<subject>/<name>.edf`` with ``<name>.rec`` label files
(CSV rows ``channel, start_s, end_s, code``; codes 1 SPSW, 2 GPED, 3 PLED,
4 EYEM, 5 ARTF, 6 BCKG). TUAB: ``edf/{train,eval}/{normal,abnormal}/01_tcp_ar/.../*.edf``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...pipeline import bad_value
from .._paths import dataset_dir

__all__ = ["TUH_URL", "TUEV_LABELS", "read_tuev_rec", "tuev_index", "tuab_index"]

TUH_URL = "https://isip.piconepress.com/projects/nedc/html/tuh_eeg/ (registration required)"
TUEV_LABELS = {1: "spsw", 2: "gped", 3: "pled", 4: "eyem", 5: "artf", 6: "bckg"}


def read_tuev_rec(path):
    """Parse a TUEV ``.rec`` file into a DataFrame (channel, start, end, code, label)."""
    import pandas as pd

    p = Path(path)
    if not p.is_file():
        raise bad_value("rec", "an existing .rec file", str(p), exc=FileNotFoundError)
    try:
        arr = np.loadtxt(p, delimiter=",", ndmin=2)
    except ValueError as err:
        raise bad_value("rec", "CSV rows 'channel,start,end,code'", f"<{p.name}: {err}>") from None
    if arr.size and arr.shape[1] != 4:
        raise bad_value("rec", "4 columns per row", f"<{arr.shape[1]} in {p.name}>")
    codes = arr[:, 3].astype(int) if arr.size else np.array([], int)
    unknown = sorted(set(codes.tolist()) - set(TUEV_LABELS))
    if unknown:
        raise bad_value("rec", f"label codes in {sorted(TUEV_LABELS)}", f"<{unknown} in {p.name}>")
    return pd.DataFrame(
        {
            "channel": arr[:, 0].astype(int) if arr.size else [],
            "start": arr[:, 1] if arr.size else [],
            "end": arr[:, 2] if arr.size else [],
            "code": codes,
            "label": [TUEV_LABELS[c] for c in codes],
        }
    )


def _root(root, data_dir, name):
    root = Path(root).expanduser() if root is not None else dataset_dir(name, data_dir)
    if not (root / "edf").is_dir():
        raise FileNotFoundError(
            f"The '{name.upper()}' data must be in {str(root)!r} (with an edf/ folder), got none. Download it from "
            f"{TUH_URL} and pass its folder as data_dir, or set $NEUROCODEC_DATA (default ~/neurocodec_data/{name})."
        )
    return root


def tuev_index(root=None, *, data_dir=None):
    """Table of TUEV recordings: split, subject, edf, rec."""
    import pandas as pd

    root = _root(root, data_dir, "tuev")
    rows = []
    for edf in sorted((root / "edf").rglob("*.edf")):
        rec = edf.with_suffix(".rec")
        if not rec.is_file():
            raise bad_value(
                "rec", "a .rec label file beside every .edf", f"<none for {edf.name}>", exc=FileNotFoundError
            )
        rows.append(
            {
                "split": edf.relative_to(root / "edf").parts[0],
                "subject": edf.parent.name,
                "edf": str(edf),
                "rec": str(rec),
            }
        )
    return pd.DataFrame(rows)


def tuab_index(root=None, *, data_dir=None):
    """Table of TUAB recordings: split, label (normal / abnormal), subject, edf."""
    import pandas as pd

    root = _root(root, data_dir, "tuab")
    rows = []
    for edf in sorted((root / "edf").rglob("*.edf")):
        parts = edf.relative_to(root / "edf").parts
        label = next((p for p in parts if p in ("normal", "abnormal")), None)
        if label is None:
            raise bad_value("edf", "files under normal/ or abnormal/", f"<{'/'.join(parts)}>")
        rows.append({"split": parts[0], "label": label, "subject": edf.name.split("_")[0], "edf": str(edf)})
    return pd.DataFrame(rows)
