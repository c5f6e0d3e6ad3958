"""Training loops: tokenizer (masked spectrum reconstruction + VQ), masked-token
prediction pretraining and classification fine-tuning of the TFM-Encoder.

AdamW with linear warm-up then cosine decay per step, seeded, CPU or CUDA,
progress bars, early stopping on validation (Cohen's kappa for multi-class,
AUROC for binary) with the best weights restored.
"""

from __future__ import annotations

import copy
import math
import random
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ...pipeline import bad_value, check, check_array

__all__ = [
    "TrainConfig",
    "seed_everything",
    "train_tokenizer",
    "tokenize_signals",
    "pretrain_encoder",
    "finetune_encoder",
    "predict_proba",
    "classification_metrics",
    "calibrate_binary_threshold",
    "constant_score",
]


def _check_tokens(encoder, tokens, y=None, name: str = "tokens"):
    """Token ids ``(n_trials, n_chans, n_frames)`` (and labels ``(n_trials,)``) for an encoder, or the template."""
    tok = check_array(tokens, name, "(n_trials, n_chans, n_frames) of token ids", ndim=3)
    check(tok.dtype.kind in "iu", name, "integer token ids", f"<dtype {tok.dtype}>", exc=TypeError)
    n_codes = getattr(encoder, "n_codes", None)
    if n_codes is not None and tok.size:
        check(
            0 <= tok.min() and tok.max() <= n_codes,
            name,
            f"ids in [0, {n_codes}]",
            f"<range [{tok.min()}, {tok.max()}]>",
        )
    if y is None:
        return tok
    y = check_array(y, "y", "(n_trials,) of class indices", ndim=1)
    check(y.dtype.kind in "iu" or bool((y == np.round(y)).all()), "y", "integer class indices", f"<dtype {y.dtype}>")
    check(len(y) == len(tok), "y", f"one label per trial ({len(tok)})", f"<{len(y)} labels>")
    return tok, y.astype(np.int64)


@dataclass
class TrainConfig:
    """Optimisation settings (reference defaults: AdamW, lr 1e-3, wd 1e-5).

    Attributes
    ----------
    epochs : int
        Passes over the data.
    batch_size : int
        Examples per step (single-channel signals for the tokenizer, trials
        for the encoder).
    lr, weight_decay : float
        AdamW learning rate and weight decay.
    betas : tuple of float
        AdamW betas ((0.9, 0.99) in the reference).
    warmup_epochs : float
        Linear warm-up length, then cosine decay to ``min_lr``.
    min_lr : float
        Final learning rate.
    patience : int
        Early-stopping patience in epochs (0: no early stopping).
    label_smoothing : float
        For multi-class fine-tuning.
    seed : int
        Seed of torch, numpy and Python RNGs.
    device : str
        Torch device.
    progress : bool
        Show progress bars.
    max_examples_per_epoch : int
        Draw at most this many random examples per epoch (0: all); bounds the
        tokenizer's CPU cost on large sets.
    class_weight : {None, "balanced"}
        Fine-tuning loss weights: none, or inversely proportional to the
        class frequencies of the fitting trials.
    min_best_epoch : int
        Early stopping keeps the best epoch at or after this one (1: never
        the first epoch, which a collapsed fit often keeps).
    """

    epochs: int = 10
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-5
    betas: tuple[float, float] = (0.9, 0.99)
    warmup_epochs: float = 1.0
    min_lr: float = 1e-5
    patience: int = 0
    label_smoothing: float = 0.1
    seed: int = 0
    device: str = "cpu"
    progress: bool = False
    max_examples_per_epoch: int = 0
    class_weight: str | None = None
    min_best_epoch: int = 0

    @classmethod
    def with_warmup(cls, epochs: int, **kwargs: Any) -> TrainConfig:
        """Settings for ``epochs`` epochs whose warm-up is a tenth of them, at most 10 (the reference: 10 of 100)."""
        return cls(epochs=epochs, warmup_epochs=min(10.0, epochs / 10), **kwargs)

    def __post_init__(self):
        for name, low in (("epochs", 0), ("batch_size", 1), ("patience", 0), ("max_examples_per_epoch", 0)):
            value = getattr(self, name)
            check(
                isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= low,
                name,
                f"an int >= {low}",
                value,
                of="TrainConfig",
            )
        check(isinstance(self.lr, (int, float)) and self.lr > 0, "lr", "> 0", self.lr, of="TrainConfig")
        check(self.class_weight in (None, "balanced"), "class_weight", "None or 'balanced'", self.class_weight)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, numpy and torch; return a CPU generator for masks."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def _optimizer(params, cfg: TrainConfig, n_steps: int, steps_per_epoch: int):
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay, betas=tuple(cfg.betas))
    warm = int(round(cfg.warmup_epochs * steps_per_epoch))

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        rest = max(n_steps - warm, 1)
        cos = 0.5 * (1 + math.cos(math.pi * min(step - warm, rest) / rest))
        return (cfg.min_lr + (cfg.lr - cfg.min_lr) * cos) / cfg.lr

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, factor)


