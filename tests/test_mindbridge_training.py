"""MindBridge training, reset-tuning, targets and stages (tiny shapes, seeded)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from neurocodec.decoders.metrics import two_way_identification
from neurocodec.decoders.mindbridge import (
    MindBridgeModel,
    TrainingConfig,
    predict_embeddings,
    reset_tune,
    text_token_targets,
    train_mindbridge,
)

ROOT = Path(__file__).resolve().parents[1]
ARCH = dict(n_pooled=32, hidden_dim=32, n_blocks=1, adapter_rank=4, embedder_dropout=0.1)
CFG = TrainingConfig(n_epochs=25, batch_size=20, max_lr=3e-3, mse_mult=5.0, seed=0)


def _problem(n_voxels=(40, 25, 33), n_images=60, seed=0):
    """Latent z -> targets (n_images, 2, 6); each subject's voxels are its own random map of z plus noise."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n_images, 8))
    image = (z @ rng.standard_normal((8, 12))).reshape(n_images, 2, 6).astype(np.float32)
    text = (z[:, :3] @ rng.standard_normal((3, 8))).reshape(n_images, 2, 4).astype(np.float32)
    subjects = {}
    for k, n in enumerate(n_voxels):
        ids = np.concatenate([np.arange(40), np.arange(40)])
        w = rng.standard_normal((8, n))
        subjects[f"sub-0{k + 1}"] = (
            (z[ids] @ w + 0.5 * rng.standard_normal((len(ids), n))).astype(np.float32),
            ids,
            (z[40:] @ w).astype(np.float32),
        )
    return image, text, subjects


def _model(subjects, image, text, seed=0):
    torch.manual_seed(seed)
    return MindBridgeModel({s: v[0].shape[1] for s, v in subjects.items()}, 2, 6, 2, 4, **ARCH)


def _score(model, name, subjects, image):
    return two_way_identification(image[40:], predict_embeddings(model, subjects[name][2], name)["image"])


def test_multi_subject_training_learns_held_out_images():
    image, text, subjects = _problem()
    model = _model(subjects, image, text)
    before = _score(model, "sub-01", subjects, image)
    history = train_mindbridge(model, {s: v[:2] for s, v in subjects.items()}, image, text, CFG)
    assert history[-1]["loss"] < history[0]["loss"]
    assert {"image_clip", "image_mse", "text_clip", "rec", "cyc"} <= set(history[-1])
    for name in subjects:
        assert _score(model, name, subjects, image) > 0.8
    assert before < 0.8


def test_reset_tuning_keeps_frozen_parameters_unchanged():
    image, text, subjects = _problem()
    sources = {s: subjects[s][:2] for s in ("sub-01", "sub-02")}
    model = _model(sources, image, text)
    train_mindbridge(model, sources, image, text, CFG.with_(n_epochs=3))
    frozen = {k: v.clone() for k, v in model.state_dict().items()}
    voxels, ids, _ = subjects["sub-03"]
    history = reset_tune(model, "sub-03", voxels[:16], ids[:16], sources, image, text, CFG.with_(n_epochs=15))
    assert len(history) == 15 and "cyc" in history[0]
    state = model.state_dict()
    for k, v in frozen.items():
        assert torch.equal(state[k], v), f"{k} changed during reset-tuning"
    new = [k for k in state if ".sub-03." in k]
    assert new and any(not torch.equal(state[k], torch.zeros_like(state[k])) for k in new if "up.weight" in k)
    assert all(p.requires_grad for p in model.parameters())  # restored after tuning
    assert model.subjects == ["sub-01", "sub-02", "sub-03"]


def test_reset_tuning_reinitialises_an_existing_subject():
    image, text, subjects = _problem()
    data = {s: subjects[s][:2] for s in ("sub-01", "sub-02")}
    model = _model(data, image, text)
    train_mindbridge(model, data, image, text, CFG.with_(n_epochs=2))
    with pytest.raises(ValueError, match="'subject'"):
        reset_tune(model, "sub-02", *data["sub-02"], sources=data, image_targets=image, text_targets=text)


def test_training_validates_inputs():
    image, text, subjects = _problem()
    data = {s: v[:2] for s, v in subjects.items()}
    model = _model(data, image, text)
    with pytest.raises(ValueError, match="'image_targets'"):
        train_mindbridge(model, data, image[:, :1], text, CFG)
    with pytest.raises(ValueError, match="'image_index'"):
        train_mindbridge(model, {"sub-01": (data["sub-01"][0], data["sub-01"][1] + 100)}, image, text, CFG)
    with pytest.raises(ValueError, match="'voxels'"):
        train_mindbridge(model, {"sub-01": (data["sub-02"][0], data["sub-02"][1])}, image, text, CFG)
    with pytest.raises(ValueError, match="'text_targets'"):
        train_mindbridge(model, data, image, text[:, :1], CFG)


def test_text_tokens_are_deterministic_and_word_level():
    a = text_token_targets(["a cat", "a dog", "a cat"], n_tokens=5, dim=16, seed=0)
    assert a.shape == (3, 5, 16) and a.dtype == np.float32
    np.testing.assert_array_equal(a[0], a[2])
    unit = a / np.linalg.norm(a, axis=-1, keepdims=True)  # texts are scaled by their own pooled norm
    np.testing.assert_allclose(unit[0, :2], unit[1, :2], rtol=1e-5)  # shared "<start>" and "a"
    assert abs(float(unit[0, 2] @ unit[1, 2])) < 0.9
    np.testing.assert_array_equal(a, text_token_targets(["a cat", "a dog", "a cat"], n_tokens=5, dim=16, seed=0))


