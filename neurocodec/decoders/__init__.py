"""Decoders (brain -> stimulus): image reconstruction and its metrics.

Public API
----------
:mod:`neurocodec.decoders.metrics`
    ``pixcorr``, ``ssim``, ``two_way_identification``, ``correlation_distance``,
    ``get_feature_extractor(name, protocol)`` (pixels, gabor, effnet_lite0,
    alexnet2/5, inception_v3, clip, effnet_b1, swav), ``evaluate_reconstructions``.
:mod:`neurocodec.decoders.generation`
    Generators with one API (``embed_images``, ``generate(embeddings,
    init_images=..., strength=...)``, ``autoencoder``):
    ``EmbeddedLatentDiffusion`` (offline, trained on the stimuli) and
    ``DiffusersGenerator`` (Stable unCLIP img2img, IP-Adapter img2img,
    Versatile Diffusion dual guided).
:class:`CategoryDecoder`, :func:`cross_validate_categories`, :func:`decoding_samples`
    Category decoding of response patterns (nested leave-one-run-out linear SVM, shrinkage LDA); stage
    ``decode_categories``. scikit-learn loads on first use.
:mod:`neurocodec.decoders.brain_diffuser`
    ``BrainDiffuser``: the two-stage decoder; stages ``fit_decoder``,
    ``reconstruct``, ``evaluate_reconstruction``.

Importing this package is cheap (numpy only); torch and diffusers load on use.
"""

from .._lazy import lazy_exports
from . import brain_diffuser, braindive, generation, metrics
from ._errors import MissingModelError
from ._images import to_uint8

__all__ = [
    "CategoryCVResult",
    "CategoryDecoder",
    "MissingModelError",
    "braindive",
    "brain_diffuser",
    "cross_validate_categories",
    "decoding_samples",
    "generation",
    "metrics",
    "to_uint8",
]

# scikit-learn on first use, so that importing the stages stays cheap
_LAZY = {
    name: "._category"
    for name in ("CategoryCVResult", "CategoryDecoder", "cross_validate_categories", "decoding_samples")
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
