"""The stage contract: what every pipeline step declares and how it runs.

A stage is a class with a ``name``, an integer ``version`` (bump it whenever the
numbers it writes would change), a strict pydantic ``Params`` model, named
``inputs`` and named ``outputs``, and a ``run(params, inputs, out_dir)`` method
that writes every declared output into ``out_dir``.

Stage modules must stay cheap to import (no torch / mne / nilearn at module
top-level): the CLI imports all of them to build the registry, and a fully
cached run should take well under two seconds.
"""

from __future__ import annotations

import abc
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "StageParams",
    "Input",
    "Output",
    "Stage",
    "runtime_field",
    "is_key_field",
]


class StageParams(BaseModel):
    """Base class of every stage's parameters.

    Strict validation (no silent type coercion), unknown keys rejected, and
    immutable once validated. Every field must carry a ``description``.
    Fields that do not change the numbers a stage computes (device, number of
    jobs, verbosity) are declared with :func:`runtime_field` and are left out
    of the cache key.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def runtime_field(default: Any, description: str, **kwargs: Any) -> Any:
    """A parameter that does not affect results and is excluded from the cache key.

    Parameters
    ----------
    default : object
        Default value.
    description : str
        Documentation of the option (shown in the configuration reference).
    """
    extra = dict(kwargs.pop("json_schema_extra", None) or {})
    extra["cache_key"] = False
    return Field(default, description=description, json_schema_extra=extra, **kwargs)


def is_key_field(model: type[BaseModel], name: str) -> bool:
    """Whether field ``name`` of ``model`` enters the cache key."""
    extra = model.model_fields[name].json_schema_extra
    return not (isinstance(extra, dict) and extra.get("cache_key") is False)


@dataclass(frozen=True)
class Input:
    """A named input of a stage.

    Parameters
    ----------
    description : str
        What the input is.
    kind : {"artifact", "artifacts", "path"}
        ``"artifact"``: one upstream step (given by its step id in the config);
        ``"artifacts"``: a list of upstream steps; ``"path"``: a file or folder
        on disk, hashed by content.
    stages : tuple of str
        Stage names accepted upstream (empty: any).
    required : bool
        Whether the config must give it.
    """

    description: str
    kind: Literal["artifact", "artifacts", "path"] = "artifact"
    stages: tuple[str, ...] = ()
    required: bool = True


@dataclass(frozen=True)
class Output:
    """A named output of a stage: a file (or folder, ending in ``/``) in ``out_dir``."""

    path: str
    description: str


class Stage(abc.ABC):
    """Base class of all pipeline stages (see module docstring for the contract)."""

    name: ClassVar[str]
    version: ClassVar[int]
    Params: ClassVar[type[StageParams]]
    inputs: ClassVar[Mapping[str, Input]] = {}
    outputs: ClassVar[Mapping[str, Output]] = {}
    #: Libraries whose major.minor version enters the cache key.
    libraries: ClassVar[tuple[str, ...]] = ("numpy",)

    #: ``"module:function"`` (module relative to the stage's package, e.g.
    #: ``"._stage_impl:run_tokenize"``) that the default :meth:`run` calls as
    #: ``function(params, inputs, out_dir)``. It keeps heavy imports out of the
    #: stage module; a stage either sets it or overrides :meth:`run`.
    run_impl: ClassVar[str | None] = None
    #: ``"module:function"`` that the default :meth:`report` calls as
    #: ``function(artifact) -> Section | None`` (None: the stage adds no report section).
    report_impl: ClassVar[str | None] = None

    def run(self, params: StageParams, inputs: Mapping[str, Any], out_dir: Path) -> None:
        """Compute the outputs (default: call :attr:`run_impl`).

        Parameters
        ----------
        params : StageParams
            Validated parameters (an instance of ``self.Params``).
        inputs : mapping
            Input name -> :class:`~neurocodec.pipeline.Artifact` (kind
            ``"artifact"``), list of artifacts (``"artifacts"``) or
            :class:`pathlib.Path` (``"path"``). Optional inputs that the config
            does not give are absent.
        out_dir : pathlib.Path
            Empty folder to write every declared output into.
        """
        if self.run_impl is None:
            raise NotImplementedError(f"Stage {self.name!r} overrides neither run() nor sets run_impl.")
        _resolve(type(self), self.run_impl)(params, inputs, out_dir)

    @classmethod
    def report(cls, artifact: Any) -> Any:
        """The report section of one of this stage's artifacts (default: call :attr:`report_impl`; None: none)."""
        if cls.report_impl is None:
            return None
        return _resolve(cls, cls.report_impl)(artifact)

    @classmethod
    def describe(cls) -> str:
        """First paragraph of the class docstring."""
        doc = (cls.__doc__ or "").strip()
        return doc.split("\n\n")[0].replace("\n", " ") if doc else ""


def _resolve(stage_cls: type, spec: str) -> Any:
    """The function named by ``"module:function"``, a relative module resolved from the stage's package."""
    module, sep, func = spec.partition(":")
    if not sep or not module or not func:
        raise ValueError(f"The implementation of stage {stage_cls.__qualname__} must be 'module:function', got {spec!r}.")
    package = stage_cls.__module__.rpartition(".")[0] if module.startswith(".") else None
    return getattr(importlib.import_module(module, package), func)
