"""MindBridge (Wang et al., CVPR 2024): one brain decoder across subjects, and reset-tuning.

>>> from neurocodec.decoders.mindbridge import MindBridgeModel, train_mindbridge, reset_tune
>>> model = MindBridgeModel({"sub-01": 300, "sub-02": 350}, image_tokens=17, image_dim=112, **MODEL_PRESETS["cpu"])
>>> train_mindbridge(model, {"sub-01": (betas1, ids1), "sub-02": (betas2, ids2)}, image_targets)
>>> reset_tune(model, "sub-05", betas5_few, ids5_few, sources={...}, image_targets=image_targets)
>>> predict_embeddings(model, betas_test, "sub-05")["image"]
"""

from ..._lazy import lazy_exports

_WHERE = {
    "cycle_loss": "_losses",
    "embedding_loss": "_losses",
    "reconstruction_loss": "_losses",
    "soft_clip_loss": "_losses",
    "MODEL_PRESETS": "_model",
    "LowRankAdapter": "_model",
    "MindBridgeModel": "_model",
    "ResidualMLP": "_model",
    "pool_voxels": "_model",
    "image_token_targets": "_targets",
    "load_efficientnet_lite0": "_targets",
    "text_token_targets": "_targets",
    "TRAINING_PRESETS": "_training",
    "TrainingConfig": "_training",
    "predict_embeddings": "_training",
    "reset_tune": "_training",
    "train_mindbridge": "_training",
}


__all__ = [
    "LowRankAdapter",
    "MODEL_PRESETS",
    "MindBridgeModel",
    "ResidualMLP",
    "TRAINING_PRESETS",
    "TrainingConfig",
    "cycle_loss",
    "embedding_loss",
    "image_token_targets",
    "load_efficientnet_lite0",
    "predict_embeddings",
    "pool_voxels",
    "reconstruction_loss",
    "reset_tune",
    "soft_clip_loss",
    "text_token_targets",
    "train_mindbridge",
]

__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
