"""Brain-Diffuser two-stage image reconstruction from fMRI (Ozcelik & VanRullen 2023)."""

from ..._lazy import lazy_exports

__all__ = ["BrainDiffuser", "DEFAULT_DECODER_ALPHAS", "save_grid"]

# Lazy attributes (PEP 562): importing the package (the stage modules do) must not import scikit-learn / torch.
_LAZY = {
    "save_grid": "._grid",
    "DEFAULT_DECODER_ALPHAS": "._model",
    "BrainDiffuser": "._model",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
