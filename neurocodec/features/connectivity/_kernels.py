"""Kernel-space (Gram-matrix) forms of the site projection, confound regression, logistic and ridge scores.

They equal the feature-space estimators of :mod:`._predict` (tests check it) at the cost of an n x n Gram
matrix instead of n x n_edges features.
"""

from __future__ import annotations

import numpy as np

from ...pipeline import check
from ._predict import site_mean_weights

__all__ = ["project_gram", "gram_coordinates", "gram_logistic_scores", "gram_ridge_scores", "confound_gram"]


def project_gram(G, train, y, sites, n_components: int | None = None, balanced: bool = True) -> np.ndarray:
    """Gram matrix after :class:`SiteSubspaceProjector`-style removal of site offsets, in kernel space.

    With ``G = Z @ Z.T`` (rows: all subjects, features standardised with
    training statistics) this returns ``Z P @ (Z P).T`` where ``P`` removes the
    span of the training sites' centred offsets (fitted on ``train`` rows
    only), without forming ``Z``: ``G - G B'^T (B G B^T)^+ B G`` restricted to
    the leading ``n_components`` offset directions.

    Parameters
    ----------
    G : ndarray, shape (n_subjects, n_subjects)
    train : ndarray of int
        Training rows (the only ones whose sites and labels are used).
    y, sites : ndarray, shape (n_subjects,)
    """
    train = np.asarray(train)
    Bt = site_mean_weights(None if y is None else np.asarray(y)[train], np.asarray(sites)[train], balanced)
    B = np.zeros((len(Bt), len(G)))
    B[:, train] = Bt
    GB = G @ B.T  # (n, n_sites)
    w, V = np.linalg.eigh(B @ GB)  # offsets' Gram: squared singular values
    order = np.argsort(w)[::-1]
    w, V = w[order], V[:, order]
    keep = w > 1e-10 * max(w.max(initial=0.0), 1e-300)
    if n_components is not None:
        keep &= np.arange(len(w)) < n_components
    A = GB @ (V[:, keep] / np.sqrt(w[keep]))  # Z @ removed directions
    return G - A @ A.T


def gram_coordinates(G, train, test):
    """Coordinates of the training and test rows in the span of the training rows, from a Gram matrix.

    ``G[train][:, train] = U w U^T``; training rows get ``U sqrt(w)`` and test
    rows ``G[test][:, train] U / sqrt(w)``, which preserves every inner
    product with the training rows (an exact rotation for l2-penalised linear
    models, whose weights lie in that span).

    Returns
    -------
    P_train : ndarray, shape (n_train, rank)
    P_test : ndarray, shape (n_test, rank)
    """
    K = G[np.ix_(train, train)]
    w, U = np.linalg.eigh(K)
    keep = w > 1e-10 * max(w.max(initial=0.0), 1e-300)
    w, U = w[keep][::-1], U[:, keep][:, ::-1]
    s = np.sqrt(w)
    return U * s, G[np.ix_(test, train)] @ (U / s)


def gram_logistic_scores(
    G, train, test, y, C=1.0, class_weight=None, max_iter: int = 5000, tol: float = 1e-4
) -> np.ndarray:
    """Probabilities of l2 logistic regressions on features given only through their Gram matrix.

    Exact (see :func:`gram_coordinates`): the same as fitting
    ``LogisticRegression(C)`` on the feature rows themselves.

    Parameters
    ----------
    G : ndarray, shape (n_subjects, n_subjects)
    train, test : ndarray of int
    y : ndarray, shape (n_subjects,)
    C : float or sequence of float
        One or several inverse regularisations (the decomposition is shared).
    class_weight, max_iter, tol
        Passed to :class:`sklearn.linear_model.LogisticRegression`.

    Returns
    -------
    ndarray, shape (n_test,), or (n_C, n_test) when ``C`` is a sequence.
    """
    from sklearn.linear_model import LogisticRegression

    Cs = np.atleast_1d(np.asarray(C, dtype=float))
    check(bool(np.all(Cs > 0)), "C", "> 0", C)
    P_train, P_test = gram_coordinates(G, train, test)
    out = np.array(
        [
            LogisticRegression(C=c, max_iter=max_iter, class_weight=class_weight, tol=tol)
            .fit(P_train, np.asarray(y)[train])
            .predict_proba(P_test)[:, 1]
            for c in Cs
        ]
    )
    return out if np.ndim(C) else out[0]


