"""Tiny valid inputs, the public-callable registry and the array table of the generated bad-input test
(tests/test_bad_inputs.py)."""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import neurocodec

RNG = np.random.default_rng(0)
X = RNG.standard_normal((12, 5)).astype(np.float32)
Y = np.arange(12) % 2
IMGS = RNG.random((4, 16, 16, 3)).astype(np.float32)
GRAY = RNG.random((2, 16, 16)).astype(np.float32)
TS = RNG.standard_normal((6, 40, 5))
SYM = np.corrcoef(RNG.standard_normal((6, 40)))[None].repeat(3, 0)
SPD = np.stack([np.cov(RNG.standard_normal((5, 40))) for _ in range(6)])
TRIALS = RNG.standard_normal((8, 2, 400)).astype(np.float32)
TOKENS = RNG.integers(0, 16, (8, 2, 5))
BETAS3 = RNG.standard_normal((6, 3, 4))
RDMS = np.stack([1 - np.corrcoef(RNG.standard_normal((5, 8))) for _ in range(2)])
SITES = np.repeat(["a", "b", "c"], 4)
TINY_TOKENIZER = dict(n_codes=16, emb_size=16, n_heads=2, freq_depth=1, temporal_depth=1, decoder_depth=1)
PATH = "/nowhere/neurocodec-missing"


def _walk_public() -> dict[str, Any]:
    """Public name (without ``neurocodec.``) -> callable; a re-exported object is named after its home module."""
    names = sorted(
        m.name
        for m in pkgutil.walk_packages(neurocodec.__path__, "neurocodec.")
        if not any(p.startswith("_") for p in m.name.split(".")[1:]) and not m.name.endswith(".stages")
    )
    found: dict[int, tuple[Any, list[str]]] = {}
    for name in names:
        mod = importlib.import_module(name)
        for attr in getattr(mod, "__all__", []):
            obj = getattr(mod, attr)
            if inspect.ismodule(obj) or not callable(obj):
                continue
            if inspect.isclass(obj) and issubclass(obj, BaseException):
                continue  # exception classes take a message, not data
            found.setdefault(id(obj), (obj, []))[1].append(f"{name}.{attr}")
    out = {}
    for obj, where in found.values():
        home = getattr(obj, "__module__", "") or ""
        best = max(where, key=lambda w: (home.startswith(w.rpartition(".")[0]), len(w.rpartition(".")[0])))
        out[best.removeprefix("neurocodec.")] = obj
    return out


PUBLIC = _walk_public()


def P(name: str) -> Any:
    """The public callable ``name`` (a KeyError here means a stale table entry)."""
    return PUBLIC[name]


# ----------------------------------------------------------------------------------------------------------------
# Malformed versions of one valid array.
def _variants(x: np.ndarray) -> dict[str, np.ndarray]:
    x = np.asarray(x)
    out = {"ndim_minus": x[0] if x.ndim > 1 else np.asarray(x.flat[0]), "ndim_plus": x[None], "empty": x[:0]}
    if x.dtype.kind in "fc":
        nan, inf = x.copy(), x.copy()
        nan.flat[0], inf.flat[-1] = np.nan, np.inf
        out.update(nan=nan, inf=inf, complex=x + 1j)
    out["strings"] = np.full(x.shape, "a")
    return out


@dataclass
class Spec:
    """A valid call and what to malform in it."""

    func: Any
    args: list
    kwargs: dict = field(default_factory=dict)
    bad: tuple = (0,)  #: positions (int) or keyword names (str) of the arrays to malform
    lengths: tuple = ()  #: pairs (i, j) of arrays whose first axes must match
    skip: tuple = ()  #: variants that are valid input here (e.g. strings as labels): "name" or "position:name"
    wrap: Any = None  #: applied to each malformed array (e.g. torch.as_tensor)
    smoke: bool = True  #: run the valid call once (False: too costly for the suite)

    def call(self, where=None, value=None):
        args, kwargs = list(self.args), dict(self.kwargs)
        if where is not None:
            value = self.wrap(value) if self.wrap is not None and value.dtype.kind not in "UO" else value
            if isinstance(where, int):
                args[where] = value
            else:
                kwargs[where] = value
        return self.func(*args, **kwargs)

    def get(self, where):
        return self.args[where] if isinstance(where, int) else self.kwargs[where]


def _torch(x):
    import torch

    return torch.as_tensor(np.ascontiguousarray(x))


