"""Meta-training of :class:`BraInCoRL` over the voxels of several subjects."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from ...pipeline import bad_value, check, check_array
from ._model import BraInCoRL, predict_from_weights

__all__ = ["MetaTrainingSubject", "metatrain", "standardize_context", "unit_norm"]


def unit_norm(embeddings: np.ndarray, name: str = "embeddings") -> np.ndarray:
    """Rows scaled to unit L2 norm (float32); zero rows are refused.

    Parameters
    ----------
    embeddings : array, shape (n_images, E)
    """
    e = check_array(embeddings, name, "(n_images, E)", ndim=2, dtype=np.float32)
    norms = np.linalg.norm(e, axis=1, keepdims=True)
    check(bool((norms > 0).all()), name, "rows with a non-zero norm", f"<{int((norms == 0).sum())} zero rows>")
    return e / norms


def standardize_context(responses: torch.Tensor, eps: float = 1e-6) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-voxel z-scoring by the context statistics.

    Parameters
    ----------
    responses : tensor, shape (n_voxels, n_context)

    Returns
    -------
    z : tensor, shape (n_voxels, n_context)
    mean, std : tensor, shape (n_voxels, 1)
        Constant voxels get ``std = 1``.
    """
    responses = check_array(responses, "responses", "(n_voxels, n_context >= 1)", ndim=2)
    check(responses.shape[1] >= 1, "responses", "at least one context image", f"<shape {tuple(responses.shape)}>")
    mean = responses.mean(dim=1, keepdim=True)
    std = responses.std(dim=1, keepdim=True, unbiased=False)
    std = torch.where(std > eps, std, torch.ones_like(std))
    return (responses - mean) / std, mean, std


@dataclass
class MetaTrainingSubject:
    """One training subject: its images' embeddings and responses.

    Parameters
    ----------
    embeddings : array, shape (n_images, E)
        Unit-normed image embeddings.
    responses : array, shape (n_images, n_voxels)
        Responses (e.g. repeat-averaged betas) of every voxel to these images.
    name : str
        Identifier (for messages).
    """

    embeddings: np.ndarray
    responses: np.ndarray
    name: str = "subject"
    train_voxels: np.ndarray = field(default=None, repr=False)
    val_voxels: np.ndarray = field(default=None, repr=False)

    def __post_init__(self):
        self.embeddings = check_array(self.embeddings, "embeddings", "(n_images, E)", ndim=2, of=self.name)
        self.responses = check_array(self.responses, "responses", "(n_images, n_voxels)", ndim=2, of=self.name)
        check(
            len(self.responses) == len(self.embeddings),
            "responses",
            f"one row per image ({len(self.embeddings)})",
            f"<{len(self.responses)} rows>",
            of=self.name,
        )


def _check_subjects(subjects: Sequence[MetaTrainingSubject], embed_dim: int, need: int) -> None:
    check(len(subjects) > 0, "subjects", "a non-empty list", list(subjects), of="metatrain")
    for s in subjects:
        e, y = s.embeddings, s.responses
        check(
            e.ndim == 2 and e.shape[1] == embed_dim,
            "embeddings",
            f"(n_images, {embed_dim}) for the model",
            f"<shape {e.shape}>",
            of=s.name,
        )
        check(
            y.ndim == 2 and y.shape[0] == e.shape[0],
            "responses",
            f"(n_images={e.shape[0]}, n_voxels)",
            f"<shape {y.shape}>",
            of=s.name,
        )
        check(bool(np.isfinite(y).all()), "responses", "finite (no NaN or inf)", "<non-finite values>", of=s.name)
        check(e.shape[0] >= need, "n_images", f">= min_context + n_query = {need}", e.shape[0], of=s.name)


def _lr_factor(step: int, n_steps: int, warmup: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, n_steps - warmup)
    return 0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress))


def _episode(model, emb, resp, ctx_idx, query_idx, device, amp):
    """Query loss (MSE on z-scored responses) and per-voxel EV for one episode."""
    e_ctx = emb[ctx_idx]
    z_ctx, mean, std = standardize_context(resp[ctx_idx].T)
    z_query = (resp[query_idx].T - mean) / std
    with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=amp):
        weights = model(e_ctx, z_ctx)
    pred = predict_from_weights(weights.float(), emb[query_idx])
    loss = torch.mean((pred - z_query) ** 2)
    ev = 1.0 - torch.var(z_query - pred, dim=1) / torch.var(z_query, dim=1).clamp_min(1e-12)
    return loss, ev


