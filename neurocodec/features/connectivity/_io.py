"""Label helpers of the connectivity stages."""

from __future__ import annotations

import numpy as np

from ...pipeline import bad_value

__all__ = ["diagnosis_to_group"]


def diagnosis_to_group(values) -> np.ndarray:
    """0/1 labels from a diagnosis/group column (ASD/patient -> 1, HC/control -> 0, or 0/1 already)."""
    vals = np.asarray(values)
    if vals.dtype.kind in "iub" or (vals.dtype.kind == "f" and np.all(np.isin(vals, [0, 1]))):
        out = vals.astype(int)
    else:
        text = np.char.lower(vals.astype(str))
        pos = np.isin(text, ["asd", "autism", "patient", "case", "1", "adhd", "scz"])
        neg = np.isin(text, ["hc", "tc", "td", "control", "controls", "0"])
        if not np.all(pos | neg):
            raise bad_value(
                "target", "binary labels (0/1, ASD/HC, patient/control)", f"<values {sorted(set(text))[:6]}>"
            )
        out = pos.astype(int)
    if not np.all(np.isin(out, [0, 1])):
        raise bad_value("target", "binary labels 0/1", f"<values {np.unique(out)[:6]}>")
    return out
