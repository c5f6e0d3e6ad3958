"""TFM-Tokenizer: time-frequency motif tokens of single-channel EEG, the TFM-Encoder
(masked-token pretraining, classification), cross-validation over protocols and token
statistics. The MiniRocket baseline is in :mod:`neurocodec.baselines`.

Pradeepkumar et al., "Tokenizing Single-Channel EEG with Time-Frequency Motif
Learning"; reference code Jathurshan0330/TFM-Tokenizer.
"""

from ..._lazy import lazy_exports

# Public name -> private module. Loaded lazily (PEP 562) so that importing
# ``neurocodec.features.tokenizer.stages`` (the CLI does) does not import torch. The building blocks (layers,
# quantiser, training steps, token statistics) stay in their private modules.
_EXPORTS = {
    "TFMClassifier": "_classifier",
    "TFMEnsembleClassifier": "_ensemble",
    "cross_validate": "_cv",
    "protocol_labels": "_cv",
    "summarize_folds": "_cv",
    "fit_union_tokenizer": "_transfer",
    "TFMEncoder": "_encoder",
    "TFMTokenizer": "_model",
    "continuous_windows": "_preprocess",
    "resample": "_preprocess",
    "stft_magnitude": "_preprocess",
    "prepare_trials": "_preprocess",
    "TrainConfig": "_train",
    "classification_metrics": "_train",
    "predict_proba": "_train",
    "tokenize_signals": "_train",
    "train_tokenizer": "_train",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
