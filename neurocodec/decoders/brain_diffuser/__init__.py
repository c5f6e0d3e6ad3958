"""Brain-Diffuser two-stage image reconstruction from fMRI (Ozcelik & VanRullen 2023)."""

from ._grid import save_grid
from ._model import DEFAULT_DECODER_ALPHAS, BrainDiffuser, make_ridge

__all__ = ["BrainDiffuser", "DEFAULT_DECODER_ALPHAS", "make_ridge", "save_grid"]