def metatrain(
    model: BraInCoRL,
    subjects: Sequence[MetaTrainingSubject],
    *,
    n_steps: int = 2000,
    batch_voxels: int = 64,
    min_context: int = 30,
    max_context: int = 500,
    n_query: int = 100,
    lr: float = 1e-4,
    weight_decay: float = 0.1,
    warmup_steps: int | None = None,
    grad_clip: float = 1.0,
    val_fraction: float = 0.1,
    val_every: int = 100,
    n_val_episodes: int = 8,
    device: str = "cpu",
    seed: int = 0,
    callback: Callable[[dict], None] | None = None,
) -> dict:
    """Meta-train ``model`` in place on voxels of several subjects.

    Each step samples a training subject, a batch of its voxels, a context set
    of ``min_context..max_context`` images (uniform) and ``n_query`` other
    query images; the model turns each voxel's context set into weights and
    the loss is the MSE of the predicted query responses. Responses are
    z-scored per voxel with the context statistics (the same convention as at
    inference, see :class:`InContextEncoder`). AdamW with linear warm-up and
    cosine decay; mixed precision (bfloat16) on CUDA. A fraction of each
    subject's voxels is held out for validation; the state with the best
    validation loss is kept.

    Parameters
    ----------
    model : BraInCoRL
    subjects : list of MetaTrainingSubject
        Embeddings must be unit-normed with ``model.embed_dim`` columns.
    n_steps, batch_voxels, min_context, max_context, n_query : int
        Episode sampling (the paper: 30-500 context images, 100 queries).
    lr, weight_decay : float
        AdamW (the paper: 1e-4, 0.1).
    warmup_steps : int, optional
        Linear warm-up length (default 5% of ``n_steps``).
    grad_clip : float
        Gradient-norm clipping (0 disables).
    val_fraction : float
        Fraction of each subject's voxels held out for validation.
    val_every, n_val_episodes : int
        Validation period (steps) and number of fixed validation episodes.
    device : str
        Torch device.
    seed : int
        Seed of the sampling (and of the voxel split).
    callback : callable, optional
        Called with each validation record.

    Returns
    -------
    history : dict
        ``records`` (list of dicts: step, train_loss, val_loss, val_ev, lr,
        elapsed_s), ``best_step``, ``best_val_loss``, ``train_time_s``,
        ``n_parameters``.
    """
    for name, value in dict(
        n_steps=n_steps,
        batch_voxels=batch_voxels,
        min_context=min_context,
        n_query=n_query,
        val_every=val_every,
        n_val_episodes=n_val_episodes,
    ).items():
        check(value >= 1, name, ">= 1", value, of="metatrain")
    check(min_context >= 2, "min_context", ">= 2", min_context, of="metatrain")
    check(max_context >= min_context, "max_context", f">= min_context={min_context}", max_context, of="metatrain")
    check(0.0 < val_fraction < 1.0, "val_fraction", "in (0, 1)", val_fraction, of="metatrain")
    check(isinstance(model, BraInCoRL), "model", "a BraInCoRL", f"<{type(model).__name__}>", exc=TypeError)
    _check_subjects(subjects, model.embed_dim, min_context + n_query)

    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    dev = torch.device(device)
    amp = dev.type == "cuda"
    model.to(dev)
    data = []
    for s in subjects:
        n_vox = s.responses.shape[1]
        perm = rng.permutation(n_vox)
        n_val = max(1, int(round(val_fraction * n_vox)))
        check(n_vox - n_val >= 1, "n_voxels", f"> {n_val} (voxels held out for validation)", n_vox, of=s.name)
        s.val_voxels, s.train_voxels = np.sort(perm[:n_val]), np.sort(perm[n_val:])
        data.append(
            (
                torch.as_tensor(s.embeddings, dtype=torch.float32, device=dev),
                torch.as_tensor(s.responses, dtype=torch.float32, device=dev),
            )
        )
    weights_p = np.array([len(s.train_voxels) for s in subjects], dtype=float)
    weights_p /= weights_p.sum()

    def sample(r, voxel_pool_of, n_ctx=None):
        si = int(r.choice(len(subjects), p=weights_p))
        n_img = subjects[si].embeddings.shape[0]
        hi = min(max_context, n_img - n_query)
        n_ctx = int(r.integers(min_context, hi + 1)) if n_ctx is None else min(n_ctx, hi)
        order = r.permutation(n_img)
        pool = voxel_pool_of(subjects[si])
        vox = r.choice(pool, size=min(batch_voxels, len(pool)), replace=False)
        return si, vox, order[:n_ctx], order[n_ctx : n_ctx + n_query]

    val_rng = np.random.default_rng(seed + 7919)
    val_sizes = np.unique(np.geomspace(min_context, max_context, n_val_episodes).astype(int))
    val_episodes = [
        sample(val_rng, lambda s: s.val_voxels, n_ctx=int(val_sizes[i % len(val_sizes)])) for i in range(n_val_episodes)
    ]

    def validate():
        model.eval()
        losses, evs = [], []
        with torch.no_grad():
            for si, vox, ctx, query in val_episodes:
                emb, resp = data[si]
                loss, ev = _episode(model, emb, resp[:, torch.as_tensor(vox, device=dev)], ctx, query, dev, amp)
                losses.append(float(loss))
                evs.append(float(ev.mean()))
        model.train()
        return float(np.mean(losses)), float(np.mean(evs))

    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    warmup = max(1, int(0.05 * n_steps) if warmup_steps is None else warmup_steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda st: _lr_factor(st, n_steps, warmup))
    records, running = [], []
    best = (math.inf, -1, copy.deepcopy(model.state_dict()))
    start = time.perf_counter()
    model.train()
    for step in range(n_steps):
        si, vox, ctx, query = sample(rng, lambda s: s.train_voxels)
        emb, resp = data[si]
        loss, _ = _episode(model, emb, resp[:, torch.as_tensor(vox, device=dev)], ctx, query, dev, amp)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
        scheduler.step()
        running.append(float(loss.detach()))
        if (step + 1) % val_every == 0 or step + 1 == n_steps:
            val_loss, val_ev = validate()
            rec = dict(
                step=step + 1,
                train_loss=float(np.mean(running)),
                val_loss=val_loss,
                val_ev=val_ev,
                lr=float(scheduler.get_last_lr()[0]),
                elapsed_s=time.perf_counter() - start,
            )
            running = []
            records.append(rec)
            if callback is not None:
                callback(rec)
            if val_loss < best[0]:
                best = (val_loss, step + 1, copy.deepcopy(model.state_dict()))
    model.load_state_dict(best[2])
    model.eval()
    if not math.isfinite(best[0]):
        raise bad_value("val_loss", "finite after meta-training", best[0], of="metatrain")
    return dict(
        records=records,
        best_step=best[1],
        best_val_loss=best[0],
        train_time_s=time.perf_counter() - start,
        n_parameters=int(sum(p.numel() for p in model.parameters())),
    )
