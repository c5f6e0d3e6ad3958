"""Artifact kinds owned by :mod:`neurocodec.encoders` (models and scores; the data kinds live in datasets)."""

from ..pipeline import register_kind

register_kind(
    "voxel_encoders",
    version=2,
    reader="neurocodec.encoders:RidgeCV",
    description="Fitted voxelwise ridge encoders: encoders/<subject>/ (a RidgeCV's save_pretrained folder: "
    "coef_ (n_features, n_voxels), intercept_, alphas_, cv_scores_) + summary.json (feature set, training sizes).",
)
register_kind(
    "encoder_scores",
    version=1,
    reader="neurocodec.pipeline:load_table",
    description="Per-voxel test scores: scores/<subject>.tsv (kind, r, r2, ceiling, r_normalized, pRF centres) "
    "+ summary.json + ground_truth.json.",
)
register_kind(
    "incontext_model",
    version=1,
    reader="neurocodec.encoders.incontext:BraInCoRL",
    description="A meta-trained BraInCoRL: model/ (model.safetensors + config.json), projection.npz, "
    "summary.json (feature set, training subjects).",
)
register_kind(
    "incontext_encoders",
    version=1,
    reader="neurocodec.pipeline:load_arrays",
    description="Voxelwise encoders a BraInCoRL built in context: weights.npz (per subject coef (E, n_voxels), "
    "intercept), attention.npz, scaling tables, summary.json.",
)
register_kind(
    "rsa_scores",
    version=1,
    reader="neurocodec.pipeline:load_table",
    description="rsa.tsv (model, subject, r) + rsa.json (mean r per feature set, noise ceiling).",
)
