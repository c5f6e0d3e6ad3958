"""Registry mapping stage names to stage classes.

Science subpackages register their stages with :func:`register_stage` in their
own ``stages`` modules; the engine discovers those modules through the
``neurocodec.stages`` entry-point group (and the ``NEUROCODEC_PLUGINS``
environment variable, a comma-separated list of extra modules) and never
imports them by name.
"""

from __future__ import annotations

import importlib
import os
from importlib.metadata import entry_points

from ._errors import ConfigError
from ._stage import Stage

__all__ = ["register_stage", "get_stage", "registered_stages", "load_plugins"]

_STAGES: dict[str, type[Stage]] = {}
_LOADED = False


def register_stage(cls: type[Stage]) -> type[Stage]:
    """Class decorator adding a stage to the registry."""
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"The 'name' of stage class {cls.__qualname__} must be a non-empty str, got {name!r}.")
    previous = _STAGES.get(name)
    if previous is not None and previous.__qualname__ != cls.__qualname__:
        raise ValueError(
            f"Stage name {name!r} is already registered by {previous.__module__}.{previous.__qualname__}."
        )
    _STAGES[name] = cls
    return cls


def load_plugins() -> None:
    """Import every stage module announced by entry points or ``NEUROCODEC_PLUGINS``."""
    global _LOADED
    if _LOADED:
        return
    modules = [ep.value for ep in entry_points(group="neurocodec.stages")]
    modules += [m.strip() for m in os.environ.get("NEUROCODEC_PLUGINS", "").split(",") if m.strip()]
    for module in modules:
        importlib.import_module(module)
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
        raise ConfigError(f"The '{key}' names an unknown stage, got {name!r}; known stages: {known}.")
    return stages[name]
