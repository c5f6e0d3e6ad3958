"""The ``raw`` kind: one continuous recording as an MNE Raw in FIF, with its annotations.

On disk (format version 1): ``raw.fif`` (the kind's root is that file, or a folder holding it).
Channel names, types, sampling rate, montage and annotations travel inside the FIF file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...pipeline import bad_value
from ._common import kind_root

__all__ = ["RawRecording"]


class RawRecording:
    """Reader/writer of the ``raw`` kind (an :class:`mne.io.Raw` saved as FIF)."""

    KIND = "raw"
    VERSION = 1

    @staticmethod
    def save(raw: Any, path: str | Path) -> Path:
        """Write ``raw`` to ``path`` (a ``.fif`` file, or a folder that gets ``raw.fif``)."""
        path = Path(path)
        if path.suffix != ".fif":
            path.mkdir(parents=True, exist_ok=True)
            path = path / "raw.fif"
        raw.save(path, overwrite=True, verbose="error")
        return path

    @staticmethod
    def load(source: Any, preload: bool = True) -> Any:
        """Read the recording (an Artifact given to a stage, a ``.fif`` file or a folder holding ``raw.fif``)."""
        import mne

        path = kind_root(source)
        if path.is_dir():
            path = path / "raw.fif"
        if not path.is_file():
            raise bad_value("source", "a raw recording (raw.fif)", str(path), exc=FileNotFoundError)
        return mne.io.read_raw_fif(path, preload=preload, verbose="error")
