"""All reconstruction metrics at once, as a flat dict."""

from __future__ import annotations

import warnings

import numpy as np

from neurocodec.pipeline import bad_value

from .._errors import MissingModelError
from .._images import as_images, resize_images
from ._extractors import FeatureExtractor
from ._identification import correlation_distance, two_way_identification
from ._pixel import pixcorr, ssim

__all__ = ["evaluate_reconstructions", "DEFAULT_FEATURES"]

#: The field's standard table (Brain-Diffuser Table 1 / MindEye) plus the offline extractors.
DEFAULT_FEATURES = (
    "pixels",
    "gabor",
    "effnet_lite0",
    "alexnet2",
    "alexnet5",
    "inception_v3",
    "clip",
    "effnet_b1",
    "swav",
)


def evaluate_reconstructions(
    images_true,
    images_pred,
    features=DEFAULT_FEATURES,
    protocol: str = "brain-diffuser",
    sizes: dict | None = None,
    weights: dict | None = None,
    on_missing: str = "skip",
    device: str = "cpu",
) -> dict:
    """PixCorr, SSIM and a score per feature extractor.

    Reconstructions are first resized to the size of the true images;
    data-dependent extractors (Gabor) are fitted on the true images.

    Parameters
    ----------
    images_true, images_pred : array-like, shape (n_images, height, width[, 3])
        True images and their reconstructions, in ``[0, 1]``.
    features : sequence of str or FeatureExtractor
        Extractor names (see :data:`FEATURE_EXTRACTORS`) or instances. Each
        gives ``two_way_<name>`` (2-way identification) or, for EffNet-B and
        SwAV, ``distance_<name>`` (mean correlation distance).
    protocol : {"brain-diffuser", "mindeye"}
        Input-size convention of the network extractors.
    sizes : dict, optional
        Per-extractor input size overrides, e.g. ``{"effnet_lite0": 96}``.
    weights : dict, optional
        Per-extractor local weight files.
    on_missing : {"skip", "raise"}
        When an extractor's weights are unavailable: warn and leave its key
        out (``"skip"``), or raise :class:`MissingModelError`.
    device : str
        Torch device of the network extractors.

    Returns
    -------
    scores : dict of str to float
        ``pixcorr``, ``ssim``, then ``two_way_*`` / ``distance_*`` entries.
    """
    if on_missing not in ("skip", "raise"):
        raise bad_value("on_missing", "'skip' or 'raise'", on_missing)
    true = as_images(images_true, "images_true")
    pred = resize_images(as_images(images_pred, "images_pred"), true.shape[1:3])
    scores = {"pixcorr": pixcorr(true, pred), "ssim": ssim(true, pred)}
    sizes, weights = dict(sizes or {}), dict(weights or {})
    for item in features:
        if isinstance(item, FeatureExtractor):
            extractor = item
        else:
            extractor = FeatureExtractor(
                item, protocol=protocol, size=sizes.get(item), weights=weights.get(item), device=device
            )
        try:
            extractor.fit(true)
            both = extractor(np.concatenate([true, pred]))
        except MissingModelError as exc:
            if on_missing == "raise":
                raise
            warnings.warn(f"Skipping the {extractor.name!r} metric: {exc}", stacklevel=2)
            continue
        ft, fp = both[: len(true)], both[len(true) :]
        if extractor.metric == "distance":
            scores[f"distance_{extractor.name}"] = correlation_distance(ft, fp)
        else:
            scores[f"two_way_{extractor.name}"] = two_way_identification(ft, fp)
    return scores
