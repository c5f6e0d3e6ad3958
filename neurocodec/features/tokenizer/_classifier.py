"""scikit-learn style estimator chaining tokenizer training, masked-token
pretraining and fine-tuning: :class:`TFMClassifier`."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np

from ...pipeline import bad_value, check, load_json, save_json
from ._preprocess import TARGET_SFREQ, as_trials, fit_offset, resample, scale_signals, quantile_scale

__all__ = ["TFMClassifier", "prepare_trials"]

#: Classifier heads on the tokens (``TFMClassifier(head=...)``; "auto" chooses among them).
HEADS = ("encoder", "tokens", "mean")


def prepare_trials(X: Any, sfreq: float | None = None, scaling: str = "trial", scale_quantile: float = 0.95,
                   scale: np.ndarray | None = None, pad_short: bool = False, frame: int = 200,
                   offset: np.ndarray | None = None) -> np.ndarray:
    """Trials resampled to 200 Hz and scaled, as float32 (n_trials, n_chans, n_times).

    Parameters
    ----------
    X : array, mne Raw or Epochs
        See :func:`as_trials`.
    sfreq : float, optional
        Sampling rate of an array input.
    scaling, scale_quantile, scale
        See :func:`scale_signals`.
    pad_short : bool
        Zero-pad (centred) trials shorter than one frame up to ``frame``
        samples instead of raising.
    frame : int
        Samples of one frame at 200 Hz.
    offset : ndarray (1, n_chans, 1), optional
        Per-channel offset subtracted (after resampling) before scaling.
    """
    x, sfreq, _ = as_trials(X, sfreq)
    x = resample(x, sfreq, TARGET_SFREQ)
    if offset is not None:
        off = np.asarray(offset, dtype=np.float32)
        check(off.shape == (1, x.shape[1], 1), "offset", f"of shape (1, {x.shape[1]}, 1)", f"<shape {off.shape}>")
        x = x - off
    if x.shape[-1] < frame:
        if not pad_short:
            raise bad_value("n_times", f">= {frame} samples at 200 Hz (1 s; or set pad_short)",
                            x.shape[-1], of="trials after resampling")
        left = (frame - x.shape[-1]) // 2
        x = np.pad(x, ((0, 0), (0, 0), (left, frame - x.shape[-1] - left)))
    return np.ascontiguousarray(scale_signals(x, scaling, scale_quantile, scale), dtype=np.float32)


class TFMClassifier:
    """TFM-Tokenizer + TFM-Encoder classifier of multichannel EEG trials.

    ``fit`` trains the tokenizer on the training trials (every channel as a
    single-channel signal), tokenizes them, pretrains the encoder by masked
    token prediction, then fine-tunes it with the tokenizer frozen, early
    stopping on a stratified validation split.

    Parameters
    ----------
    tokenizer_config, encoder_config : dict, optional
        Constructor arguments of :class:`TFMTokenizer` / :class:`TFMEncoder`
        (paper defaults when omitted).
    tokenizer : TFMTokenizer or str, optional
        A trained tokenizer (or its ``save_pretrained`` folder): no tokenizer
        training then.
    scaling : {"trial", "channel", "none"}
        Amplitude scaling (per trial and channel by default, as the reference).
    scale_quantile : float
        Quantile of ``|x|`` used for scaling.
    center : {"none", "auto", "channel"}
        Per-channel offset removed before scaling, estimated on the training
        trials (median of the trial means): ``"channel"`` always,
        ``"auto"`` only on channels whose offset is constant across trials
        (|median| > 5 x the standard deviation of the trial means, e.g. the
        DC offset of a DC-coupled amplifier, which carries no trial
        information), ``"none"`` never (reference). Slow potentials that
        differ between trials (SCP) are kept.
    pad_short : bool
        Zero-pad trials shorter than one second (else error).
    tokenizer_epochs, pretrain_epochs, finetune_epochs : int
        Training budget (paper: 100, 50, 50).
    tokenizer_batch_size, batch_size : int
        Single-channel signals per tokenizer step / trials per encoder step.
    tokenizer_max_signals : int
        Random single-channel signals drawn per tokenizer epoch (0: all).
    lr : float
        Peak AdamW learning rate.
    finetune_lr : float, optional
        Peak learning rate of fine-tuning (default: ``lr``).
    patience : int
        Early-stopping patience of fine-tuning (epochs).
    val_fraction : float
        Share of training trials held out for early stopping.
    n_folds : int
        1: fine-tune once, early stopping on a ``val_fraction`` split
        (reference). k > 1: fine-tune k copies of the pretrained encoder,
        each early-stopped on one fold of a stratified k-fold split of the
        training trials, and average their probabilities (every training
        trial is used for fitting and for early stopping).
    threshold : {"fixed", "prior", "auto"}
        Binary tasks: keep the sigmoid's 0.5 decision threshold (reference),
        move it to the validation-logit quantile that reproduces the
        training class balance (``"prior"``, see
        :func:`calibrate_binary_threshold`), or do so only when the
        early-stopped model predicts one class for the whole validation
        split (``"auto"``).
    head : {"encoder", "tokens", "mean", "auto"}
        Classifier on the tokens: the fine-tuned TFM-Encoder (reference),
        an L2 logistic regression on the one-hot tokens
        (:class:`TokenLogisticHead`, ``C`` by cross-validation, fitted on all
        training trials), the average of both heads' probabilities
        (``"mean"``), or the one of these three with the best validation
        score (AUROC for two classes, else kappa; the encoder's own
        early-stopping split, ties to the encoder) (``"auto"``).
    n_shifts : int
        1: tokenize each trial once, on the frame grid starting at its first
        sample (reference). k > 1: tokenize it on k frame grids offset by
        ``hop * i / k`` samples (i = 0..k-1), each view cropped to the
        trial's length minus one hop so that every view has the same frames;
        the encoder is pretrained and fine-tuned on all views (an early-
        stopping trial keeps all its views on the validation side) and the
        predicted probabilities are averaged over the views. The tokens
        quantise a trial on a fixed grid (0.5-s hop, a few hundred codes);
        averaging over sub-hop offsets smooths that quantisation, as
        dithering does.
    seed : int
    device : str
    verbose : bool
        Progress bars.

    Attributes
    ----------
    tokenizer_ : TFMTokenizer
    encoder_ : TFMEncoder
        The (first) fine-tuned encoder.
    encoders_ : list of TFMEncoder
        All fine-tuned encoders (``n_folds`` of them) whose probabilities
        are averaged.
    head_ : str
        The head used ("encoder", "tokens" or "mean").
    token_head_ : TokenLogisticHead or None
        The logistic head on one-hot tokens (when ``head_`` uses it).
    classes_ : ndarray (n_classes,)
    n_chans_ : int
    scale_ : ndarray (1, n_chans, 1) or None
        Per-channel scale (``scaling="channel"``).
    offset_ : ndarray (1, n_chans, 1) or None
        Per-channel offset removed (``center``).
    history_ : dict
        Training curves and codebook usage.
    """

    def __init__(self, tokenizer_config: dict | None = None, encoder_config: dict | None = None, tokenizer: Any = None,
                 scaling: str = "trial", scale_quantile: float = 0.95, center: str = "none", pad_short: bool = False,
                 tokenizer_epochs: int = 100, pretrain_epochs: int = 50, finetune_epochs: int = 50,
                 tokenizer_batch_size: int = 256, tokenizer_max_signals: int = 0, batch_size: int = 512,
                 lr: float = 1e-3, finetune_lr: float | None = None, patience: int = 10,
                 val_fraction: float = 0.2, n_folds: int = 1, threshold: str = "fixed", head: str = "encoder",
                 n_shifts: int = 1, seed: int = 0, device: str = "cpu", verbose: bool = False):
        self.tokenizer_config = tokenizer_config
        self.encoder_config = encoder_config
        self.tokenizer = tokenizer
        self.scaling = scaling
        self.scale_quantile = scale_quantile
        self.center = center
        self.pad_short = pad_short
        self.tokenizer_epochs = tokenizer_epochs
        self.pretrain_epochs = pretrain_epochs
        self.finetune_epochs = finetune_epochs
        self.tokenizer_batch_size = tokenizer_batch_size
        self.tokenizer_max_signals = tokenizer_max_signals
        self.batch_size = batch_size
        self.lr = lr
        self.finetune_lr = finetune_lr
        self.patience = patience
        self.val_fraction = val_fraction
        self.n_folds = n_folds
        self.threshold = threshold
        self.head = head
        self.n_shifts = n_shifts
        self.seed = seed
        self.device = device
        self.verbose = verbose

    # -- helpers ----------------------------------------------------------
    def _cfg(self, epochs: int, batch_size: int, patience: int = 0, max_examples: int = 0):
        from ._train import TrainConfig

        return TrainConfig(epochs=epochs, batch_size=batch_size, lr=self.lr, patience=patience, seed=self.seed,
                           device=self.device, progress=self.verbose, warmup_epochs=min(10.0, epochs / 10),
                           max_examples_per_epoch=max_examples)

    def _prepare(self, X: Any, sfreq: float | None) -> np.ndarray:
        return prepare_trials(X, sfreq, self.scaling, self.scale_quantile, self.scale_, self.pad_short,
                              offset=self.offset_)

    def _tokens(self, x: np.ndarray, n_shifts: int) -> np.ndarray:
        """Tokens (n_views, n_trials, n_chans, n_frames) of prepared trials ``x`` (n_trials, n_chans, n_times)."""
        from ._train import tokenize_signals

        n, c, t = x.shape
        hop, window = self.tokenizer_.hop, self.tokenizer_.window
        if n_shifts <= 1:
            views = [x]
        else:
            check(t - hop >= window, "n_times", f">= {window + hop} samples at 200 Hz for n_shifts > 1 "
                  "(one frame plus one hop)", t, of="trials")
            length = t - hop
            views = [x[:, :, (hop * i) // n_shifts:(hop * i) // n_shifts + length] for i in range(n_shifts)]
        return np.stack([tokenize_signals(self.tokenizer_, np.ascontiguousarray(v).reshape(n * c, -1),
                                          device=self.device).reshape(n, c, -1) for v in views])

    def check_is_fitted(self) -> None:
        if not hasattr(self, "encoder_"):
            raise RuntimeError("This TFMClassifier is not fitted yet: call fit(X, y) first.")

    # -- API --------------------------------------------------------------
    def fit(self, X: Any, y: Any, sfreq: float | None = None) -> "TFMClassifier":
        """Fit on trials ``X`` (n_trials, n_chans, n_times) at ``sfreq`` with labels ``y`` (n_trials,)."""
        from ._encoder import TFMEncoder
        from ._model import TFMTokenizer
        from ._train import (calibrate_binary_threshold, finetune_encoder, predict_proba, pretrain_encoder,
                             seed_everything, train_tokenizer)

        check(self.threshold in ("fixed", "prior", "auto"), "threshold", "'fixed', 'prior' or 'auto'", self.threshold)
        check(self.head in HEADS + ("auto",), "head", "'encoder', 'tokens', 'mean' or 'auto'", self.head)
        y = np.asarray(y)
        check(self.center in ("none", "auto", "channel"), "center", "'none', 'auto' or 'channel'", self.center)
        check(isinstance(self.n_shifts, (int, np.integer)) and self.n_shifts >= 1, "n_shifts", "an integer >= 1",
              self.n_shifts)
        self.scale_, self.offset_ = None, None
        if self.scaling == "channel" or self.center != "none":
            x0, sf, _ = as_trials(X, sfreq)
            x0 = resample(x0, sf)
            self.offset_ = fit_offset(x0, self.center)
            if self.offset_ is not None:
                x0 = x0 - self.offset_
            if self.scaling == "channel":
                self.scale_ = quantile_scale(x0, self.scale_quantile, axis=(0, 2))
        x = self._prepare(X, sfreq)
        check(len(y) == len(x), "y", f"of length {len(x)} (one label per trial)", len(y))
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        check(len(self.classes_) >= 2, "y", "at least 2 classes", f"<{len(self.classes_)} class>")
        n, c, t = x.shape
        self.n_chans_ = c
        seed_everything(self.seed)
        self.history_: dict[str, Any] = {}
        if self.tokenizer is None:
            self.tokenizer_ = TFMTokenizer(**(self.tokenizer_config or {}))
            self.history_["tokenizer"] = train_tokenizer(
                self.tokenizer_, x.reshape(n * c, t),
                self._cfg(self.tokenizer_epochs, self.tokenizer_batch_size, max_examples=self.tokenizer_max_signals))
        else:
            self.tokenizer_ = (TFMTokenizer.from_pretrained(self.tokenizer) if isinstance(self.tokenizer, (str, Path))
                               else self.tokenizer)
        views = self._tokens(x, self.n_shifts)  # (n_views, n, c, n_frames)
        n_views = len(views)
        tokens = self._flat(views)
        enc_cfg = dict(self.encoder_config or {})
        enc_cfg.update(n_codes=self.tokenizer_.quantizer.n_codes, n_chans=c,
                       n_outputs=1 if len(self.classes_) == 2 else len(self.classes_),
                       emb_size=self.tokenizer_.config["emb_size"])
        self.encoder_ = TFMEncoder(**enc_cfg)
        self.encoder_.init_from_codebook(self.tokenizer_.quantizer.codebook.detach().cpu())
        if self.pretrain_epochs > 0:
            self.history_["pretrain"] = pretrain_encoder(self.encoder_, tokens, self._cfg(self.pretrain_epochs, self.batch_size))
        pretrained = copy.deepcopy(self.encoder_.state_dict())
        self.encoders_, fold_hist = [], []
        splits = self._splits(y_idx)
        for k, (train, val) in enumerate(splits):
            enc = self.encoder_ if k == 0 else TFMEncoder(**enc_cfg)
            enc.load_state_dict(pretrained)
            cfg = self._cfg(self.finetune_epochs, self.batch_size, self.patience)
            cfg.seed = self.seed + k
            cfg.lr = self.finetune_lr or self.lr
            y_tr, y_val = np.tile(y_idx[train], n_views), np.tile(y_idx[val], n_views)
            tok_tr, tok_val = self._flat(views, train), self._flat(views, val)
            hist = finetune_encoder(enc, tok_tr, y_tr, cfg, val=(tok_val, y_val) if len(val) else None)
            calibrate = self.threshold == "prior" or (
                self.threshold == "auto" and len(self.classes_) == 2 and len(val)
                and len(np.unique(predict_proba(enc, tok_val, device=self.device).argmax(1))) == 1)
            hist["threshold"] = 0.0  # logit threshold (0: the sigmoid's 0.5)
            if calibrate and len(val):
                hist["threshold"] = calibrate_binary_threshold(
                    enc, tok_val, y_val, prior=float(np.mean(y_idx[train] == 1)), device=self.device)
            self.encoders_.append(enc)
            fold_hist.append(hist)
        self.history_["finetune"] = fold_hist[0]
        if len(fold_hist) > 1:
            self.history_["folds"] = fold_hist
        self._fit_head(views, y_idx, *splits[0])
        return self

    def _fit_head(self, views: np.ndarray, y_idx: np.ndarray, train: np.ndarray, val: np.ndarray) -> None:
        """Choose (``head="auto"``) and fit the token head on tokens ``views`` (n_views, n_trials, n_chans,
        n_frames); sets ``head_`` and ``token_head_``."""
        from ._heads import TokenLogisticHead
        from ._train import classification_metrics

        n_codes = self.tokenizer_.quantizer.n_codes
        n_views = len(views)
        self.head_, self.token_head_ = self.head, None
        if self.head == "auto":
            self.head_ = "encoder"
            if len(val) and len(np.unique(y_idx[train])) == len(self.classes_):
                probe = TokenLogisticHead(n_codes, seed=self.seed).fit(self._flat(views, train),
                                                                       np.tile(y_idx[train], n_views))
                p_enc = self._encoder_proba(views[:, val], self.encoders_[:1])
                p_tok = self._views_mean(probe.predict_proba(self._flat(views, val)), n_views)
                key = "auroc" if len(self.classes_) == 2 else "kappa"
                scores = {h: classification_metrics(y_idx[val], p)[key]
                          for h, p in zip(HEADS, (p_enc, p_tok, (p_enc + p_tok) / 2))}
                scores = {h: (v if np.isfinite(v) else -np.inf) for h, v in scores.items()}
                self.head_ = max(HEADS, key=lambda h: scores[h])  # first (encoder) on ties
                self.history_["head_scores"] = scores
        self.history_["head"] = self.head_
        if self.head_ != "encoder":
            self.token_head_ = TokenLogisticHead(n_codes, seed=self.seed).fit(self._flat(views),
                                                                            np.tile(y_idx, n_views))

    @staticmethod
    def _flat(views: np.ndarray, idx: np.ndarray | None = None) -> np.ndarray:
        """Every view of trials ``idx`` (default all), view-major: (n_views * n_trials, n_chans, n_frames)."""
        views = views if idx is None else views[:, idx]
        return views.reshape(-1, *views.shape[2:])

    @staticmethod
    def _views_mean(proba: np.ndarray, n_views: int) -> np.ndarray:
        """Average (n_trials, n_classes) of view-major stacked probabilities (n_views * n_trials, n_classes)."""
        return proba.reshape(n_views, -1, proba.shape[-1]).mean(0)

    def _encoder_proba(self, views: np.ndarray, encoders: list) -> np.ndarray:
        """Probabilities (n_trials, n_classes) averaged over ``encoders`` and the views of ``views``."""
        from ._train import predict_proba

        flat = self._flat(views)
        return self._views_mean(np.mean([predict_proba(enc, flat, device=self.device) for enc in encoders], axis=0),
                                len(views))

    def _splits(self, y_idx: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        from ._stage_impl import _val_split

        if self.n_folds <= 1:
            return [_val_split(y_idx, self.val_fraction, self.seed)]
        from sklearn.model_selection import StratifiedKFold

        check(np.bincount(y_idx).min() >= self.n_folds, "n_folds", "<= the trials of the rarest class",
              self.n_folds)
        folds = StratifiedKFold(self.n_folds, shuffle=True, random_state=self.seed)
        return list(folds.split(np.zeros(len(y_idx)), y_idx))

    def _prepared(self, X: Any, sfreq: float | None) -> np.ndarray:
        self.check_is_fitted()
        x, sfreq, _ = as_trials(X, sfreq)
        if x.shape[1] != self.n_chans_:
            raise bad_value("n_chans", f"{self.n_chans_} (the channels the encoder was trained on)", x.shape[1], of="X")
        return self._prepare(x, sfreq)

    def transform(self, X: Any, sfreq: float | None = None) -> np.ndarray:
        """Tokens (n_trials, n_chans, n_frames) int32 on the frame grid starting at each trial's first sample."""
        return self._tokens(self._prepared(X, sfreq), 1)[0]

    def transform_views(self, X: Any, sfreq: float | None = None) -> np.ndarray:
        """Tokens (n_views, n_trials, n_chans, n_frames) int32 of the ``n_shifts`` frame grids the heads use
        (one view, equal to :meth:`transform`, when ``n_shifts`` is 1)."""
        return self._tokens(self._prepared(X, sfreq), self.n_shifts)

    def predict_proba(self, X: Any, sfreq: float | None = None) -> np.ndarray:
        """Class probabilities (n_trials, n_classes), columns in ``classes_`` order (averaged over the views)."""
        views = self.transform_views(X, sfreq)  # checks fitted state and channels
        head = getattr(self, "head_", "encoder")
        probas = []
        if head in ("encoder", "mean"):
            probas.append(self._encoder_proba(views, getattr(self, "encoders_", None) or [self.encoder_]))
        if head in ("tokens", "mean"):
            probas.append(self._views_mean(self.token_head_.predict_proba(self._flat(views)),
                                           len(views)))
        return np.mean(probas, axis=0)

    def predict(self, X: Any, sfreq: float | None = None) -> np.ndarray:
        """Predicted labels (n_trials,)."""
        proba = self.predict_proba(X, sfreq)
        return self.classes_[proba.argmax(1)]

    def score(self, X: Any, y: Any, sfreq: float | None = None) -> float:
        """Balanced accuracy."""
        from sklearn.metrics import balanced_accuracy_score

        return float(balanced_accuracy_score(np.asarray(y), self.predict(X, sfreq)))

    # -- persistence ------------------------------------------------------
    def save_pretrained(self, directory: str | Path) -> Path:
        """Write ``tokenizer/``, ``encoder/`` (+ ``encoder_k/`` per extra fold; safetensors + config.json),
        ``classifier.json`` and ``token_head.npz`` (when the token head is used)."""
        self.check_is_fitted()
        directory = Path(directory)
        self.tokenizer_.save_pretrained(directory / "tokenizer")
        encoders = getattr(self, "encoders_", None) or [self.encoder_]
        for k, enc in enumerate(encoders):
            enc.save_pretrained(directory / ("encoder" if k == 0 else f"encoder_{k}"))
        classes = self.classes_.tolist()
        save_json(directory / "classifier.json", {
            "classes": classes, "n_chans": self.n_chans_, "scaling": self.scaling, "scale_quantile": self.scale_quantile,
            "pad_short": self.pad_short, "scale": None if self.scale_ is None else self.scale_.ravel().tolist(),
            "center": self.center, "n_encoders": len(encoders), "offset": None if self.offset_ is None else self.offset_.ravel().tolist(),
            "head": getattr(self, "head_", "encoder"), "n_shifts": int(self.n_shifts)})
        if getattr(self, "token_head_", None) is not None:
            self.token_head_.save(directory / "token_head.npz")
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | Path, device: str = "cpu") -> "TFMClassifier":
        """Load a classifier written by :meth:`save_pretrained`."""
        from ._encoder import TFMEncoder
        from ._model import TFMTokenizer

        directory = Path(directory)
        meta = load_json(directory / "classifier.json")
        self = cls(scaling=meta["scaling"], scale_quantile=meta["scale_quantile"], center=meta.get("center", "none"),
                   pad_short=meta["pad_short"], n_shifts=int(meta.get("n_shifts", 1)), device=device)
        self.tokenizer_ = TFMTokenizer.from_pretrained(directory / "tokenizer", device=device)
        self.encoder_ = TFMEncoder.from_pretrained(directory / "encoder", device=device)
        self.encoders_ = [self.encoder_] + [TFMEncoder.from_pretrained(directory / f"encoder_{k}", device=device)
                                            for k in range(1, int(meta.get("n_encoders", 1)))]
        self.classes_ = np.asarray(meta["classes"])
        self.n_chans_ = int(meta["n_chans"])
        self.scale_ = None if meta["scale"] is None else np.asarray(meta["scale"], dtype=np.float32).reshape(1, -1, 1)
        offset = meta.get("offset")
        self.offset_ = None if offset is None else np.asarray(offset, dtype=np.float32).reshape(1, -1, 1)
        self.head_ = meta.get("head", "encoder")
        self.token_head_ = None
        if (directory / "token_head.npz").is_file():
            from ._heads import TokenLogisticHead

            self.token_head_ = TokenLogisticHead.load(directory / "token_head.npz")
        self.history_ = {}
        return self
