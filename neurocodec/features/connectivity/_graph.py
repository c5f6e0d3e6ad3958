"""Graph features of connectivity matrices: degree/strength, clustering,
participation in 3-cycles (Dey, Rao & Shah 2012), global/local efficiency
(Latora & Marchiori 2001) and modularity (Louvain, Newman's Q).
"""

from __future__ import annotations

import numpy as np

from ...pipeline import bad_value, check, check_array

__all__ = ["threshold_graph", "graph_features", "NODE_FEATURES", "GLOBAL_FEATURES"]

NODE_FEATURES = ("degree", "strength", "clustering", "triangles", "local_efficiency")
GLOBAL_FEATURES = ("density", "global_efficiency", "modularity", "n_modules")


def threshold_graph(
    conn, density: float | None = None, absolute: float | None = None, use_abs: bool = False, binarize: bool = False
) -> np.ndarray:
    """Adjacency matrix of a connectivity matrix after thresholding.

    Parameters
    ----------
    conn : ndarray, shape (n_rois, n_rois)
        Symmetric connectivity (e.g. correlations).
    density : float in (0, 1], optional
        Keep the strongest edges so that this fraction of all possible edges
        remains (proportional threshold).
    absolute : float, optional
        Keep edges with weight above this value.
    use_abs : bool
        Rank/threshold by absolute weight (negative edges kept as their
        absolute value); otherwise negative weights are dropped.
    binarize : bool
        Return a 0/1 adjacency.

    Returns
    -------
    ndarray, shape (n_rois, n_rois)
        Non-negative symmetric weights with a zero diagonal.
    """
    conn = check_array(conn, "conn", "(n_rois, n_rois)", ndim=2, finite=False, dtype=np.float64)
    if conn.ndim != 2 or conn.shape[0] != conn.shape[1]:
        raise bad_value("conn", "a square matrix (n_rois, n_rois)", f"<shape {conn.shape}>")
    if not np.all(np.isfinite(conn)):
        raise bad_value("conn", "finite (no NaN or inf)", f"<{int(np.sum(~np.isfinite(conn)))} non-finite values>")
    check(np.allclose(conn, conn.T, atol=1e-8), "conn", "symmetric", "<an asymmetric matrix>")
    check(density is None or absolute is None, "density", "None when 'absolute' is given", density)
    w = np.abs(conn) if use_abs else np.clip(conn, 0, None)
    np.fill_diagonal(w, 0.0)
    n = len(w)
    if density is not None:
        check(0 < density <= 1, "density", "in (0, 1]", density)
        rows, cols = np.triu_indices(n, 1)
        vals = w[rows, cols]
        n_keep = int(round(density * len(vals)))
        keep = np.zeros(len(vals), bool)
        keep[np.argsort(-vals, kind="stable")[:n_keep]] = True
        keep &= vals > 0
        w = np.zeros_like(w)
        w[rows[keep], cols[keep]] = vals[keep]
        w = w + w.T
    elif absolute is not None:
        w = np.where(w > absolute, w, 0.0)
    return (w > 0).astype(np.float64) if binarize else w


def _efficiency(lengths: np.ndarray) -> float:
    """Mean inverse shortest-path length over ordered node pairs."""
    from scipy.sparse.csgraph import shortest_path

    n = len(lengths)
    if n < 2:
        return 0.0
    d = shortest_path(lengths, method="D", directed=False)
    off = ~np.eye(n, dtype=bool)
    with np.errstate(divide="ignore"):
        inv = np.where(np.isfinite(d[off]), 1.0 / d[off], 0.0)
    return float(inv.sum() / (n * (n - 1)))


def graph_features(adjacency, weighted: bool = True, seed: int = 0) -> dict[str, np.ndarray | float]:
    """Node and global graph features of one (thresholded) graph.

    Parameters
    ----------
    adjacency : ndarray, shape (n_rois, n_rois)
        Non-negative symmetric weights (from :func:`threshold_graph`).
    weighted : bool
        Weighted clustering (Onnela et al. 2005, networkx's definition) and
        efficiencies with edge lengths ``1 / weight``; otherwise all on the
        binarised graph.
    seed : int
        Seed of the Louvain community detection.

    Returns
    -------
    dict
        ``degree``, ``strength``, ``clustering``, ``triangles`` (number of
        3-cycles through each node), ``local_efficiency`` — arrays (n_rois,);
        ``density``, ``global_efficiency``, ``modularity``, ``n_modules`` — floats.
    """
    w = check_array(adjacency, "adjacency", "(n_rois, n_rois)", ndim=2, finite=False, dtype=np.float64)
    if w.ndim != 2 or w.shape[0] != w.shape[1]:
        raise bad_value("adjacency", "a square matrix (n_rois, n_rois)", f"<shape {w.shape}>")
    check(
        bool(np.all(np.isfinite(w))) and bool(np.all(w >= 0)),
        "adjacency",
        "finite and non-negative",
        "<negative or non-finite weights>",
    )
    n = len(w)
    w = w.copy()
    np.fill_diagonal(w, 0.0)
    a = (w > 0).astype(np.float64)
    degree = a.sum(1)
    strength = w.sum(1)
    triangles = np.einsum("ij,jk,ki->i", a, a, a) / 2.0
    pairs = degree * (degree - 1)
    if weighted and w.max() > 0:
        c = np.cbrt(w / w.max())
        tri_w = np.einsum("ij,jk,ki->i", c, c, c)
        clustering = np.where(pairs > 0, tri_w / np.where(pairs > 0, pairs, 1), 0.0)
    else:
        clustering = np.where(pairs > 0, 2 * triangles / np.where(pairs > 0, pairs, 1), 0.0)
    lengths = np.where(w > 0, 1.0 / np.where(w > 0, w, 1.0), 0.0) if weighted else a
    global_eff = _efficiency(lengths)
    local_eff = np.zeros(n)
    for i in range(n):
        nb = np.flatnonzero(a[i])
        if len(nb) > 1:
            local_eff[i] = _efficiency(lengths[np.ix_(nb, nb)])
    modularity, n_modules = _modularity(w if weighted else a, seed)
    return {
        "degree": degree,
        "strength": strength,
        "clustering": clustering,
        "triangles": triangles,
        "local_efficiency": local_eff,
        "density": float(a.sum() / (n * (n - 1))) if n > 1 else 0.0,
        "global_efficiency": global_eff,
        "modularity": modularity,
        "n_modules": float(n_modules),
    }


def _modularity(w: np.ndarray, seed: int) -> tuple[float, int]:
    import networkx as nx

    if w.sum() == 0:
        return 0.0, len(w)
    g = nx.from_numpy_array(w)
    communities = nx.community.louvain_communities(g, weight="weight", seed=seed)
    return float(nx.community.modularity(g, communities, weight="weight")), len(communities)
