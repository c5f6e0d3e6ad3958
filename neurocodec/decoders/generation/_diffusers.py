"""Import diffusers safely (torchvision fix first)."""

from __future__ import annotations

__all__ = ["diffusers"]


def diffusers():
    """The ``diffusers`` module, imported after :func:`neurocodec._compat.ensure_torchvision`."""
    from neurocodec._compat import ensure_torchvision

    ensure_torchvision()
    import diffusers as _diffusers

    return _diffusers
