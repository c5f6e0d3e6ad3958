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
:mod:`neurocodec.encoders.rsa`
    Representational similarity analysis: RDMs, their comparison, noise ceilings.
"""

from .._lazy import lazy_exports

__all__ = ["BandedRidgeCV", "DEFAULT_ALPHAS", "RidgeCV", "features", "incontext", "rsa", "scores"]

# Lazy: importing the package (e.g. to register stages) must not import scikit-learn / torch.
_LAZY = {"BandedRidgeCV": "._estimators", "DEFAULT_ALPHAS": "._estimators", "RidgeCV": "._estimators"}
_LAZY.update({name: f".{name}" for name in ("features", "incontext", "rsa", "scores")})

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
