"""Image-reconstruction metrics: PixCorr, SSIM, 2-way identification, correlation distance.

Images are ``(n_images, height, width, 3)`` floats in ``[0, 1]``.

>>> from neurocodec.decoders.metrics import pixcorr, ssim, two_way_identification, get_feature_extractor
>>> feats = get_feature_extractor("effnet_lite0")          # real ImageNet weights, offline
>>> two_way_identification(feats(images_true), feats(images_pred))
"""

import importlib

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


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
