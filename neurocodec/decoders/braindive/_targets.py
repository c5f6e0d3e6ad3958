"""Voxel targets of brain-guided synthesis: which voxels, maximised or minimised, or a contrast of two regions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurocodec.pipeline import bad_value, check

__all__ = ["VoxelTarget", "select_voxels"]


def select_voxels(table, roi=None, kind=None, category=None, near=None, mask=None, voxels=None) -> np.ndarray:
    """Indices of the voxels of a voxel table matching every given criterion.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per voxel, in voxel order (a ``stimulus_responses`` subject's
        ``voxels`` table: ``kind``, ``x``, ``y``, ``sigma``, ``roi``, ``category``, ...).
    roi : str or list of str, optional
        ROI label(s): values of the ``roi`` column, or of ``kind`` when the table has no ``roi`` column.
    kind : str or list of str, optional
        Voxel kind(s) (``prf``, ``linear_prf``, ``category``, ``global``).
    category : str, optional
        Preferred category (``category`` column).
    near : (x, y, radius), optional
        pRF centre within ``radius`` of ``(x, y)`` (image-width fractions).
    mask : array-like of bool, shape (n_voxels,), optional
    voxels : array-like of int, optional
        Explicit voxel indices.

    Returns
    -------
    ndarray of int64
        Sorted voxel indices (raises if empty or if no criterion is given).
    """
    n = len(table)
    keep = np.ones(n, bool)
    given = []

    def labels(col, value):
        values = [value] if isinstance(value, str) else list(value)
        if col not in table.columns:
            raise bad_value(col, f"a column of the voxel table {list(table.columns)}", "<missing column>")
        return np.isin(table[col].astype(str).to_numpy(), values)

    if roi is not None:
        keep &= labels("roi" if "roi" in table.columns else "kind", roi)
        given.append(f"roi={roi!r}")
    if kind is not None:
        keep &= labels("kind", kind)
        given.append(f"kind={kind!r}")
    if category is not None:
        keep &= labels("category", category)
        given.append(f"category={category!r}")
    if near is not None:
        check(len(near) == 3 and near[2] > 0, "near", "(x, y, radius > 0)", near)
        d = np.hypot(table["x"].to_numpy(float) - near[0], table["y"].to_numpy(float) - near[1])
        keep &= np.nan_to_num(d, nan=np.inf) <= near[2]
        given.append(f"near={tuple(near)!r}")
    if mask is not None:
        m = np.asarray(mask, bool).reshape(-1)
        check(m.shape == (n,), "mask", f"{n} booleans (one per voxel)", f"<{m.size} values>")
        keep &= m
        given.append("mask")
    if voxels is not None:
        idx = np.asarray(voxels, np.int64).reshape(-1)
        check(idx.size == 0 or (idx.min() >= 0 and idx.max() < n), "voxels", f"indices in [0, {n})", list(idx[:10]))
        sel = np.zeros(n, bool)
        sel[idx] = True
        keep &= sel
        given.append(f"{idx.size} listed voxels")
    if not given:
        raise bad_value("target", "a voxel selection (roi, kind, category, near, mask or voxels)", "<no criterion>")
    out = np.flatnonzero(keep)
    if out.size == 0:
        raise bad_value("target", "a non-empty voxel set", f"<0 voxels matching {', '.join(given)}>")
    return out.astype(np.int64)


@dataclass
class VoxelTarget:
    """What brain-guided sampling optimises: the mean predicted response of a voxel set.

    Parameters
    ----------
    voxels : array-like of int
        Target voxels (indices into the encoder's voxels).
    direction : {"maximize", "minimize"}
    versus : array-like of int, optional
        A second region: the objective becomes ``mean(voxels) - mean(versus)``
        (the paper's sub-region contrast), maximised or minimised.
    name : str
    """

    voxels: np.ndarray
    direction: str = "maximize"
    versus: np.ndarray | None = None
    name: str = "target"

    def __post_init__(self):
        self.voxels = np.asarray(self.voxels, np.int64).reshape(-1)
        if self.voxels.size == 0:
            raise bad_value("voxels", "a non-empty voxel set", "<0 voxels>", of=f"target {self.name!r}")
        check(self.direction in ("maximize", "minimize"), "direction", "'maximize' or 'minimize'", self.direction)
        if self.versus is not None:
            self.versus = np.asarray(self.versus, np.int64).reshape(-1)
            if self.versus.size == 0:
                raise bad_value("versus", "a non-empty voxel set", "<0 voxels>", of=f"target {self.name!r}")

    @property
    def all_voxels(self) -> np.ndarray:
        """The voxels the objective reads (target and contrast), sorted."""
        return np.union1d(self.voxels, self.versus) if self.versus is not None else np.unique(self.voxels)

    def objective(self, responses, voxels=None):
        """Objective ``(n,)`` of responses ``(n, n_columns)`` (torch or numpy), larger is better.

        ``voxels`` names the voxel index of each column (default: column ``j`` is voxel ``j``).
        """
        cols = (lambda v: v) if voxels is None else (lambda v: np.searchsorted(np.asarray(voxels), v))
        if voxels is not None:
            missing = np.setdiff1d(self.all_voxels, voxels)
            check(missing.size == 0, "voxels", "columns covering the target's voxels", f"<{missing.size} missing>")
        value = responses[:, cols(self.voxels)].mean(1)
        if self.versus is not None:
            value = value - responses[:, cols(self.versus)].mean(1)
        return value if self.direction == "maximize" else -value
