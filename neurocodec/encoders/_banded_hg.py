"""Hyper-gradient solver of banded ridge (one regularisation per feature band and per target).

With log band weights ``delta`` (``n_bands x n_targets``, himalaya's convention:
feature ``f`` of band ``b`` is penalised by ``exp(-delta_b)``, i.e. kernel
``sum_b exp(delta_b) X_b X_b^T`` with unit ridge), the k-fold CV loss of every
target is a smooth function of its own ``delta``. Each step solves the
training systems of every fold exactly (batched Cholesky, float64, primal
``p x p`` or dual ``n_train x n_train``, whichever is smaller) and
differentiates the validation loss through the solve with torch autograd
(the implicit-function gradient ``-dL/dw A^-1 dA/ddelta w`` computed by
backpropagation through ``cholesky_solve``); Adam updates ``delta``. As in
himalaya's ``MultipleKernelRidgeCV(solver="hyper_gradient")`` the descent
starts from a random-search / RidgeCV solution, and every target keeps the
best ``delta`` met, so the result is never worse (in CV loss) than the start.
"""

from __future__ import annotations

import numpy as np

__all__ = ["banded_cv_loss_descent", "banded_refit"]


def _fold_data(torch, X, Y, folds, fit_intercept, device):
    out = []
    for tr, va in folds:
        Xtr, Xva, Ytr, Yva = X[tr], X[va], Y[tr], Y[va]
        if fit_intercept:
            mx, my = Xtr.mean(0), Ytr.mean(0)
            Xtr, Xva, Ytr, Yva = Xtr - mx, Xva - mx, Ytr - my, Yva - my
        t = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float64, device=device)  # noqa: E731
        out.append(dict(Xtr=t(Xtr), Xva=t(Xva), Ytr=t(Ytr), Yva=t(Yva)))
    return out


def _predict(torch, Xtr, Ytr, Xq, band, delta):
    """Ridge predictions at ``Xq`` for every target of a chunk: ``(n_q, t)``.

    ``delta`` (n_bands, t): feature penalties ``exp(-delta[band])``. Primal
    solve when n_features <= n_train, dual otherwise.
    """
    n, p = Xtr.shape
    scale = torch.exp(delta[band])  # (p, t): per-feature kernel weight = 1 / penalty
    if p <= n:
        G = Xtr.T @ Xtr  # (p, p)
        A = G[None] + torch.diag_embed(1.0 / scale.T)  # (t, p, p)
        L = torch.linalg.cholesky(A)
        rhs = (Xtr.T @ Ytr).T[..., None]  # (t, p, 1)
        W = torch.cholesky_solve(rhs, L)[..., 0].T  # (p, t)
        return Xq @ W
    # dual: K_t = Xtr diag(scale_t) Xtr^T + I,  prediction = Xq diag(scale_t) Xtr^T c_t
    Xs = Xtr.T[None] * scale.T[:, :, None]  # (t, p, n)
    K = Xtr[None] @ Xs + torch.eye(n, dtype=Xtr.dtype, device=Xtr.device)[None]
    L = torch.linalg.cholesky(K)
    c = torch.cholesky_solve(Ytr.T[..., None], L)  # (t, n, 1)
    return (Xq[None] @ (Xs @ c))[..., 0].T


def _cv_loss(torch, folds, band, delta, cols, scoring):
    """Mean over folds of the per-target validation loss (MSE, or SSE / SST for "r2"): (t,)."""
    loss = 0.0
    for f in folds:
        P = _predict(torch, f["Xtr"], f["Ytr"][:, cols], f["Xva"], band, delta)
        Yva = f["Yva"][:, cols]
        sse = ((Yva - P) ** 2).sum(0)
        if scoring == "r2":
            sst = ((Yva - Yva.mean(0)) ** 2).sum(0)
            loss = loss + sse / torch.clamp(sst, min=1e-300)
        else:
            loss = loss + sse / Yva.shape[0]
    return loss / len(folds)


