"""Run configuration (YAML) parsing, validation and planning.

A run config looks like::

    name: demo
    cache: .neurocodec/cache        # optional, relative to the working folder
    stages:
      sim:                          # step id
        stage: simulate_visual_fmri # registered stage name
        params: {n_subjects: 3}
      feats:
        stage: gabor_features
        inputs: {stimuli: sim}      # input name -> step id (or list, or a path)

Every error names the YAML key at fault, e.g.
``The 'stages.feats.params.n_orientations' must be a valid integer, got 'x'.``
"""

from __future__ import annotations

import graphlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ._errors import ConfigError
from ._registry import get_stage
from ._stage import Stage, StageParams, is_key_field
from ._store import FileHasher, hash_key, library_versions

__all__ = ["RunConfig", "StepConfig", "PlannedStep", "Plan", "load_config", "plan_run", "read_yaml"]


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads ``1e-3`` (no dot) as a float, as YAML 1.2 does."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file (safe loader; ``1e-3`` is a float)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"The 'config' must be an existing YAML file, got {str(path)!r}.")
    try:
        return yaml.load(path.read_text(), Loader=_Loader)
    except yaml.YAMLError as err:
        raise ConfigError(f"The 'config' must be valid YAML, got a parse error in {str(path)!r}: {err}") from None


InputRef = str | list[str]


class StepConfig(BaseModel):
    """One step of a run."""

    model_config = ConfigDict(extra="forbid", strict=True)

    stage: str = Field(description="Registered stage name to run.")
    params: dict[str, Any] = Field(default_factory=dict, description="The stage's parameters.")
    inputs: dict[str, InputRef] = Field(
        default_factory=dict,
        description="Input name -> upstream step id, list of step ids, or a file/folder path.",
    )
    description: str = Field("", description="Free text shown in status and reports.")


class RunConfig(BaseModel):
    """A whole run: named steps forming a DAG."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field("run", description="Name of the run (used for run records and reports).")
    description: str = Field("", description="Free text.")
    cache: str | None = Field(None, description="Cache folder; overridden by --cache and NEUROCODEC_CACHE.")
    report: bool = Field(True, description="Write report.html at the end of `run`.")
    stages: dict[str, StepConfig] = Field(description="Step id -> step definition.")


def _loc(prefix: str, loc: tuple[Any, ...]) -> str:
    parts = [prefix] if prefix else []
    parts += [str(p) for p in loc if not (isinstance(p, str) and p in {"str", "list[str]"})]
    return ".".join(parts)


def _first_error(err: ValidationError, prefix: str, data: Any) -> ConfigError:
    e = err.errors()[0]
    key = _loc(prefix, e["loc"])
    if e["type"] == "extra_forbidden":
        return ConfigError(f"The '{key}' is not a known option (check its spelling), got {e['input']!r}.")
    if e["type"] == "missing":
        return ConfigError(f"The '{key}' must be given, got nothing.")
    if e["type"] == "value_error" and "error" in e.get("ctx", {}):  # a Params validator: its text is what is expected
        return ConfigError(f"The '{key}' must be {e['ctx']['error']}, got {e.get('input')!r}.")
    msg = e["msg"]
    msg = msg[0].lower() + msg[1:] if msg else msg
    return ConfigError(f"The '{key}' must be valid: {msg}, got {e.get('input')!r}.")


def validate_params(stage: type[Stage], params: dict[str, Any], key: str) -> StageParams:
    """Validate ``params`` against ``stage.Params``; errors name ``key.<field>``."""
    try:
        return stage.Params.model_validate(params)
    except ValidationError as err:
        raise _first_error(err, key, params) from None


def key_params(params: StageParams) -> dict[str, Any]:
    """The parameters that enter the cache key (runtime fields excluded)."""
    dumped = params.model_dump(mode="json")
    return {k: v for k, v in dumped.items() if is_key_field(type(params), k)}


@dataclass
class PlannedStep:
    """A validated step with its cache key."""

    step_id: str
    stage: str
    params: dict[str, Any]
    #: input name -> ("artifact", step_id) | ("artifacts", [step_ids]) | ("path", abs path)
    inputs: dict[str, tuple[str, Any]]
    key: str = ""
    key_doc: dict[str, Any] = field(default_factory=dict)
    upstream: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    #: input name -> {upstream step id -> the artifact kind this input reads from it}
    kinds: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class Plan:
    """Steps in topological order."""

    config: RunConfig
    steps: dict[str, PlannedStep]
    order: list[str]
    base_dir: Path

    def ancestors(self, step_id: str) -> set[str]:
        seen, todo = set(), [step_id]
        while todo:
            s = todo.pop()
            for u in self.steps[s].upstream:
                if u not in seen:
                    seen.add(u)
                    todo.append(u)
        return seen

    def descendants(self, step_id: str) -> set[str]:
        out = set()
        for s in self.order:
            if step_id in self.steps[s].upstream or out.intersection(self.steps[s].upstream):
                out.add(s)
        return out


def load_config(source: str | Path | dict[str, Any]) -> tuple[RunConfig, Path]:
    """Parse and validate the top level of a run config."""
    if isinstance(source, dict):
        data, base = source, Path.cwd()
    else:
        data, base = read_yaml(source), Path(source).absolute().parent
    if not isinstance(data, dict):
        raise ConfigError(f"The 'config' must be a mapping with a 'stages' key, got {type(data).__name__}.")
    try:
        return RunConfig.model_validate(data), base
    except ValidationError as err:
        raise _first_error(err, "", data) from None


def _check_suffix(key: str, decl: Any, path: Path) -> None:
    """A path input's file type against the suffixes its stage reads (checked before anything runs)."""
    if not decl.suffixes or (path.is_dir() and "/" in decl.suffixes):
        return
    if not path.exists() and "/" in decl.suffixes and not path.suffix:
        return  # a folder that does not exist (yet): the existence check reports it
    name = path.name.lower()
    if path.is_dir() or not any(name.endswith(sfx) for sfx in decl.suffixes if sfx != "/"):
        kinds = ["a folder" if s == "/" else s for s in decl.suffixes]
        wanted = kinds[0] if len(kinds) == 1 else "one of " + ", ".join(kinds)
        got = f"the folder {str(path)!r}" if path.is_dir() else repr(str(path))
        raise ConfigError(f"The '{key}' must be {wanted}, got {got}.")


