"""Brain-Diffuser two-stage image reconstruction from fMRI (Ozcelik & VanRullen 2023)."""

from ._model import DEFAULT_DECODER_ALPHAS, BrainDiffuser, make_ridge

__all__ = ["BrainDiffuser", "DEFAULT_DECODER_ALPHAS", "make_ridge"]
