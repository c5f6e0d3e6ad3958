"""Artifact kinds of the data: one reader/writer class per kind (see ``docs/configuration.md``)."""

from ._epochs import EpochsData

__all__ = ["EpochsData"]
