"""Tiny example of every registered stage, for the generated kind-contract test (tests/test_kind_contract.py).

``EXAMPLES[stage] = {"params": {...}, "paths": {input: builder(root) -> path}, "wire": [optional inputs to wire]}``
(``"same_stimuli": True``: the default producers of its other inputs read the forced upstream step too, by kind;
``"kinds": {kind: {...}}``: the example of a producer whose output kind depends on its params, for that kind;
``"for_producer": {stage: {...}}``: params of a consumer when fed by that producer, e.g. protocols naming its labels;
``"replaces": {input: [path inputs]}``: path inputs of the example left out when ``input`` is wired).
Required artifact inputs are wired to the default producer of their kind (``DEFAULT_PRODUCER``). A new stage
needs an entry here: the contract test fails for a stage without one.
"""

from __future__ import annotations

from pathlib import Path

VISUAL = {"n_subjects": 2, "n_voxels": [30, 30], "image_size": 16, "n_train_images": 24, "n_test_images": 6, "seed": 0}
DECODER = {
    "image_size": 16,
    "vae_channels": [8, 16],
    "unet_channels": [16, 32],
    "embed_dim": 8,
    "vae_steps": 2,
    "unet_steps": 2,
    "batch_size": 8,
    "num_inference_steps": 2,
    "embedding": "pixels",
    "cv": 2,
}


def _user_files(root: Path) -> dict[str, Path]:
    import numpy as np
    import pandas as pd

    folder = root / "user_experiment"
    if not folder.is_dir():
        folder.mkdir(parents=True)
        rng = np.random.default_rng(0)
        np.save(folder / "images.npy", rng.integers(0, 255, (14, 16, 16, 3), dtype=np.uint8))
        ids = np.concatenate([np.arange(14), np.arange(4), np.arange(4)])
        np.save(folder / "betas.npy", rng.standard_normal((len(ids), 12)).astype(np.float32))
        pd.DataFrame(
            {"image": ids, "split": np.where(ids < 4, "test", "train"), "category": np.where(ids % 2, "a", "b")}
        ).to_csv(folder / "trials.tsv", sep="\t", index=False)
    return {"images": folder / "images.npy", "betas": folder / "betas.npy", "trials": folder / "trials.tsv"}


def _nsd_expdesign(root: Path) -> Path:
    import shutil

    from test_ingest_datasets import _fake_nsd

    nsd = root / "nsd_release"
    if not nsd.is_dir():
        _fake_nsd(nsd, seed=1)
        for part in ("nsddata/ppdata", "nsddata_betas/ppdata"):
            shutil.copytree(nsd / part / "subj01", nsd / part / "subj02")
    return nsd / "nsddata/experiments/nsd/nsd_expdesign.mat"


def _bonn(root: Path) -> Path:
    from test_ingest_bonn import _fake_bonn

    return _fake_bonn(root / "bonn_eeg", n=4)


def _fmri(name):
    import fmri_fixtures

    return getattr(fmri_fixtures, name)


def _release(name):
    import loader_fixtures

    return getattr(loader_fixtures, name)


