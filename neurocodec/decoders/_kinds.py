"""Artifact kinds owned by :mod:`neurocodec.decoders`."""

from ..pipeline import register_kind

register_kind(
    "brain_diffuser",
    version=1,
    reader="neurocodec.decoders:BrainDiffuser",
    description="Fitted Brain-Diffuser decoders: decoders/<subject>/ (ridge weights, statistics) + generator/ "
    "(the generator, or a reference to real weights) + fit.json.",
)
register_kind(
    "reconstructions",
    version=1,
    reader="neurocodec.pipeline:load_arrays",
    description="reconstructions.npz: image_ids (n,), true (n, H, W, 3) uint8 and per subject/stage "
    "reconstructed images (n, H, W, 3) uint8.",
)
register_kind(
    "reconstruction_scores",
    version=1,
    reader="neurocodec.pipeline:load_json",
    description="metrics.json ({subject: {stage: {metric: value}}, mean}) + metrics.tsv.",
)
register_kind(
    "embedding_targets",
    version=1,
    reader="neurocodec.pipeline:load_array",
    description="Token-level embedding targets of every stimulus: image_tokens.npy (n_images, n_tokens, dim), "
    "text_tokens.npy, targets.json.",
)
register_kind(
    "mindbridge_model",
    version=1,
    reader="neurocodec.decoders.mindbridge:MindBridgeModel",
    description="A trained (or reset-tuned) MindBridge: model/ (model.safetensors + config.json) + history.",
)
