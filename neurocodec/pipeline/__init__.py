"""The generic pipeline engine: stages, artifact store, runner, executors.

It knows no neuroscience: science subpackages register their stages through
the ``neurocodec.stages`` entry-point group. ``__all__`` holds what a stage author or a user calls; the
engine's own parts (plan, executors, hashing) stay in the private modules.
"""

from ._config import load_config, plan_run, read_yaml
from ._errors import ConfigError, NeuroCodecError, StageError, bad_value, check, check_array
from ._execute import parallel_map, progress
from ._io import (
    load_array,
    load_arrays,
    load_json,
    load_table,
    save_array,
    save_arrays,
    save_json,
    save_table,
)
from ._pretrained import PretrainedMixin, pretrained_types
from ._registry import (
    get_stage,
    load_plugins,
    register_kind,
    register_stage,
    registered_kinds,
    registered_stages,
)
from ._runner import RunSummary, pipeline_status, resolve_cache, run_pipeline
from ._stage import Input, Output, Stage, StageParams, Upstream, runtime_field
from ._store import Artifact, ArtifactStore

__all__ = [
    "Artifact",
    "ArtifactStore",
    "ConfigError",
    "Input",
    "NeuroCodecError",
    "Output",
    "PretrainedMixin",
    "RunSummary",
    "Stage",
    "StageError",
    "StageParams",
    "Upstream",
    "bad_value",
    "check",
    "check_array",
    "get_stage",
    "load_array",
    "load_arrays",
    "load_config",
    "load_json",
    "load_plugins",
    "load_table",
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
]
