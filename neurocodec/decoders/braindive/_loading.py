"""Rebuild a differentiable encoder from what ``features`` and ``fit_encoder`` saved; load Stable Diffusion."""

from __future__ import annotations

import numpy as np

from neurocodec.pipeline import bad_value, check

from ._encoder import DifferentiableEncoder

__all__ = ["load_encoder", "load_stable_diffusion"]

_DIFFERENTIABLE = ("gabor", "efficientnet_lite0", "open_clip")


def _extractor(params, stimuli):
    """The feature extractor the ``features`` stage ran with ``params`` (Gabor: refitted on the same stimuli)."""
    name = params.get("extractor", "gabor")
    if name == "gabor":
        from neurocodec.encoders.features import GaborPyramid

        return GaborPyramid(
            spatial_frequencies=params.get("spatial_frequencies", [1.0, 2.0, 4.0, 8.0]),
            n_orientations=params.get("n_orientations", 8),
            bandwidth=params.get("bandwidth", 1.0),
            image_size=params.get("image_size"),
        ).fit(stimuli)
    if name == "efficientnet_lite0":
        from neurocodec.encoders.features import EfficientNetLite0Features

        return EfficientNetLite0Features(
            layers=params.get("layers"),
            weights=params.get("weights"),
            image_size=params.get("image_size") or 224,
            pool_size=params.get("pool_size", 1),
        )
    if name == "open_clip":
        from neurocodec.encoders.features import OpenClipFeatures

        return OpenClipFeatures(params.get("model_name", "ViT-B-32"), params.get("pretrained"))
    raise bad_value("extractor", f"a differentiable feature extractor {_DIFFERENTIABLE}", name)


def load_encoder(
    encoder_file, feature_params, feature_set, stimuli, stored_features=None, voxels=None, device="cpu", atol=1e-3
):
    """A :class:`DifferentiableEncoder` from a ``fit_encoder`` weights file and the ``features`` stage parameters.

    Parameters
    ----------
    encoder_file : path
        ``encoders/<subject>/`` of ``fit_encoder`` (a fitted :class:`~neurocodec.encoders.RidgeCV`,
        ``coef_`` (n_features, n_voxels), ``intercept_``).
    feature_params : dict or None
        Parameters of the ``features`` stage the encoder was fitted on; None
        when the features were not computed by a differentiable extractor
        (e.g. a precomputed feature table): raises.
    feature_set : str
        Key of the feature set (``gabor``, a layer name with ``.`` written ``_``, ``image_embeds``).
    stimuli : ndarray, shape (n_images, H, W, 3)
        The images the features were computed on (refits the Gabor pyramid's
        compression and standardisation; checks the reconstruction).
    stored_features : ndarray, shape (n_images, n_features), optional
        The saved features: the torch features of the first images must match
        them within ``atol`` (relative to their scale), else raises.
    voxels : array-like of int, optional
    device : str

    Returns
    -------
    DifferentiableEncoder
    """
    if not feature_params or feature_params.get("extractor", "gabor") not in _DIFFERENTIABLE:
        got = feature_params.get("extractor") if feature_params else "<features not computed by the 'features' stage>"
        raise bad_value(
            "encoder",
            f"fitted on features of a differentiable extractor (the 'features' stage with "
            f"extractor in {_DIFFERENTIABLE})",
            got,
            exc=TypeError,
        )
    from neurocodec.encoders import RidgeCV

    ridge = RidgeCV.from_pretrained(encoder_file)
    ext = _extractor(feature_params, stimuli)
    layer = None
    if feature_params.get("extractor") == "efficientnet_lite0":
        names = {lay.replace(".", "_"): lay for lay in ext.fit().layers_}
        check(feature_set in names, "feature_set", f"one of {sorted(names)}", feature_set)
        layer = names[feature_set]
    enc = DifferentiableEncoder.from_fitted(ext, ridge, voxels=voxels, layer=layer, device=device)
    if stored_features is not None:
        import torch

        x = torch.from_numpy(np.ascontiguousarray(stimuli[:4], np.float32)).permute(0, 3, 1, 2).to(device)
        with torch.no_grad():
            mine = enc.module.features(x).cpu().numpy()
        ref = np.asarray(stored_features[:4], np.float32)
        err = float(np.abs(mine - ref).max() / (np.abs(ref).max() + 1e-8)) if mine.shape == ref.shape else np.inf
        check(
            err <= atol,
            "encoder",
            f"features reproducible by the torch extractor (relative error <= {atol})",
            f"<relative error {err:.3g}>",
        )
    return enc


def load_stable_diffusion(model, device="cpu", dtype="auto"):
    """A diffusers ``StableDiffusionPipeline`` from a hub id or a local folder (fp16 on CUDA with ``dtype="auto"``).

    Offline without the weights, raises :class:`~neurocodec.decoders.MissingModelError` naming the model.
    """
    import os

    import torch

    from .._errors import MissingModelError, offline
    from ..generation._diffusers import diffusers

    check(bool(model), "model", "a Stable Diffusion hub id or local folder", model)
    check(dtype in ("auto", "float16", "float32"), "dtype", "'auto', 'float16' or 'float32'", dtype)
    if dtype == "auto":
        dtype = "float16" if str(device).startswith("cuda") else "float32"
    local = os.path.isdir(model)
    try:
        pipe = diffusers().StableDiffusionPipeline.from_pretrained(
            model,
            torch_dtype=getattr(torch, dtype),
            local_files_only=local or offline(),
            safety_checker=None,
            requires_safety_checker=False,
        )
    except (OSError, ValueError) as exc:
        where = "the local folder" if local else "the Hugging Face cache (offline)" if offline() else "the hub"
        raise MissingModelError(
            f"Brain-guided Stable Diffusion needs the weights {model!r}, which could not be loaded "
            f"from {where}: {type(exc).__name__}: {exc}"
        ) from exc
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)