def _check_kinds(steps: dict[str, PlannedStep]) -> None:
    """Every artifact input against the kinds its upstream step produces (before anything runs)."""
    from ._registry import registered_kinds

    known = registered_kinds()
    produced: dict[str, tuple[str, ...]] = {}
    for sid, step in steps.items():
        stage = get_stage(step.stage)
        produced[sid] = stage.wired_kinds(stage.Params.model_validate(step.params), step.inputs)
    for sid, step in steps.items():
        stage = get_stage(step.stage)
        for name, (source, ref) in step.inputs.items():
            if source == "path":
                continue
            decl = stage.inputs[name]
            for kind in decl.kinds:
                if kind not in known:
                    raise ConfigError(
                        f"The input {name!r} of stage {stage.name!r} accepts kind {kind!r}, which no "
                        f"package registers (known kinds: {', '.join(sorted(known))})."
                    )
            for r in [ref] if source == "artifact" else ref:
                match = [k for k in produced[r] if k in decl.kinds]
                if not match:
                    gives = ", ".join(produced[r]) or "no artifact kind"
                    up = get_stage(steps[r].stage)
                    needs = [
                        f"; it writes {k} only with its input(s) {', '.join(map(repr, up.kind_output(k).requires))}"
                        for k in up.produced_kinds(up.Params.model_validate(steps[r].params))
                        if k in decl.kinds
                    ]
                    gives += needs[0] if needs else ""
                    raise ConfigError(
                        f"The 'stages.{sid}.inputs.{name}' must be a step producing kind {' or '.join(decl.kinds)}, "
                        f"got {r!r} (stage {steps[r].stage!r} produces {gives})."
                    )
                step.kinds.setdefault(name, {})[r] = match[0]


