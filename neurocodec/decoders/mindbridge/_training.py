"""Training MindBridge across subjects, reset-tuning a new subject, and prediction."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import torch

from ...pipeline import bad_value, check
from ._losses import cycle_loss, embedding_loss, reconstruction_loss
from ._model import MindBridgeModel

__all__ = ["TrainingConfig", "TRAINING_PRESETS", "train_mindbridge", "reset_tune", "predict_embeddings"]


@dataclass(frozen=True)
class TrainingConfig:
    """Optimisation settings of MindBridge (AdamW + OneCycle).

    Parameters
    ----------
    n_epochs : int
        Passes over the largest subject's trials (over the new subject's trials in reset-tuning).
    batch_size : int
        Trials per subject per step (paper: 50; a step stacks one batch per subject).
    max_lr : float
        Peak learning rate of the OneCycle schedule (paper: 1.5e-4).
    weight_decay : float
        AdamW weight decay of weights (biases and LayerNorm parameters get none).
    warmup_epochs : float
        OneCycle warm-up length in epochs (paper: 2).
    final_div_factor : float
        OneCycle ``final_div_factor`` (paper: 100).
    temperature : float
        Soft-CLIP temperature (0.125).
    mse_mult : float
        Weight of the MSE on normalised embeddings (paper: 1e4 for 257 x 768 tokens).
    text_mult : float
        Weight of the text-token loss relative to the image-token loss (paper: 1).
    rec_mult : float
        Weight of the voxel reconstruction loss (paper: 1).
    cyc_mult : float
        Weight of the cycle loss (paper: 1; skipped with a single subject).
    grad_clip : float
        Gradient-norm clipping (paper: 1.0 through DeepSpeed; 0 disables).
    steps_per_epoch : int or None
        Override of the number of steps per epoch.
    seed : int
        Seed of initialisation, batches and dropout.
    """

    n_epochs: int = 600
    batch_size: int = 50
    max_lr: float = 1.5e-4
    weight_decay: float = 1e-2
    warmup_epochs: float = 2.0
    final_div_factor: float = 100.0
    temperature: float = 0.125
    mse_mult: float = 1e4
    text_mult: float = 1.0
    rec_mult: float = 1.0
    cyc_mult: float = 1.0
    grad_clip: float = 1.0
    steps_per_epoch: int | None = None
    seed: int = 0

    def __post_init__(self):
        for name in ("n_epochs", "batch_size"):
            value = getattr(self, name)
            check(isinstance(value, (int, np.integer)) and value >= 1, name, "an int >= 1", value, of="TrainingConfig")
        for name in ("max_lr", "temperature"):
            value = getattr(self, name)
            check(isinstance(value, (int, float)) and value > 0, name, "> 0", value, of="TrainingConfig")
        check(
            self.steps_per_epoch is None or self.steps_per_epoch >= 1,
            "steps_per_epoch",
            "None or >= 1",
            self.steps_per_epoch,
            of="TrainingConfig",
        )

    def with_(self, **changes: Any) -> TrainingConfig:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: ``"paper"``: multi-subject training of the paper (600 epochs; reset-tuning used 200);
#: ``"cpu"``: a seconds-long setting for the simulated experiment (small embeddings,
#: hence a smaller ``mse_mult``).
TRAINING_PRESETS: dict[str, TrainingConfig] = {
    "paper": TrainingConfig(),
    "cpu": TrainingConfig(n_epochs=40, batch_size=32, max_lr=1e-3, warmup_epochs=2.0, mse_mult=30.0),
}

SubjectArrays = Mapping[str, tuple[np.ndarray, np.ndarray]]


def _check_subjects(model: MindBridgeModel, subjects: SubjectArrays, n_images: int) -> None:
    check(len(subjects) > 0, "subjects", "at least one subject", dict(subjects))
    for name, (voxels, index) in subjects.items():
        check(name in model.subjects, "subjects", f"names among the model's {model.subjects}", name)
        n_vox = model.config["subject_voxels"][name]
        check(
            np.ndim(voxels) == 2 and np.shape(voxels)[1] == n_vox,
            "voxels",
            f"(n_trials, {n_vox})",
            f"<shape {np.shape(voxels)}>",
            of=f"subject {name!r}",
        )
        check(
            len(index) == len(voxels),
            "image_index",
            f"{len(voxels)} entries (one per trial)",
            len(index),
            of=f"subject {name!r}",
        )
        check(len(index) >= 2, "voxels", "at least 2 trials", len(index), of=f"subject {name!r}")
        check(
            (0 <= int(np.min(index)) and int(np.max(index)) < n_images),
            "image_index",
            f"rows of the targets in [0, {n_images})",
            f"<range {np.min(index)}..{np.max(index)}>",
            of=f"subject {name!r}",
        )


def _set_stats(model: MindBridgeModel, name: str, voxels: np.ndarray) -> None:
    v = torch.as_tensor(np.asarray(voxels, dtype=np.float32))
    dev = model.head_image.weight.device
    model.set_voxel_stats(name, v.mean(0).to(dev), v.std(0).to(dev))


class _Batches:
    """Endless shuffled mini-batches of one subject's trials."""

    def __init__(self, voxels: np.ndarray, index: np.ndarray, batch_size: int, rng: np.random.Generator, device):
        self.voxels = torch.as_tensor(np.asarray(voxels, dtype=np.float32), device=device)
        self.index = torch.as_tensor(np.asarray(index, dtype=np.int64), device=device)
        self.batch_size = min(batch_size, len(index))
        self.rng = rng
        self.order: np.ndarray = np.empty(0, dtype=np.int64)

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        if len(self.order) < self.batch_size:
            self.order = np.concatenate([self.order, self.rng.permutation(len(self.index))])
        take, self.order = self.order[: self.batch_size], self.order[self.batch_size :]
        t = torch.as_tensor(take, device=self.voxels.device)
        return self.voxels[t], self.index[t]


