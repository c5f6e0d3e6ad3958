"""Encoders (stimulus -> brain): ridge solvers, stimulus features, in-context encoders.

Public API
----------
:class:`RidgeCV`, :class:`BandedRidgeCV`
    scikit-learn estimators (one alpha per target; ``coef_`` is
    ``(n_features, n_targets)``), NumPy / torch / CUDA backends; k-fold,
    leave-one-out and fused GCV; banded ridge by random search or hyper-gradient.
:mod:`neurocodec.encoders.scores`
    Voxelwise Pearson r, R², explained variance, noise ceilings, permutation tests.
:mod:`neurocodec.encoders.features`
    Stimulus features: Gabor pyramid, EfficientNet-Lite0, open_clip, torch hooks.
"""

from . import scores
from ._estimators import DEFAULT_ALPHAS, BandedRidgeCV, RidgeCV

# in-context encoder re-exports (neurocodec.encoders.incontext) go below this line

__all__ = ["BandedRidgeCV", "DEFAULT_ALPHAS", "RidgeCV", "scores"]
