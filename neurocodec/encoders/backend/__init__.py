"""Array backends of the ridge solvers: ``"numpy"``, ``"torch"`` (CPU) and ``"torch_cuda"``.

A backend is a tiny namespace of the operations the solvers need beyond the
``@`` operator, slicing and ``.sum(0)`` (which NumPy arrays and torch tensors
share). Get one with :func:`get_backend`.
"""

from ._backends import NumpyBackend, TorchBackend, get_backend

__all__ = ["NumpyBackend", "TorchBackend", "get_backend"]
