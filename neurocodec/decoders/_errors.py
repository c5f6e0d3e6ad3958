"""Errors of :mod:`neurocodec.decoders`."""

from __future__ import annotations

import os

from neurocodec.pipeline import NeuroCodecError

__all__ = ["MissingModelError", "offline"]


class MissingModelError(NeuroCodecError, FileNotFoundError):
    """Pretrained weights a decoder or metric needs are not available (offline, not cached)."""


def offline() -> bool:
    """Whether the process was asked not to touch the network (``HF_HUB_OFFLINE`` / ``NEUROCODEC_OFFLINE``)."""
    return any(
        os.environ.get(k, "").strip().lower() in ("1", "true", "yes", "on")
        for k in ("HF_HUB_OFFLINE", "NEUROCODEC_OFFLINE")
    )
