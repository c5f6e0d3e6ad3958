"""Test-time scaling: in-context encoder vs RidgeCV over context sizes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import clone

from ...pipeline import check, check_array
from ..scores import explained_variance, pearson_r
from ._training import unit_norm

__all__ = ["context_scaling", "explained_variance", "pearson_r", "ridge_baseline", "DEFAULT_ALPHAS"]

#: Ridge penalties searched by the baseline (the issue: 1e-3 .. 1e5).
DEFAULT_ALPHAS = np.logspace(-3, 5, 9)


def ridge_baseline(alphas: Sequence[float] = DEFAULT_ALPHAS, cv: int = 5):
    """RidgeCV with a per-voxel penalty chosen by ``cv``-fold cross-validation.

    Uses :class:`neurocodec.encoders.RidgeCV` when available, else scikit-learn's
    ``RidgeCV(alpha_per_target=True)`` (efficient leave-one-out instead of k-fold).
    """
    alphas = check_array(alphas, "alphas", "(n_alphas,) of penalties > 0", ndim=1, dtype=float)
    check(bool((alphas > 0).all()), "alphas", "penalties > 0", alphas.tolist())
    check(isinstance(cv, int) and not isinstance(cv, bool) and cv >= 2, "cv", "an int >= 2", cv)
    try:
        from neurocodec.encoders import RidgeCV
    except ImportError:
        from sklearn.linear_model import RidgeCV as _SkRidgeCV

        return _SkRidgeCV(alphas=np.asarray(alphas, dtype=float), alpha_per_target=True)
    return RidgeCV(alphas=np.asarray(alphas, dtype=float), cv=cv, alpha_per_target=True)


def context_scaling(
    encoder,
    X_pool: np.ndarray,
    Y_pool: np.ndarray,
    X_query: np.ndarray,
    Y_query: np.ndarray,
    context_sizes: Sequence[int] = (10, 30, 100, 300, 1000),
    n_draws: int = 3,
    alphas: Sequence[float] = DEFAULT_ALPHAS,
    cv: int = 5,
    seed: int = 0,
    ridge: bool = True,
) -> dict:
    """Held-out accuracy of the in-context encoder and of RidgeCV vs the number of context images.

    For each context size, ``n_draws`` disjoint sets of context images are
    drawn from the pool (fewer when the pool cannot hold that many); the
    in-context encoder and a RidgeCV (fitted on the same images, per-voxel
    alpha by k-fold CV) predict the query images.

    Parameters
    ----------
    encoder : InContextEncoder
        Cloned and fitted on each context set.
    X_pool : array, shape (n_pool, n_features)
        Embeddings of the images context sets are drawn from.
    Y_pool : array, shape (n_pool, n_voxels)
    X_query : array, shape (n_query, n_features)
        Held-out images (e.g. the repeat-averaged shared test images).
    Y_query : array, shape (n_query, n_voxels)
    context_sizes : list of int
        Sizes larger than the pool are refused.
    n_draws : int
        Disjoint context draws per size.
    alphas : list of float
        Ridge penalties.
    cv : int
        Folds for the ridge penalty choice (capped by the context size).
    seed : int
    ridge : bool
        Also fit the RidgeCV baseline.

    Returns
    -------
    dict
        ``context_sizes`` (list), ``n_draws`` (per size), ``ev`` and ``r``:
        dicts method -> ndarray (n_sizes, n_draws, n_voxels), NaN where a draw
        does not exist; methods ``"incontext"`` and ``"ridge"``.
    """
    X_pool = unit_norm(X_pool, "X_pool")
    X_query = unit_norm(X_query, "X_query")
    Y_pool = np.asarray(Y_pool, dtype=np.float32)
    Y_query = np.asarray(Y_query, dtype=np.float32)
    n_pool, n_vox = Y_pool.shape
    check(X_pool.shape[0] == n_pool, "X_pool", f"{n_pool} rows like Y_pool", f"<shape {X_pool.shape}>")
    check(
        X_query.shape[0] == Y_query.shape[0],
        "X_query",
        f"{Y_query.shape[0]} rows like Y_query",
        f"<shape {X_query.shape}>",
    )
    sizes = [int(s) for s in context_sizes]
    check(len(sizes) > 0 and min(sizes) >= 2, "context_sizes", "non-empty, each >= 2", sizes)
    check(max(sizes) <= n_pool, "context_sizes", f"<= the {n_pool} pool images", sizes)
    check(n_draws >= 1, "n_draws", ">= 1", n_draws)
    rng = np.random.default_rng(seed)
    methods = ["incontext", "ridge"] if ridge else ["incontext"]
    ev = {m: np.full((len(sizes), n_draws, n_vox), np.nan, dtype=np.float32) for m in methods}
    r = {m: np.full((len(sizes), n_draws, n_vox), np.nan, dtype=np.float32) for m in methods}
    draws = []
    for i, size in enumerate(sizes):
        order = rng.permutation(n_pool)
        n_eff = min(n_draws, n_pool // size)
        draws.append(n_eff)
        for d in range(n_eff):
            idx = order[d * size : (d + 1) * size]
            preds = {"incontext": clone(encoder).fit(X_pool[idx], Y_pool[idx]).predict(X_query)}
            if ridge:
                model = ridge_baseline(alphas, cv=min(cv, size))
                preds["ridge"] = model.fit(X_pool[idx], Y_pool[idx]).predict(X_query)
            for m, p in preds.items():
                p = np.asarray(p, dtype=np.float32).reshape(Y_query.shape)
                ev[m][i, d] = explained_variance(Y_query, p)
                r[m][i, d] = pearson_r(Y_query, p)
    return dict(context_sizes=sizes, n_draws=draws, ev=ev, r=r)
