"""BrainDiVE (Luo, Henderson, Wehbe & Tarr 2023): images a brain region prefers, from a fitted encoder and a generator.

Public API
----------
:class:`DifferentiableEncoder`, :func:`differentiable_features`
    A fitted voxelwise ridge (``coef_``, ``intercept_``; not refitted) over torch
    re-implementations of the feature extractors (Gabor pyramid,
    EfficientNet-Lite0 layers, open_clip images): images -> predicted responses,
    differentiable.
:class:`VoxelTarget`, :func:`select_voxels`
    A voxel set of the voxel table (ROI label, kind, category preference, pRF
    position, mask or list), maximised or minimised, or a contrast of two sets.
:class:`BrainGuidedSampler`
    Brain-guided DDIM sampling of :class:`~neurocodec.decoders.generation.EmbeddedLatentDiffusion`
    or a diffusers Stable Diffusion pipeline.
:func:`roi_pattern`, :func:`decode_roi_pattern`
    ROI-optimal reconstruction through a fitted Brain-Diffuser decoder.

Stages ``synthesize_preferred`` and ``decode_roi_pattern`` live in :mod:`.stages`.
Importing this package is cheap (numpy only); torch loads on use.
"""

from ._encoder import DifferentiableEncoder, differentiable_features
from ._roi import decode_roi_pattern, roi_pattern
from ._sampling import BrainGuidedSampler
from ._targets import VoxelTarget, select_voxels

__all__ = [
    "BrainGuidedSampler",
    "DifferentiableEncoder",
    "VoxelTarget",
    "decode_roi_pattern",
    "differentiable_features",
    "roi_pattern",
    "select_voxels",
]
