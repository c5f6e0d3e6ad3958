"""Pipeline stages of the in-context encoder: ``metatrain_incontext`` and ``fit_incontext``.

Cheap to import: numpy, torch and the model are imported inside ``run``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ...pipeline import Input, Output, Stage, StageParams, register_stage, runtime_field

_FEATURES = ("stimulus_features",)


class MetatrainParams(StageParams):
    train_subjects: list[str] = Field(
        [], description="Subjects to meta-train on (empty: every subject but the last, which stays held out)."
    )
    feature_key: str = Field(
        "",
        description="Feature set of the stimulus_features artifact to use (e.g. a CNN layer); "
        "empty: the last (deepest) set.",
    )
    n_components: int = Field(
        128, ge=0, description="PCA dimensions of the embeddings (fitted on all stimuli, no responses); 0 keeps all."
    )
    center: bool = Field(True, description="Subtract the mean embedding over stimuli before PCA / unit-norming.")
    preset: Literal["small", "paper"] = Field("small", description="Architecture preset (paper: 560 wide, 20 layers).")
    width: int | None = Field(None, gt=0, description="Model width (None: preset).")
    n_layers: int | None = Field(None, gt=0, description="Transformer layers (None: preset).")
    n_heads: int | None = Field(None, gt=0, description="Attention heads (None: preset).")
    ffn_dim: int | None = Field(None, gt=0, description="SwiGLU hidden size (None: preset).")
    n_registers: int | None = Field(None, gt=0, description="Register tokens (None: preset).")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="Dropout in MLPs, attention and residual branches.")
    n_steps: int = Field(2000, gt=0, description="Optimisation steps (one voxel batch each).")
    batch_voxels: int = Field(64, gt=0, description="Voxels per step.")
    min_context: int = Field(30, ge=2, description="Fewest context images per episode.")
    max_context: int = Field(500, ge=2, description="Most context images per episode (capped by the images available).")
    n_query: int = Field(100, gt=0, description="Query images per episode (the loss is their MSE).")
    lr: float = Field(1e-4, gt=0, description="AdamW learning rate (peak, after warm-up; cosine decay).")
    weight_decay: float = Field(0.1, ge=0, description="AdamW weight decay.")
    val_fraction: float = Field(0.1, gt=0, lt=1, description="Fraction of each training subject's voxels held out.")
    val_every: int = Field(100, gt=0, description="Validation period in steps (best state kept).")
    seed: int = Field(0, description="Random seed (initialisation, episodes, voxel split).")
    device: str = runtime_field("cpu", "Torch device ('cuda' trains in bfloat16 mixed precision).")
    n_threads: int = runtime_field(
        1,
        "Torch CPU threads during the step (1 avoids oversubscription on shared "
        "CPUs, where 2 threads cost ~10x the CPU time; 0: torch's default).",
        ge=0,
    )


@register_stage
class MetatrainIncontext(Stage):
    """Meta-train the BraInCoRL in-context transformer on some subjects of a visual experiment."""

    name = "metatrain_incontext"
    version = 1
    Params = MetatrainParams
    libraries = ("numpy", "torch", "scikit-learn")
    inputs = {
        "experiment": Input("Stimuli and single-trial responses.", kinds=("stimulus_responses",)),
        "features": Input(
            "Image embeddings for every stimulus (features stage; or the simulation's true features).", kinds=_FEATURES
        ),
    }
    outputs = {
        "model": Output(
            "model/",
            kind="incontext_model",
            description="BraInCoRL weights: model.safetensors + config.json (BraInCoRL.from_pretrained).",
        ),
        "projection": Output(
            "projection.npz", "Embedding preprocessing: mean (n_features,), components (n_features, E), then unit norm."
        ),
        "history": Output("history.tsv", "step, train_loss, val_loss, val_ev, lr, elapsed_s."),
        "summary": Output("summary.json", "Train subjects, held-out voxels, best step, training time, sizes."),
    }

    report_impl = "._report:metatrain_section"
    run_impl = "._stage_impl:run_metatrain"


class FitParams(StageParams):
    subjects: list[str] = Field(
        [], description="Subjects to build encoders for (empty: those not used in meta-training)."
    )
    n_context: int = Field(
        0, ge=0, description="Context images for the final encoder (0: all of the subject's training images)."
    )
    context_sizes: list[int] = Field(
        [10, 30, 100, 300, 1000],
        description="Context sizes of the scaling evaluation (sizes above the pool are dropped); empty: no evaluation.",
    )
    n_draws: int = Field(3, gt=0, description="Disjoint context draws per size.")
    alphas: list[float] = Field(
        [1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1e3, 1e4, 1e5], description="RidgeCV penalties of the baseline."
    )
    cv: int = Field(5, ge=2, description="Folds of the baseline's per-voxel penalty choice.")
    seed: int = Field(0, description="Seed of the context draws.")
    device: str = runtime_field("cpu", "Torch device.")
    batch_voxels: int = runtime_field(256, "Voxels per forward pass (does not change results).")
    n_threads: int = runtime_field(
        1,
        "Torch CPU threads during the step (1 avoids oversubscription on shared "
        "CPUs, where 2 threads cost ~10x the CPU time; 0: torch's default).",
        ge=0,
    )


@register_stage
class FitIncontext(Stage):
    """Build a held-out subject's voxelwise encoder in context; scaling vs RidgeCV over context sizes."""

    name = "fit_incontext"
    version = 1
    Params = FitParams
    libraries = ("numpy", "torch", "scikit-learn")
    inputs = {
        "model": Input("Meta-trained model.", kinds=("incontext_model",)),
        "experiment": Input("Stimuli and single-trial responses.", kinds=("stimulus_responses",)),
        "features": Input("The same image embeddings as in meta-training.", kinds=_FEATURES),
    }
    outputs = {
        "weights": Output(
            "weights.npz",
            kind="incontext_encoders",
            description="Per subject SUB: SUB/coef (E, n_voxels) on the projected unit-normed "
            "embeddings, SUB/intercept (n_voxels,), SUB/context_ids.",
        ),
        "attention": Output(
            "attention.npz",
            "Per subject: (n_voxels, n_context) read-out attention over the context images (last layer, head average).",
        ),
        "scaling": Output("scaling.tsv", "subject, method, context_size, draw, voxel_kind, ev, r (voxel means)."),
        "voxelwise": Output("scaling_voxelwise.npz", "Per subject and method: ev / r (n_sizes, n_draws, n_voxels)."),
        "summary": Output("summary.json", "Mean EV / r per method and context size, test EV of the final encoder."),
    }

    report_impl = "._report:fit_section"
    run_impl = "._stage_impl:run_fit"
