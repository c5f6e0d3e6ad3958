"""The generic pipeline engine: stages, artifact store, runner, executors.

It knows no neuroscience: science subpackages register their stages through
the ``neurocodec.stages`` entry-point group.
"""

from ._config import Plan, PlannedStep, RunConfig, StepConfig, load_config, plan_run, read_yaml
from ._errors import ConfigError, NeuroCodecError, StageError, bad_value, check, check_array
from ._execute import DaskExecutor, LocalExecutor, StepResult, execute_step, parallel_map, progress
from ._io import (
    load_array,
    load_arrays,
    load_json,
    load_table,
    load_weights,
    save_array,
    save_arrays,
    save_json,
    save_table,
    save_weights,
)
from ._pretrained import PretrainedMixin, pretrained_types
from ._registry import (
    KindInfo,
    get_stage,
    load_plugins,
    register_kind,
    register_stage,
    registered_kinds,
    registered_stages,
)
from ._runner import RunSummary, pipeline_status, resolve_cache, run_pipeline
from ._stage import Input, Output, Stage, StageParams, Upstream, is_key_field, runtime_field
from ._store import Artifact, ArtifactStore, FileHasher, canonical_json, hash_key, library_versions

__all__ = [
    "Artifact",
    "ArtifactStore",
    "ConfigError",
    "DaskExecutor",
    "FileHasher",
    "Input",
    "KindInfo",
    "LocalExecutor",
    "NeuroCodecError",
    "Output",
    "Plan",
    "PlannedStep",
    "PretrainedMixin",
    "RunConfig",
    "RunSummary",
    "Stage",
    "StageError",
    "StageParams",
    "StepConfig",
    "StepResult",
    "Upstream",
    "bad_value",
    "canonical_json",
    "check",
    "check_array",
    "execute_step",
    "get_stage",
    "hash_key",
    "is_key_field",
    "library_versions",
    "load_array",
    "load_arrays",
    "load_config",
    "load_json",
    "load_plugins",
    "load_table",
    "load_weights",
    "parallel_map",
    "pipeline_status",
    "plan_run",
    "pretrained_types",
    "progress",
    "read_yaml",
    "register_kind",
    "register_stage",
    "registered_kinds",
    "registered_stages",
    "resolve_cache",
    "run_pipeline",
    "runtime_field",
    "save_array",
    "save_arrays",
    "save_json",
    "save_table",
    "save_weights",
]
