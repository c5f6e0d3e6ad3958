"""Ridge solvers with one regularisation ``alpha`` per target.

All solvers share one idea: decompose the (small) Gram matrix once, then get
every alpha's cross-validation error from matrix products whose cost does not
grow with the number of samples.

*k-fold, primal* (``n_features <= n_samples``). For fold ``f`` with training
Gram ``K_tr = V diag(s2) V^T`` (eigendecomposition, float64, ``p x p``), the
validation error of target ``j`` at ``alpha`` is::

    ||y_val||^2 + z^T (G z - 2 c),   z = (V^T X_tr^T y_tr) / (s2 + alpha),
    G = V^T X_val^T X_val V,         c = V^T X_val^T y_val

so no validation prediction is ever formed. ``X_tr^T Y_tr`` is the total
``X^T Y`` minus the fold's ``X_val^T Y_val``: the only products that touch the
samples are the per-fold ``X_val^T Y_val`` (``n * p * t`` multiply-adds for
all folds together). Per-fold intercepts (training means, as in himalaya and
scikit-learn) enter as rank-one corrections.

*k-fold, dual* (``n_features > n_samples``): eigendecomposition of the
training kernel, validation predictions through the kernel.

*Leave-one-out / GCV* from one decomposition of the whole data: the hat
matrix is ``U diag(w) U^T``; generalised cross-validation needs only
``p x t`` work per alpha, exact leave-one-out divides the residuals by
``1 - h_ii``. With one alpha per target, GCV and the refit are fused
(:func:`ridge_gcv_fit`): both follow from one projection of the targets, so
the whole fit costs one ``X^T Y`` (``2 n p t`` flops) plus ``p x p``
rotations -- the floor of any ridge fit. Against himalaya's 5-fold CV with 10
alphas (about ``5 (0.8 + 10 x 0.2) + 1 = 15`` such products) the flop ratio is
~13x; measured speed-ups above it (28x wall, 24x CPU on the NSD-shaped
benchmark) come from himalaya's lower GFLOP/s in its many per-alpha products.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ridge_cv_scores", "ridge_refit", "make_folds", "select_alphas", "solve_ridge_cv"]


def select_alphas(scores, alphas, alpha_per_target=True):
    """Best alpha index per target (ties go to the larger alpha, as in himalaya).

    Parameters
    ----------
    scores : ndarray, shape (n_alphas, n_targets)
        Mean cross-validation score of every alpha (higher is better).
    alphas : ndarray, shape (n_alphas,)
    alpha_per_target : bool
        One alpha per target, or the alpha of the best mean score for all.

    Returns
    -------
    best : ndarray of int, shape (n_targets,)
    best_scores : ndarray, shape (n_targets,)
    """
    s = scores + (np.log(alphas) * 1e-10)[:, None]
    if alpha_per_target:
        best = s.argmax(0)
    else:
        best = np.full(s.shape[1], s.mean(1).argmax())
    return best, scores[best, np.arange(scores.shape[1])]


def solve_ridge_cv(X, Y, alphas, cv=5, fit_intercept=True, backend="numpy", n_targets_batch=None, scoring="neg_mse"):
    """k-fold ridge with one cross-validated alpha per target, the targets streamed chunk by chunk.

    The function behind :class:`neurocodec.encoders.RidgeCV` (primal k-fold path; himalaya's
    ``solve_ridge_cv_svd`` counterpart) for targets too many to hold in memory: ``Y`` may be any 2-D object
    with ``shape`` whose ``Y[:, slice]`` gives an array (a memory map, a lazy generator), read
    ``n_targets_batch`` columns at a time (twice with ``fit_intercept``: the means first).

    Parameters
    ----------
    X : ndarray, shape (n_samples, n_features), n_features <= n_samples
    Y : 2-D array-like, shape (n_samples, n_targets)
    alphas : array-like of float > 0, shape (n_alphas,)
    cv : int, scikit-learn splitter or iterable of (train, val)
        See :func:`make_folds`.
    fit_intercept : bool
    backend : {"numpy", "torch", "torch_cuda"}
    n_targets_batch : int or None
        Targets per chunk (None: all at once).
    scoring : {"neg_mse", "r2"}

    Returns
    -------
    dict
        ``coef`` (n_features, n_targets) float32, ``intercept`` (n_targets,), ``alphas`` (n_targets,) the
        selected ones, ``cv_scores`` (n_targets,) and ``cv_scores_all`` (n_alphas, n_targets).
    """
    from ..pipeline import bad_value, check, check_array
    from .backend import get_backend

    alphas = check_array(np.reshape(alphas, -1), "alphas", "(n_alphas,) of floats > 0", ndim=1, dtype=np.float64)
    check(bool((alphas > 0).all()), "alphas", "floats > 0", alphas.tolist())
    X = check_array(X, "X", "(n_samples, n_features)", ndim=2, dtype=np.float32)
    n, p = X.shape
    shape = getattr(Y, "shape", None)
    if shape is None or len(shape) != 2 or shape[0] != n:
        raise bad_value("Y", f"a 2-D array (n_samples={n}, n_targets)", f"<shape {shape}>")
    n_t = Y.shape[1]
    if fit_intercept:
        x_mean = X.mean(0, dtype=np.float64).astype(np.float32)
        sums = [np.asarray(Y[:, sl], dtype=np.float64).sum(0) for sl in _chunks(n_t, n_targets_batch)]
        y_mean = (np.concatenate(sums) / n).astype(np.float32)
        X = X - x_mean
    else:
        x_mean, y_mean = np.zeros(p, np.float32), None
    be = get_backend(backend)
    coef, best, best_scores, scores = ridge_cv_fit(
        be,
        be.asarray(X, "float32"),
        Y,
        alphas,
        make_folds(cv, n),
        fit_intercept,
        y_mean,
        lambda s: select_alphas(s, alphas, True),
        n_targets_batch,
        scoring,
    )
    intercept = (y_mean - x_mean @ coef).astype(np.float32) if fit_intercept else np.zeros(n_t, np.float32)
    return dict(coef=coef, intercept=intercept, alphas=alphas[best], cv_scores=best_scores, cv_scores_all=scores)


def make_folds(cv, n_samples):
    """List of ``(train, val)`` integer index arrays.

    Parameters
    ----------
    cv : int, scikit-learn splitter or iterable of (train, val)
        An int means ``KFold(cv)`` without shuffling (himalaya's and
        scikit-learn's default for regression).
    n_samples : int
    """
    from sklearn.model_selection import KFold

    from ..pipeline import bad_value

    if isinstance(cv, (int, np.integer)) and not isinstance(cv, bool):
        if cv < 2:
            raise bad_value("cv", "an int >= 2, 'loo', 'gcv' or a splitter", cv)
        if cv > n_samples:
            raise bad_value("cv", f"at most n_samples={n_samples} folds", cv)
        cv = KFold(int(cv))
    splits = cv.split(np.zeros((n_samples, 1))) if hasattr(cv, "split") else cv
    folds = [(np.asarray(tr, dtype=np.int64), np.asarray(va, dtype=np.int64)) for tr, va in splits]
    if not folds:
        raise bad_value("cv", "a splitter yielding at least one split", cv)
    for tr, va in folds:
        if len(tr) == 0 or len(va) == 0:
            raise bad_value("cv", "splits with non-empty train and validation sets", "<an empty split>")
    return folds


def _chunks(n_targets, batch):
    batch = n_targets if batch is None else max(1, int(batch))
    return [slice(s, min(s + batch, n_targets)) for s in range(0, n_targets, batch)]


def _get_chunk(be, Y, sl, y_mean):
    """Targets of one chunk on the backend, centred by the global means."""
    Yc = be.asarray(Y[:, sl], "float32")
    if y_mean is not None:
        Yc = Yc - be.asarray(y_mean[sl], "float32")
    return Yc


# --------------------------------------------------------------------------- k-fold


#: Eigenvalue pairs closer than this (relative) are summed exactly instead of by partial fractions.
CLOSE_GAP = 1e-6


def _primal_folds(be, X, folds, fit_intercept):
    """Per-fold decompositions (float64) and validation Grams for the primal solver."""
    X64 = be.asarray(X, "float64")
    K = X64.T @ X64
    info = []
    for tr, va in folds:
        Xf = X64[be.index(va)]
        n_tr, n_f = len(tr), len(va)
        sx_f = Xf.sum(0)
        Kf = Xf.T @ Xf
        Ktr = K - Kf
        if fit_intercept:  # X is globally centred: train mean = -sx_f / n_tr
            m = -sx_f / n_tr
            Ktr = Ktr - n_tr * be.outer(m, m)
            Kv = Kf - be.outer(m, sx_f) - be.outer(sx_f, m) + n_f * be.outer(m, m)
        else:
            m = None
            Kv = Kf
        s2, V = be.eigh(Ktr)
        s2 = be.clip_min(s2, 0.0)
        G = be.to_numpy(V.T @ Kv @ V)
        s = be.to_numpy(s2).astype(np.float64)
        # Partial fractions: 1/((s_k+a)(s_l+a)) = (1/(s_k+a) - 1/(s_l+a)) / (s_l - s_k), so the
        # quadratic term z^T G z of every alpha follows from ONE product R = Ghat H with
        # Ghat_kl = G_kl / (s_l - s_k). Near-equal eigenvalue pairs are summed exactly.
        gap = s[None, :] - s[:, None]
        close = np.abs(gap) <= CLOSE_GAP * np.maximum(np.maximum(s[None, :], s[:, None]), 1e-300)
        np.fill_diagonal(close, False)
        with np.errstate(divide="ignore", invalid="ignore"):
            Ghat = np.where(close | np.eye(len(s), dtype=bool), 0.0, G / np.where(gap == 0, 1.0, gap))
        idx = np.flatnonzero(close.any(0))
        f = dict(
            n_tr=n_tr,
            n_f=n_f,
            va=be.index(va),
            s2=s,
            Vt=be.asarray(V.T, "float32"),
            Ghat=be.asarray(Ghat, "float64"),
            Gdiag=be.asarray(np.diag(G).copy(), "float64"),
            close_idx=be.index(idx),
            close_G=be.asarray(np.where(close, G, 0.0)[np.ix_(idx, idx)], "float64"),
        )
        if fit_intercept:
            f["Vm"] = be.asarray(V.T @ m, "float32")
            f["Vsx"] = be.asarray(V.T @ sx_f, "float32")
        info.append(f)
    return info


def _primal_chunk_scores(be, X, Yc, info, alphas, fit_intercept, scoring):
    """Scores (n_folds, n_alphas, n_chunk) of the primal k-fold solver.

    Validation SSE of every alpha: ``yy - 2 sum_k H_k C_k / (s_k + a) + q(a)`` with
    ``q(a) = sum_k G_kk H_k^2 / (s_k + a)^2 + 2 sum_k H_k R_k / (s_k + a)`` (+ exact
    near-degenerate pairs): all alphas at once by ``(n_alphas, p) @ (p, t)`` products.
    """
    alphas = np.asarray(alphas, dtype=np.float64)
    out = np.empty((len(info), len(alphas), Yc.shape[1]), dtype=np.float64)
    XfYf = [X[f["va"]].T @ Yc[f["va"]] for f in info]
    XtY = XfYf[0]
    for P in XfYf[1:]:
        XtY = XtY + P
    for k, f in enumerate(info):
        Yf = Yc[f["va"]]
        n_tr, n_f = f["n_tr"], f["n_f"]
        sy_f = Yf.sum(0)
        yy = (Yf * Yf).sum(0)
        H = f["Vt"] @ (XtY - XfYf[k])
        C = f["Vt"] @ XfYf[k]
        if fit_intercept:  # Y is globally centred: train mean = -sy_f / n_tr
            mu = -sy_f / n_tr
            H = H - n_tr * be.outer(f["Vm"], mu)
            C = C - be.outer(f["Vm"], sy_f) - be.outer(f["Vsx"], mu) + n_f * be.outer(f["Vm"], mu)
            yy = yy - 2 * mu * sy_f + n_f * mu * mu
        H = be.asarray(H, "float64")
        R = f["Ghat"] @ H
        inv = 1.0 / (f["s2"][None, :] + alphas[:, None])  # (n_alphas, p)
        lin = be.asarray(inv, "float64") @ (H * (2.0 * R - 2.0 * be.asarray(C, "float64")))
        quad = be.asarray(inv * inv, "float64") @ (f["Gdiag"][:, None] * H * H)
        sse = be.asarray(yy, "float64")[None, :] + lin + quad
        if len(f["close_idx"]):
            Hs = H[f["close_idx"]]
            for a_i in range(len(alphas)):
                Zs = Hs * be.asarray(inv[a_i], "float64")[f["close_idx"]][:, None]
                sse[a_i] = sse[a_i] + (Zs * (f["close_G"] @ Zs)).sum(0)
        sst = None
        if scoring == "r2":
            sst = (Yf * Yf).sum(0) - sy_f * sy_f / n_f
        out[k] = _score(be, sse, n_f, sst, scoring)
    return out, XtY


def _score(be, sse, n_f, sst, scoring):
    sse = np.maximum(be.to_numpy(sse).astype(np.float64), 0.0)
    if scoring == "r2":
        sst = be.to_numpy(sst).astype(np.float64)
        return 1.0 - sse / np.where(sst > 0, sst, np.inf)
    return -sse / n_f


def _dual_folds(be, X, folds, fit_intercept):
    info = []
    X64 = be.asarray(X, "float64")
    for tr, va in folds:
        Xtr, Xv = X64[be.index(tr)], X64[be.index(va)]
        if fit_intercept:
            m = Xtr.mean(0)
            Xtr, Xv = Xtr - m, Xv - m
        lam, U = be.eigh(Xtr @ Xtr.T)
        lam = be.clip_min(lam, 0.0)
        M = (Xv @ Xtr.T) @ U
        info.append(
            dict(
                tr=be.index(tr),
                va=be.index(va),
                n_f=len(va),
                lam=lam,
                Ut=be.asarray(U.T, "float32"),
                M=be.asarray(M, "float32"),
            )
        )
    return info


def _dual_chunk_scores(be, X, Yc, info, alphas, fit_intercept, scoring):
    out = np.empty((len(info), len(alphas), Yc.shape[1]), dtype=np.float64)
    for k, f in enumerate(info):
        Ytr, Yv = Yc[f["tr"]], Yc[f["va"]]
        if fit_intercept:
            mu = Ytr.mean(0)
            Ytr, Yv = Ytr - mu, Yv - mu
        B = f["Ut"] @ Ytr
        sst = None
        if scoring == "r2":
            Yd = Yv - Yv.mean(0)
            sst = (Yd * Yd).sum(0)
        for a_i, alpha in enumerate(alphas):
            R = Yv - f["M"] @ (B * be.asarray(1.0 / (f["lam"] + alpha), "float32")[:, None])
            out[k, a_i] = _score(be, (R * R).sum(0), f["n_f"], sst, scoring)
    return out, None


# --------------------------------------------------------------------------- LOO / GCV


def _full_decomposition(be, X, fit_intercept, primal=None):
    X64 = be.asarray(X, "float64")
    n, p = X.shape
    if (p <= n) if primal is None else primal:
        s2, V = be.eigh(X64.T @ X64)
        return dict(primal=True, s2=be.clip_min(s2, 0.0), V=V, Vt32=be.asarray(V.T, "float32"))
    lam, U = be.eigh(X64 @ X64.T)
    return dict(primal=False, s2=be.clip_min(lam, 0.0), U=U, Ut32=be.asarray(U.T, "float32"))


def _loo_chunk_scores(be, X, Yc, dec, alphas, fit_intercept, mode):
    """Scores (1, n_alphas, n_chunk): negative GCV or leave-one-out mean squared error."""
    n = X.shape[0]
    s2 = be.to_numpy(dec["s2"]).astype(np.float64)
    extra = 1.0 if fit_intercept else 0.0
    out = np.empty((1, len(alphas), Yc.shape[1]), dtype=np.float64)
    yy = be.to_numpy((Yc * Yc).sum(0)).astype(np.float64)
    if mode == "loo":
        X64, Y64 = be.asarray(X, "float64"), be.asarray(Yc, "float64")
        H = be.to_numpy(dec["V"].T @ (X64.T @ Y64) if dec["primal"] else dec["U"].T @ Y64)
    elif dec["primal"]:
        H = be.to_numpy(dec["Vt32"] @ (X.T @ Yc)).astype(np.float64)  # V^T X^T Y
    else:
        H = be.to_numpy(dec["Ut32"] @ Yc).astype(np.float64)  # U^T Y
    H2 = H * H
    if mode == "gcv":
        for a_i, alpha in enumerate(alphas):
            if dec["primal"]:  # ||y - X b||^2 with b = V (H / (s2 + a))
                rss = yy - (2.0 / (s2 + alpha) - s2 / (s2 + alpha) ** 2) @ H2
            else:
                rss = (alpha / (s2 + alpha)) ** 2 @ H2  # U complete: no cancellation with ||y||^2
            df = (s2 / (s2 + alpha)).sum() + extra
            out[0, a_i] = -(np.maximum(rss, 0.0) / n) / max(1.0 - df / n, 1e-12) ** 2
        return out
    # exact leave-one-out in float64: 1 - h_ii can be tiny (near-interpolation)
    Q = be.asarray(X, "float64") @ dec["V"] if dec["primal"] else be.asarray(dec["U"], "float64")
    Q2 = be.to_numpy(Q * Q)
    Hb = be.asarray(H, "float64")
    Y64 = be.asarray(Yc, "float64")
    for a_i, alpha in enumerate(alphas):
        d = 1.0 / (s2 + alpha) if dec["primal"] else s2 / (s2 + alpha)
        h = Q2 @ d + (1.0 / n if fit_intercept else 0.0)
        R = Y64 - Q @ (Hb * be.asarray(d, "float64")[:, None])
        R = R * be.asarray(1.0 / np.maximum(1.0 - h, 1e-12), "float64")[:, None]
        out[0, a_i] = -be.to_numpy((R * R).sum(0)).astype(np.float64) / n
    return out


# --------------------------------------------------------------------------- drivers


def ridge_cv_scores(
    be, X, Y, alphas, cv, fit_intercept, x_mean, y_mean, n_targets_batch=None, scoring="neg_mse", solver="auto"
):
    """Cross-validation scores of every alpha for every target.

    Parameters
    ----------
    be : backend
    X : backend array, shape (n_samples, n_features)
        Features, already centred by ``x_mean`` when ``fit_intercept``.
    Y : ndarray or backend array, shape (n_samples, n_targets)
        Targets (not centred; chunks are moved to the backend and centred).
    alphas : ndarray, shape (n_alphas,)
    cv : list of (train, val) or {"loo", "gcv"}
    fit_intercept : bool
    x_mean, y_mean : ndarray or None
    n_targets_batch : int or None
        Targets per chunk.
    scoring : {"neg_mse", "r2"}
        Per-fold score, averaged over folds (``"r2"`` not for loo/gcv).
    solver : {"auto", "primal", "dual"}

    Returns
    -------
    scores : ndarray, shape (n_alphas, n_targets)
        Mean over folds.
    """
    n, p = X.shape
    primal = p <= n if solver == "auto" else solver == "primal"
    n_targets = Y.shape[1]
    scores = np.empty((len(alphas), n_targets), dtype=np.float64)
    if isinstance(cv, str):
        dec = _full_decomposition(be, X, fit_intercept, primal)
        for sl in _chunks(n_targets, n_targets_batch):
            Yc = _get_chunk(be, Y, sl, y_mean)
            scores[:, sl] = _loo_chunk_scores(be, X, Yc, dec, alphas, fit_intercept, cv)[0]
        return scores
    setup = _primal_folds if primal else _dual_folds
    run = _primal_chunk_scores if primal else _dual_chunk_scores
    info = setup(be, X, cv, fit_intercept)
    for sl in _chunks(n_targets, n_targets_batch):
        Yc = _get_chunk(be, Y, sl, y_mean)
        scores[:, sl] = run(be, X, Yc, info, alphas, fit_intercept, scoring)[0].mean(0)
    return scores


def _fit_outputs(n_features, n_targets, n_alphas):
    """Empty ``coef`` (float32), ``best`` alpha indices, ``best_scores`` and ``scores`` of a fused fit."""
    return (
        np.empty((n_features, n_targets), dtype=np.float32),
        np.empty(n_targets, dtype=np.int64),
        np.empty(n_targets, dtype=np.float64),
        np.empty((n_alphas, n_targets), dtype=np.float64),
    )


def ridge_cv_fit(be, X, Y, alphas, folds, fit_intercept, y_mean, select, n_targets_batch=None, scoring="neg_mse"):
    """Fused k-fold CV + refit (primal, per-target alpha): one pass over the targets.

    ``select(scores) -> (best_index, best_score)`` picks the alpha of each
    target of a chunk from its ``(n_alphas, n_chunk)`` mean scores; the refit
    reuses the chunk's ``X^T Y`` from the cross-validation.

    Returns
    -------
    coef : ndarray, shape (n_features, n_targets), float32
    best : ndarray, shape (n_targets,) of alpha indices
    best_scores : ndarray, shape (n_targets,)
    scores : ndarray, shape (n_alphas, n_targets)
    """
    n, p = X.shape
    info = _primal_folds(be, X, folds, fit_intercept)
    dec = _full_decomposition(be, X, fit_intercept, primal=True)
    s2 = be.to_numpy(dec["s2"]).astype(np.float64)
    n_t = Y.shape[1]
    coef, best, best_scores, scores = _fit_outputs(p, n_t, len(alphas))
    for sl in _chunks(n_t, n_targets_batch):
        Yc = _get_chunk(be, Y, sl, y_mean)
        fold_scores, XtY = _primal_chunk_scores(be, X, Yc, info, alphas, fit_intercept, scoring)
        scores[:, sl] = fold_scores.mean(0)
        best[sl], best_scores[sl] = select(scores[:, sl])
        inv = be.asarray(1.0 / (s2[:, None] + alphas[best[sl]][None, :]), "float32")
        coef[:, sl] = be.to_numpy(dec["Vt32"].T @ ((dec["Vt32"] @ XtY) * inv))
    return coef, best, best_scores, scores


def ridge_refit(be, X, Y, target_alphas, y_mean, n_targets_batch=None, dec=None, primal=None):
    """Ridge weights on all samples with one alpha per target.

    Parameters
    ----------
    X : backend array, shape (n_samples, n_features)
        Centred features when an intercept is fitted.
    Y : ndarray, shape (n_samples, n_targets)
    target_alphas : ndarray, shape (n_targets,)
    y_mean : ndarray or None

    Returns
    -------
    coef : ndarray, shape (n_features, n_targets), float32
    """
    n, p = X.shape
    if dec is None:
        dec = _full_decomposition(be, X, y_mean is not None, primal)
    s2 = be.to_numpy(dec["s2"]).astype(np.float64)
    coef = np.empty((p, Y.shape[1]), dtype=np.float32)
    for sl in _chunks(Y.shape[1], n_targets_batch):
        Yc = _get_chunk(be, Y, sl, y_mean)
        inv = be.asarray(1.0 / (s2[:, None] + np.asarray(target_alphas[sl], dtype=np.float64)[None, :]), "float32")
        if dec["primal"]:
            H = dec["Vt32"] @ (X.T @ Yc)
            W = dec["Vt32"].T @ (H * inv)
        else:
            B = dec["Ut32"] @ Yc
            W = X.T @ (dec["Ut32"].T @ (B * inv))
        coef[:, sl] = be.to_numpy(W)
    return coef


def ridge_gcv_fit(be, X, Y, alphas, fit_intercept, y_mean, select, n_targets_batch=None, primal=None):
    """Fused generalised cross-validation + refit: ONE product with the targets per chunk.

    The GCV error of every alpha and the refit weights both follow from the
    chunk's projection ``H = V^T X^T Y`` (primal) or ``U^T Y`` (dual), so the
    targets are read once and the only ``n``-sized work is that product
    (``2 n p t`` flops, the floor of any ridge fit).

    Returns
    -------
    coef, best, best_scores, scores : as :func:`ridge_cv_fit`
    """
    n, p = X.shape
    dec = _full_decomposition(be, X, fit_intercept, primal)
    s2 = be.to_numpy(dec["s2"]).astype(np.float64)
    n_t = Y.shape[1]
    coef, best, best_scores, scores = _fit_outputs(p, n_t, len(alphas))
    extra = 1.0 if fit_intercept else 0.0
    alphas = np.asarray(alphas, dtype=np.float64)
    inv = 1.0 / (s2[None, :] + alphas[:, None])  # (n_alphas, k)
    df = (s2[None, :] * inv).sum(1) + extra
    denom = np.maximum(1.0 - df / n, 1e-12) ** 2
    if dec["primal"]:  # ||y - X b||^2 = yy - sum_k (2/(s+a) - s/(s+a)^2) H_k^2
        lin = be.asarray(2.0 * inv - s2[None, :] * inv * inv, "float64")
    else:  # U is complete (n x n): ||y - K c||^2 = sum_k (a/(s_k+a))^2 H_k^2, no cancellation
        lin = be.asarray(-((alphas[:, None] * inv) ** 2), "float64")
    for sl in _chunks(n_t, n_targets_batch):
        Yc = _get_chunk(be, Y, sl, y_mean)
        H = dec["Vt32"] @ (X.T @ Yc) if dec["primal"] else dec["Ut32"] @ Yc
        H64 = be.asarray(H, "float64")
        yy = be.asarray((Yc * Yc).sum(0), "float64") if dec["primal"] else 0.0
        rss = be.to_numpy(yy - lin @ (H64 * H64))
        scores[:, sl] = -(np.maximum(rss, 0.0) / n) / denom[:, None]
        best[sl], best_scores[sl] = select(scores[:, sl])
        w = be.asarray(inv[best[sl]].T, "float32")  # (k, n_chunk)
        if dec["primal"]:
            coef[:, sl] = be.to_numpy(dec["Vt32"].T @ (H * w))
        else:
            coef[:, sl] = be.to_numpy(X.T @ (dec["Ut32"].T @ (H * w)))
    return coef, best, best_scores, scores
