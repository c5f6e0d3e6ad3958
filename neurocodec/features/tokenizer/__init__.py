"""TFM-Tokenizer: time-frequency motif tokens of single-channel EEG, the TFM-Encoder
(masked-token pretraining, classification), token statistics and a MiniRocket baseline.

Pradeepkumar et al., "Tokenizing Single-Channel EEG with Time-Frequency Motif
Learning"; reference code Jathurshan0330/TFM-Tokenizer.
"""

from ._classifier import TFMClassifier, prepare_trials
from ._encoder import TFMEncoder, reference_key_map
from ._layers import LinearAttention, LinearTransformer
from ._minirocket import MiniRocket, MiniRocketClassifier
from ._model import EMAVectorQuantizer, TFMTokenizer, freq_time_masks
from ._preprocess import as_trials, continuous_windows, resample, scale_signals, stft_magnitude
from ._stats import discriminative_tokens, mutual_information, token_profiles
from ._train import (
    TrainConfig,
    classification_metrics,
    finetune_encoder,
    predict_proba,
    pretrain_encoder,
    tokenize_signals,
    train_tokenizer,
)

__all__ = [
    "EMAVectorQuantizer",
    "LinearAttention",
    "LinearTransformer",
    "MiniRocket",
    "MiniRocketClassifier",
    "TFMClassifier",
    "TFMEncoder",
    "TFMTokenizer",
    "TrainConfig",
    "as_trials",
    "classification_metrics",
    "continuous_windows",
    "discriminative_tokens",
    "finetune_encoder",
    "freq_time_masks",
    "mutual_information",
    "predict_proba",
    "prepare_trials",
    "pretrain_encoder",
    "reference_key_map",
    "resample",
    "scale_signals",
    "stft_magnitude",
    "token_profiles",
    "tokenize_signals",
    "train_tokenizer",
]