def _optimizer(named_params: list[tuple[str, torch.nn.Parameter]], config: TrainingConfig, total_steps: int):
    decay = [p for n, p in named_params if p.ndim > 1]
    no_decay = [p for n, p in named_params if p.ndim <= 1]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=config.max_lr,
    )
    if total_steps < 3:  # OneCycle needs a warm-up and a decay phase of >= 1 step each
        return opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0)
    pct = min(0.5, max(1.5 / total_steps, config.warmup_epochs / max(config.n_epochs, 1)))
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=config.max_lr, total_steps=total_steps, pct_start=pct, final_div_factor=config.final_div_factor
    )
    return opt, sched


def _targets(image_targets, text_targets, device):
    img = torch.as_tensor(np.asarray(image_targets, dtype=np.float32), device=device)
    txt = None if text_targets is None else torch.as_tensor(np.asarray(text_targets, dtype=np.float32), device=device)
    return img, txt


def _semantic_loss(model, outs, rows, img, txt, config):
    pred_img = torch.cat([o["image"] for o in outs])
    loss, parts = embedding_loss(pred_img, img[rows], config.temperature, config.mse_mult)
    logs = {"image_clip": parts["clip"], "image_mse": parts["mse"]}
    if txt is not None and model.head_text is not None and config.text_mult > 0:
        pred_txt = torch.cat([o["text"] for o in outs])
        loss_t, parts_t = embedding_loss(pred_txt, txt[rows], config.temperature, config.mse_mult)
        loss = loss + config.text_mult * loss_t
        logs.update(text_clip=parts_t["clip"], text_mse=parts_t["mse"])
    return loss, logs


def _step(opt, sched, params, loss, config):
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if config.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(params, config.grad_clip)
    opt.step()
    sched.step()


def _check_text(model, text_targets, n_images):
    if text_targets is not None:
        c = model.config
        check(
            model.head_text is not None,
            "text_targets",
            "None for a model without a text head (text_tokens=0)",
            f"<shape {np.shape(text_targets)}>",
        )
        check(
            tuple(np.shape(text_targets)) == (n_images, c["text_tokens"], c["text_dim"]),
            "text_targets",
            f"shape ({n_images}, {c['text_tokens']}, {c['text_dim']})",
            f"<shape {np.shape(text_targets)}>",
        )


def _add_term(loss, logs: dict, name: str, weight: float, term):
    """``loss + weight * term``, logging the unweighted term under ``name``."""
    logs[name] = float(term.detach())
    return loss + weight * term


def _run_epochs(batch_loss, steps: int, params, opt, sched, config, callback=None) -> list[dict]:
    """The training loop of :func:`train_mindbridge` and :func:`reset_tune`.

    ``batch_loss(step) -> (loss, logs)`` computes one step's loss (``step`` counts from 0 over all epochs);
    each step is optimised, logged (``callback(step, logs)``) and averaged into one history row per epoch.
    """
    history: list[dict] = []
    for epoch in range(config.n_epochs):
        sums: dict[str, float] = {}
        for s in range(steps):
            loss, logs = batch_loss(epoch * steps + s)
            logs["loss"] = float(loss.detach())
            _step(opt, sched, [p for _, p in params], loss, config)
            for k, v in logs.items():
                sums[k] = sums.get(k, 0.0) + v / steps
            if callback is not None:
                callback(epoch * steps + s, logs)
        history.append({"epoch": epoch, **sums})
    return history


