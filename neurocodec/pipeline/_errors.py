"""Exceptions and the one validation-message template used across NeuroCodec."""

from __future__ import annotations

from typing import Any

__all__ = ["NeuroCodecError", "ConfigError", "StageError", "bad_value", "check", "check_array"]


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
    """Build the standard error: ``The 'NAME' [of OF] must be EXPECTED, got GOT.``.

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


def check(
    condition: bool, name: str, expected: str, got: Any, *, of: str | None = None, exc: type = ValueError
) -> None:
    """Raise :func:`bad_value` unless ``condition`` holds."""
    if not condition:
        raise bad_value(name, expected, got, of=of, exc=exc)


def check_array(
    x: Any,
    name: str,
    layout: str,
    *,
    ndim: int | tuple[int, ...],
    of: str | None = None,
    min_rows: int = 1,
    finite: bool = True,
    dtype: Any = None,
) -> Any:
    """``x`` as a numeric array of ``ndim`` dimensions, or one template error naming the expected ``layout``.

    Parameters
    ----------
    x : array-like or torch.Tensor
        A tensor is checked where it lies (no copy to numpy) and returned as a tensor.
    name : str
        Parameter name in the message.
    layout : str
        The expected layout, e.g. ``"(n_samples, n_features)"``.
    ndim : int or tuple of int
        Accepted numbers of dimensions.
    of : str, optional
        Owner shown in the message (e.g. ``"RidgeCV.fit"``).
    min_rows : int
        Minimum length of the first axis.
    finite : bool
        Refuse NaN / inf.
    dtype : numpy dtype, optional
        Cast to it (floats), after the checks.
    """
    import numpy as np

    if type(x).__module__.startswith("torch") and hasattr(x, "is_floating_point"):
        return _check_tensor(x, name, layout, ndim=ndim, of=of, min_rows=min_rows, finite=finite, dtype=dtype)
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise bad_value(name, f"a numeric array {layout}", f"<dtype {arr.dtype}>", of=of, exc=TypeError)
    dims = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if arr.ndim not in dims:
        raise bad_value(name, f"a {' or '.join(map(str, dims))}-D array {layout}", f"<shape {arr.shape}>", of=of)
    if arr.shape[0] < min_rows if arr.ndim else True:
        raise bad_value(name, f"at least {min_rows} row(s) {layout}", f"<shape {arr.shape}>", of=of)
    if finite and arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise bad_value(name, "finite (no NaN or inf)", f"<{int((~np.isfinite(arr)).sum())} non-finite values>", of=of)
    return arr.astype(dtype, copy=False) if dtype is not None else arr


def _check_tensor(x: Any, name: str, layout: str, *, ndim, of, min_rows, finite, dtype) -> Any:
    """:func:`check_array` for a torch tensor (same checks and messages; the tensor is kept)."""
    import numpy as np
    import torch

    if x.is_complex() or x.dtype == torch.bool:
        raise bad_value(name, f"a numeric array {layout}", f"<dtype {x.dtype}>", of=of, exc=TypeError)
    dims = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if x.ndim not in dims:
        raise bad_value(name, f"a {' or '.join(map(str, dims))}-D array {layout}", f"<shape {tuple(x.shape)}>", of=of)
    if x.shape[0] < min_rows if x.ndim else True:
        raise bad_value(name, f"at least {min_rows} row(s) {layout}", f"<shape {tuple(x.shape)}>", of=of)
    if finite and x.is_floating_point():
        with torch.no_grad():
            n_bad = int((~torch.isfinite(x)).sum())
        if n_bad:
            raise bad_value(name, "finite (no NaN or inf)", f"<{n_bad} non-finite values>", of=of)
    return x.to(getattr(torch, np.dtype(dtype).name)) if dtype is not None else x
