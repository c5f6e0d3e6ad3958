"""Every estimator of the public API (a class with ``fit`` in a subpackage's ``__all__``) is a scikit-learn
estimator: ``__init__`` stores its arguments only, ``clone`` / ``get_params`` / ``set_params`` work, and no class
writes its own copy of them. New estimators are found automatically."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.utils.estimator_checks import check_get_params_invariance, check_no_attributes_set_in_init

import neurocodec

ROOT = Path(neurocodec.__file__).parent


def _public_estimators() -> dict[str, type]:
    found: dict[str, type] = {}
    for mod in pkgutil.walk_packages(neurocodec.__path__, "neurocodec."):
        if any(part.startswith("_") for part in mod.name.split(".")):
            continue
        module = importlib.import_module(mod.name)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if inspect.isclass(obj) and callable(getattr(obj, "fit", None)):
                found.setdefault(f"{obj.__module__}.{obj.__qualname__}", obj)
    return dict(sorted(found.items()))


ESTIMATORS = _public_estimators()


def _required_arguments(cls):
    """Constructor arguments for the estimators that have required ones."""
    name = cls.__name__
    if name == "TorchHookFeatures":
        import torch

        return {"model": torch.nn.Sequential(torch.nn.Conv2d(3, 2, 3)), "layers": ["0"]}
    if name == "BrainDiffuser":
        from neurocodec.decoders.generation import EmbeddedLatentDiffusion

        return {"generator": EmbeddedLatentDiffusion(image_size=16)}
    if name == "FeatureExtractor":
        return {"name": "pixels"}
    return {}


def test_discovery_finds_the_estimators():
    names = {cls.__name__ for cls in ESTIMATORS.values()}
    expected = {
        "TFMClassifier",
        "TFMEnsembleClassifier",
        "ConnectomeClassifier",
        "EmbeddedLatentDiffusion",
        "BrainDiffuser",
        "RidgeCV",
        "GaborPyramid",
        "OpenClipFeatures",
        "EfficientNetLite0Features",
    }
    assert expected <= names, sorted(expected - names)


@pytest.mark.parametrize("path", sorted(ESTIMATORS))
def test_estimator_is_sklearn_and_clones(path):
    cls = ESTIMATORS[path]
    assert issubclass(cls, BaseEstimator), f"{path} must derive from sklearn.base.BaseEstimator"
    est = cls(**_required_arguments(cls))
    check_no_attributes_set_in_init(cls.__name__, est)
    check_get_params_invariance(cls.__name__, est)
    params = est.get_params(deep=False)
    assert set(params) == set(inspect.signature(cls.__init__).parameters) - {"self"}
    again = clone(est)  # raises when __init__ alters an argument
    assert type(again) is cls and set(again.get_params(deep=False)) == set(params)
    for key, value in params.items():
        if isinstance(value, (int, float, str, bool, tuple, list, dict, type(None))):
            assert again.get_params(deep=False)[key] == value, key
    # set_params goes through the same arguments
    key = next(iter(params))
    assert clone(est).set_params(**{key: params[key]}).get_params(deep=False).keys() == params.keys()


def test_no_hand_written_clone_or_get_params():
    """Only scikit-learn's BaseEstimator provides get_params / set_params / clone."""
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in {
                "get_params",
                "set_params",
                "clone",
                "__sklearn_clone__",
            }:
                offenders.append(f"{path.relative_to(ROOT.parent)}:{node.lineno} {node.name}")
    assert not offenders, offenders


#: Estimators around a pretrained network that learn nothing themselves: they are rebuilt from their parameters
#: (the network's own weights file), so they have no save_pretrained.
NOTHING_FITTED = {
    "TorchHookFeatures": "wraps a given torch model; fit only checks the layer names",
    "EfficientNetLite0Features": "ImageNet weights loaded from the weights file named by its parameters",
    "OpenClipFeatures": "open_clip weights loaded from the checkpoint named by its parameters",
    "FeatureExtractor": "a metric's fixed network (its Gabor option refits on the true images of each evaluation)",
}


def test_every_fitted_estimator_persists():
    from neurocodec.pipeline import PretrainedMixin, pretrained_types

    missing = [
        path
        for path, cls in ESTIMATORS.items()
        if not issubclass(cls, PretrainedMixin) and cls.__name__ not in NOTHING_FITTED
    ]
    assert not missing, f"{missing} hold fitted state: give them PretrainedMixin (save_pretrained / from_pretrained)"
    registered = set(pretrained_types().values())
    assert all(cls in registered for cls in ESTIMATORS.values() if issubclass(cls, PretrainedMixin))