def banded_cv_loss_descent(
    X,
    Y,
    groups,
    folds,
    init_deltas,
    fit_intercept=True,
    max_iter=100,
    step_size=0.1,
    n_targets_batch=256,
    scoring="neg_mse",
    device="cpu",
):
    """Gradient descent of the k-fold CV loss over log band weights.

    Parameters
    ----------
    X : ndarray, shape (n_samples, n_features)
    Y : ndarray, shape (n_samples, n_targets)
    groups : list of int
        Features per band (column order).
    folds : list of (train, val) index arrays
    init_deltas : ndarray, shape (n_bands, n_targets)
        Starting point, ``log(gamma / alpha)``.
    max_iter : int
        Adam steps.
    step_size : float
        Adam learning rate on the log scale.
    n_targets_batch : int
        Targets optimised together (memory ~ n_targets_batch * min(p, n_train)^2).
    scoring : {"neg_mse", "r2"}

    Returns
    -------
    deltas : ndarray, shape (n_bands, n_targets)
        The best ``delta`` met for every target.
    scores : ndarray, shape (n_targets,)
        CV score at ``deltas`` (``-MSE`` or ``R²``, mean over folds).
    """
    import torch

    band = torch.as_tensor(np.repeat(np.arange(len(groups)), groups), device=device)
    fd = _fold_data(torch, np.asarray(X, np.float64), np.asarray(Y, np.float64), folds, fit_intercept, device)
    n_t = Y.shape[1]
    deltas = np.asarray(init_deltas, dtype=np.float64).copy()
    best_loss = np.empty(n_t)
    for s in range(0, n_t, max(1, int(n_targets_batch))):
        cols = torch.arange(s, min(s + n_targets_batch, n_t), device=device)
        d = torch.tensor(deltas[:, s : s + len(cols)], dtype=torch.float64, device=device, requires_grad=True)
        opt = torch.optim.Adam([d], lr=step_size)
        best_d = d.detach().clone()
        best = torch.full((len(cols),), float("inf"), dtype=torch.float64, device=device)
        for it in range(max_iter + 1):
            opt.zero_grad()
            loss = _cv_loss(torch, fd, band, d, cols, scoring)
            with torch.no_grad():
                better = loss < best
                best = torch.where(better, loss, best)
                best_d[:, better] = d.detach()[:, better]
            if it == max_iter:
                break
            loss.sum().backward()  # targets are independent: the sum's gradient is each target's own
            opt.step()
        deltas[:, s : s + len(cols)] = best_d.cpu().numpy()
        best_loss[s : s + len(cols)] = best.cpu().numpy()
    scores = 1.0 - best_loss if scoring == "r2" else -best_loss
    return deltas, scores


def banded_refit(X, Y, groups, deltas, n_targets_batch=256, device="cpu"):
    """Banded ridge weights on all samples (``X``, ``Y`` already centred): ``(n_features, n_targets)`` float32."""
    import torch

    band = torch.as_tensor(np.repeat(np.arange(len(groups)), groups), device=device)
    X64 = torch.as_tensor(np.asarray(X, np.float64), device=device)
    n, p = X64.shape
    coef = np.empty((p, Y.shape[1]), dtype=np.float32)
    eye = torch.eye(p, dtype=torch.float64, device=device)
    for s in range(0, Y.shape[1], max(1, int(n_targets_batch))):
        sl = slice(s, min(s + n_targets_batch, Y.shape[1]))
        Yc = torch.as_tensor(np.asarray(Y[:, sl], np.float64), device=device)
        d = torch.as_tensor(deltas[:, sl], dtype=torch.float64, device=device)
        # weights = the primal solution at features: W = Xs ... computed through the training-point predictor
        # with Xq = I (predictions at unit vectors are the weights)
        coef[:, sl] = _predict(torch, X64, Yc, eye, band, d).cpu().numpy()
    return coef
