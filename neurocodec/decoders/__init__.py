"""Decoders (brain -> stimulus): image reconstruction and its metrics."""

from ._errors import MissingModelError

__all__ = ["MissingModelError"]
