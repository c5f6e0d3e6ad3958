"""Registry mapping stage names to stage classes.

Science subpackages register their stages with :func:`register_stage` in their
own ``stages`` modules; the engine discovers those modules through the
``neurocodec.stages`` entry-point group (and the ``NEUROCODEC_PLUGINS``
environment variable, a comma-separated list of extra modules) and never
imports them by name.
"""

from __future__ import annotations

import importlib
import logging
import os
from dataclasses import dataclass
from importlib.metadata import entry_points

from ._errors import ConfigError
from ._stage import Stage

__all__ = [
    "register_stage",
    "get_stage",
    "registered_stages",
    "load_plugins",
    "register_kind",
    "registered_kinds",
    "KindInfo",
]

log = logging.getLogger("neurocodec")

_STAGES: dict[str, type[Stage]] = {}
_KINDS: dict[str, KindInfo] = {}
_LOADED = False
#: module -> error text, for stage modules that failed to import
PLUGIN_ERRORS: dict[str, str] = {}


def register_stage(cls: type[Stage]) -> type[Stage]:
    """Class decorator adding a stage to the registry."""
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"The 'name' of stage class {cls.__qualname__} must be a non-empty str, got {name!r}.")
    if cls.run is Stage.run and not getattr(cls, "run_impl", None):
        raise TypeError(f"Stage class {cls.__qualname__} must override run() or set run_impl = 'module:function'.")
    previous = _STAGES.get(name)
    if previous is not None and previous.__qualname__ != cls.__qualname__:
        raise ValueError(f"Stage name {name!r} is already registered by {previous.__module__}.{previous.__qualname__}.")
    _STAGES[name] = cls
    return cls


@dataclass(frozen=True)
class KindInfo:
    """A registered artifact kind: its name, on-disk format version, description and reader class."""

    name: str
    version: int
    description: str
    reader: str


def register_kind(name: str, *, version: int, description: str, reader: str) -> KindInfo:
    """Declare an artifact kind (the engine knows its name only; the owning package reads and writes it).

    Parameters
    ----------
    name : str
        Kind name used by :class:`~neurocodec.pipeline.Input` ``kinds`` and
        :class:`~neurocodec.pipeline.Output` ``kind``.
    version : int
        Version of the on-disk format.
    description : str
        One paragraph documenting the format (shown by ``neurocodec docs``).
    reader : str
        ``"module:Class"`` of the reader/writer class (``Class.load(artifact_or_path)``, ``obj.save(folder)``).
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise TypeError(f"The 'name' of a kind must be an identifier, got {name!r}.")
    info = KindInfo(name, int(version), description, reader)
    previous = _KINDS.get(name)
    if previous is not None and previous.reader != reader:
        raise ValueError(f"Kind {name!r} is already registered by {previous.reader}.")
    _KINDS[name] = info
    return info


def registered_kinds() -> dict[str, KindInfo]:
    """All registered artifact kinds, by name (plugins loaded first)."""
    load_plugins()
    return dict(sorted(_KINDS.items()))


def load_plugins() -> None:
    """Import every stage module announced by entry points or ``NEUROCODEC_PLUGINS``."""
    global _LOADED
    if _LOADED:
        return
    modules = [ep.value for ep in entry_points(group="neurocodec.stages")]
    modules += [m.strip() for m in os.environ.get("NEUROCODEC_PLUGINS", "").split(",") if m.strip()]
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception as err:  # one broken plugin must not disable the others
            PLUGIN_ERRORS[module] = f"{type(err).__name__}: {err}"
            log.warning("Stage module %s failed to import: %s", module, PLUGIN_ERRORS[module])
    _LOADED = True


def registered_stages() -> dict[str, type[Stage]]:
    """All registered stages, by name (plugins loaded first)."""
    load_plugins()
    return dict(sorted(_STAGES.items()))


def get_stage(name: str, *, key: str = "stage") -> type[Stage]:
    """The stage class registered under ``name``.

    Raises
    ------
    ConfigError
        If no stage has that name; the message names the config ``key``.
    """
    stages = registered_stages()
    if name not in stages:
        known = ", ".join(stages) or "(none)"
        broken = "".join(f" Stage module {m} failed to import ({e})." for m, e in PLUGIN_ERRORS.items())
        raise ConfigError(f"The '{key}' must name a registered stage, got {name!r}; known stages: {known}.{broken}")
    return stages[name]
