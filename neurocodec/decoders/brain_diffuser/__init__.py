"""Brain-Diffuser two-stage image reconstruction from fMRI (Ozcelik & VanRullen 2023)."""

import importlib

__all__ = ["BrainDiffuser", "DEFAULT_DECODER_ALPHAS", "make_ridge", "save_grid"]

# Lazy attributes (PEP 562): importing the package (the stage modules do) must not import scikit-learn / torch.
_LAZY = {
    "save_grid": "._grid",
    "DEFAULT_DECODER_ALPHAS": "._model",
    "BrainDiffuser": "._model",
    "make_ridge": "._model",
}


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