@functools.cache
def _tiny_tokenizer():
    import torch

    torch.manual_seed(0)
    return P("features.tokenizer.TFMTokenizer")(**TINY_TOKENIZER)


@functools.cache
def _tiny_encoder():
    import torch

    torch.manual_seed(0)
    return P("features.tokenizer.TFMEncoder")(n_codes=16, n_chans=2, n_outputs=1, emb_size=16, n_heads=2, depth=1)


@functools.cache
def _tiny_incontext():
    cfg = P("encoders.incontext.BraInCoRLConfig")(embed_dim=5, width=16, n_layers=1, n_heads=2, ffn_dim=16)
    return P("encoders.incontext.BraInCoRL")(cfg).eval()


def _array_specs() -> dict[str, Spec]:
    from neurocodec.decoders.braindive import VoxelTarget

    tcfg = P("features.tokenizer.TrainConfig")(epochs=1, batch_size=4, seed=0)
    proba = np.tile([[0.7, 0.3], [0.2, 0.8]], (4, 1))
    return {
        # encoders.scores / rsa / incontext
        "encoders.scores.pearson_r": Spec(P("encoders.scores.pearson_r"), [X, X], bad=(0, 1), lengths=((0, 1),)),
        "encoders.scores.r2_score": Spec(P("encoders.scores.r2_score"), [X, X], bad=(0, 1), lengths=((0, 1),)),
        "encoders.scores.explained_variance": Spec(
            P("encoders.scores.explained_variance"), [X, X], bad=(0, 1), lengths=((0, 1),)
        ),
        "encoders.scores.noise_ceiling_ncsnr": Spec(P("encoders.scores.noise_ceiling_ncsnr"), [BETAS3]),
        "encoders.scores.ncsnr_to_ceiling": Spec(P("encoders.scores.ncsnr_to_ceiling"), [np.abs(X[0])], skip=("inf",)),
        "encoders.scores.noise_ceiling_split_half": Spec(
            P("encoders.scores.noise_ceiling_split_half"), [BETAS3], {"n_splits": 3}
        ),
        "encoders.scores.normalize_by_ceiling": Spec(
            P("encoders.scores.normalize_by_ceiling"),
            [X[0], np.abs(X[1])],
            bad=(0, 1),
            lengths=((0, 1),),
            skip=("nan",),  # NaN marks an undefined score or ceiling
        ),
        "encoders.scores.permutation_pvalues": Spec(
            P("encoders.scores.permutation_pvalues"), [X, X], {"n_permutations": 5}, bad=(0, 1), lengths=((0, 1),)
        ),
        "encoders.rsa.rdm": Spec(P("encoders.rsa.rdm"), [X]),
        "encoders.rsa.upper_triangle": Spec(P("encoders.rsa.upper_triangle"), [RDMS[0]]),
        "encoders.rsa.compare_rdms": Spec(P("encoders.rsa.compare_rdms"), [RDMS[0], RDMS[1]], bad=(0, 1)),
        "encoders.rsa.rsa_scores": Spec(
            P("encoders.rsa.rsa_scores"), [{"m": RDMS[0]}, RDMS, ["s1", "s2"]], bad=(1,), lengths=((1, 2),)
        ),
        "encoders.incontext.fit_projection": Spec(P("encoders.incontext.fit_projection"), [X, 3, True]),
        "encoders.incontext.apply_projection": Spec(
            P("encoders.incontext.apply_projection"), [X, P("encoders.incontext.fit_projection")(X, 3, True)]
        ),
        "encoders.incontext.unit_norm": Spec(P("encoders.incontext.unit_norm"), [X]),
        "encoders.incontext.standardize_context": Spec(
            P("encoders.incontext.standardize_context"), [_torch(X.T)], wrap=_torch
        ),
        "encoders.incontext.predict_from_weights": Spec(
            P("encoders.incontext.predict_from_weights"), [_torch(X[:3, :]), _torch(X[:4, :4])], bad=(0, 1), wrap=_torch
        ),
        "encoders.features.images_to_tensor": Spec(
            P("encoders.features.images_to_tensor"),
            [IMGS, 16],
            skip=("ndim_minus",),  # (n, H, W): grayscale
        ),
        "encoders.features.to_grayscale": Spec(P("encoders.features.to_grayscale"), [IMGS], skip=("ndim_minus",)),
        # decoders
        "decoders.to_uint8": Spec(P("decoders.to_uint8"), [IMGS], skip=("ndim_minus",)),
        "decoders.metrics.pixcorr": Spec(P("decoders.metrics.pixcorr"), [IMGS, IMGS], bad=(0, 1), lengths=((0, 1),)),
        "decoders.metrics.ssim": Spec(P("decoders.metrics.ssim"), [IMGS, IMGS], bad=(0, 1), lengths=((0, 1),)),
        "decoders.metrics.two_way_identification": Spec(
            P("decoders.metrics.two_way_identification"), [X, X], bad=(0, 1), lengths=((0, 1),)
        ),
        "decoders.metrics.correlation_distance": Spec(
            P("decoders.metrics.correlation_distance"), [X, X], bad=(0, 1), lengths=((0, 1),)
        ),
        "decoders.metrics.pairwise_correlation": Spec(
            P("decoders.metrics.pairwise_correlation"), [X, X], bad=(0, 1), lengths=((0, 1),)
        ),
        "decoders.metrics.evaluate_reconstructions": Spec(
            P("decoders.metrics.evaluate_reconstructions"), [IMGS, IMGS], {"features": ("pixels",)}, bad=(0, 1)
        ),
        "decoders.braindive.roi_pattern": Spec(P("decoders.braindive.roi_pattern"), [X, VoxelTarget([0, 1])]),
        "decoders.mindbridge.pool_voxels": Spec(P("decoders.mindbridge.pool_voxels"), [_torch(X), 3], wrap=_torch),
        "decoders.mindbridge.soft_clip_loss": Spec(
            P("decoders.mindbridge.soft_clip_loss"), [_torch(X), _torch(X)], bad=(0, 1), lengths=((0, 1),), wrap=_torch
        ),
        "decoders.mindbridge.embedding_loss": Spec(
            P("decoders.mindbridge.embedding_loss"), [_torch(TS[:, :2]), _torch(TS[:, :2])], bad=(0, 1), wrap=_torch
        ),
        "decoders.mindbridge.reconstruction_loss": Spec(
            P("decoders.mindbridge.reconstruction_loss"), [_torch(X), _torch(X)], bad=(0, 1), wrap=_torch
        ),
        "decoders.mindbridge.image_token_targets": Spec(
            P("decoders.mindbridge.image_token_targets"), [IMGS], {"image_size": 32}, smoke=False
        ),
        "decoders.cross_validate_categories": Spec(
            P("decoders.cross_validate_categories"),
            [P("decoders.CategoryDecoder")(C=1.0), X, Y, np.arange(12) // 3],
            bad=(1, 2, 3),
            lengths=((1, 2), (1, 3)),
            skip=("2:strings", "3:strings"),  # labels and groups may be strings
        ),
        # encoders.backend: ``Y`` is streamed column chunks (a memory map, a lazy array): only its shape is checked
        "encoders.backend.solve_ridge_cv": Spec(
            P("encoders.backend.solve_ridge_cv"), [X, X[:, :3], [1.0, 10.0]], {"cv": 3}, lengths=((0, 1),)
        ),
        # datasets
        "datasets.responses_from_betas": Spec(
            P("datasets.responses_from_betas"),
            [X, {"run": np.arange(12) // 6, "trial_type": np.where(Y == 1, "face", "house")}],
        ),
        "datasets.simulate.stimulus_features": Spec(
            P("datasets.simulate.stimulus_features"),
            [IMGS, np.array([0, 1, 0, 1]), 2, np.array([0.0, np.pi / 2]), np.array([2.0]), 4],
            bad=(0, 1),
            lengths=((0, 1),),
        ),
        "datasets.loaders.average_repeats": Spec(
            P("datasets.loaders.average_repeats"), [X, Y], bad=(0, 1), lengths=((0, 1),)
        ),
        "datasets.loaders.fc_from_upper": Spec(
            P("datasets.loaders.fc_from_upper"),
            [RNG.standard_normal((3, 10))],
            skip=("ndim_minus",),  # one subject
        ),
        "datasets.simulate.fit_glm_betas": Spec(
            P("datasets.simulate.fit_glm_betas"),
            [RNG.standard_normal((60, 3)), np.arange(5.0) * 10, 2.0, 1.0],
            bad=(0, 1),
        ),
        "datasets.simulate.gabor_energy": Spec(
            P("datasets.simulate.gabor_energy"), [GRAY, np.array([0.0, np.pi / 2]), np.array([2.0])], bad=(0, 1, 2)
        ),
        "datasets.simulate.luminance_contrast": Spec(P("datasets.simulate.luminance_contrast"), [GRAY, 4]),
        "datasets.simulate.trial_design": Spec(
            P("datasets.simulate.trial_design"), [np.arange(5.0) * 10, 2.0, 1.0, 60]
        ),
        "datasets.simulate.simulate_bold": Spec(P("datasets.simulate.simulate_bold"), [X[:5]]),
        # features.connectivity
        "features.connectivity.vectorize": Spec(
            P("features.connectivity.vectorize"),
            [SYM],
            skip=("ndim_minus", "ndim_plus"),  # (..., n, n)
        ),
        "features.connectivity.unvectorize": Spec(
            P("features.connectivity.unvectorize"), [X[:3, :3].repeat(5, 1)], skip=("ndim_minus", "ndim_plus")
        ),
        "features.connectivity.triu_to_vectorized": Spec(
            P("features.connectivity.triu_to_vectorized"), [X[:3, :3].repeat(5, 1)], skip=("ndim_minus", "ndim_plus")
        ),
        "features.connectivity.shrink_to_spd": Spec(
            P("features.connectivity.shrink_to_spd"),
            [SYM],
            skip=("ndim_minus",),  # one (n, n) matrix
        ),
        "features.connectivity.geometric_mean": Spec(
            P("features.connectivity.geometric_mean"),
            [SPD],
            skip=("ndim_minus",),  # one matrix
        ),
        "features.connectivity.covariances": Spec(
            P("features.connectivity.covariances"),
            [TS],
            skip=("ndim_minus",),  # one subject (n_times, n_rois)
        ),
        "features.connectivity.graph_features": Spec(P("features.connectivity.graph_features"), [np.abs(SYM[0])]),
        "features.connectivity.threshold_graph": Spec(
            P("features.connectivity.threshold_graph"), [SYM[0]], {"density": 0.3}
        ),
        "features.connectivity.sliding_window_fc": Spec(P("features.connectivity.sliding_window_fc"), [TS[0], 10]),
        "features.connectivity.state_dynamics": Spec(
            P("features.connectivity.state_dynamics"), [np.arange(20) % 3, 3], skip=("strings",)
        ),
        "features.connectivity.site_splits": Spec(
            P("features.connectivity.site_splits"), [Y, SITES], bad=(0, 1), lengths=((0, 1),), skip=("strings",)
        ),
        "features.connectivity.fisher_z": Spec(
            P("features.connectivity.fisher_z"),
            [SYM],
            skip=("ndim_minus", "ndim_plus"),  # any shape
        ),
        "features.connectivity.eeg_connectivity": Spec(
            P("features.connectivity.eeg_connectivity"), [TRIALS[:4, :, :256]], {"sfreq": 128.0, "methods": ("coh",)}
        ),
        # features.tokenizer
        "features.tokenizer.classification_metrics": Spec(
            P("features.tokenizer.classification_metrics"), [Y[:8], proba], bad=(0, 1), lengths=((0, 1),)
        ),
        "features.tokenizer.continuous_windows": Spec(
            P("features.tokenizer.continuous_windows"), [TRIALS[0].repeat(5, 1), 400]
        ),
        "features.tokenizer.prepare_trials": Spec(
            P("features.tokenizer.prepare_trials"),
            [TRIALS, 200.0],
            skip=("ndim_minus",),  # one trial
        ),
        "features.tokenizer.protocol_labels": Spec(
            P("features.tokenizer.protocol_labels"), [np.array(list("abab")), [["a"], ["b"]]], skip=("strings",)
        ),
        "features.tokenizer.resample": Spec(
            P("features.tokenizer.resample"),
            [TRIALS[0], 100.0],
            skip=("ndim_minus", "ndim_plus"),  # (..., n_times)
        ),
        "features.tokenizer.stft_magnitude": Spec(
            P("features.tokenizer.stft_magnitude"), [_torch(TRIALS[0])], wrap=_torch
        ),
        "features.tokenizer.tokenize_signals": Spec(
            P("features.tokenizer.tokenize_signals"), [_tiny_tokenizer(), TRIALS[:, 0]], {"sfreq": 200.0}, bad=(1,)
        ),
        "features.tokenizer.train_tokenizer": Spec(
            P("features.tokenizer.train_tokenizer"),
            [_tiny_tokenizer(), TRIALS[:, 0], tcfg],
            {"sfreq": 200.0},
            bad=(1,),
            smoke=False,
        ),
        "features.tokenizer.predict_proba": Spec(
            P("features.tokenizer.predict_proba"), [_tiny_encoder(), TOKENS], bad=(1,), skip=("strings",)
        ),
    }