def _step(opt, sched, loss: torch.Tensor) -> None:
    """One optimiser and learning-rate-schedule step on ``loss`` (every training loop here)."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    sched.step()


def _epochs(cfg: TrainConfig, desc: str):
    if not cfg.progress:
        return range(cfg.epochs)
    from tqdm.auto import tqdm

    return tqdm(range(cfg.epochs), desc=desc, leave=False)


def _batches(n: int, batch_size: int, rng: np.random.Generator | None, limit: int = 0):
    order = rng.permutation(n) if rng is not None else np.arange(n)
    if limit:
        order = order[:limit]
    for i in range(0, len(order), batch_size):
        yield order[i : i + batch_size]


def _check_signals(model, signals: Any, sfreq: Any) -> np.ndarray:
    """Float32 C-contiguous (n_signals, n_times) signals at the model's rate, or one clear error."""
    if sfreq is None:
        raise bad_value("sfreq", f"given (the signals' rate; the tokenizer works at {model.sfreq:g} Hz)", None)
    try:
        sfreq = float(sfreq)
    except (TypeError, ValueError):
        raise bad_value("sfreq", "a number (Hz)", sfreq) from None
    if abs(sfreq - model.sfreq) > 1e-6:
        raise bad_value(
            "sfreq",
            f"{model.sfreq:g} Hz (the rate the tokenizer was trained at; resample first, e.g. with prepare_trials)",
            f"<{sfreq:g} Hz>",
            of="signals",
        )
    x = np.asarray(signals)
    if x.dtype.kind not in "biuf":
        raise bad_value("signals", "a real numeric array", f"<dtype {x.dtype}>", exc=TypeError)
    if x.ndim != 2:
        raise bad_value(
            "signals",
            "a 2-D array (n_signals, n_times) of single-channel signals (reshape trials (n, c, t) to (n * c, t))",
            f"<shape {x.shape}>",
        )
    if x.shape[1] < model.window:
        raise bad_value(
            "n_times",
            f">= {model.window} samples (one {model.window / model.sfreq:g}-s frame)",
            x.shape[1],
            of="signals",
        )
    if not len(x):
        raise bad_value("signals", "at least one signal", "<0 signals>")
    x = np.ascontiguousarray(x, dtype=np.float32)
    if not np.isfinite(x).all():
        raise bad_value("signals", "finite (no NaN or inf)", f"<{int((~np.isfinite(x)).sum())} non-finite values>")
    return x


