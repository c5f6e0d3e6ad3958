"""NumPy and torch implementations of the few array operations the solvers use."""

from __future__ import annotations

import numpy as np

from ...pipeline import bad_value

__all__ = ["NumpyBackend", "TorchBackend", "get_backend"]

BACKENDS = ("numpy", "torch", "torch_cuda")


class NumpyBackend:
    """Plain NumPy (BLAS through NumPy's LAPACK/OpenBLAS)."""

    name = "numpy"
    device = "cpu"

    def asarray(self, x, dtype="float32"):
        """Array of ``dtype`` (``"float32"`` or ``"float64"``) on this backend."""
        if not isinstance(x, np.ndarray):
            x = np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x)
        return x.astype(dtype, copy=False)

    def to_numpy(self, x):
        """Host NumPy array."""
        return np.asarray(x)

    def eigh(self, a):
        """Eigenvalues (ascending) and eigenvectors of a symmetric matrix."""
        return np.linalg.eigh(a)

    def zeros(self, shape, dtype="float32"):
        return np.zeros(shape, dtype=dtype)

    def arange(self, n):
        return np.arange(n)

    def index(self, idx):
        """Integer index array usable on this backend."""
        return np.asarray(idx)

    def clip_min(self, x, low):
        return np.maximum(x, low)

    def outer(self, a, b):
        return np.outer(a, b)

    def gather_rows(self, x, idx):
        """``x[idx[j], j]`` for every column ``j``."""
        return np.take_along_axis(x, idx[None, :], axis=0)[0]

    def is_finite(self, x):
        return bool(np.isfinite(x).all())


class TorchBackend:
    """torch on CPU or CUDA (float32 matrix products at BLAS/cuBLAS speed)."""

    def __init__(self, device="cpu"):
        import torch

        self.torch = torch
        self.device = torch.device(device)
        self.name = "torch_cuda" if self.device.type == "cuda" else "torch"

    def _dtype(self, dtype):
        return {"float32": self.torch.float32, "float64": self.torch.float64}[str(dtype)]

    def asarray(self, x, dtype="float32"):
        torch = self.torch
        if isinstance(x, torch.Tensor):
            return x.to(device=self.device, dtype=self._dtype(dtype))
        x = np.asarray(x)
        if not x.flags.c_contiguous and not x.flags.f_contiguous:
            x = np.ascontiguousarray(x)
        return torch.from_numpy(x).to(device=self.device, dtype=self._dtype(dtype))

    def to_numpy(self, x):
        return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)

    def eigh(self, a):
        return self.torch.linalg.eigh(a)

    def zeros(self, shape, dtype="float32"):
        return self.torch.zeros(shape, dtype=self._dtype(dtype), device=self.device)

    def arange(self, n):
        return self.torch.arange(n, device=self.device)

    def index(self, idx):
        return self.torch.as_tensor(np.asarray(idx), device=self.device)

    def clip_min(self, x, low):
        return self.torch.clamp(x, min=low)

    def outer(self, a, b):
        return self.torch.outer(a, b)

    def gather_rows(self, x, idx):
        return self.torch.gather(x, 0, idx[None, :])[0]

    def is_finite(self, x):
        return bool(self.torch.isfinite(x).all())


def get_backend(name="numpy"):
    """Backend by name.

    Parameters
    ----------
    name : {"numpy", "torch", "torch_cuda"}
        ``"torch_cuda"`` needs a visible CUDA device.

    Returns
    -------
    backend : NumpyBackend or TorchBackend
    """
    if isinstance(name, (NumpyBackend, TorchBackend)):
        return name
    if name == "numpy":
        return NumpyBackend()
    if name == "torch":
        return TorchBackend("cpu")
    if name == "torch_cuda":
        import torch

        if not torch.cuda.is_available():
            raise bad_value("backend", "a backend whose device exists ('numpy' or 'torch': no CUDA device here)", name)
        return TorchBackend("cuda")
    raise bad_value("backend", f"one of {list(BACKENDS)}", name)
