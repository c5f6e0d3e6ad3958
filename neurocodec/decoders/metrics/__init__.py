"""Image-reconstruction metrics: PixCorr, SSIM, 2-way identification, correlation distance.

Images are ``(n_images, height, width, 3)`` floats in ``[0, 1]``.

>>> from neurocodec.decoders.metrics import pixcorr, ssim, two_way_identification, get_feature_extractor
>>> feats = get_feature_extractor("effnet_lite0")          # real ImageNet weights, offline
>>> two_way_identification(feats(images_true), feats(images_pred))
"""

from ..._lazy import lazy_exports

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

# Lazy attributes (PEP 562): importing the package (the stage modules do) must not import scikit-learn / torch.
_LAZY = {
    "DEFAULT_FEATURES": "._evaluate",
    "evaluate_reconstructions": "._evaluate",
    "FEATURE_EXTRACTORS": "._extractors",
    "PROTOCOLS": "._extractors",
    "FeatureExtractor": "._extractors",
    "efficientnet_lite0": "._extractors",
    "get_feature_extractor": "._extractors",
    "correlation_distance": "._identification",
    "pairwise_correlation": "._identification",
    "two_way_identification": "._identification",
    "pixcorr": "._pixel",
    "ssim": "._pixel",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
