"""One persistence convention for everything with weights or fitted state (diffusers-style).

``model.save_pretrained(dir)`` writes ``config.json`` = ``{"model_type", "format_version", "config", "folders"}``
(the constructor arguments, JSON) and the state: ``model.safetensors`` (torch tensors), ``arrays.npz`` (numpy
arrays), ``state.json`` (JSON fitted state), plus sub-folders a model declares: a nested model of this convention
(rebuilt by its own ``from_pretrained``, its type recorded under ``folders``) or another library's component (a
diffusers UNet, rebuilt by the class). ``info.json`` holds optional free metadata (what the model was trained on)
that is no part of the model (:meth:`PretrainedMixin.read_info`).
``Class.from_pretrained(dir_or_hub_id, device=...)`` checks the type and the format version and rebuilds it.
No pickle anywhere. Every class using the mixin is registered by its ``model_type`` (see :func:`pretrained_types`),
so a test can round-trip all of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from ._errors import bad_value
from ._io import load_arrays, load_json, save_arrays, save_json

__all__ = ["PretrainedMixin", "pretrained_types", "resolve_pretrained_dir"]

_TYPES: dict[str, type] = {}


def pretrained_types() -> dict[str, type]:
    """Every class using :class:`PretrainedMixin`, by ``model_type``.

    Every ``neurocodec`` module is imported first (about 2 s), so that no model class is missed; a module whose
    optional third-party dependency is not installed is passed over.
    """
    import importlib
    import pkgutil

    import neurocodec

    for mod in pkgutil.walk_packages(neurocodec.__path__, "neurocodec."):
        try:
            importlib.import_module(mod.name)
        except ModuleNotFoundError as err:
            if (err.name or "").split(".")[0] == "neurocodec":
                raise
    return dict(sorted(_TYPES.items()))


def _fitted_state(estimator: Any) -> dict[str, Any]:
    """The fitted attributes of a scikit-learn estimator, split into arrays, JSON values and nested models.

    A list of arrays is stored as arrays ``name.0``, ``name.1``, ... and a tuple as a JSON list; both are noted in
    ``state.json`` (``__array_lists__``, ``__tuples__``) so that :func:`_restore_fitted` gives them back as they were.
    """
    import numpy as np
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    arrays: dict[str, Any] = {}
    meta: dict[str, Any] = {}
    folders: dict[str, Any] = {}
    lists: dict[str, int] = {}
    tuples: list[str] = []
    for name, value in vars(estimator).items():
        if not name.endswith("_") or name.startswith("_"):
            continue
        if isinstance(value, np.ndarray) and value.dtype == object and all(isinstance(v, str) for v in value.flat):
            value = value.astype(str)  # e.g. feature_names_in_
        if isinstance(value, np.ndarray) and value.dtype != object:
            arrays[name] = value
        elif isinstance(value, PretrainedMixin):
            folders[name] = value
        elif isinstance(value, list) and value and all(isinstance(v, np.ndarray) for v in value):
            arrays.update({f"{name}.{k}": v for k, v in enumerate(value)})
            lists[name] = len(value)
        elif value is None or isinstance(value, (bool, int, float, str, list, tuple, dict, np.generic)):
            meta[name] = value.item() if isinstance(value, np.generic) else value
            if isinstance(value, tuple):
                tuples.append(name)
        else:
            raise TypeError(
                f"The fitted attribute {type(estimator).__name__}.{name} must be an array, a list of arrays, a JSON "
                f"value or a PretrainedMixin model to be saved, got {type(value).__name__}."
            )
    if lists:
        meta["__array_lists__"] = lists
    if tuples:
        meta["__tuples__"] = tuples
    return {"arrays": arrays, "json": meta, "folders": folders}


def _restore_fitted(estimator: Any, state: dict[str, Any]) -> Any:
    """Set the fitted attributes :func:`_fitted_state` saved back on ``estimator``."""
    meta = dict(state.get("json", {}))
    lists = meta.pop("__array_lists__", {})
    tuples = set(meta.pop("__tuples__", []))
    arrays = dict(state.get("arrays", {}))
    for name, n in lists.items():
        setattr(estimator, name, [arrays.pop(f"{name}.{k}") for k in range(n)])
    for name, value in {**meta, **arrays, **state.get("folders", {})}.items():
        setattr(estimator, name, tuple(value) if name in tuples else value)
    return estimator


def resolve_pretrained_dir(source: str | Path) -> Path:
    """A local folder, or a Hugging Face hub id downloaded (cached) with ``huggingface_hub``."""
    path = Path(source).expanduser()
    if path.is_dir():
        return path
    if path.exists() or str(source).count("/") != 1:
        raise bad_value(
            "directory",
            "a folder written by save_pretrained or a hub id 'owner/name'",
            str(source),
            exc=FileNotFoundError,
        )
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(str(source)))
    except Exception as err:  # offline (HF_HUB_OFFLINE=1) or unknown repository
        raise bad_value(
            "directory",
            "a local folder or a reachable hub id",
            f"<{source}: {type(err).__name__}>",
            exc=FileNotFoundError,
        ) from None


class PretrainedMixin:
    """``save_pretrained`` / ``from_pretrained`` for a model class.

    Subclasses set ``model_type`` (default: the class name) and ``format_version`` and implement:

    - ``_pretrained_config() -> dict``: the constructor arguments (JSON values);
    - ``_pretrained_state() -> dict``: any of ``tensors`` (name -> torch tensor), ``arrays`` (name -> ndarray),
      ``json`` (fitted metadata), ``folders`` (sub-folder name -> object with ``save_pretrained``);
    - ``_from_pretrained_state(config, state, directory, device, **kwargs)`` (classmethod): the rebuilt model;
      ``state["folders"]`` holds the nested models of this convention already loaded (on ``device``), other
      sub-folders are the class's to read from ``directory``.

    Two kinds of class get defaults for all three:

    - ``torch.nn.Module`` subclasses holding their constructor arguments in ``self.config``: weights =
      ``state_dict()``;
    - scikit-learn estimators: the config is ``get_params(deep=False)`` (but ``device``, the loader's) and the
      state every fitted attribute (public, trailing underscore): arrays and lists of arrays to ``arrays.npz``,
      numbers / strings / lists / tuples / dicts to ``state.json``, models of this convention to sub-folders;
      any other value is refused by name.

    A class whose name starts with an underscore (an abstract base) is not registered.
    """

    model_type: ClassVar[str] = ""
    format_version: ClassVar[int] = 1

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__name__.startswith("_"):
            return
        if not cls.__dict__.get("model_type"):
            cls.model_type = cls.__name__
        _TYPES[cls.model_type] = cls

    # -- defaults: config-driven torch modules, scikit-learn estimators ----------------------
    def _pretrained_config(self) -> dict[str, Any]:
        if hasattr(self, "state_dict"):
            return dict(self.config)  # type: ignore[attr-defined]
        params = self.get_params(deep=False)  # type: ignore[attr-defined]
        params.pop("device", None)  # the loader's (from_pretrained(device=...))
        return params

    def _pretrained_state(self) -> dict[str, Any]:
        if hasattr(self, "state_dict"):
            return {"tensors": self.state_dict()}  # type: ignore[attr-defined]
        return _fitted_state(self)

    @classmethod
    def _from_pretrained_state(
        cls, config: dict[str, Any], state: dict[str, Any], directory: Path, device: str, **kwargs: Any
    ) -> Any:
        if not hasattr(cls, "state_dict"):  # an estimator: a ``device`` parameter not saved is the loader's
            import inspect

            if "device" in inspect.signature(cls).parameters and "device" not in config:
                config = {**config, "device": device}
            return _restore_fitted(cls(**{**config, **kwargs}), state)
        model = cls(**{**config, **kwargs})
        model.load_state_dict(state["tensors"])  # type: ignore[attr-defined]
        return model.to(device).eval()  # type: ignore[attr-defined]

    # -- the convention ---------------------------------------------------------------------
    def save_pretrained(self, directory: str | Path, info: dict[str, Any] | None = None) -> Path:
        """Write ``config.json`` and the state files into ``directory`` (created).

        Parameters
        ----------
        directory : str or Path
            Folder to write (created; files of the same names are replaced).
        info : dict, optional
            Free JSON metadata stored as ``info.json`` (e.g. the data and preprocessing it was trained with);
            read back with :meth:`read_info`, not used by :meth:`from_pretrained`.

        Returns
        -------
        Path
            ``directory``.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        state = self._pretrained_state()
        if state.get("tensors"):
            from safetensors.torch import save_file

            save_file(
                {k: v.detach().contiguous().cpu() for k, v in state["tensors"].items()},
                str(directory / "model.safetensors"),
            )
        if state.get("arrays"):
            save_arrays(directory / "arrays.npz", **state["arrays"])
        if state.get("json") is not None:
            save_json(directory / "state.json", state["json"])
        folders = {}
        for name, obj in state.get("folders", {}).items():
            obj.save_pretrained(directory / name)
            folders[name] = obj.model_type if isinstance(obj, PretrainedMixin) else None
        if info is not None:
            save_json(directory / "info.json", info)
        save_json(
            directory / "config.json",
            {
                "model_type": self.model_type,
                "format_version": self.format_version,
                "config": self._pretrained_config(),
                "folders": folders,
            },
        )
        return directory

    @staticmethod
    def read_info(directory: str | Path) -> dict[str, Any]:
        """The ``info.json`` metadata given to :meth:`save_pretrained` (empty dict when none was)."""
        path = Path(directory) / "info.json"
        return load_json(path) if path.is_file() else {}

    @classmethod
    def from_pretrained(cls, directory: str | Path, device: str = "cpu", **kwargs: Any) -> Any:
        """Rebuild a model written by :meth:`save_pretrained` (a folder, or a hub id).

        Parameters
        ----------
        directory : str or Path
            Folder holding ``config.json`` (or a Hugging Face hub id).
        device : str
            Torch device of the rebuilt model (ignored by models without torch state).
        **kwargs
            Objects the saved state refers to but does not hold (e.g. a decoder's generator); for a torch module
            rebuilt from its config, constructor arguments replacing the stored ones (e.g. ``dropout``).

        Returns
        -------
        The rebuilt model (a torch module in ``eval`` mode on ``device``).
        """
        directory = resolve_pretrained_dir(directory)
        path = directory / "config.json"
        if not path.is_file():
            raise bad_value(
                "directory",
                f"a folder written by {cls.__name__}.save_pretrained (config.json)",
                str(directory),
                exc=FileNotFoundError,
            )
        meta = load_json(path)
        if meta.get("model_type") != cls.model_type:
            raise bad_value(
                "model_type", f"{cls.model_type!r} (a {cls.__name__})", meta.get("model_type"), of=str(path)
            )
        if meta.get("format_version") != cls.format_version:
            raise bad_value(
                "format_version", f"{cls.format_version} ({cls.__name__})", meta.get("format_version"), of=str(path)
            )
        state: dict[str, Any] = {}
        if (directory / "model.safetensors").is_file():
            from safetensors.torch import load_file

            state["tensors"] = load_file(str(directory / "model.safetensors"), device=device)
        if (directory / "arrays.npz").is_file():
            state["arrays"] = load_arrays(directory / "arrays.npz")
        if (directory / "state.json").is_file():
            state["json"] = load_json(directory / "state.json")
        nested = {}
        for name, model_type in (meta.get("folders") or {}).items():
            if model_type is not None:
                sub = _TYPES.get(model_type) or pretrained_types().get(model_type)
                if sub is None:
                    raise bad_value(
                        "model_type", f"a registered model type {sorted(_TYPES)}", model_type, of=str(directory / name)
                    )
                nested[name] = sub.from_pretrained(directory / name, device=device)
        state["folders"] = nested
        return cls._from_pretrained_state(dict(meta["config"]), state, directory, device, **kwargs)