def _check_model(model) -> None:
    check(isinstance(model, MindBridgeModel), "model", "a MindBridgeModel", f"<{type(model).__name__}>", exc=TypeError)


def train_mindbridge(
    model: MindBridgeModel,
    subjects: SubjectArrays,
    image_targets: np.ndarray,
    text_targets: np.ndarray | None = None,
    config: TrainingConfig | None = None,
    device: str = "cpu",
    callback: Callable[[int, dict], None] | None = None,
) -> list[dict]:
    """Train all parts of ``model`` on several subjects at once (or one: a subject-specific decoder).

    Each step stacks one batch of single trials per subject, predicts image (and text)
    token embeddings through each subject's embedder and the shared translator, and
    minimises soft-CLIP + MSE against the targets of the viewed images, ``rec_mult``
    x the builders' voxel reconstruction error, and ``cyc_mult`` x the cycle loss of a
    random pair of subjects (embed with *a*, rebuild as *b*, embed with *b*).

    Parameters
    ----------
    model : MindBridgeModel
        Model whose subjects include every key of ``subjects`` (trained in place).
    subjects : dict of str to (voxels, image_index)
        ``voxels`` (n_trials, n_voxels) single-trial responses; ``image_index`` (n_trials,)
        rows of ``image_targets`` they answer.
    image_targets : ndarray, shape (n_images, image_tokens, image_dim)
    text_targets : ndarray, shape (n_images, text_tokens, text_dim), optional
    config : TrainingConfig
        Defaults to ``TRAINING_PRESETS["cpu"]``.
    device : str
        Torch device.
    callback : callable, optional
        Called as ``callback(step, logs)`` after each step.

    Returns
    -------
    history : list of dict
        Per-epoch mean of each loss term.
    """
    _check_model(model)
    config = config or TRAINING_PRESETS["cpu"]
    image_targets = np.asarray(image_targets)
    c = model.config
    check(
        image_targets.shape[1:] == (c["image_tokens"], c["image_dim"]),
        "image_targets",
        f"shape (n_images, {c['image_tokens']}, {c['image_dim']})",
        f"<shape {image_targets.shape}>",
    )
    _check_subjects(model, subjects, len(image_targets))
    _check_text(model, text_targets, len(image_targets))
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model.to(device)
    for name, (voxels, _) in subjects.items():
        _set_stats(model, name, voxels)
    names = list(subjects)
    batches = {n: _Batches(v, i, config.batch_size, rng, device) for n, (v, i) in subjects.items()}
    steps = config.steps_per_epoch or math.ceil(max(len(i) for _, i in subjects.values()) / config.batch_size)
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    opt, sched = _optimizer(params, config, steps * config.n_epochs)
    img, txt = _targets(image_targets, text_targets, device)

    def batch_loss(step):
        outs, rows, rec = [], [], 0.0
        for name in names:
            x, r = batches[name].next()
            out = model(x, name)
            outs.append(out)
            rows.append(r)
            rec = rec + reconstruction_loss(out["pooled"], out["rebuilt"]) / len(names)
        loss, logs = _semantic_loss(model, outs, torch.cat(rows), img, txt, config)
        if config.rec_mult > 0:
            loss = _add_term(loss, logs, "rec", config.rec_mult, rec)
        if config.cyc_mult > 0 and len(names) > 1:
            a, b = rng.choice(len(names), size=2, replace=False)
            cyc = cycle_loss(
                outs[a]["shared"], lambda z, n=names[b]: model.build(z, n), lambda v, n=names[b]: model.embed(v, n)
            )
            loss = _add_term(loss, logs, "cyc", config.cyc_mult, cyc)
        return loss, logs

    model.train()
    history = _run_epochs(batch_loss, steps, params, opt, sched, config, callback)
    model.eval()
    return history