def train_tokenizer(model, signals: np.ndarray, cfg: TrainConfig, sfreq: float | None = None) -> dict[str, list[float]]:
    """Train a :class:`TFMTokenizer` on single-channel signals.

    Parameters
    ----------
    model : TFMTokenizer
    signals : ndarray (n_signals, n_times)
        Scaled single-channel windows at ``model.sfreq`` (>= one frame each);
        float64 and integers are cast to float32.
    cfg : TrainConfig
    sfreq : float
        The signals' sampling rate: must equal ``model.sfreq`` (200 Hz).

    Returns
    -------
    history : dict
        Per-epoch ``loss``, ``recon``, ``vq``, ``perplexity``, ``active_codes``.
    """
    signals = _check_signals(model, signals, sfreq)
    gen = seed_everything(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model.to(cfg.device).train()
    n_seen = min(len(signals), cfg.max_examples_per_epoch or len(signals))
    steps = max(1, math.ceil(n_seen / cfg.batch_size))
    opt, sched = _optimizer(model.parameters(), cfg, steps * cfg.epochs, steps)
    hist: dict[str, list[float]] = {k: [] for k in ("loss", "recon", "vq", "perplexity", "active_codes")}
    for _ in _epochs(cfg, "tokenizer"):
        model.quantizer.reset_usage()
        sums = {"loss": 0.0, "recon": 0.0, "vq": 0.0}
        for idx in _batches(len(signals), cfg.batch_size, rng, cfg.max_examples_per_epoch):
            sig = torch.from_numpy(signals[idx]).to(cfg.device)
            out = model.loss(model.spectrum(sig), sig, generator=gen)
            _step(opt, sched, out["loss"])
            for k in sums:
                sums[k] += float(out[k].detach()) * len(idx)
        for k in sums:
            hist[k].append(sums[k] / n_seen)
        ppl, active = model.quantizer.perplexity()
        hist["perplexity"].append(ppl)
        hist["active_codes"].append(active)
    model.eval()
    return hist


@torch.no_grad()
def tokenize_signals(
    model, signals: np.ndarray, sfreq: float | None = None, batch_size: int = 32, device: str = "cpu"
) -> np.ndarray:
    """Token indices (n_signals, n_frames) int32 of scaled single-channel signals.

    Parameters
    ----------
    model : TFMTokenizer
    signals : ndarray (n_signals, n_times)
        At ``model.sfreq``; float64 and integers are cast to float32.
    sfreq : float
        The signals' sampling rate: must equal ``model.sfreq`` (200 Hz).
    batch_size : int
        Signals per forward pass (see ``benchmarks/tokenizer_speed.py``).
    device : str
    """
    signals = _check_signals(model, signals, sfreq)
    check(isinstance(batch_size, int) and batch_size >= 1, "batch_size", "an int >= 1", batch_size)
    model.to(device).eval()

    def one_batch(start: int) -> np.ndarray:
        sig = torch.from_numpy(np.ascontiguousarray(signals[start : start + batch_size])).to(device)
        return model.tokenize(model.spectrum(sig), sig).cpu().numpy().astype(np.int32)

    starts = range(0, len(signals), batch_size)
    n_workers = min(torch.get_num_threads(), len(starts)) if str(device) == "cpu" else 1
    if n_workers > 1:  # one batch per core, one intra-op thread each (faster than threading each small batch)
        from concurrent.futures import ThreadPoolExecutor

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with ThreadPoolExecutor(n_workers) as pool:
                out = list(pool.map(one_batch, starts))
        finally:
            torch.set_num_threads(threads)
    else:
        out = [one_batch(i) for i in starts]
    n_frames = model.n_frames(signals.shape[-1])
    return np.concatenate(out) if out else np.zeros((0, n_frames), dtype=np.int32)


def pretrain_encoder(encoder, tokens: np.ndarray, cfg: TrainConfig) -> dict[str, list[float]]:
    """Masked-token prediction: mask ~50 % of tokens and, separately, the complement.

    Parameters
    ----------
    encoder : TFMEncoder
    tokens : ndarray (n_trials, n_chans, n_frames) of int

    Returns
    -------
    history : dict with per-epoch ``loss`` and ``accuracy`` (masked positions).
    """
    tokens = _check_tokens(encoder, tokens)
    check(len(tokens) > 0, "tokens", "at least one trial", f"<shape {tokens.shape}>")
    gen = seed_everything(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    encoder.to(cfg.device).train()
    steps = max(1, math.ceil(len(tokens) / cfg.batch_size))
    opt, sched = _optimizer(encoder.parameters(), cfg, steps * cfg.epochs, steps)
    hist: dict[str, list[float]] = {"loss": [], "accuracy": []}
    for _ in _epochs(cfg, "pretrain"):
        tot, correct, count = 0.0, 0, 0
        for idx in _batches(len(tokens), cfg.batch_size, rng):
            tok = torch.from_numpy(tokens[idx].astype(np.int64)).to(cfg.device)
            masked = (torch.rand(tok.shape, generator=gen) < 0.5).to(cfg.device)
            loss = 0.0
            for m in (masked, ~masked):
                if not bool(m.any()):
                    continue
                logits = encoder.masked_logits(tok.masked_fill(m, encoder.mask_id))
                loss = loss + F.cross_entropy(logits[m], tok[m])
                correct += int((logits[m].argmax(-1) == tok[m]).sum())
                count += int(m.sum())
            _step(opt, sched, loss)
            tot += float(loss.detach()) * len(idx)
        hist["loss"].append(tot / len(tokens))
        hist["accuracy"].append(correct / max(count, 1))
    encoder.eval()
    return hist


def _loss(logits: torch.Tensor, y: torch.Tensor, smoothing: float, weight: torch.Tensor | None = None) -> torch.Tensor:
    if logits.shape[1] == 1:
        pos = None if weight is None else weight[1] / weight[0]
        return F.binary_cross_entropy_with_logits(logits[:, 0], y.float(), pos_weight=pos)
    return F.cross_entropy(logits, y, weight=weight, label_smoothing=smoothing)


def _class_weights(y: np.ndarray, n_classes: int, mode: str | None) -> torch.Tensor | None:
    if mode is None:
        return None
    if mode != "balanced":
        from ...pipeline import bad_value

        raise bad_value("class_weight", "None or 'balanced'", mode)
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    return torch.tensor(len(y) / (n_classes * np.maximum(counts, 1)), dtype=torch.float32)


def constant_score(n_outputs: int) -> float:
    """Validation score of a constant prediction: AUROC 0.5 (one output, binary), Cohen's kappa 0 (multi-class)."""
    check(isinstance(n_outputs, (int, np.integer)) and n_outputs >= 1, "n_outputs", "an int >= 1", n_outputs)
    return 0.5 if n_outputs == 1 else 0.0


@torch.no_grad()
def predict_proba(encoder, tokens: np.ndarray, batch_size: int = 256, device: str = "cpu") -> np.ndarray:
    """Class probabilities (n_trials, n_classes) (binary: 2 columns from the sigmoid)."""
    tokens = _check_tokens(encoder, tokens)
    check(len(tokens) > 0, "tokens", "at least one trial", f"<shape {tokens.shape}>")
    encoder.to(device).eval()
    out = []
    for i in range(0, len(tokens), batch_size):
        logits = encoder(torch.from_numpy(tokens[i : i + batch_size].astype(np.int64)).to(device))
        if logits.shape[1] == 1:
            p = torch.sigmoid(logits)
            out.append(torch.cat([1 - p, p], dim=1).cpu().numpy())
        else:
            out.append(logits.softmax(-1).cpu().numpy())
    return np.concatenate(out)


def classification_metrics(y_true: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Balanced accuracy, Cohen's kappa, weighted F1 and AUROC (one-vs-rest macro for multi-class).

    Parameters
    ----------
    y_true : ndarray (n,) of class indices 0..n_classes-1
    proba : ndarray (n, n_classes)
    """
    from sklearn.metrics import balanced_accuracy_score, cohen_kappa_score, f1_score, roc_auc_score

    y_true = check_array(y_true, "y_true", "(n,) of class indices", ndim=1)
    proba = check_array(proba, "proba", "(n, n_classes >= 2)", ndim=2)
    check(proba.shape[1] >= 2, "proba", "(n, n_classes >= 2)", f"<shape {proba.shape}>")
    check(len(proba) == len(y_true), "proba", f"one row per label ({len(y_true)})", f"<shape {proba.shape}>")
    check(
        y_true.dtype.kind in "iu" and 0 <= y_true.min() and y_true.max() < proba.shape[1],
        "y_true",
        f"class indices in [0, {proba.shape[1]})",
        f"<{y_true.dtype} in [{y_true.min()}, {y_true.max()}]>",
    )
    pred = proba.argmax(1)
    present = [k for k in range(proba.shape[1]) if 0 < np.sum(y_true == k) < len(y_true)]
    if proba.shape[1] == 2:
        auroc = float(roc_auc_score(y_true, proba[:, 1])) if present else float("nan")
    else:  # one-vs-rest macro average over the classes present in y_true
        aucs = [roc_auc_score(y_true == k, proba[:, k]) for k in present]
        auroc = float(np.mean(aucs)) if aucs else float("nan")
    return {
        "balanced_accuracy": float(balanced_accuracy_score(y_true, pred)),
        "kappa": float(cohen_kappa_score(y_true, pred)),
        "weighted_f1": float(f1_score(y_true, pred, average="weighted")),
        "auroc": auroc,
    }


def finetune_encoder(
    encoder, tokens: np.ndarray, y: np.ndarray, cfg: TrainConfig, val: tuple[np.ndarray, np.ndarray] | None = None
) -> dict[str, Any]:
    """Fine-tune for classification (binary: BCE on one logit; else CE with label smoothing).

    Parameters
    ----------
    encoder : TFMEncoder
    tokens : ndarray (n_trials, n_chans, n_frames)
    y : ndarray (n_trials,) class indices
    val : (tokens, y), optional
        Validation set for early stopping (kappa, or AUROC when binary; ties
        broken by balanced accuracy); the best epoch's weights are restored.

    Returns
    -------
    history : dict with per-epoch ``loss`` and ``val_score``, ``best_epoch``,
        ``best_val_score`` and ``val_n_predicted`` (classes predicted on the
        validation split at the kept epoch).
    """
    tokens, y = _check_tokens(encoder, tokens, y)
    check(len(tokens) > 0, "tokens", "at least one trial", f"<shape {tokens.shape}>")
    seed_everything(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    encoder.to(cfg.device).train()
    n_out = encoder.head.out_features
    weight = _class_weights(np.asarray(y), 2 if n_out == 1 else n_out, cfg.class_weight)
    weight = None if weight is None else weight.to(cfg.device)
    steps = max(1, math.ceil(len(tokens) / cfg.batch_size))
    opt, sched = _optimizer(encoder.parameters(), cfg, steps * cfg.epochs, steps)
    hist: dict[str, Any] = {
        "loss": [],
        "val_score": [],
        "best_epoch": None,
        "best_val_score": None,
        "val_n_predicted": None,
    }
    best, best_state, waited = (-np.inf, -np.inf), None, 0
    for epoch in _epochs(cfg, "finetune"):
        encoder.train()
        tot = 0.0
        for idx in _batches(len(tokens), cfg.batch_size, rng):
            tok = torch.from_numpy(tokens[idx].astype(np.int64)).to(cfg.device)
            loss = _loss(
                encoder(tok), torch.from_numpy(y[idx].astype(np.int64)).to(cfg.device), cfg.label_smoothing, weight
            )
            _step(opt, sched, loss)
            tot += float(loss.detach()) * len(idx)
        hist["loss"].append(tot / len(tokens))
        if val is None:
            continue
        proba = predict_proba(encoder, val[0], device=cfg.device)
        m = classification_metrics(val[1], proba)
        score = m["auroc"] if n_out == 1 else m["kappa"]
        score = -np.inf if not np.isfinite(score) else score
        hist["val_score"].append(score)
        if epoch < cfg.min_best_epoch:
            continue
        key = (score, m["balanced_accuracy"])  # ties (e.g. a saturated AUROC of 1.0) go to the better decisions
        if key > best:
            best, best_state, waited, hist["best_epoch"] = key, copy.deepcopy(encoder.state_dict()), 0, epoch
            hist["best_val_score"] = float(score)
            hist["val_n_predicted"] = int(len(np.unique(proba.argmax(1))))
        else:
            waited += 1
            if cfg.patience and waited >= cfg.patience:
                break
    if best_state is not None:
        encoder.load_state_dict(best_state)
    encoder.eval()
    return hist


@torch.no_grad()
def calibrate_binary_threshold(
    encoder, tokens: np.ndarray, y: np.ndarray, prior: float | None = None, device: str = "cpu"
) -> float:
    """Move the decision threshold of a binary (one-logit) encoder so predictions match the class prior.

    The threshold is the validation-logit quantile at which the share of
    positive predictions equals ``prior`` (the positive rate of the training
    labels); it is subtracted from the head bias, so ``sigmoid(logit) = 0.5``
    falls on it. A model whose validation outputs all fall on one side of
    0.5 (common when early stopping keeps an early epoch) then still splits
    the trials; rankings (AUROC) do not change. A quantile is used rather
    than the balanced-accuracy optimum, which overfits small validation sets.

    Parameters
    ----------
    encoder : TFMEncoder
        With ``n_outputs == 1``.
    tokens : ndarray (n_trials, n_chans, n_frames)
        Validation tokens (never test data).
    y : ndarray (n_trials,) of 0 / 1
        Validation labels (give ``prior`` from the training labels).
    prior : float, optional
        Positive-class rate to reproduce (default: ``y.mean()``).

    Returns
    -------
    float
        The logit threshold applied (0.0 when not applicable).
    """
    tokens, y = _check_tokens(encoder, tokens, y)
    check(len(tokens) > 0, "tokens", "at least one trial", f"<shape {tokens.shape}>")
    if encoder.head.out_features != 1 or len(y) < 2:
        return 0.0
    prior = float(y.mean()) if prior is None else float(prior)
    if not 0.0 < prior < 1.0:
        return 0.0
    p = predict_proba(encoder, tokens, device=device)[:, 1].clip(1e-7, 1 - 1e-7)
    logit = np.log(p) - np.log1p(-p)
    t = float(np.quantile(logit, 1.0 - prior))
    encoder.head.bias.sub_(t)
    return t