def confound_gram(G, W, train) -> np.ndarray:
    """``R @ G @ R.T`` for ``R = confound_operator(W, train)``, as a rank-``2k`` update (no n^3 products).

    Parameters
    ----------
    G : ndarray, shape (n_subjects, n_subjects)
    W : ndarray, shape (n_subjects, n_covariates)
    train : ndarray of int
        Rows the confound regression is fitted on.
    """
    W = np.asarray(W, dtype=np.float64)
    B = np.zeros((W.shape[1], len(W)))
    B[:, np.asarray(train)] = np.linalg.pinv(W[train])  # R = I - W @ B
    GB = G @ B.T  # (n, k)
    WB_G = W @ GB.T  # W B G
    return G - WB_G - WB_G.T + W @ (B @ GB) @ W.T


def gram_ridge_scores(G, train, test, y, alpha=1.0, relative: bool = True, sample_weight=None) -> np.ndarray:
    """Ridge-regression classifier (least squares on 0/1 labels) from a Gram matrix.

    Exactly ``sklearn.linear_model.Ridge(alpha).fit(X[train], y[train], sample_weight).predict(X[test])``
    for ``G = X @ X.T`` (unpenalised intercept, through kernel centring), for
    several ``alpha`` from one eigendecomposition. A subject is predicted
    positive when its score exceeds 0.5.

    Parameters
    ----------
    G : ndarray, shape (n_subjects, n_subjects)
    train, test : ndarray of int
    y : ndarray, shape (n_subjects,)
        Labels 0/1.
    alpha : float or sequence of float
        Penalties (> 0).
    relative : bool
        Multiply ``alpha`` by the (weighted) mean squared norm of the centred
        training rows (``trace(Kc) / n_train``), which makes it invariant to
        the feature scale and dimension.
    sample_weight : ndarray, shape (n_train,) or None
        Weights of the training rows in the squared loss (> 0), e.g. ``1 /
        n_site`` so that every training site counts the same.

    Returns
    -------
    ndarray, shape (n_test,), or (n_alpha, n_test) when ``alpha`` is a sequence.
    """
    alphas = np.atleast_1d(np.asarray(alpha, dtype=float))
    check(bool(np.all(alphas > 0)), "alpha", "> 0", alpha)
    train, test = np.asarray(train), np.asarray(test)
    sw = np.ones(len(train)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    check(
        sw.shape == (len(train),) and bool(np.all(sw > 0)),
        "sample_weight",
        f"positive weights of shape ({len(train)},)",
        f"<shape {sw.shape}, min {sw.min(initial=0):.3g}>",
    )
    w = sw / sw.sum()
    K, Kt = G[np.ix_(train, train)], G[np.ix_(test, train)]
    m = K @ w  # inner products with the weighted training mean
    mm = w @ m
    Kc = K - m[None, :] - m[:, None] + mm
    Ktc = Kt - m[None, :] - (Kt @ w)[:, None] + mm
    yt = np.asarray(y, dtype=np.float64)[train]
    ybar = w @ yt
    r = np.sqrt(sw)
    s, V = np.linalg.eigh(r[:, None] * Kc * r[None, :])
    s = np.clip(s, 0.0, None)
    scale = s.sum() / len(train) if relative else 1.0
    proj = V.T @ (r * (yt - ybar))
    TV = Ktc @ (r[:, None] * V)
    out = np.array([TV @ (proj / (s + a * scale)) + ybar for a in alphas])
    return out if np.ndim(alpha) else out[0]
