"""A tokenizer trained on the union of several EEG sets, to be frozen and used on others (transfer)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...pipeline import bad_value, check
from ._preprocess import TARGET_SFREQ, fit_scaling, prepare_trials

__all__ = ["union_signals", "fit_union_tokenizer"]


def union_signals(
    sets: list[Any],
    scaling: str = "channel",
    scale_quantile: float = 0.95,
    center: str = "none",
    window_s: float = 2.0,
    max_per_set: int = 0,
    seed: int = 0,
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Single-channel 200-Hz windows of the training trials of every set, each set scaled on its own.

    Parameters
    ----------
    sets : list of EpochsData
        Their ``split == "train"`` trials are used (all trials when a set has no split).
    scaling, scale_quantile, center
        See :func:`fit_scaling` (fitted per set, on its training trials).
    window_s : float
        Window length; longer trials are cut into non-overlapping windows, shorter ones zero-padded.
    max_per_set : int
        Keep at most this many random windows of each set (0: all), so that a set with many channels
        does not dominate the union.
    seed : int
        Seed of that draw.

    Returns
    -------
    signals : ndarray (n_signals, window_s * 200) float32
    counts : list of dict
        Per set: dataset, n_trials, n_chans, sfreq, n_signals.
    """
    from ...datasets.kinds import EpochsData

    check(len(sets) >= 1, "sets", "at least one epochs set", len(sets))
    for i, ep in enumerate(sets):
        check(isinstance(ep, EpochsData), f"sets[{i}]", "an EpochsData", f"<{type(ep).__name__}>", exc=TypeError)
    width = int(round(window_s * TARGET_SFREQ))
    check(width >= 200, "window_s", ">= 1 s (one frame)", window_s)
    out, counts = [], []
    for ep in sets:
        X = ep.X if ep.split is None else ep.X[ep.split == "train"]
        if len(X) == 0:
            raise bad_value("split", "at least one 'train' trial per set", "<none>", of=ep.info.get("dataset", "set"))
        scale, offset = fit_scaling(X, ep.sfreq, scaling, scale_quantile, center)
        x = prepare_trials(X, ep.sfreq, scaling, scale_quantile, scale, pad_short=True, offset=offset)
        x = x.reshape(-1, x.shape[-1])
        if x.shape[1] < width:
            left = (width - x.shape[1]) // 2
            x = np.pad(x, ((0, 0), (left, width - x.shape[1] - left)))
        n = x.shape[1] // width
        x = x[:, : n * width].reshape(-1, width)
        if max_per_set and len(x) > max_per_set:
            x = x[np.sort(np.random.default_rng(seed).permutation(len(x))[:max_per_set])]
        out.append(x)
        counts.append(
            {
                "dataset": str(ep.info.get("dataset") or ep.info.get("source") or "set"),
                "n_trials": int(len(X)),
                "n_chans": int(ep.X.shape[1]),
                "sfreq": ep.sfreq,
                "n_signals": int(len(x)),
            }
        )
    return np.ascontiguousarray(np.concatenate(out), dtype=np.float32), counts


def fit_union_tokenizer(
    sets: list[Any],
    tokenizer_config: dict | None = None,
    cfg: Any = None,
    scaling: str = "channel",
    scale_quantile: float = 0.95,
    center: str = "none",
    window_s: float = 2.0,
    max_per_set: int = 0,
) -> tuple[Any, dict[str, Any]]:
    """Train a :class:`TFMTokenizer` on :func:`union_signals` of ``sets``.

    Returns
    -------
    tokenizer : TFMTokenizer
    record : dict
        ``sets`` (the counts of :func:`union_signals`) and the training ``history``.
    """
    from ._model import TFMTokenizer
    from ._train import TrainConfig, seed_everything, train_tokenizer

    cfg = cfg or TrainConfig()
    signals, counts = union_signals(sets, scaling, scale_quantile, center, window_s, max_per_set, cfg.seed)
    seed_everything(cfg.seed)
    tok = TFMTokenizer(**(tokenizer_config or {}))
    history = train_tokenizer(tok, signals, cfg, sfreq=tok.sfreq)
    return tok, {"sets": counts, "history": history, "n_signals": int(len(signals))}
