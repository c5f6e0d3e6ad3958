"""Pipeline stages of the TFM-Tokenizer: tfm_tokenize -> tfm_pretrain -> tfm_finetune -> tfm_evaluate,
and tfm_cross_validate (k-fold over class protocols).

Every stage reads the ``epochs`` kind (or the tokens of an upstream step) and
calls :class:`TFMClassifier` (one copy of scaling, centring, threshold and
the collapse remedy). Cheap to import: torch / mne / sklearn are imported
inside ``run``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from ...pipeline import Input, Output, Stage, StageParams, register_stage, runtime_field


class _ScalingFields(StageParams):
    scaling: Literal["trial", "channel"] = Field(
        "trial",
        description="Divide each channel by the quantile of |x| per "
        "trial ('trial', the paper) or by one "
        "per-channel quantile fitted on the training "
        "trials ('channel', keeps amplitude differences "
        "between trials).",
    )
    scale_quantile: float = Field(0.95, gt=0, le=1, description="Quantile of |x| used for scaling.")
    center: Literal["none", "auto"] = Field(
        "none",
        description="'auto': remove a per-channel offset fitted on the "
        "training trials where it is constant across trials (a "
        "DC-coupled amplifier's); 'none'.",
    )
    pad_short: bool = Field(False, description="Zero-pad trials shorter than 1 s at 200 Hz instead of failing.")


class _TokenizerFields(StageParams):
    n_codes: int = Field(8192, gt=1, description="Codebook size.")
    emb_size: int = Field(64, gt=0, description="Token embedding size.")
    n_heads: int = Field(8, gt=0, description="Attention heads.")

    @field_validator("n_heads")
    @classmethod
    def _divides_emb_size(cls, value, info: ValidationInfo):
        emb = info.data.get("emb_size")
        if emb is not None and emb % value:
            raise ValueError(f"a divisor of emb_size = {emb}")
        return value

    freq_depth: int = Field(2, ge=1, description="Depth of the frequency transformer.")
    temporal_depth: int = Field(2, ge=1, description="Depth of the temporal transformer.")
    decoder_depth: int = Field(8, ge=1, description="Depth of the decoder transformer.")
    restart_after: int = Field(
        20, ge=0, description="Training steps after which an unused code is restarted (0: never)."
    )


class TokenizeParams(_ScalingFields, _TokenizerFields):
    test_fraction: float = Field(
        0.25, ge=0, lt=1, description="Share of trials held out as 'test' (stratified) when the epochs carry no split."
    )
    epochs: int = Field(100, ge=0, description="Tokenizer training epochs over the training trials' channels.")
    batch_size: int = Field(256, gt=0, description="Single-channel signals per training step.")
    max_signals_per_epoch: int = Field(0, ge=0, description="Random single-channel signals drawn per epoch (0: all).")
    lr: float = Field(1e-3, gt=0, description="Peak AdamW learning rate.")
    seed: int = Field(0, ge=0, description="Random seed (split, initialisation, masks).")
    device: str = runtime_field("cpu", "Torch device.")
    progress: bool = runtime_field(False, "Show progress bars.")


def _check_trial_length(params, epochs) -> None:
    """Trials of at least one 1-s frame at 200 Hz (unless ``pad_short``), from what is known upstream."""
    from ...datasets._facts import epochs_facts
    from ...pipeline import bad_value

    for up in epochs if isinstance(epochs, list) else [epochs]:
        facts = epochs_facts(up)
        sfreq, n_times = facts.get("sfreq"), facts.get("n_times")
        if sfreq and n_times and n_times / sfreq < 1.0 and not getattr(params, "pad_short", False):
            raise bad_value(
                "inputs.epochs",
                "trials of >= 1 s (one 200-sample frame at 200 Hz), or pad_short: true",
                f"<{n_times} samples at {sfreq:g} Hz = {n_times / sfreq:g} s from step {up.step!r}>",
            )


@register_stage
class TFMTokenize(Stage):
    """Train the TFM-Tokenizer on the training trials of epochs and tokenize every trial (channel x frame tokens).

    Give ``pretrained`` (a tokenizer of another tfm_tokenize step, any dataset)
    to freeze it instead of training one: transfer.
    """

    name = "tfm_tokenize"
    version = 4
    Params = TokenizeParams

    @classmethod
    def check_upstream(cls, params, upstream) -> None:
        _check_trial_length(params, upstream["epochs"])

    libraries = ("numpy", "torch", "scipy")
    inputs = {
        "epochs": Input("Trials (load_bonn, load_uea_eeg, epoch_eeg, load_sleep_edf, ...).", kinds=("epochs",)),
        "pretrained": Input(
            "A trained tokenizer (tfm_tokenize), reused frozen.", kinds=("tfm_tokenizer",), required=False
        ),
    }
    outputs = {
        "tokens": Output(
            "tokens.npy",
            "(n_trials, n_chans, n_frames) int32 token ids, 2 frames/s (1-s window, 0.5-s "
            "hop); labels, split and trials beside.",
            kind="tfm_tokens",
        ),
        "labels": Output("labels.npy", "(n_trials,) str class labels ('' when unlabelled)."),
        "split": Output("split.npy", "(n_trials,) str 'train' / 'test'."),
        "trials": Output(
            "trials.tsv", "The epochs' group columns (subject, session, recording, ...), one row per trial."
        ),
        "tokenizer": Output(
            "tokenizer/",
            "TFMTokenizer weights (model.safetensors + config.json + info.json: fitted scaling).",
            kind="tfm_tokenizer",
        ),
        "profiles": Output(
            "profiles.npz", "codes, counts, profiles (mean 0-99 Hz spectrum per token) of the 64 commonest tokens."
        ),
        "stats": Output("stats.json", "Codebook usage, training history, shapes, MI(token; trial label)."),
    }

    report_impl = "._report:tokenize_section"
    run_impl = "._stage_impl:run_tokenize"


class PretrainParams(StageParams):
    depth: int = Field(4, ge=1, description="Transformer depth of the TFM-Encoder.")
    n_heads: int = Field(8, gt=0, description="Attention heads.")
    epochs: int = Field(50, ge=0, description="Masked-token-prediction epochs over the training trials.")
    batch_size: int = Field(512, gt=0, description="Trials per step.")
    lr: float = Field(1e-3, gt=0, description="Peak AdamW learning rate.")
    seed: int = Field(0, ge=0, description="Random seed.")
    device: str = runtime_field("cpu", "Torch device.")
    progress: bool = runtime_field(False, "Show progress bars.")


@register_stage
class TFMPretrain(Stage):
    """Masked-token-prediction pretraining of the TFM-Encoder (50 % + complementary masks) on training-trial tokens."""

    name = "tfm_pretrain"
    version = 3
    Params = PretrainParams
    libraries = ("numpy", "torch")
    inputs = {"tokens": Input("Tokens and tokenizer.", kinds=("tfm_tokens",))}
    outputs = {
        "encoder": Output("encoder/", "TFMEncoder weights (model.safetensors + config.json).", kind="tfm_encoder"),
        "history": Output("history.json", "Per-epoch loss and masked-token accuracy."),
    }

    @classmethod
    def report(cls, artifact):
        from ._report import history_section

        return history_section(artifact, "TFM-Encoder masked-token pretraining")

    run_impl = "._stage_impl:run_pretrain"


class FinetuneParams(StageParams):
    epochs: int = Field(50, ge=1, description="Fine-tuning epochs.")
    batch_size: int = Field(512, gt=0, description="Trials per step.")
    lr: float = Field(1e-3, gt=0, description="Peak AdamW learning rate.")
    patience: int = Field(10, ge=0, description="Early-stopping patience in epochs (0: none).")
    val_fraction: float = Field(
        0.2,
        ge=0,
        lt=1,
        description="Share of training trials used for early stopping (whole recordings kept on one side).",
    )
    threshold: Literal["fixed", "auto"] = Field(
        "fixed",
        description="Binary tasks: keep the 0.5 decision threshold "
        "('fixed'), or move it to the validation-logit "
        "quantile matching the training class balance "
        "when the early-stopped model predicts one class "
        "on its whole validation split ('auto').",
    )
    depth: int = Field(4, ge=1, description="Encoder depth when no pretrained encoder is given.")
    seed: int = Field(0, ge=0, description="Random seed.")
    device: str = runtime_field("cpu", "Torch device.")
    progress: bool = runtime_field(False, "Show progress bars.")


@register_stage
class TFMFinetune(Stage):
    """Fine-tune the TFM-Encoder for classification with the tokenizer frozen (early stopping on kappa / AUROC;
    a fit that never beats constant prediction is remedied, and said so in history.json).
    """

    name = "tfm_finetune"
    version = 4
    Params = FinetuneParams
    libraries = ("numpy", "torch", "scikit-learn")
    inputs = {
        "tokens": Input("Labelled tokens.", kinds=("tfm_tokens",)),
        "pretrained": Input(
            "Pretrained encoder (else initialised from the codebook).", kinds=("tfm_encoder",), required=False
        ),
    }
    outputs = {
        "encoder": Output(
            "encoder/", "Fine-tuned TFMEncoder (model.safetensors + config.json).", kind="tfm_classifier"
        ),
        "classes": Output("classes.json", "Class names in output order."),
        "history": Output("history.json", "Per-epoch loss, validation score, best epoch, collapse record, threshold."),
    }

    @classmethod
    def report(cls, artifact):
        from ._report import history_section

        return history_section(artifact, "TFM-Encoder fine-tuning")

    run_impl = "._stage_impl:run_finetune"


class EvaluateParams(StageParams):
    n_tokens: int = Field(10, gt=0, description="Class-discriminative tokens listed.")
    device: str = runtime_field("cpu", "Torch device.")


@register_stage
class TFMEvaluate(Stage):
    """Test-split metrics (balanced accuracy, kappa, weighted F1, AUROC) and class-discriminative tokens.

    Several models are a seed ensemble: their class probabilities are averaged as
    ``TFMEnsembleClassifier.predict_proba`` does, each model reading the tokens of its own tokenizer
    (``tokens`` and ``model`` paired in order; one ``tokens`` step is shared by every model).
    """

    name = "tfm_evaluate"
    version = 3
    Params = EvaluateParams
    libraries = ("numpy", "torch", "scikit-learn")
    inputs = {
        "tokens": Input(
            "Labelled tokens with a test split: one step per model (paired in order), or one for all.",
            kinds=("tfm_tokens",),
            source="artifacts",
        ),
        "model": Input(
            "Fine-tuned encoder(s) (tfm_finetune); several: a seed ensemble, probabilities averaged.",
            kinds=("tfm_classifier",),
            source="artifacts",
        ),
    }
    outputs = {
        "metrics": Output(
            "metrics.json",
            "balanced_accuracy, kappa, weighted_f1, auroc, n_test, n_members; members: each model's own metrics.",
            kind="classification_scores",
        ),
        "predictions": Output(
            "predictions.tsv", "trial, label, predicted, p_<class>... (the average over models) for test trials."
        ),
        "tokens": Output(
            "discriminative_tokens.tsv", "Tokens most over-represented per class (training trials, first tokens)."
        ),
    }

    report_impl = "._report:evaluate_section"
    run_impl = "._stage_impl:run_evaluate"


class UnionTokenizerParams(_TokenizerFields):
    scaling: Literal["trial", "channel"] = Field(
        "channel", description="Scaling of each set (fitted on its own training trials); see tfm_tokenize."
    )
    scale_quantile: float = Field(0.95, gt=0, le=1, description="Quantile of |x| used for scaling.")
    center: Literal["none", "auto"] = Field(
        "auto", description="Per-set constant channel offsets removed ('auto') or not."
    )
    window_s: float = Field(
        2.0, ge=1.0, description="Single-channel windows (s) cut from the trials (shorter ones zero-padded)."
    )
    max_per_set: int = Field(
        2000,
        ge=0,
        description="At most this many random windows of each set (0: all), so that a "
        "many-channel set does not dominate.",
    )
    epochs: int = Field(30, ge=1, description="Tokenizer training epochs.")
    batch_size: int = Field(128, gt=0, description="Single-channel windows per step.")
    max_signals_per_epoch: int = Field(256, ge=0, description="Random windows drawn per epoch (0: all).")
    lr: float = Field(1e-3, gt=0, description="Peak AdamW learning rate.")
    seed: int = Field(0, ge=0, description="Random seed.")
    device: str = runtime_field("cpu", "Torch device.")
    progress: bool = runtime_field(False, "Show progress bars.")


@register_stage
class TFMTrainTokenizer(Stage):
    """Train one TFM-Tokenizer on the training trials of several epochs sets (each scaled on its own): a
    tokenizer to freeze and use on another dataset (the ``pretrained`` input of tfm_tokenize / tfm_cross_validate).
    """

    name = "tfm_train_tokenizer"
    version = 2
    Params = UnionTokenizerParams
    libraries = ("numpy", "torch", "scipy")
    inputs = {
        "epochs": Input(
            "Epochs sets (their 'train' trials; all trials when unsplit).", kinds=("epochs",), source="artifacts"
        )
    }
    outputs = {
        "tokenizer": Output(
            "tokenizer/", "TFMTokenizer weights (model.safetensors + config.json + info.json).", kind="tfm_tokenizer"
        ),
        "stats": Output("stats.json", "Per set: trials, channels, rate, windows; training history; codebook usage."),
    }
    run_impl = "._stage_impl:run_train_tokenizer"


class CrossValidateParams(_ScalingFields, _TokenizerFields):
    protocols: dict[str, list[list[str]]] = Field(
        description="Protocol name -> its classes, each a list of the labels "
        "it merges, e.g. {A_vs_E: [[A], [E]], AB_CD_E: [[A, B], "
        "[C, D], [E]]}."
    )
    n_folds: int = Field(10, ge=2, description="Folds over all trials, stratified by label, whole groups on one side.")
    group: str = Field(
        "segment", description="Column of the epochs' groups kept on one side of every split (e.g. segment, subject)."
    )
    fold_seed: int = Field(0, ge=0, description="Seed of the folds.")
    tokenizer_epochs: int = Field(
        100, ge=0, description="Tokenizer training epochs per fold (ignored with 'pretrained')."
    )
    tokenizer_batch_size: int = Field(256, gt=0, description="Single-channel signals per tokenizer step.")
    max_signals_per_epoch: int = Field(
        0, ge=0, description="Random single-channel signals drawn per tokenizer epoch (0: all)."
    )
    depth: int = Field(4, ge=1, description="Encoder depth.")
    pretrain_epochs: int = Field(50, ge=0, description="Masked-token pretraining epochs per protocol and fold.")
    finetune_epochs: int = Field(50, ge=1, description="Fine-tuning epochs.")
    batch_size: int = Field(512, gt=0, description="Trials per encoder step.")
    lr: float = Field(1e-3, gt=0, description="Peak AdamW learning rate.")
    patience: int = Field(10, ge=0, description="Early-stopping patience (epochs).")
    val_fraction: float = Field(
        0.2, ge=0, lt=1, description="Share of each training fold used for early stopping (whole groups)."
    )
    threshold: Literal["fixed", "auto"] = Field("fixed", description="Binary decision threshold (see tfm_finetune).")
    seed: int = Field(0, ge=0, description="Seed of the models.")
    device: str = runtime_field("cpu", "Torch device.")
    progress: bool = runtime_field(False, "Show progress bars.")


@register_stage
class TFMCrossValidate(Stage):
    """K-fold cross-validation of the TFM pipeline over class protocols of one epochs set (tokenizer per fold,
    shared by the protocols; encoder per protocol): per-fold and mean / sd metrics.
    """

    name = "tfm_cross_validate"

    @classmethod
    def check_upstream(cls, params, upstream) -> None:
        _check_trial_length(params, upstream["epochs"])

    version = 1
    Params = CrossValidateParams
    libraries = ("numpy", "torch", "scipy", "scikit-learn")
    inputs = {
        "epochs": Input("Labelled trials with a group column (e.g. load_bonn).", kinds=("epochs",)),
        "pretrained": Input(
            "A trained tokenizer, frozen in every fold (transfer).", kinds=("tfm_tokenizer",), required=False
        ),
    }
    outputs = {
        "metrics": Output(
            "metrics.json",
            "Per protocol: classes, per-fold metrics (balanced_accuracy, kappa, "
            "weighted_f1, auroc, collapse), mean and sd, wall time.",
        ),
        "predictions": Output("predictions.tsv", "protocol, fold, trial, label, predicted, p_<k> per test trial."),
    }

    report_impl = "._report:cross_validate_section"
    run_impl = "._stage_impl:run_cross_validate"
