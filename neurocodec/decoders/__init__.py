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
:mod:`neurocodec.decoders.brain_diffuser`
    ``BrainDiffuser``: the two-stage decoder; stages ``fit_decoder``,
    ``reconstruct``, ``evaluate_reconstruction``.

Importing this package is cheap (numpy only); torch and diffusers load on use.
"""

from . import brain_diffuser, braindive, generation, metrics
from ._errors import MissingModelError
from ._images import to_uint8

__all__ = ["MissingModelError", "braindive", "brain_diffuser", "generation", "metrics", "to_uint8"]
