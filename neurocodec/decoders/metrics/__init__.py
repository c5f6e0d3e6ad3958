"""Image-reconstruction metrics: PixCorr, SSIM, 2-way identification, correlation distance.

Images are ``(n_images, height, width, 3)`` floats in ``[0, 1]``.

>>> from neurocodec.decoders.metrics import pixcorr, ssim, two_way_identification, get_feature_extractor
>>> feats = get_feature_extractor("effnet_lite0")          # real ImageNet weights, offline
>>> two_way_identification(feats(images_true), feats(images_pred))
"""

from ._evaluate import DEFAULT_FEATURES, evaluate_reconstructions
from ._extractors import FEATURE_EXTRACTORS, PROTOCOLS, FeatureExtractor, efficientnet_lite0, get_feature_extractor
from ._identification import correlation_distance, pairwise_correlation, two_way_identification
from ._pixel import pixcorr, ssim

__all__ = [
    "DEFAULT_FEATURES",
    "FEATURE_EXTRACTORS",
    "PROTOCOLS",
    "FeatureExtractor",
    "correlation_distance",
    "efficientnet_lite0",
    "evaluate_reconstructions",
    "get_feature_extractor",
    "pairwise_correlation",
    "pixcorr",
    "ssim",
    "two_way_identification",
]
