"""Scalar, path, object and estimator tables of the generated bad-input test (tests/test_bad_inputs.py), and
:data:`EXEMPT`: the public callables without a case, with the reasons."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from bad_input_arrays import GRAY, IMGS, PATH, SITES, SPD, TINY_TOKENIZER, TRIALS, TS, P, X, Y, _tiny_incontext

# ----------------------------------------------------------------------------------------------------------------
# Scalar parameters: name -> (function, valid kwargs, {param: [bad values]}).
NAN = float("nan")
POS_INT = [0, -1, 2.5, "3"]
POS_FLOAT = [0.0, -1.0, NAN, float("inf"), "1"]
SCALARS: dict[str, tuple[Any, dict, dict]] = {
    "datasets.simulate.simulate_eeg": (
        P("datasets.simulate.simulate_eeg"),
        {"n_chans": 2, "duration": 2.0},
        {"sfreq": POS_FLOAT, "n_chans": POS_INT, "duration": POS_FLOAT},
    ),
    "datasets.simulate.simulate_eeg_trials": (
        P("datasets.simulate.simulate_eeg_trials"),
        {"n_trials": 4, "n_chans": 2},
        {"sfreq": POS_FLOAT, "n_trials": POS_INT, "n_times": POS_INT},
    ),
    "datasets.simulate.simulate_rest_cohort": (
        P("datasets.simulate.simulate_rest_cohort"),
        {"n_subjects": 6, "n_rois": 8, "n_networks": 2, "n_differing_edges": 2},
        {"n_subjects": POS_INT, "n_rois": POS_INT},
    ),
    "datasets.simulate.simulate_visual_experiment": (
        P("datasets.simulate.simulate_visual_experiment"),
        {"n_subjects": 1, "n_train_images": 8, "n_test_images": 4, "image_size": 16},
        {"n_subjects": POS_INT, "n_train_images": POS_INT, "image_size": POS_INT},
    ),
    "datasets.simulate.make_stimuli": (P("datasets.simulate.make_stimuli"), {"n_images": 2}, {"n_images": POS_INT}),
    "datasets.simulate.spm_hrf": (P("datasets.simulate.spm_hrf"), {"tr": 1.0}, {"tr": POS_FLOAT}),
    "datasets.simulate.channel_layout": (
        P("datasets.simulate.channel_layout"),
        {"kind": "eeg", "n_chans": 4},
        {"n_chans": POS_INT, "kind": ["meg", 3]},
    ),
    "features.connectivity.edge_index": (P("features.connectivity.edge_index"), {"n_rois": 4}, {"n_rois": POS_INT}),
    "decoders.generation.small_autoencoder_config": (
        P("decoders.generation.small_autoencoder_config"),
        {"image_size": 32},
        {"image_size": [0, -8, 30, "32"]},
    ),
    "encoders.backend.get_backend": (P("encoders.backend.get_backend"), {"name": "numpy"}, {"name": ["jax", 3]}),
    "encoders.backend.solve_ridge_cv": (
        P("encoders.backend.solve_ridge_cv"),
        {"X": X, "Y": X[:, :3], "alphas": [1.0, 10.0], "cv": 3},
        {"alphas": [[], [-1.0], [NAN], ["a"]]},
    ),
    "decoders.metrics.get_feature_extractor": (
        P("decoders.metrics.get_feature_extractor"),
        {"name": "pixels"},
        {"name": ["alexnet9", 3], "protocol": ["nope"]},
    ),
}
# ----------------------------------------------------------------------------------------------------------------
# File readers: a missing path raises the template (FileNotFoundError is allowed: it is what the file system says).
PATHS: dict[str, Any] = {
    "datasets.bids.bids_entities": lambda f: f(PATH),
    "datasets.bids.find_bids_files": lambda f: f(PATH),
    "datasets.eeg.read_raw": lambda f: f(PATH + ".fif"),
    "datasets.eeg.read_raws": lambda f: f([PATH + ".fif"]),
    "datasets.fmri.load_img": lambda f: f(PATH + ".nii.gz"),
    "datasets.fmri.load_surface": lambda f: f(PATH + ".gii"),
    "datasets.fmri.load_mask": lambda f: f(PATH + ".nii"),
    "datasets.fmri.load_confounds": lambda f: f(PATH + ".tsv", 10),
    "datasets.fmri.load_events": lambda f: f(PATH + ".tsv"),
    "datasets.loaders.load_abide_fc": lambda f: f(PATH),
    "datasets.loaders.load_bonn": lambda f: f(PATH),
    "datasets.loaders.load_haxby": lambda f: f(PATH),
    "datasets.loaders.load_kriegeskorte92": lambda f: f(PATH),
    "datasets.loaders.load_nsd_betas": lambda f: f(PATH, 1, [1]),
    "datasets.loaders.load_nsd_captions": lambda f: f(PATH, [1]),
    "datasets.loaders.load_nsd_design": lambda f: f(PATH),
    "datasets.loaders.load_nsd_images": lambda f: f(PATH, [1]),
    "datasets.loaders.load_abide_timeseries": lambda f: f(PATH),
    "datasets.loaders.read_1d": lambda f: f(PATH + ".1D"),
    "datasets.loaders.load_sleep_edf_record": lambda f: f(PATH + "-PSG.edf", PATH + "-Hypnogram.edf"),
    "datasets.loaders.load_uea": lambda f: f("X", PATH),
    "datasets.loaders.load_uea_info": lambda f: f("X", PATH),
    "datasets.fmri.atlas_regions": lambda f: f(PATH + ".nii.gz"),
    "datasets.fmri.mask_voxels": lambda f: f(PATH + ".nii.gz"),
    "datasets.loaders.read_hypnogram": lambda f: f(PATH + ".edf"),
    "datasets.loaders.read_images": lambda f: f(PATH),
    "datasets.loaders.read_ts": lambda f: f(PATH + ".ts"),
    "datasets.loaders.read_tuev_rec": lambda f: f(PATH + ".rec"),
    "datasets.loaders.load_stimulus_responses": lambda f: f(PATH + ".npy", PATH + ".npy", PATH + ".tsv"),
    "datasets.loaders.sleep_edf_pairs": lambda f: f(PATH),
    "datasets.loaders.tuab_index": lambda f: f(PATH),
    "datasets.loaders.tuev_index": lambda f: f(PATH),
    "pipeline.read_yaml": lambda f: f(PATH + ".yaml"),
    "pipeline.load_config": lambda f: f(PATH + ".yaml"),
    "pipeline.plan_run": lambda f: f(PATH + ".yaml"),
    "pipeline.pipeline_status": lambda f: f(PATH + ".yaml"),
    "pipeline.run_pipeline": lambda f: f(PATH + ".yaml"),
    "pipeline.load_array": lambda f: f(PATH + ".npy"),
    "pipeline.load_arrays": lambda f: f(PATH + ".npz"),
    "pipeline.load_json": lambda f: f(PATH + ".json"),
    "pipeline.load_table": lambda f: f(PATH + ".tsv"),
    "pipeline.report.find_run_record": lambda f: f(PATH, PATH),
    "pipeline.report.write_report": lambda f: f(PATH + ".json"),
    "encoders.features.load_efficientnet_lite0": lambda f: f(PATH + ".pth"),
}


# ----------------------------------------------------------------------------------------------------------------
# Functions and classes taking objects (a recording, an estimator, a list of data sets): the wrong kind of object.
def _objects() -> dict[str, Any]:
    return {
        "datasets.eeg.preprocess_raw": lambda f: f(TRIALS[0]),
        "datasets.eeg.pick_channels": lambda f: f(TRIALS[0]),
        "datasets.eeg.set_bipolar": lambda f: f(TRIALS[0]),
        "datasets.eeg.make_epochs": lambda f: f(TRIALS[0]),
        "datasets.eeg.seeg_bipolar_pairs": lambda f: f(X),
        "datasets.fmri.extract_signals": lambda f: f(TS),
        "datasets.loaders.haxby_volume_samples": lambda f: f(X),
        "datasets.loaders.nsd_trials": lambda f: f({}, 1, [1]),
        "datasets.loaders.nsd_shared_test_ids": lambda f: f({}, {1: 1}),
        "datasets.bids.bids_pipeline_steps": lambda f: f(["/x/sub-01_eeg.edf"], "load_eeg", "recording", group_by="x"),
        "features.connectivity.site_cross_validate": lambda f: f(object(), X, Y, SITES),
        "features.connectivity.cv_summary": lambda f: f([], []),
        "features.tokenizer.fit_union_tokenizer": lambda f: f([TRIALS]),
        "features.tokenizer.summarize_folds": lambda f: f([]),
        "features.tokenizer.cross_validate": lambda f: f(TRIALS, {"p": [["a"], ["b"]]}, object()),
        "features.tokenizer.TrainConfig": lambda f: f(batch_size=0),
        "decoders.braindive.VoxelTarget": lambda f: f([]),
        "decoders.decoding_samples": lambda f: f(object(), "sub-01"),
        "datasets.loaders.haxby_responses": lambda f: f(object()),
        "datasets.fmri.bids_subject": lambda f: f(3),
        "decoders.braindive.select_voxels": lambda f: f(X),
        "decoders.mindbridge.TrainingConfig": lambda f: f(n_epochs=0),
        "decoders.mindbridge.text_token_targets": lambda f: f([]),
        "encoders.incontext.BraInCoRLConfig": lambda f: f(n_heads=3, width=16),
        "encoders.incontext.MetaTrainingSubject": lambda f: f(X, X[:-1]),
        "encoders.incontext.context_scaling": lambda f: f(object(), X, X[:-1], X, X),
        "encoders.incontext.metatrain": lambda f: f(object(), []),
        "encoders.features.TorchHookFeatures": lambda f: f(object(), ["x"]).transform(IMGS),
        "pipeline.check_array": lambda f: f(np.full(3, "a"), "x", "(n,)", ndim=1),
        "pipeline.get_stage": lambda f: f("no_such_stage"),
        "pipeline.register_kind": lambda f: f("not an identifier", version=1, description="", reader="m:C"),
        "pipeline.load_config": lambda f: f({"stages": 3}),
        "pipeline.plan_run": lambda f: f({"stages": {}}),
        "pipeline.Input": lambda f: f("no kinds"),
        "features.tokenizer.TFMTokenizer": lambda f: f(n_codes=0),
        "decoders.mindbridge.predict_embeddings": lambda f: f(object(), X, "s1"),
        "decoders.mindbridge.train_mindbridge": lambda f: f(object(), {}, X),
        "decoders.mindbridge.reset_tune": lambda f: f(object(), "s1", X, Y, {}, X),
        "decoders.braindive.decode_roi_pattern": lambda f: f(object(), X, object()),
        "datasets.fmri.single_trial_betas": lambda f: f([], [], None, t_r=2.0),
        "datasets.simulate.noiseless_responses": lambda f: f(object(), 0, GRAY, Y[:2]),
        "decoders.brain_diffuser.BrainDiffuser": lambda f: f(None).fit(X, IMGS[:3]),
        "decoders.brain_diffuser.save_grid": lambda f: f(PATH + ".png", IMGS, [("s1", IMGS[:2])]),
        "decoders.braindive.DifferentiableEncoder": lambda f: f(None, X, X[0, :-1]),
        "decoders.braindive.BrainGuidedSampler": lambda f: f(object(), guidance_scale=-1.0).sample(None, None, 2),
        "decoders.braindive.differentiable_features": lambda f: f(object()),
        "decoders.generation.DiffusersGenerator": lambda f: f(object(), "no_such_kind"),
        "decoders.generation.ImageAutoencoder": lambda f: f(object(), image_size=0),
        "encoders.features.EfficientNetLite0Features": lambda f: f(layers=["x"]).transform(X),
        "encoders.features.OpenClipFeatures": lambda f: f().transform(X),
        "decoders.mindbridge.MindBridgeModel": lambda f: f({}, image_tokens=2, image_dim=4),
        "features.tokenizer.TFMEncoder": lambda f: f(n_codes=0),
        "pipeline.check": lambda f: f(False, "x", "> 0", -1),
        "datasets.kinds.EpochsData": lambda f: f(TRIALS[0], 100.0, ["a", "b"]),
        "datasets.kinds.Connectomes": lambda f: f(np.zeros((2, 3, 4)), {"subject": ["a", "b"], "site": ["s", "s"]}),
        "datasets.kinds.RoiTimeseries": lambda f: f({"a": np.zeros(5)}, {"subject": ["a"], "site": ["s"]}),
        "datasets.kinds.RDMs": lambda f: f(np.zeros((2, 3, 4)), {"subject": ["a", "b"]}),
        "datasets.kinds.StimulusFeatures": lambda f: f({"l": np.zeros((3, 2))}, "x", ["a", "b"]),
        "datasets.kinds.StimulusResponses": lambda f: f(None, np.array([0, 1, 5]), ["a", "b"], Y[:2], Y[2:3], {}),
        "datasets.kinds.SubjectResponses": lambda f: f(
            np.zeros(3), np.zeros((2, 4)), np.zeros(1), np.zeros((1, 4)), None
        ),
        "datasets.kinds.RawRecording": lambda f: f.load(PATH),
        "pipeline.save_arrays": lambda f: f(PATH + ".npz", x=np.array([object()])),
        "pipeline.save_json": lambda f: f(PATH + ".json", {"a": object()}),
        "pipeline.register_stage": lambda f: f(type("Nameless", (), {})),
        "pipeline.save_table": lambda f: f(PATH + ".tsv", {"a": [1, 2], "b": [1]}),
        "pipeline.save_array": lambda f: f(PATH + ".npy", np.array([object()])),
        "decoders.generation.img2img_loop": lambda f: f(None, None, None, strength=1.5, num_inference_steps=2),
    }


# ----------------------------------------------------------------------------------------------------------------
# Estimators: fit on malformed X, y of the wrong length, and (fitted) transform / predict with a mismatched axis.
@dataclass
class Est:
    make: Any
    X: Any
    y: Any = None
    fit_kwargs: dict = field(default_factory=dict)
    after: tuple | None = None  #: (method, axis): after a valid fit, ``method(X)`` with ``axis`` one shorter
    sfreq: bool = False  #: fit takes ``sfreq``: bad rates are cases too
    smoke: bool = True
    skip: tuple = ()  #: variants of X that are valid input here


def _tiny_clf(cls):
    return lambda: cls(
        tokenizer_config=TINY_TOKENIZER,
        encoder_config=dict(depth=1, n_heads=2),
        tokenizer_epochs=1,
        pretrain_epochs=1,
        finetune_epochs=1,
        batch_size=4,
        patience=0,
        seed=0,
    )


def _estimators() -> dict[str, Est]:
    C = "features.connectivity."
    tfm = P("features.tokenizer.TFMClassifier")
    windows = [P(C + "sliding_window_fc")(t, 10, step=5)[0] for t in TS[:3]]
    return {
        "baselines.MiniRocket": Est(
            lambda: P("baselines.MiniRocket")(n_features=84),
            TRIALS[:, :, :64],
            after=("transform", 1),
            skip=("ndim_minus",),  # (n_series, n_times): univariate series
        ),
        "baselines.MiniRocketClassifier": Est(
            lambda: P("baselines.MiniRocketClassifier")(n_features=84), TRIALS[:, :, :64], Y[:8], after=("predict", 1)
        ),
        "encoders.features.GaborPyramid": Est(
            lambda: P("encoders.features.GaborPyramid")(spatial_frequencies=(2.0,), n_orientations=2), GRAY
        ),
        C + "ConnectomeClassifier": Est(
            lambda: P(C + "ConnectomeClassifier")(inner_cv=2), TS[:, :, :], np.arange(6) % 2, after=("predict", 2)
        ),
        C + "FCStates": Est(lambda: P(C + "FCStates")(n_states=2, n_init=1), windows, smoke=True),
        C + "FunctionalConnectivity": Est(
            lambda: P(C + "FunctionalConnectivity")(kind="tangent"), TS, after=("transform", 2), skip=("ndim_minus",)
        ),  # ndim_minus: one subject's (n_times, n_rois) series, one matrix for TangentSpace
        C + "TangentSpace": Est(lambda: P(C + "TangentSpace")(), SPD, after=("transform", 1), skip=("ndim_minus",)),
        "features.tokenizer.TFMClassifier": Est(
            _tiny_clf(tfm), TRIALS, Y[:8], {"sfreq": 200.0}, sfreq=True, smoke=False
        ),
        "features.tokenizer.TFMEnsembleClassifier": Est(
            lambda: P("features.tokenizer.TFMEnsembleClassifier")(_tiny_clf(tfm)(), n_members=2),
            TRIALS,
            Y[:8],
            {"sfreq": 200.0},
            sfreq=True,
            smoke=False,
        ),
        "decoders.CategoryDecoder": Est(lambda: P("decoders.CategoryDecoder")(C=1.0), X, Y, after=("predict", 1)),
        "encoders.incontext.InContextEncoder": Est(
            lambda: P("encoders.incontext.InContextEncoder")(_tiny_incontext()), X, X[:, :3], after=("predict", 1)
        ),
        "decoders.metrics.FeatureExtractor": Est(  # ndim_minus: (n, H, W) is a grayscale batch
            lambda: P("decoders.metrics.FeatureExtractor")("pixels"), IMGS, skip=("ndim_minus",)
        ),
        "decoders.generation.ImageEmbedder": Est(
            lambda: P("decoders.generation.ImageEmbedder")(source="pixels", n_components=2, input_size=16),
            IMGS,
            skip=("ndim_minus",),
        ),
        "decoders.generation.EmbeddedLatentDiffusion": Est(
            lambda: P("decoders.generation.EmbeddedLatentDiffusion")(vae_steps=1, unet_steps=1),
            IMGS,
            smoke=False,
            skip=("ndim_minus",),  # a grayscale batch: valid, and it trains
        ),
    }


# ----------------------------------------------------------------------------------------------------------------
#: Public callables with no generated case, and why. Everything else must be in a table above.
EXEMPT = {
    # scikit-learn-validated estimators keep scikit-learn's own messages (``check_estimator`` requires them;
    # tests/test_encoders_ridge.py runs it).
    "encoders.RidgeCV": "scikit-learn's messages (check_estimator)",
    "encoders.BandedRidgeCV": "scikit-learn's messages (check_estimator)",
}
_CONTAINER = "data container that the package's own readers / simulators fill (no checks of its own)"
_MODULE = "torch building block: forward() gets inputs that the owning estimator / training loop has checked"
_ENGINE = "engine object or helper without data input (config errors: test_status_broken_configs, test_pipeline_engine)"
_NO_INPUT = "takes no data: loads packaged weights or returns a folder"
EXEMPT |= dict.fromkeys(
    [
        "datasets.loaders.HaxbyData",
        "datasets.loaders.NSDTrials",
        "datasets.simulate.RestingStateCohort",
        "datasets.simulate.SimulatedBold",
        "datasets.simulate.SimulatedRecording",
        "decoders.CategoryCVResult",
        "pipeline.report.Figure",
        "pipeline.report.Section",
        "pipeline.report.Table",
        "pipeline.report.Text",
    ],
    _CONTAINER,
)
EXEMPT |= dict.fromkeys(
    [
        "decoders.mindbridge.LowRankAdapter",
        "decoders.mindbridge.ResidualMLP",
        "encoders.incontext.BraInCoRL",
    ],
    _MODULE,
)
EXEMPT |= dict.fromkeys(
    [
        "pipeline." + n
        for n in (
            "Artifact",
            "ArtifactStore",
            "Output",
            "PretrainedMixin",
            "Upstream",
            "RunSummary",
            "Stage",
            "StageParams",
            "bad_value",
            "load_plugins",
            "parallel_map",
            "pretrained_types",
            "progress",
            "registered_kinds",
            "registered_stages",
            "resolve_cache",
            "runtime_field",
            "report.render_report",
            "cli.build_parser",
            "cli.main",
        )
    ],
    _ENGINE,
)
EXEMPT |= dict.fromkeys(
    [
        "datasets.dataset_dir",
        "datasets.get_data_home",
        "decoders.metrics.efficientnet_lite0",
        "decoders.mindbridge.load_efficientnet_lite0",
    ],
    _NO_INPUT,
)
EXEMPT |= {
    "encoders.backend.NumpyBackend": "array-namespace adapter used inside RidgeCV (scikit-learn validated)",
    "encoders.backend.TorchBackend": "array-namespace adapter used inside RidgeCV (scikit-learn validated)",
    "decoders.mindbridge.cycle_loss": "loss of two callables on a tensor from the model: internal to training",
    "decoders.generation.patch_dual_transformers": "patches a diffusers UNet in place: any module is valid",
}
