"""Meta-test: every registered stage follows the stage contract."""

from __future__ import annotations

import inspect

import pytest
from pydantic import BaseModel

from neurocodec.pipeline import Input, Output, Stage, StageParams, registered_kinds, registered_stages

STAGES = registered_stages()
KINDS = registered_kinds()


def test_every_stage_module_imports():
    from neurocodec.pipeline._registry import PLUGIN_ERRORS

    assert not PLUGIN_ERRORS, PLUGIN_ERRORS


def test_science_subpackages_register_stages():
    modules = {cls.__module__.split(".")[1] for cls in STAGES.values() if cls.__module__.startswith("neurocodec.")}
    assert modules, "no neurocodec stage registered"


def _check_params_model(model: type[BaseModel], where: str) -> None:
    cfg = model.model_config
    assert cfg.get("extra") == "forbid", f"{where}: extra must be 'forbid'"
    assert cfg.get("strict") is True, f"{where}: must be strict"
    for fname, field in model.model_fields.items():
        assert field.description and field.description.strip(), f"{where}.{fname} has no description"
        ann = field.annotation
        for sub in getattr(ann, "__args__", ()) + (ann,):
            if inspect.isclass(sub) and issubclass(sub, BaseModel):
                _check_params_model(sub, f"{where}.{fname}")


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_contract(name):
    cls = STAGES[name]
    assert issubclass(cls, Stage)
    assert cls.name == name and isinstance(cls.version, int) and cls.version >= 1
    assert cls.describe(), f"{name}: needs a docstring"
    assert issubclass(cls.Params, StageParams)
    _check_params_model(cls.Params, f"{name}.Params")
    assert cls.outputs, f"{name}: declares no outputs"
    for oname, out in cls.outputs.items():
        assert isinstance(out, Output) and out.path and out.description, f"{name}.outputs.{oname}"
    for iname, inp in cls.inputs.items():
        assert isinstance(inp, Input) and inp.description, f"{name}.inputs.{iname}"
        assert inp.source in ("artifact", "artifacts", "path")
        for kind in inp.kinds:
            assert kind in KINDS, f"{name}.inputs.{iname} accepts unregistered kind {kind!r}"
    for kind in cls.produced_kinds():
        assert kind in KINDS, f"{name} produces unregistered kind {kind!r}"
    assert isinstance(cls.libraries, tuple) and all(isinstance(x, str) for x in cls.libraries)
    sig = inspect.signature(cls.run)
    assert list(sig.parameters)[:4] == ["self", "params", "inputs", "out_dir"]


def test_declarative_impl_and_missing_run(tmp_path):
    """``run_impl`` / ``report_impl`` name a function relative to the stage's package.

    A stage needs one of run / run_impl.
    """
    from neurocodec.pipeline import register_stage
    from neurocodec.pipeline._stage import _resolve

    class Declared(Stage):
        name = "declared_toy"
        version = 1
        Params = StageParams
        run_impl = "json:dump"  # an absolute module works too

    assert _resolve(Declared, "json:dumps") is __import__("json").dumps
    from neurocodec.features.tokenizer import stages as tok_stages
    from neurocodec.features.tokenizer._stage_impl import run_tokenize

    assert _resolve(tok_stages.TFMTokenize, tok_stages.TFMTokenize.run_impl) is run_tokenize
    with pytest.raises(ValueError, match="'module:function'"):
        _resolve(Declared, "json.dumps")

    class NoRun(Stage):
        name = "no_run_toy"
        version = 1
        Params = StageParams

    with pytest.raises(TypeError, match="must override run\\(\\) or set run_impl"):
        register_stage(NoRun)
    assert NoRun.report(None) is None  # no report_impl: no section
    assert "no_run_toy" not in registered_stages()
