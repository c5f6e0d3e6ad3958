"""Lazy public names for packages (PEP 562): importing a package (its stages do) stays cheap, and each public
name loads its private module (scikit-learn, torch, ...) on first use.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` of a package whose public names are loaded on first use.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    exports : dict of str to str
        Public name -> module relative to the package (``"._model"`` or ``"_model"``); a name mapped to its own
        module (``"features": ".features"``) is that submodule.

    Returns
    -------
    __getattr__, __dir__ : callables
        To assign at the package's top level.
    """

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        where = exports[name] if exports[name].startswith(".") else f".{exports[name]}"
        module = importlib.import_module(where, package)
        value = module if where == f".{name}" else getattr(module, name)
        setattr(sys.modules[package], name, value)  # later look-ups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