EXAMPLES = {
    "simulate_visual_fmri": {"params": VISUAL},
    "fmri_single_trial_betas": {
        "params": {"method": "lsa", "t_r": 2.0},
        "paths": {k: (lambda r, k=k: _fmri("event_design")(r)[k]) for k in ("bold", "mask", "stimuli")},
    },
    "load_haxby": {"paths": {"root": lambda r: _fmri("haxby_release")(r)}},
    "load_kriegeskorte92": {"paths": {"root": lambda r: _fmri("kriegeskorte_release")(r)}},
    "rsa": {"same_stimuli": True},
    "load_bonn": {
        "params": {"sets": ["A", "E"], "n_windows": 4},
        "paths": {"root": lambda r: _bonn(r)},
    },
    "decode_categories": {"params": {"C": [0.1, 1.0], "n_folds": 3}},
    "load_fmri": {
        "params": {"t_r": 2.0},
        "paths": {k: (lambda r, k=k: _fmri("atlas_runs")(r)[k]) for k in ("bold", "atlas", "labels")},
        "replaces": {"source": ["bold"]},
    },
    "bids_inputs": {"params": {"suffixes": ["bold"]}, "paths": {"root": lambda r: _release("bids_fmri")(r)}},
    "load_abide": {
        "paths": {"root": lambda r: _release("abide_pcp_release")(r)},
        "kinds": {
            "connectomes": {
                "params": {"data": "matrices"},
                "paths": {"root": lambda r: _release("abide_fc_release")(r)},
            }
        },
    },
    "load_uea_eeg": {
        "params": {"name": "TinySelfRegulation", "sfreq": 128.0},
        "paths": {"root": lambda r: _release("uea_ts_problem")(r)},
    },
    "load_sleep_edf": {"paths": {"root": lambda r: _release("sleep_edf_release")(r)}},
    "load_stimulus_responses": {
        "paths": {k: (lambda r, k=k: _user_files(r)[k]) for k in ("images", "betas", "trials")}
    },
    "load_nsd": {
        "params": {"subjects": [1, 2], "sessions": [1, 2], "image_size": 16, "save_captions": True},
        "paths": {"expdesign": _nsd_expdesign},
    },
    "features": {
        "params": {"extractor": "gabor", "spatial_frequencies": [2.0, 4.0], "n_orientations": 2},
        "wire": ["experiment"],
    },
    "fit_encoder": {"params": {"cv": 2, "alphas": [1.0, 100.0]}},
    "score_encoder": {},
    "fit_decoder": {"params": DECODER, "subject_param": "subjects"},
    "reconstruct": {"params": {"num_inference_steps": 2}},
    "evaluate_reconstruction": {"params": {"features": ["pixels"]}},
    "mindbridge_targets": {"params": {"text_tokens": 0}, "wire": ["generator"]},
    "mindbridge_train": {"params": {"n_epochs": 1, "batch_size": 8}},
    "mindbridge_reset_tune": {"params": {"n_epochs": 1, "batch_size": 8}, "subject_param": "subject"},
    "mindbridge_reconstruct": {"params": {"n_samples": 1, "num_inference_steps": 2}, "wire": ["generator"]},
    "metatrain_incontext": {
        "params": {
            "n_components": 4,
            "preset": "small",
            "n_steps": 2,
            "batch_voxels": 2,
            "min_context": 4,
            "max_context": 8,
            "n_query": 4,
            "val_every": 1,
        }
    },
    "fit_incontext": {"params": {"n_context": 8, "context_sizes": [4, 8], "n_draws": 1, "cv": 2}},
    "synthesize_preferred": {
        "params": {"targets": [{"name": "first", "voxels": [0, 1, 2]}], "n_images": 1, "num_inference_steps": 2},
        "subject_param": "subject",
        "wire": ["decoder"],
    },
    "decode_roi_pattern": {
        "params": {"targets": [{"name": "first", "voxels": [0, 1, 2]}], "n_images": 1},
        "subject_param": "subject",
    },
    "simulate_rest_fmri": {
        "params": {"n_subjects": 12, "n_rois": 8, "n_networks": 2, "n_sites": 2, "n_differing_edges": 4, "seed": 0}
    },
    "connectivity": {},
    "connectivity_group": {"params": {"test_fraction": 0.25}},
    "graph_features": {"params": {"density": 0.3}},
    "predict_phenotype": {"params": {"C": [1.0]}},
    "dynamic_connectivity": {"params": {"window_s": 40.0, "step": 3, "n_states": 2}},
    "simulate_eeg": {"params": {"n_chans": 4, "sfreq": 128.0, "duration": 20.0, "motifs": ["alpha_burst"], "seed": 0}},
    "load_eeg": {"params": {"l_freq": 1.0}, "wire": ["raw"]},
    "epoch_eeg": {"params": {"window": 2.0, "label_windows": True}},
    "eeg_connectivity": {"params": {"methods": ["coh", "aec"], "bands": {"alpha": [8.0, 12.0]}, "by_label": False}},
    "tfm_tokenize": {
        "params": {
            "test_fraction": 0.3,
            "n_codes": 16,
            "emb_size": 16,
            "n_heads": 2,
            "freq_depth": 1,
            "temporal_depth": 1,
            "decoder_depth": 1,
            "epochs": 1,
            "batch_size": 16,
        }
    },
    "tfm_train_tokenizer": {
        "params": {
            "n_codes": 16,
            "emb_size": 16,
            "n_heads": 2,
            "freq_depth": 1,
            "temporal_depth": 1,
            "decoder_depth": 1,
            "epochs": 1,
            "batch_size": 16,
            "max_signals_per_epoch": 32,
        }
    },
    "tfm_cross_validate": {
        "params": {
            "protocols": {"motif": [["alpha_burst"], ["background"]]},
            "n_folds": 2,
            "group": "epoch",
            "n_codes": 16,
            "emb_size": 16,
            "n_heads": 2,
            "freq_depth": 1,
            "temporal_depth": 1,
            "decoder_depth": 1,
            "depth": 1,
            "tokenizer_epochs": 1,
            "pretrain_epochs": 0,
            "finetune_epochs": 1,
            "batch_size": 8,
        },
        "for_producer": {
            "load_bonn": {"protocols": {"A_vs_E": [["A"], ["E"]]}, "group": "segment"},
            "load_uea_eeg": {"protocols": {"scp": [["negativity"], ["positivity"]]}, "group": "recording"},
            # two nights: each training fold is one recording, so no whole one is left for early stopping
            "load_sleep_edf": {"protocols": {"W_vs_N2": [["W"], ["N2"]]}, "group": "recording", "val_fraction": 0.0},
        },
    },
    "tfm_pretrain": {"params": {"depth": 1, "epochs": 1, "batch_size": 8}},
    "tfm_finetune": {"params": {"epochs": 1, "batch_size": 8}},
    "tfm_evaluate": {},
}

#: The producer a consumer's other inputs are wired to, per kind.
DEFAULT_PRODUCER = {
    "stimulus_responses": "simulate_visual_fmri",
    "stimulus_features": "features",
    "voxel_encoders": "fit_encoder",
    "brain_diffuser": "fit_decoder",
    "reconstructions": "reconstruct",
    "embedding_targets": "mindbridge_targets",
    "mindbridge_model": "mindbridge_train",
    "incontext_model": "metatrain_incontext",
    "roi_timeseries": "simulate_rest_fmri",
    "connectomes": "connectivity",
    "raw": "simulate_eeg",
    "rdms": "load_kriegeskorte92",
    "epochs": "epoch_eeg",
    "tfm_tokens": "tfm_tokenize",
    "tfm_tokenizer": "tfm_tokenize",
    "tfm_encoder": "tfm_pretrain",
    "tfm_classifier": "tfm_finetune",
}
