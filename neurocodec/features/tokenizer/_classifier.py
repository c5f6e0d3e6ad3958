"""scikit-learn estimator chaining tokenizer training, masked-token pretraining
and fine-tuning: :class:`TFMClassifier`.

Its steps are public methods (:meth:`TFMClassifier.fit_tokenizer`,
:meth:`TFMClassifier.transform`, :meth:`TFMClassifier.fit_tokens`,
:meth:`TFMClassifier.predict_proba_tokens`) so that the pipeline stages run
the same code (one copy of scaling, centring, threshold and the collapse
remedy).
"""

from __future__ import annotations

import copy
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from ...pipeline import PretrainedMixin, bad_value, check
from ._preprocess import as_trials, fit_scaling, prepare_trials

__all__ = ["TFMClassifier", "val_split"]

log = logging.getLogger("neurocodec.features.tokenizer")

#: The remedy applied when fine-tuning never beats constant prediction on its validation split.
REMEDY = {"class_weight": "balanced", "lr_factor": 1 / 3, "patience_factor": 2, "epochs_factor": 2, "min_best_epoch": 1}


def val_split(
    y: np.ndarray, fraction: float, seed: int, groups: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Fitting / early-stopping indices of training trials, stratified by class when possible.

    Parameters
    ----------
    y : ndarray (n,) of class indices
    fraction : float
        Share held out for early stopping (0: none).
    seed : int
    groups : ndarray (n,), optional
        Trials of one group (e.g. the windows of one segment) stay on one side. Groups of one trial each
        constrain nothing: the split is then the one drawn without groups.
    """
    idx = np.arange(len(y))
    if fraction <= 0 or int(len(y) * fraction) < 1:
        return idx, idx[:0]
    if groups is not None and len(np.unique(groups)) == len(y):
        groups = None
    if groups is not None:
        from sklearn.model_selection import StratifiedGroupKFold

        groups = np.asarray(groups)
        if len(np.unique(groups)) < 2:
            raise bad_value(
                "val_fraction", "0 when the training trials are one group (none can be held out whole)", fraction
            )
        k = max(2, int(round(1 / fraction)))
        n_groups = min(len(np.unique(groups[y == c])) for c in np.unique(y))
        if n_groups >= k:
            fit, val = next(StratifiedGroupKFold(k, shuffle=True, random_state=seed).split(idx, y, groups))
            return fit, val
        from sklearn.model_selection import GroupShuffleSplit

        return next(GroupShuffleSplit(1, test_size=fraction, random_state=seed).split(idx, y, groups))
    from sklearn.model_selection import train_test_split

    strat = y if np.bincount(y).min() >= 2 and int(len(y) * fraction) >= len(np.unique(y)) else None
    return tuple(train_test_split(idx, test_size=fraction, stratify=strat, random_state=seed))


class TFMClassifier(PretrainedMixin, ClassifierMixin, BaseEstimator):
    """TFM-Tokenizer + TFM-Encoder classifier of multichannel EEG trials.

    ``fit`` trains the tokenizer on the training trials (every channel as a
    single-channel signal; or takes a trained one), tokenizes them, pretrains
    the encoder by masked token prediction, then fine-tunes it with the
    tokenizer frozen, early stopping on a stratified validation split of the
    training trials. A fine-tuning whose validation score never beats constant
    prediction (AUROC 0.5 binary, kappa 0 multi-class) or that predicts one
    class for the whole validation split is refitted once from the pretrained
    weights with the remedy :data:`REMEDY` (balanced class weights, a third of
    the learning rate, twice the patience and epochs, never the first epoch);
    the fit with the better validation score is kept, and when even it stays
    at the constant score a warning is logged and ``history_["collapse"]``
    says so.

    Parameters
    ----------
    tokenizer_config, encoder_config : dict, optional
        Constructor arguments of :class:`TFMTokenizer` / :class:`TFMEncoder`
        (paper defaults when omitted).
    tokenizer : TFMTokenizer or str, optional
        A trained tokenizer (or its ``save_pretrained`` folder): it is frozen
        and not trained again (transfer).
    scaling : {"trial", "channel"}
        Amplitude scaling: per trial and channel (reference), or one scale per
        channel fitted on the training trials (keeps amplitude differences
        between trials).
    scale_quantile : float
        Quantile of ``|x|`` used for scaling.
    center : {"none", "auto"}
        ``"auto"``: remove a per-channel offset fitted on the training trials
        on channels where it is constant across trials (a DC-coupled
        amplifier's electrode offset; see :func:`fit_offset`).
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
    patience : int
        Early-stopping patience of fine-tuning (epochs).
    val_fraction : float
        Share of training trials held out for early stopping.
    threshold : {"fixed", "auto"}
        Binary tasks: keep the sigmoid's 0.5 threshold (reference), or, when
        the early-stopped model predicts one class for its whole validation
        split, move it to the validation-logit quantile that reproduces the
        training class balance (:func:`calibrate_binary_threshold`).
    seed : int
    device : str
    verbose : bool
        Progress bars.

    Attributes
    ----------
    tokenizer_ : TFMTokenizer
    encoder_ : TFMEncoder
    classes_ : ndarray (n_classes,)
    n_chans_ : int
    sfreq_ : float
        Sampling rate of the training trials; :meth:`predict` refuses another.
    scale_, offset_ : ndarray (1, n_chans, 1) or None
        Fitted per-channel scale (``scaling="channel"``) and offset (``center``).
    history_ : dict
        Training curves, codebook usage, ``collapse`` record.
    """

    def __init__(
        self,
        tokenizer_config: dict | None = None,
        encoder_config: dict | None = None,
        tokenizer: Any = None,
        scaling: str = "trial",
        scale_quantile: float = 0.95,
        center: str = "none",
        pad_short: bool = False,
        tokenizer_epochs: int = 100,
        pretrain_epochs: int = 50,
        finetune_epochs: int = 50,
        tokenizer_batch_size: int = 256,
        tokenizer_max_signals: int = 0,
        batch_size: int = 512,
        lr: float = 1e-3,
        patience: int = 10,
        val_fraction: float = 0.2,
        threshold: str = "fixed",
        seed: int = 0,
        device: str = "cpu",
        verbose: bool = False,
    ):
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
        self.patience = patience
        self.val_fraction = val_fraction
        self.threshold = threshold
        self.seed = seed
        self.device = device
        self.verbose = verbose

    # -- helpers ----------------------------------------------------------
    def _cfg(self, epochs: int, batch_size: int, patience: int = 0, max_examples: int = 0):
        from ._train import TrainConfig

        return TrainConfig.with_warmup(
            epochs,
            batch_size=batch_size,
            lr=self.lr,
            patience=patience,
            seed=self.seed,
            device=self.device,
            progress=self.verbose,
            max_examples_per_epoch=max_examples,
        )

    def _check_params(self) -> None:
        check(self.scaling in ("trial", "channel"), "scaling", "'trial' or 'channel'", self.scaling)
        check(self.center in ("none", "auto"), "center", "'none' or 'auto'", self.center)
        check(self.threshold in ("fixed", "auto"), "threshold", "'fixed' or 'auto'", self.threshold)
        check(0 <= self.val_fraction < 1, "val_fraction", "in [0, 1)", self.val_fraction)

    def _prepared(self, X: Any, sfreq: float | None, fitting: bool = False) -> np.ndarray:
        """Trials at 200 Hz, centred and scaled, after checking them against the fitted state."""
        x, sfreq, _ = as_trials(X, sfreq)
        if not fitting:
            if not hasattr(self, "tokenizer_"):
                raise RuntimeError("This TFMClassifier is not fitted yet: call fit(X, y) first.")
            if x.shape[1] != self.n_chans_:
                raise bad_value(
                    "n_chans", f"{self.n_chans_} (the channels the model was trained on)", x.shape[1], of="X"
                )
            if abs(sfreq - self.sfreq_) > 1e-6:
                raise bad_value(
                    "sfreq", f"{self.sfreq_:g} Hz (the rate the model was trained at)", f"<{sfreq:g} Hz>", of="X"
                )
        return prepare_trials(
            x, sfreq, self.scaling, self.scale_quantile, self.scale_, self.pad_short, offset=self.offset_
        )

    def check_is_fitted(self) -> None:
        if not hasattr(self, "encoder_"):
            raise RuntimeError("This TFMClassifier is not fitted yet: call fit(X, y) first.")

    # -- steps ------------------------------------------------------------
    def fit_tokenizer(self, X: Any, sfreq: float | None = None) -> TFMClassifier:
        """Fit scaling (and train the tokenizer unless ``tokenizer`` is given) on trials ``X``.

        Parameters
        ----------
        X : array (n_trials, n_chans, n_times), mne Raw or Epochs
            Training trials (labels are not used).
        sfreq : float, optional
            Sampling rate of an array input.
        """
        from ._model import TFMTokenizer
        from ._train import seed_everything, train_tokenizer

        self._check_params()
        x0, sf, _ = as_trials(X, sfreq)
        self.sfreq_ = float(sf)
        self.n_chans_ = int(x0.shape[1])
        self.scale_, self.offset_ = fit_scaling(x0, sf, self.scaling, self.scale_quantile, self.center)
        x = self._prepared(x0, sf, fitting=True)
        n, c, t = x.shape
        self.history_: dict[str, Any] = {}
        seed_everything(self.seed)
        if self.tokenizer is None:
            self.tokenizer_ = TFMTokenizer(**(self.tokenizer_config or {}))
            self.history_["tokenizer"] = train_tokenizer(
                self.tokenizer_,
                x.reshape(n * c, t),
                self._cfg(self.tokenizer_epochs, self.tokenizer_batch_size, max_examples=self.tokenizer_max_signals),
                sfreq=self.tokenizer_.sfreq,
            )
        elif isinstance(self.tokenizer, (str, Path)):
            self.tokenizer_ = TFMTokenizer.from_pretrained(self.tokenizer, device=self.device)
        else:
            self.tokenizer_ = copy.deepcopy(self.tokenizer)
        return self

    def transform(self, X: Any, sfreq: float | None = None) -> np.ndarray:
        """Tokens (n_trials, n_chans, n_frames) int32 of trials ``X`` (after :meth:`fit_tokenizer`)."""
        from ._train import tokenize_signals

        x = self._prepared(X, sfreq)
        n, c, t = x.shape
        return tokenize_signals(
            self.tokenizer_, x.reshape(n * c, t), sfreq=self.tokenizer_.sfreq, device=self.device
        ).reshape(n, c, -1)

    def fit_tokens(self, tokens: np.ndarray, y: Any, groups: Any = None, encoder: Any = None) -> TFMClassifier:
        """Pretrain (``pretrain_epochs``) and fine-tune the encoder on training tokens.

        Parameters
        ----------
        tokens : ndarray (n_trials, n_chans, n_frames) of int
            Tokens of the training trials (:meth:`transform`).
        y : array (n_trials,)
            Labels (any hashable type; ``classes_`` sorted).
        groups : array (n_trials,), optional
            Trials of one group stay on one side of the early-stopping split.
        encoder : TFMEncoder, optional
            A pretrained encoder to fine-tune (a copy, its head rebuilt for the
            classes) instead of one initialised from the codebook.
        """
        from ._encoder import TFMEncoder
        from ._train import pretrain_encoder, seed_everything

        if not hasattr(self, "tokenizer_"):
            raise RuntimeError("This TFMClassifier has no tokenizer yet: call fit_tokenizer(X) first.")
        self._check_params()
        tokens = np.asarray(tokens)
        check(tokens.ndim == 3, "tokens", "(n_trials, n_chans, n_frames)", f"<shape {tokens.shape}>")
        y = np.asarray(y)
        check(len(y) == len(tokens), "y", f"of length {len(tokens)} (one label per trial)", len(y))
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        check(len(self.classes_) >= 2, "y", "at least 2 classes", f"<{len(self.classes_)} class>")
        if groups is not None:
            groups = np.asarray(groups)
            check(len(groups) == len(y), "groups", f"of length {len(y)} (one per trial)", len(groups))
        self.n_chans_ = int(tokens.shape[1])
        if not hasattr(self, "history_"):
            self.history_ = {}
        n_out = 1 if len(self.classes_) == 2 else len(self.classes_)
        n_codes = self.tokenizer_.quantizer.n_codes
        seed_everything(self.seed)
        if encoder is not None:
            if encoder.n_chans < self.n_chans_:
                raise bad_value(
                    "n_chans", f"<= {encoder.n_chans} (the pretrained encoder's channels)", self.n_chans_, of="tokens"
                )
            cfg = dict(encoder.config, n_outputs=n_out)
            self.encoder_ = TFMEncoder(**cfg)
            state = {k: v for k, v in encoder.state_dict().items() if not k.startswith("head.")}
            self.encoder_.load_state_dict(state, strict=False)
        else:
            cfg = dict(self.encoder_config or {})
            cfg.update(
                n_codes=n_codes, n_chans=self.n_chans_, n_outputs=n_out, emb_size=self.tokenizer_.config["emb_size"]
            )
            self.encoder_ = TFMEncoder(**cfg)
            self.encoder_.init_from_codebook(self.tokenizer_.quantizer.codebook.detach().cpu())
        if self.pretrain_epochs > 0:
            self.history_["pretrain"] = pretrain_encoder(
                self.encoder_, tokens, self._cfg(self.pretrain_epochs, self.batch_size)
            )
        fit, val = val_split(y_idx, self.val_fraction, self.seed, groups)
        self.history_["finetune"] = self._finetune(tokens, y_idx, fit, val)
        return self

    def _finetune(self, tokens: np.ndarray, y_idx: np.ndarray, fit: np.ndarray, val: np.ndarray) -> dict:
        """Fine-tune ``encoder_`` on ``fit`` with early stopping on ``val``; remedy a collapse; threshold."""
        from ._train import calibrate_binary_threshold, constant_score, finetune_encoder

        start = copy.deepcopy(self.encoder_.state_dict())
        n_out = self.encoder_.head.out_features
        cfg = self._cfg(self.finetune_epochs, self.batch_size, self.patience)
        data = (tokens[fit], y_idx[fit])
        valset = (tokens[val], y_idx[val]) if len(val) else None
        hist = finetune_encoder(self.encoder_, *data, cfg, val=valset)
        chance = constant_score(n_out)
        ok = n_out == 1 and self.threshold == "auto"
        collapse: dict[str, Any] = {"detected": False}
        if valset is not None and _collapsed(hist, chance, ok):
            collapse = {
                "detected": True,
                "constant_score": chance,
                "val_score": hist["best_val_score"],
                "val_n_predicted": hist["val_n_predicted"],
                "remedy": dict(REMEDY),
            }
            first = copy.deepcopy(self.encoder_.state_dict())
            self.encoder_.load_state_dict(start)
            cfg2 = self._cfg(
                int(self.finetune_epochs * REMEDY["epochs_factor"]),
                self.batch_size,
                max(10, int(self.patience * REMEDY["patience_factor"])),
            )
            cfg2.lr = self.lr * REMEDY["lr_factor"]
            cfg2.class_weight = REMEDY["class_weight"]
            cfg2.min_best_epoch = REMEDY["min_best_epoch"]
            hist2 = finetune_encoder(self.encoder_, *data, cfg2, val=valset)

            def rank(h: dict) -> tuple:  # a fit that is not collapsed first, then the validation score
                return (not _collapsed(h, chance, ok), -np.inf if h["best_val_score"] is None else h["best_val_score"])

            better = rank(hist2) > rank(hist)
            collapse.update(
                remedy_val_score=hist2["best_val_score"],
                remedy_val_n_predicted=hist2["val_n_predicted"],
                kept="remedy" if better else "first",
            )
            if better:
                hist = dict(hist2, first_fit={k: hist[k] for k in ("loss", "val_score", "best_epoch")})
            else:
                self.encoder_.load_state_dict(first)
            collapse["resolved"] = not _collapsed(hist, chance, ok)
            if not collapse["resolved"]:
                metric = "AUROC" if n_out == 1 else "kappa"
                msg = (
                    f"TFM fine-tuning did not beat constant prediction on its validation split, even after the "
                    f"remedy (balanced class weights, lr / 3, 2 x patience and epochs, not the first epoch): "
                    f"validation {metric} {hist['best_val_score']} vs {chance} constant, "
                    f"{hist['val_n_predicted']} class(es) predicted; history_['finetune']['collapse'] records it."
                )
                log.warning(msg)
                warnings.warn(msg, RuntimeWarning, stacklevel=3)
        hist["collapse"] = collapse
        hist["threshold"] = 0.0  # logit threshold (0: the sigmoid's 0.5)
        if self.threshold == "auto" and n_out == 1 and valset is not None and (hist["val_n_predicted"] or 0) <= 1:
            hist["threshold"] = calibrate_binary_threshold(
                self.encoder_, *valset, prior=float(np.mean(y_idx[fit] == 1)), device=self.device
            )
        return hist

    # -- API --------------------------------------------------------------
    def fit(self, X: Any, y: Any, sfreq: float | None = None, groups: Any = None) -> TFMClassifier:
        """Fit on trials ``X`` (n_trials, n_chans, n_times) at ``sfreq`` with labels ``y`` (n_trials,).

        ``groups`` (n_trials,), optional: trials of one group (e.g. windows of one
        segment) stay on one side of the early-stopping split.
        """
        y = np.asarray(y)
        n = len(as_trials(X, sfreq)[0])
        check(len(y) == n, "y", f"of length {n} (one label per trial)", len(y))
        self.fit_tokenizer(X, sfreq)
        return self.fit_tokens(self.transform(X, sfreq), y, groups=groups)

    def predict_proba_tokens(self, tokens: np.ndarray) -> np.ndarray:
        """Class probabilities (n_trials, n_classes) of tokens (n_trials, n_chans, n_frames)."""
        from ._train import predict_proba

        self.check_is_fitted()
        tokens = np.asarray(tokens)
        check(tokens.ndim == 3, "tokens", "(n_trials, n_chans, n_frames)", f"<shape {tokens.shape}>")
        if tokens.shape[1] != self.n_chans_:
            raise bad_value(
                "n_chans", f"{self.n_chans_} (the channels the encoder was trained on)", tokens.shape[1], of="tokens"
            )
        return predict_proba(self.encoder_, tokens, device=self.device)

    def predict_proba(self, X: Any, sfreq: float | None = None) -> np.ndarray:
        """Class probabilities (n_trials, n_classes), columns in ``classes_`` order."""
        self.check_is_fitted()
        return self.predict_proba_tokens(self.transform(X, sfreq))

    def predict(self, X: Any, sfreq: float | None = None) -> np.ndarray:
        """Predicted labels (n_trials,)."""
        proba = self.predict_proba(X, sfreq)  # checks the fitted state first
        return self.classes_[proba.argmax(1)]

    def score(self, X: Any, y: Any, sfreq: float | None = None) -> float:
        """Balanced accuracy."""
        from sklearn.metrics import balanced_accuracy_score

        return float(balanced_accuracy_score(np.asarray(y), self.predict(X, sfreq)))

    # -- persistence (PretrainedMixin) ----------------------------------------
    def _pretrained_config(self) -> dict[str, Any]:
        """The parameters (``device`` is the loader's; a ``tokenizer`` object is saved as ``tokenizer/``)."""
        params = self.get_params(deep=False)
        del params["device"]
        tok = params["tokenizer"]
        params["tokenizer"] = str(tok) if isinstance(tok, (str, Path)) else None
        return params

    def _pretrained_state(self) -> dict[str, Any]:
        """``tokenizer/`` and ``encoder/``; classes and fitted scaling (arrays); channels, rate, history (JSON)."""
        self.check_is_fitted()
        classes = self.classes_.astype(str) if self.classes_.dtype == object else self.classes_
        arrays = {"classes": classes}
        arrays.update({k: v for k, v in (("scale", self.scale_), ("offset", self.offset_)) if v is not None})
        return {
            "folders": {"tokenizer": self.tokenizer_, "encoder": self.encoder_},
            "arrays": arrays,
            "json": {"n_chans": self.n_chans_, "sfreq": self.sfreq_, "history": self.history_},
        }

    @classmethod
    def _from_pretrained_state(cls, config, state, directory, device, **kwargs) -> TFMClassifier:
        self = cls(**config, device=device)
        self.tokenizer_, self.encoder_ = state["folders"]["tokenizer"], state["folders"]["encoder"]
        arrays, meta = state["arrays"], state["json"]
        self.classes_ = arrays["classes"]
        self.scale_, self.offset_ = arrays.get("scale"), arrays.get("offset")
        self.n_chans_, self.sfreq_, self.history_ = int(meta["n_chans"]), float(meta["sfreq"]), meta["history"]
        return self


def _collapsed(hist: dict, chance: float, one_class_ok: bool = False) -> bool:
    """Whether a fine-tuning's kept epoch does no better than constant prediction on validation: a score at
    or below the constant one, or one class predicted for the whole split (unless ``one_class_ok``: a binary
    model whose threshold is then moved, ``threshold="auto"``).
    """
    best = hist.get("best_val_score")
    return best is None or best <= chance + 1e-9 or ((hist.get("val_n_predicted") or 0) <= 1 and not one_class_ok)
