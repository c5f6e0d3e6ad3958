"""Array backends of the ridge solvers: ``"numpy"``, ``"torch"`` (CPU) and ``"torch_cuda"``.

A backend is a tiny namespace of the operations the solvers need beyond the
``@`` operator, slicing and ``.sum(0)`` (which NumPy arrays and torch tensors
share). Get one with :func:`get_backend`. :func:`solve_ridge_cv` is the per-target-alpha k-fold ridge
solver behind :class:`neurocodec.encoders.RidgeCV`, for targets streamed from a lazy or memory-mapped matrix
(as himalaya's ``solve_ridge_cv_svd``).
"""

from .._ridge import solve_ridge_cv
from ._backends import NumpyBackend, TorchBackend, get_backend

__all__ = ["NumpyBackend", "TorchBackend", "get_backend", "solve_ridge_cv"]