def plan_run(source: str | Path | dict[str, Any], cache_root: Path | None = None, *, check_paths: bool = True) -> Plan:
    """Validate a run config completely and compute every step's cache key.

    Parameters
    ----------
    source : path or dict
        YAML file or already-parsed mapping.
    cache_root : pathlib.Path, optional
        Store root (for the file-hash memo).
    check_paths : bool
        If True, a missing path input raises; if False it is recorded in
        ``PlannedStep.missing`` (for ``status`` / dry runs).
    """
    config, base = load_config(source)
    if not config.stages:
        raise ConfigError("The 'stages' must hold at least one step, got an empty mapping.")
    steps: dict[str, PlannedStep] = {}
    for sid, spec in config.stages.items():
        if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.\-\[\]=]*", sid):
            raise ConfigError(f"The 'stages' keys must be step ids of letters, digits, '_', '-', '.', got {sid!r}.")
        stage = get_stage(spec.stage, key=f"stages.{sid}.stage")
        params = validate_params(stage, spec.params, f"stages.{sid}.params")
        inputs: dict[str, tuple[str, Any]] = {}
        upstream: list[str] = []
        for name, ref in spec.inputs.items():
            key = f"stages.{sid}.inputs.{name}"
            if name not in stage.inputs:
                raise ConfigError(
                    f"The '{key}' is not an input of stage {stage.name!r} (inputs: {sorted(stage.inputs)}), got "
                    f"{ref!r}."
                )
            decl = stage.inputs[name]
            if decl.source == "path":
                if not isinstance(ref, str) or ref in config.stages:
                    what = f"a step id ({ref!r} names a step)" if isinstance(ref, str) else repr(ref)
                    raise ConfigError(f"The '{key}' must be a file or folder path, got {what}.")
                p = Path(ref).expanduser()
                p = p if p.is_absolute() else (base / p)
                _check_suffix(key, decl, p)
                inputs[name] = ("path", p)
                continue
            refs = [ref] if isinstance(ref, str) else list(ref)
            if decl.source == "artifact" and not isinstance(ref, str):
                raise ConfigError(f"The '{key}' must be one step id, got {ref!r}.")
            for r in refs:
                if r not in config.stages:
                    raise ConfigError(f"The '{key}' must name a step of this config, got {r!r} (missing input).")
                if r == sid:
                    raise ConfigError(f"The '{key}' must not name its own step, got {r!r} (cycle).")
            upstream += [r for r in refs if r not in upstream]
            inputs[name] = ("artifact", refs[0]) if decl.source == "artifact" else ("artifacts", refs)
        for name, decl in stage.inputs.items():
            if decl.required and name not in inputs:
                raise ConfigError(f"The 'stages.{sid}.inputs.{name}' must be given ({decl.description}), got nothing.")
        steps[sid] = PlannedStep(sid, stage.name, params.model_dump(mode="json"), inputs, upstream=upstream)

    sorter = graphlib.TopologicalSorter({sid: s.upstream for sid, s in steps.items()})
    try:
        order = list(sorter.static_order())
    except graphlib.CycleError as err:
        cycle = " -> ".join(err.args[1])
        raise ConfigError(f"The 'stages' must form a DAG, got a cycle: {cycle}.") from None
    _check_kinds(steps)

    hasher = FileHasher(cache_root)
    for sid in order:
        step = steps[sid]
        stage = get_stage(step.stage)
        params = stage.Params.model_validate(step.params)
        doc_inputs: dict[str, Any] = {}
        for name, (kind, ref) in sorted(step.inputs.items()):
            if kind == "artifact":
                doc_inputs[name] = {"artifact": steps[ref].key}
            elif kind == "artifacts":
                doc_inputs[name] = {"artifacts": [steps[r].key for r in ref]}
            else:
                if not Path(ref).exists():
                    msg = f"The 'stages.{sid}.inputs.{name}' must be an existing file or folder, got {str(ref)!r}."
                    if check_paths:
                        raise ConfigError(msg)
                    step.missing.append(msg)
                    doc_inputs[name] = {"path": None}
                    continue
                doc_inputs[name] = {"path": hasher.hash_path(Path(ref))}
        step.key_doc = {
            "stage": stage.name,
            "version": stage.version,
            "libraries": library_versions(stage.libraries),
            "params": key_params(params),
            "inputs": doc_inputs,
        }
        step.key = hash_key(step.key_doc)
    hasher.save()
    _check_upstream(steps, order, cache_root)
    return Plan(config=config, steps=steps, order=order, base_dir=base)


def _step_error(sid: str, err: Exception) -> ConfigError:
    """A stage's plan-time error with the step's YAML key in front of the parameter it names."""
    msg = str(err)
    if msg.startswith("The '") and "'" in msg[5:]:
        name, rest = msg[5:].split("'", 1)
        inputs = name == "inputs" or name.startswith("inputs.")
        key = name if name.startswith("stages.") else f"stages.{sid}.{name if inputs else 'params.' + name}"
        return ConfigError(f"The '{key}'{rest}")
    return ConfigError(f"The 'stages.{sid}' must pass its stage's plan-time check, got: {msg}")


def _check_upstream(steps: dict[str, PlannedStep], order: list[str], cache_root: Path | None) -> None:
    """Each stage's :meth:`~Stage.check_upstream` on what is known upstream, in run order (before anything runs)."""
    from ._stage import Upstream
    from ._store import ArtifactStore

    store = ArtifactStore(cache_root) if cache_root is not None and Path(cache_root).is_dir() else None
    facts: dict[str, dict[str, Any]] = {}
    cached: dict[str, Any] = {}
    validated = {sid: get_stage(s.stage).Params.model_validate(s.params) for sid, s in steps.items()}
    for sid in order:
        step = steps[sid]
        stage = get_stage(step.stage)

        def view(name: str, ref: str) -> Upstream:
            art, kind = cached[ref], step.kinds.get(name, {}).get(ref)
            if art is not None and kind:
                art = art.as_kind(kind, get_stage(steps[ref].stage).kind_output(kind).path)
            return Upstream(ref, steps[ref].stage, validated[ref], facts[ref], art)

        upstream: dict[str, Any] = {}
        for name, (source, ref) in step.inputs.items():
            if source == "path":
                upstream[name] = Upstream(path=Path(ref))
            else:
                upstream[name] = view(name, ref) if source == "artifact" else [view(name, r) for r in ref]
        cached[sid] = store.open(stage.name, step.key) if store is not None and not step.missing else None
        try:
            stage.check_upstream(validated[sid], upstream)
            facts[sid] = dict(stage.output_facts(validated[sid], upstream, cached[sid]) or {})
        except (ValueError, TypeError) as err:
            raise _step_error(sid, err) from None
