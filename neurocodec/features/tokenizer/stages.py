"""Pipeline stages of the TFM-Tokenizer: tfm_tokenize -> tfm_pretrain -> tfm_finetune -> tfm_evaluate.

Cheap to import: torch / mne / sklearn are imported inside ``run``.
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field

from ...pipeline import Input, Output, Stage, StageParams, register_stage, runtime_field


class TokenizeParams(StageParams):
    epoch_s: float = Field(2.0, gt=0, description="Trial length in seconds when cutting a continuous recording.")
    sfreq: Optional[float] = Field(None, description="Sampling rate of an .npz source without an 'sfreq' entry (Hz).")
    test_fraction: float = Field(0.25, ge=0, lt=1, description="Share of trials held out as 'test' when the source has no split.")
    scaling: Literal["trial", "channel", "none"] = Field("trial", description="Divide each channel by the quantile of |x| per trial ('trial'), per channel over the training trials ('channel'), or not at all.")
    scale_quantile: float = Field(0.95, gt=0, le=1, description="Quantile of |x| used for scaling.")
    center: Literal["none", "auto", "channel"] = Field("none", description="Per-channel offset removed before scaling, estimated on the training trials: 'channel' (median trial mean), 'auto' (only channels whose offset is constant across trials, e.g. a DC-coupled amplifier's), or 'none'.")
    pad_short: bool = Field(False, description="Zero-pad trials shorter than 1 s at 200 Hz instead of failing.")
    n_codes: int = Field(8192, gt=1, description="Codebook size.")
    emb_size: int = Field(64, gt=0, description="Token embedding size.")
    n_heads: int = Field(8, gt=0, description="Attention heads.")
    freq_depth: int = Field(2, ge=1, description="Depth of the frequency transformer.")
    temporal_depth: int = Field(2, ge=1, description="Depth of the temporal transformer.")
    decoder_depth: int = Field(8, ge=1, description="Depth of the decoder transformer.")
    restart_after: int = Field(20, ge=0, description="Training steps after which an unused code is restarted (0: never).")
    dc: Literal["magnitude", "signed"] = Field("magnitude", description="Spectrum bin 0 as a magnitude (the paper) or with its sign ('signed': tokens keep the polarity of slow potentials).")
    epochs: int = Field(100, ge=0, description="Tokenizer training epochs over the training trials' channels.")
    batch_size: int = Field(256, gt=0, description="Single-channel signals per training step.")
    max_signals_per_epoch: int = Field(0, ge=0, description="Random single-channel signals drawn per epoch (0: all).")
    lr: float = Field(1e-3, gt=0, description="Peak AdamW learning rate.")
    seed: int = Field(0, ge=0, description="Random seed (split, initialisation, masks).")
    device: str = runtime_field("cpu", "Torch device.")
    progress: bool = runtime_field(False, "Show progress bars.")


@register_stage
class TFMTokenize(Stage):
    """Train the TFM-Tokenizer on the training trials and tokenize every trial (channel x frame tokens).

    Sources: a ``simulate_eeg`` artifact (``recording``; 2-s windows labelled by
    their dominant motif), or a ``.fif`` / ``.npz`` path (``source``). Give
    ``pretrained`` (another tfm_tokenize step) to reuse its tokenizer instead
    of training one.
    """

    name = "tfm_tokenize"
    version = 2
    Params = TokenizeParams
    libraries = ("numpy", "torch", "scipy", "mne")
    inputs = {
        "recording": Input("Simulated recording (raw.fif + motifs.tsv).", kinds=("raw",), required=False),
        "source": Input(".fif raw/epochs or .npz trials (X[, y, sfreq] or X_train, y_train, X_test, y_test).",
                        source="path", required=False),
        "pretrained": Input("A tfm_tokenize step whose tokenizer is reused (no training).", kinds=("tfm_tokenizer",),
                            required=False),
    }
    outputs = {
        "tokens": Output("tokens.npy", kind="tfm_tokens", description="(n_trials, n_chans, n_frames) int32 token ids, 2 frames/s (1-s window, 0.5-s hop)."),
        "labels": Output("labels.npy", "(n_trials,) str class labels ('' when unlabelled)."),
        "split": Output("split.npy", "(n_trials,) str 'train' / 'test'."),
        "recording_tokens": Output("recording_tokens.npy", "(n_chans, n_frames) int32 tokens of the whole continuous recording (trials concatenated otherwise)."),
        "tokenizer": Output("tokenizer/", kind="tfm_tokenizer", description="TFMTokenizer weights (model.safetensors + config.json + extra.json)."),
        "profiles": Output("profiles.npz", "codes, counts, profiles (mean 0-99 Hz spectrum per token) of the 64 commonest tokens."),
        "stats": Output("stats.json", "Codebook usage, training history, shapes, motif mutual information (simulated input)."),
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
    version = 1
    Params = PretrainParams
    libraries = ("numpy", "torch")
    inputs = {"tokens": Input("Tokens and tokenizer.", kinds=("tfm_tokens",))}
    outputs = {
        "encoder": Output("encoder/", kind="tfm_encoder", description="TFMEncoder weights (model.safetensors + config.json)."),
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
    val_fraction: float = Field(0.2, ge=0, lt=1, description="Share of training trials used for early stopping.")
    label_smoothing: float = Field(0.1, ge=0, lt=1, description="Label smoothing of the multi-class loss.")
    threshold: Literal["fixed", "prior", "auto"] = Field("fixed", description="Binary tasks: keep the 0.5 decision threshold ('fixed'), move it to the validation-logit quantile matching the training class balance ('prior'), or do so only when the early-stopped model predicts one class on its whole validation split ('auto').")
    depth: int = Field(4, ge=1, description="Encoder depth when no pretrained encoder is given.")
    seed: int = Field(0, ge=0, description="Random seed.")
    device: str = runtime_field("cpu", "Torch device.")
    progress: bool = runtime_field(False, "Show progress bars.")


@register_stage
class TFMFinetune(Stage):
    """Fine-tune the TFM-Encoder for classification with the tokenizer frozen (early stopping on kappa / AUROC)."""

    name = "tfm_finetune"
    version = 2
    Params = FinetuneParams
    libraries = ("numpy", "torch", "scikit-learn")
    inputs = {
        "tokens": Input("Labelled tokens.", kinds=("tfm_tokens",)),
        "pretrained": Input("Pretrained encoder (else initialised from the codebook).", kinds=("tfm_encoder",),
                            required=False),
    }
    outputs = {
        "encoder": Output("encoder/", kind="tfm_classifier", description="Fine-tuned TFMEncoder (model.safetensors + config.json)."),
        "classes": Output("classes.json", "Class names in output order."),
        "history": Output("history.json", "Per-epoch loss, validation score, best epoch."),
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
    """Test-split metrics (balanced accuracy, kappa, weighted F1, AUROC) and class-discriminative tokens."""

    name = "tfm_evaluate"
    version = 1
    Params = EvaluateParams
    libraries = ("numpy", "torch", "scikit-learn")
    inputs = {
        "tokens": Input("Labelled tokens with a test split.", kinds=("tfm_tokens",)),
        "model": Input("Fine-tuned encoder.", kinds=("tfm_classifier",)),
    }
    outputs = {
        "metrics": Output("metrics.json", kind="classification_scores", description="balanced_accuracy, kappa, weighted_f1, auroc, n_test."),
        "predictions": Output("predictions.tsv", "trial, label, predicted, p_<class>... for test trials."),
        "tokens": Output("discriminative_tokens.tsv", "Tokens most over-represented per class (training trials)."),
    }

    report_impl = "._report:evaluate_section"
    run_impl = "._stage_impl:run_evaluate"
