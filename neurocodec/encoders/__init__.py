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

import importlib

__all__ = ["BandedRidgeCV", "DEFAULT_ALPHAS", "RidgeCV", "features", "incontext", "rsa", "scores"]

_LAZY = {"BandedRidgeCV": "._estimators", "DEFAULT_ALPHAS": "._estimators", "RidgeCV": "._estimators"}


def __getattr__(name):
    # Lazy: importing the package (e.g. to register stages) must not import scikit-learn / torch.
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    if name in ("features", "incontext", "rsa", "scores"):
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