@pytest.mark.slow
def test_benchmark_quick_runs():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "cross_subject.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    for key in ("multi_subject_two_way", "per_subject_two_way", "reset_tuning_two_way", "subject_specific_two_way"):
        assert key in result
    assert 0.0 <= result["reset_tuning_two_way"] <= 1.0
    assert set(result["multi_subject_two_way"]) == {"sub-01", "sub-02", "sub-03", "sub-04", "mean"}


class _FakeGenerator:
    """Images are constant fields; their embedding is the conditioning plus seed-dependent noise."""

    embedding_shape = (6,)

    def generate(self, embeddings, seed=0, **kwargs):
        rng = np.random.default_rng(seed)
        noisy = embeddings + rng.normal(scale=1.0, size=embeddings.shape)
        return np.repeat(noisy[:, None, None, :3], 4, axis=1).repeat(4, axis=2), noisy

    def embed_images(self, images):
        return self._last[: len(images)]


def test_best_of_n_ranks_by_predicted_embedding_only():
    from neurocodec.decoders.mindbridge._generation import reconstruct_images

    class Gen(_FakeGenerator):
        def generate(self, embeddings, seed=0, **kwargs):
            images, self._last = super().generate(embeddings, seed)
            return images

    pred = np.random.default_rng(0).standard_normal((5, 1, 6)).astype(np.float32)
    out = reconstruct_images(Gen(), pred, n_samples=3, seed=10, guidance_scale=2.0)
    assert out["images"].shape == (5, 4, 4, 3) and out["scores"].shape == (5, 3)
    np.testing.assert_array_equal(out["chosen"], out["scores"].argmax(1))
    for i, k in enumerate(out["chosen"]):  # the kept image is candidate k of image i
        _, noisy = _FakeGenerator().generate(pred.reshape(5, 6), seed=10 + k)
        np.testing.assert_allclose(out["images"][i, 0, 0], noisy[i, :3], rtol=1e-6)
    with pytest.raises(ValueError, match="'image_embeddings'"):
        reconstruct_images(Gen(), pred[:, :, :4])


def test_subsample_trials():
    from neurocodec.decoders.mindbridge.stages import subsample_trials

    used = subsample_trials(400, 0.1, seed=0)
    assert len(used) == 40 and len(np.unique(used)) == 40 and np.all(np.diff(used) > 0)
    assert len(subsample_trials(5, 0.01, seed=0)) == 2


@pytest.mark.slow
def test_stages_train_reset_tune_and_reconstruct(tmp_path):
    from neurocodec.pipeline import ArtifactStore, load_json, run_pipeline

    config = {
        "stages": {
            "exp": {
                "stage": "simulate_visual_fmri",
                "params": {"n_subjects": 3, "n_voxels": [40, 55, 70], "n_train_images": 30, "n_test_images": 8},
            },
            "gen": {
                "stage": "fit_decoder",
                "inputs": {"experiment": "exp"},
                "params": {
                    "image_size": 32,
                    "vae_channels": [8, 16],
                    "unet_channels": [8, 16],
                    "embed_dim": 8,
                    "embedding": "pixels",
                    "vae_steps": 2,
                    "unet_steps": 2,
                    "batch_size": 8,
                    "cv": 2,
                    "alphas": [1.0, 100.0],
                },
            },
            "targets": {
                "stage": "mindbridge_targets",
                "params": {"text_tokens": 4, "text_dim": 8},
                "inputs": {"experiment": "exp", "generator": "gen"},
            },
            "train": {
                "stage": "mindbridge_train",
                "inputs": {"experiment": "exp", "targets": "targets"},
                "params": {
                    "exclude": ["sub-03"],
                    "n_epochs": 2,
                    "n_pooled": 16,
                    "hidden_dim": 16,
                    "n_blocks": 1,
                    "adapter_rank": 4,
                },
            },
            "tune": {
                "stage": "mindbridge_reset_tune",
                "inputs": {"experiment": "exp", "targets": "targets", "model": "train"},
                "params": {"subject": "sub-03", "data_fraction": 0.2, "n_epochs": 2},
            },
            "recon": {
                "stage": "mindbridge_reconstruct",
                "params": {"subjects": ["sub-03"], "n_samples": 2, "num_inference_steps": 2},
                "inputs": {"experiment": "exp", "targets": "targets", "model": "tune", "generator": "gen"},
            },
        }
    }
    summary = run_pipeline(config, cache=tmp_path / "cache", show_progress=False, report=False)
    assert summary.ok, summary.table()
    store = ArtifactStore(tmp_path / "cache")
    arts = {r.step_id: store.open(r.stage, r.key).path for r in summary.results}
    train_scores = load_json(arts["train"] / "scores.json")
    assert set(train_scores["two_way"]) == {"sub-01", "sub-02"}
    tune_scores = load_json(arts["tune"] / "scores.json")
    assert set(tune_scores["two_way"]) == {"sub-03"}
    assert len(np.load(arts["tune"] / "trials.npy")) == 6
    model = MindBridgeModel.from_pretrained(arts["tune"] / "model")
    assert model.subjects == ["sub-01", "sub-02", "sub-03"]
    with np.load(arts["recon"] / "reconstructions.npz") as rec:
        assert rec["sub-03_final"].shape == rec["true"].shape == (8, 32, 32, 3)
        assert set(np.unique(rec["sub-03_chosen"])) <= {0, 1}
    recon_scores = load_json(arts["recon"] / "scores.json")
    assert {"two_way_embedding", "pixcorr", "ssim"} <= set(recon_scores["sub-03"])
