"""Environment fixes applied before importing torchvision-dependent libraries.

On CPU-only machines the PyPI torchvision wheel may be a CUDA build whose
compiled ops do not load against CPU torch; ``import torchvision`` then fails
with ``operator torchvision::nms does not exist``. transformers, open_clip,
timm and diffusers' CLIP pipelines import torchvision, so call
:func:`ensure_torchvision` before importing any of them. On a machine with a
matching torchvision it does nothing.
"""

from __future__ import annotations

import importlib.util
from contextlib import contextmanager
from pathlib import Path

__all__ = ["ensure_torchvision", "import_torchvision", "torch_threads"]

_LIBRARY = None  # keeps the fallback schema definitions alive for the process


def ensure_torchvision() -> None:
    """Make ``import torchvision`` work on CPU torch (idempotent)."""
    global _LIBRARY
    if _LIBRARY is not None:
        return
    spec = importlib.util.find_spec("torchvision")
    if spec is None or spec.origin is None:
        _LIBRARY = False
        return
    import torch

    try:
        torch.ops.torchvision.nms  # noqa: B018 - already registered
        _LIBRARY = True
        return
    except (AttributeError, RuntimeError):
        pass
    so_files = sorted(Path(spec.origin).parent.glob("_C*.so"))
    for so in so_files:
        try:
            torch.ops.load_library(str(so))
            _LIBRARY = True
            return
        except (OSError, RuntimeError):
            continue
    lib = torch.library.Library("torchvision", "DEF")
    lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    lib.define("qnms(Tensor qdets, Tensor scores, float iou_threshold) -> Tensor")
    _LIBRARY = lib


def import_torchvision():
    """``import torchvision`` after :func:`ensure_torchvision`."""
    ensure_torchvision()
    import torchvision

    return torchvision


@contextmanager
def torch_threads(n: int):
    """Run with ``n`` torch CPU threads (0: unchanged), restoring the previous count after.

    Stages that train or run networks expose this as their ``n_threads`` runtime
    option: on shared cores, one thread per process avoids oversubscription.
    """
    import torch

    before = torch.get_num_threads()
    if n > 0:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