def reset_tune(
    model: MindBridgeModel,
    subject: str,
    voxels: np.ndarray,
    image_index: np.ndarray,
    sources: SubjectArrays,
    image_targets: np.ndarray,
    text_targets: np.ndarray | None = None,
    config: TrainingConfig | None = None,
    device: str = "cpu",
    callback: Callable[[int, dict], None] | None = None,
) -> list[dict]:
    """Adapt a trained MindBridge to a new subject ("reset-tuning").

    The new subject's embedder and builder are (re-)initialised and are the only
    parameters trained: the shared translator, the heads and every source subject's
    modules stay frozen. Each step pairs a batch of the new subject with a batch of
    one source subject (round robin); the losses are those of training, with the
    cycle loss going from the source subject (*a*) to the new one (*b*), which lets
    the source subjects' data shape the new subject's embedder and builder.

    Parameters
    ----------
    model : MindBridgeModel
        Trained model (modified in place: ``subject`` is added or reset).
    subject : str
        Name of the new subject.
    voxels : ndarray, shape (n_trials, n_voxels)
        The new subject's (few) training trials.
    image_index : ndarray, shape (n_trials,)
        Rows of ``image_targets`` those trials answer.
    sources : dict of str to (voxels, image_index)
        Data of subjects the model was trained on.
    image_targets, text_targets, config, device, callback
        As in :func:`train_mindbridge` (``n_epochs`` counts passes over the new subject's trials).

    Returns
    -------
    history : list of dict
    """
    _check_model(model)
    config = config or TRAINING_PRESETS["cpu"]
    check(len(sources) > 0, "sources", "at least one source subject", dict(sources))
    check(subject not in sources, "subject", "a subject other than the sources", subject)
    image_targets = np.asarray(image_targets)
    check(np.ndim(voxels) == 2, "voxels", "a 2-D (n_trials, n_voxels) array", f"<shape {np.shape(voxels)}>")
    _check_text(model, text_targets, len(image_targets))
    model.to(device)
    torch.manual_seed(config.seed)
    model.add_subject(subject, int(np.shape(voxels)[1]))
    _check_subjects(model, {subject: (voxels, image_index), **sources}, len(image_targets))
    _set_stats(model, subject, voxels)
    rng = np.random.default_rng(config.seed)
    trainable = model.subject_parameters(subject)
    ids = {id(p) for p in trainable}
    previous = {n: p.requires_grad for n, p in model.named_parameters()}
    for p in model.parameters():
        p.requires_grad_(id(p) in ids)
    params = [(n, p) for n, p in model.named_parameters() if id(p) in ids]
    target = _Batches(voxels, image_index, config.batch_size, rng, device)
    source_names = list(sources)
    source_batches = {n: _Batches(v, i, config.batch_size, rng, device) for n, (v, i) in sources.items()}
    steps = config.steps_per_epoch or math.ceil(len(image_index) / config.batch_size)
    opt, sched = _optimizer(params, config, steps * config.n_epochs)
    img, txt = _targets(image_targets, text_targets, device)

    def batch_loss(step):
        src = source_names[step % len(source_names)]
        xs, rs = source_batches[src].next()
        xt, rt = target.next()
        out_s, out_t = model(xs, src), model(xt, subject)
        loss, logs = _semantic_loss(model, [out_s, out_t], torch.cat([rs, rt]), img, txt, config)
        if config.rec_mult > 0:
            loss = _add_term(loss, logs, "rec", config.rec_mult, reconstruction_loss(out_t["pooled"], out_t["rebuilt"]))
        if config.cyc_mult > 0:
            cyc = cycle_loss(out_s["shared"], lambda z: model.build(z, subject), lambda v: model.embed(v, subject))
            loss = _add_term(loss, logs, "cyc", config.cyc_mult, cyc)
        return loss, logs

    model.train()
    try:
        history = _run_epochs(batch_loss, steps, params, opt, sched, config, callback)
    finally:
        for n, p in model.named_parameters():
            p.requires_grad_(previous.get(n, True))
    model.eval()
    return history


@torch.no_grad()
def predict_embeddings(
    model: MindBridgeModel, voxels: np.ndarray, subject: str, batch_size: int = 256, device: str = "cpu"
) -> dict[str, np.ndarray]:
    """Predicted token embeddings of ``subject``'s responses.

    Parameters
    ----------
    voxels : ndarray, shape (n_samples, n_voxels)

    Returns
    -------
    embeddings : dict
        ``image`` (n_samples, image_tokens, image_dim) and, with a text head,
        ``text`` (n_samples, text_tokens, text_dim), float32.
    """
    _check_model(model)
    if np.ndim(voxels) != 2:
        raise bad_value("voxels", "a 2-D (n_samples, n_voxels) array", f"<shape {np.shape(voxels)}>")
    model.to(device).eval()
    x = torch.as_tensor(np.asarray(voxels, dtype=np.float32), device=device)
    parts: dict[str, list[np.ndarray]] = {}
    for start in range(0, len(x), batch_size):
        out = model.translate(model.embed(model.pool(x[start : start + batch_size], subject), subject))
        for k, v in out.items():
            parts.setdefault(k, []).append(v.cpu().numpy().astype(np.float32))
    return {k: np.concatenate(v) for k, v in parts.items()}
