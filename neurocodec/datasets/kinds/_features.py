"""The ``stimulus_features`` kind: one or more (n_stimuli, n_features) feature sets of a stimulus set.

On disk (format version 1)::

    stimulus_features.json   kind, version, extractor, image_names, sets ({name: shape}, in order)
    features.npz             one float32 array (n_stimuli, n_features) per feature set, in order
    channels.npz             optional per-feature metadata (Gabor channel centres, frequencies, ...)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...pipeline import bad_value, check, load_arrays, save_arrays
from ._common import kind_root, read_header, write_header

__all__ = ["StimulusFeatures"]

KIND = "stimulus_features"
VERSION = 1


@dataclass
class StimulusFeatures:
    """Feature sets of a stimulus set (kind ``stimulus_features``).

    Attributes
    ----------
    sets : dict of str to ndarray, shape (n_stimuli, n_features)
        Feature sets in order (e.g. CNN layers shallow to deep); names are identifiers.
    extractor : str
        What computed them (``"gabor"``, ``"efficientnet_lite0"``, ``"open_clip"``, ``"simulation"``, ...).
    image_names : list of str
        One name per stimulus (same order as the rows).
    channels : dict of str to ndarray
        Optional per-feature metadata (Gabor channel ``centers``, ``frequencies``, ``orientations``, ``sigmas``).
    info : dict
    """

    sets: dict[str, np.ndarray]
    extractor: str
    image_names: list[str]
    channels: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check(len(self.sets) > 0, "sets", "at least one feature set", "<none>")
        for name, a in self.sets.items():
            a = np.asarray(a)
            check(
                a.ndim == 2 and a.shape[0] == len(self.image_names),
                f"sets[{name!r}]",
                f"a 2-D array (n_stimuli={len(self.image_names)}, n_features)",
                f"<shape {a.shape}>",
            )

    def get(self, name: str | None = None) -> tuple[str, np.ndarray]:
        """``(name, array)`` of feature set ``name`` (None: the last, deepest one)."""
        key = list(self.sets)[-1] if name is None else name
        if key not in self.sets:
            raise bad_value("feature_set", f"one of {list(self.sets)}", name)
        return key, np.asarray(self.sets[key], dtype=np.float32)

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_arrays(folder / "features.npz", **{k: np.asarray(v, np.float32) for k, v in self.sets.items()})
        save_arrays(folder / "channels.npz", **self.channels)
        write_header(
            folder,
            KIND,
            VERSION,
            extractor=self.extractor,
            image_names=list(self.image_names),
            sets=[[k, list(np.shape(v))] for k, v in self.sets.items()],
            info=self.info,
        )
        return folder

    @classmethod
    def load(cls, source: Any) -> StimulusFeatures:
        """Read a ``stimulus_features`` folder (an Artifact given to a stage, or a path)."""
        folder = kind_root(source)
        meta = read_header(folder, KIND, VERSION)
        arrays = load_arrays(folder / "features.npz")
        sets = {k: arrays[k] for k, _ in meta["sets"]}
        channels = load_arrays(folder / "channels.npz") if (folder / "channels.npz").is_file() else {}
        return cls(
            sets=sets,
            extractor=meta["extractor"],
            image_names=list(meta["image_names"]),
            channels=channels,
            info=meta.get("info", {}),
        )
