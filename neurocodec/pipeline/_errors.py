"""Exceptions and the one validation-message template used across NeuroCodec."""

from __future__ import annotations

from typing import Any

__all__ = ["NeuroCodecError", "ConfigError", "StageError", "bad_value", "check"]


class NeuroCodecError(Exception):
    """Base class of NeuroCodec's own errors."""


class ConfigError(NeuroCodecError, ValueError):
    """A run configuration is malformed (message names the YAML key)."""


class StageError(NeuroCodecError, RuntimeError):
    """A stage failed while running."""


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def bad_value(name: str, expected: str, got: Any, *, of: str | None = None, exc: type = ValueError) -> Exception:
    """Build the standard error: ``The 'NAME' [of OF] must be EXPECTED, got GOT.``

    Parameters
    ----------
    name : str
        Parameter (or config key) at fault.
    expected : str
        What was expected, e.g. ``"> 0"`` or ``"a 4-D image"``.
    got : object
        What came (shown with ``repr``, truncated); a ``str`` starting with
        ``"<"`` is shown verbatim, e.g. ``"<shape (3, 4)>"``.
    of : str, optional
        The object the parameter belongs to, e.g. ``"raw"``.
    exc : type
        Exception class to build (default ``ValueError``).
    """
    where = f" of {of}" if of else ""
    shown = got if isinstance(got, str) and got.startswith("<") else _show(got)
    return exc(f"The '{name}'{where} must be {expected}, got {shown}.")


def check(condition: bool, name: str, expected: str, got: Any, *, of: str | None = None, exc: type = ValueError) -> None:
    """Raise :func:`bad_value` unless ``condition`` holds."""
    if not condition:
        raise bad_value(name, expected, got, of=of, exc=exc)
