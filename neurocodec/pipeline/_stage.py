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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "StageParams",
    "Input",
    "Output",
    "Stage",
    "Upstream",
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

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


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
    if name not in model.model_fields:
        raise ValueError(
            f"The 'name' must be a field of {model.__name__} ({', '.join(model.model_fields)}), got {name!r}."
        )
    extra = model.model_fields[name].json_schema_extra
    return not (isinstance(extra, dict) and extra.get("cache_key") is False)


@dataclass(frozen=True)
class Input:
    """A named input of a stage.

    Parameters
    ----------
    description : str
        What the input is.
    kinds : tuple of str
        Artifact kinds accepted upstream (see :func:`~neurocodec.pipeline.register_kind`); the planner
        refuses a step whose upstream produces none of them. Required for artifact inputs.
    source : {"artifact", "artifacts", "path"}
        ``"artifact"``: one upstream step (given by its step id in the config);
        ``"artifacts"``: a list of upstream steps; ``"path"``: a file or folder on disk, hashed by content.
    required : bool
        Whether the config must give it.
    suffixes : tuple of str
        For path inputs: accepted file suffixes (lower case, e.g. ``(".fif", ".npz")``), checked at plan
        time; a folder is accepted when ``"/"`` is listed. Empty: anything.
    """

    description: str
    kinds: tuple[str, ...] = ()
    source: Literal["artifact", "artifacts", "path"] = "artifact"
    required: bool = True
    suffixes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.kinds, str):
            object.__setattr__(self, "kinds", (self.kinds,))
        if self.source != "path" and not self.kinds:
            raise TypeError(f"The 'kinds' of an artifact input must name at least one kind, got {self.kinds!r}.")


@dataclass(frozen=True)
class Output:
    """A named output of a stage: a file (or folder, ending in ``/``) in ``out_dir``.

    Parameters
    ----------
    path : str
        File or folder (ending in ``/``) relative to the artifact folder.
    description : str
        What it holds.
    kind : str, optional
        The artifact kind this output holds (its root for the kind's reader class).
    requires : tuple of str
        Inputs that must be wired for this output's kind to be written (e.g. ``load_fmri`` writes
        ``roi_timeseries`` only with its ``atlas``); the planner refuses a consumer of the kind otherwise.
    """

    path: str
    description: str
    kind: str | None = None
    requires: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.requires, str):
            object.__setattr__(self, "requires", (self.requires,))


@dataclass(frozen=True)
class Upstream:
    """What the planner knows about one input of a step before anything runs.

    Parameters
    ----------
    step : str, optional
        Upstream step id (artifact inputs).
    stage : str, optional
        Its stage name.
    params : StageParams, optional
        Its validated parameters.
    facts : mapping
        What its stage declares about the artifact it writes (:meth:`Stage.output_facts`),
        e.g. ``{"sfreq": 128.0}``; empty when nothing is known before running.
    artifact : Artifact, optional
        Its cached artifact (as the input's kind), when the cache holds it.
    path : pathlib.Path, optional
        The file or folder of a path input.
    """

    step: str | None = None
    stage: str | None = None
    params: Any = None
    facts: Mapping[str, Any] = field(default_factory=dict)
    artifact: Any = None
    path: Path | None = None


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

    @classmethod
    def produced_kinds(cls, params: StageParams | None = None) -> tuple[str, ...]:
        """The artifact kinds this stage's artifact holds (default: the kinds of its declared outputs).

        Stages whose produced kinds depend on their parameters override it; ``params`` is None when
        the planner asks for every kind the stage can produce (``neurocodec ls stages``).
        """
        return tuple(dict.fromkeys(o.kind for o in cls.outputs.values() if o.kind))

    @classmethod
    def wired_kinds(cls, params: StageParams, wired: Any) -> tuple[str, ...]:
        """The kinds a step of this stage writes, given its params and the names of its wired inputs.

        :meth:`produced_kinds` less the kinds whose output ``requires`` an input not in ``wired``.
        """
        given = set(wired)
        return tuple(k for k in cls.produced_kinds(params) if set(cls.kind_output(k).requires) <= given)

    @classmethod
    def output_facts(cls, params: StageParams, upstream: Mapping[str, Any], artifact: Any = None) -> dict[str, Any]:
        """Facts about this step's artifact known at plan time (default: none), for downstream checks.

        Parameters
        ----------
        params : StageParams
            Validated parameters.
        upstream : mapping
            Input name -> :class:`Upstream` (a list of them for ``"artifacts"`` inputs).
        artifact : Artifact, optional
            This step's own cached artifact, when the cache holds it (facts may be read from it).

        Returns
        -------
        dict
            E.g. ``{"sfreq": 128.0, "duration": 60.0}``; the keys are the stages' own convention.
        """
        return {}

    @classmethod
    def check_upstream(cls, params: StageParams, upstream: Mapping[str, Any]) -> None:
        """Plan-time check of constraints that depend on the inputs (default: none).

        Called by the planner (``neurocodec status`` / ``run``) before anything runs, with what is
        known upstream (:class:`Upstream` facts, cached artifacts, paths). Raise the template error
        (:func:`~neurocodec.pipeline.bad_value`) naming the parameter, or ``"inputs.<name>"``; the
        planner prefixes the step's YAML key (``stages.<step>.params.``). Check only what is known:
        a fact that is absent is not an error.
        """
        return None

    @classmethod
    def kind_output(cls, kind: str) -> Output:
        """The declared output that holds ``kind``."""
        for out in cls.outputs.values():
            if out.kind == kind:
                return out
        raise KeyError(f"The 'kind' must be one of stage {cls.name!r}'s kinds {cls.produced_kinds()}, got {kind!r}.")

    def run(self, params: StageParams, inputs: Mapping[str, Any], out_dir: Path) -> None:
        """Compute the outputs (default: call :attr:`run_impl`).

        Parameters
        ----------
        params : StageParams
            Validated parameters (an instance of ``self.Params``).
        inputs : mapping
            Input name -> :class:`~neurocodec.pipeline.Artifact` (source
            ``"artifact"``), list of artifacts (``"artifacts"``) or
            :class:`pathlib.Path` (``"path"``). Each artifact carries the matched
            ``kind`` and its ``kind_path``. Optional inputs that the config does not
            give are absent.
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
        raise ValueError(
            f"The implementation of stage {stage_cls.__qualname__} must be 'module:function', got {spec!r}."
        )
    package = stage_cls.__module__.rpartition(".")[0] if module.startswith(".") else None
    return getattr(importlib.import_module(module, package), func)
