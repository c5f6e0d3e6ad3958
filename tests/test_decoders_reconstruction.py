"""Brain-Diffuser with the offline embedded generator: model logic, persistence, stages, benchmark smoke run."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from neurocodec.decoders.brain_diffuser import BrainDiffuser
from neurocodec.decoders.generation import EmbeddedLatentDiffusion
from neurocodec.pipeline import ArtifactStore, load_arrays, load_json, run_pipeline

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(
    image_size=16,
    vae_channels=(8, 16),
    unet_channels=(16, 32),
    embed_dim=6,
    embedding="pixels",
    vae_steps=3,
    unet_steps=3,
    batch_size=8,
)


def _images(n, size=16, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] / size
    freq = rng.uniform(1, 4, (n, 1, 1))
    img = 0.5 + 0.5 * np.sin(2 * np.pi * freq * (xx * np.cos(freq) + yy * np.sin(freq)))
    return np.repeat(img[..., None], 3, -1) * rng.uniform(0.3, 1, (n, 1, 1, 3))


@pytest.fixture(scope="module")
def tiny_generator():
    return EmbeddedLatentDiffusion(**TINY).fit(_images(24))


def test_embedded_generator_api_and_roundtrip(tiny_generator, tmp_path):
    gen = tiny_generator
    imgs = _images(4, seed=1)
    emb = gen.embed_images(imgs)
    assert emb.shape == (4, 6) and gen.embedding_shape == (6,)
    lat = gen.autoencoder.encode(imgs)
    assert lat.shape == (4, 4, 8, 8)
    out = gen.generate(emb, init_images=imgs, strength=0.75, num_inference_steps=4, guidance_scale=2.0, seed=3)
    assert out.shape == (4, 16, 16, 3) and 0 <= out.min() and out.max() <= 1
    assert len(gen.losses_["vae"]) == 3 and len(gen.losses_["unet"]) == 3
    loaded = EmbeddedLatentDiffusion.from_pretrained(gen.save_pretrained(tmp_path / "g"))
    np.testing.assert_allclose(loaded.embed_images(imgs), emb, rtol=1e-5, atol=1e-5)
    again = loaded.generate(emb, init_images=imgs, strength=0.75, num_inference_steps=4, guidance_scale=2.0, seed=3)
    np.testing.assert_allclose(again, out, atol=1e-5)
    # low strength keeps the init image's latent; full strength ignores it
    near = gen.generate(emb, init_images=imgs, strength=0.05, num_inference_steps=20, guidance_scale=1.0)
    dec = gen.autoencoder.decode(lat)
    assert np.abs(near - dec).mean() < np.abs(gen.generate(emb, strength=1.0, num_inference_steps=4) - dec).mean()
    with pytest.raises(ValueError, match="'strength'"):
        gen.generate(emb, init_images=imgs, strength=0.0)
    with pytest.raises(ValueError, match="'embeddings'"):
        gen.generate(np.zeros((4, 5)))


def test_spatial_token_embedding(tmp_path):
    """spatial_grid=g conditions on 1 pooled + g*g EfficientNet-Lite0 cell tokens; decoder and persistence follow."""
    imgs = _images(24)
    gen = EmbeddedLatentDiffusion(**dict(TINY, embedding="effnet_lite0", spatial_grid=2)).fit(imgs)
    emb = gen.embed_images(imgs[:4])
    assert emb.shape == (4, 5, 6) and gen.embedding_shape == (5, 6)
    whole = gen.embed_images(imgs)  # whitened on the fit images: unit variance per token dimension
    np.testing.assert_allclose(whole[:, 0].std(0, ddof=1), 1.0, rtol=1e-3)
    np.testing.assert_allclose(whole[:, 1:].reshape(-1, 6).std(0, ddof=1), 1.0, rtol=1e-3)
    # the cell tokens (row-major after the pooled one) say where structure is: a patch moved from the top-left to the
    # bottom-right quadrant moves its token with it
    moved = np.full((2, 16, 16, 3), 0.5)
    moved[0, :8, :8], moved[1, 8:, 8:] = imgs[0, :8, :8], imgs[0, :8, :8]
    top_left, bottom_right = gen.embed_images(moved)[:, [1, 4]].transpose(1, 0, 2)
    assert np.linalg.norm(top_left[0] - bottom_right[1]) < 0.5 * np.linalg.norm(top_left[0] - top_left[1])
    assert np.linalg.norm(bottom_right[0] - top_left[1]) < np.linalg.norm(
        bottom_right[0] - bottom_right[1]
    )  # blank cells
    out = gen.generate(emb, init_images=imgs[:4], strength=0.5, num_inference_steps=2, guidance_scale=2.0)
    assert out.shape == (4, 16, 16, 3)
    loaded = EmbeddedLatentDiffusion.from_pretrained(gen.save_pretrained(tmp_path / "g"))
    assert loaded.spatial_grid == 2
    np.testing.assert_allclose(loaded.embed_images(imgs[:4]), emb, rtol=1e-5, atol=1e-5)
    X = np.random.default_rng(0).standard_normal((24, 20))
    dec = BrainDiffuser(gen, num_inference_steps=2, n_samples=2, rank_weight=0.5).fit(X, imgs)
    assert dec.predict_embeddings(X[:3])["image"].shape == (3, 5, 6)
    assert dec.reconstruct(X[:3])["final"].shape == (3, 16, 16, 3)
    with pytest.raises(ValueError, match="'embeddings'"):
        gen.generate(np.zeros((4, 6)))
    with pytest.raises(ValueError, match="'spatial_grid'"):
        EmbeddedLatentDiffusion(**dict(TINY, spatial_grid=2)).fit(imgs)  # pixel embedding has no feature map


def test_brain_diffuser_recovers_linear_latents(tiny_generator, tmp_path):
    rng = np.random.default_rng(0)
    imgs = _images(400, seed=2)
    lat = tiny_generator.autoencoder.encode(imgs).reshape(400, -1)
    emb = tiny_generator.embed_images(imgs)
    W = rng.standard_normal((lat.shape[1] + emb.shape[1], 300))
    X = np.hstack([lat, emb]) @ W + 0.1 * rng.standard_normal((400, 300)) + 5.0
    dec = BrainDiffuser(tiny_generator, alphas=[0.1, 1.0, 10.0, 100.0], cv=3, num_inference_steps=4).fit(
        X[:340], imgs[:340]
    )
    pred = dec.predict_latents(X[340:]).reshape(60, -1)
    r = [np.corrcoef(pred[:, j], lat[340:, j])[0, 1] for j in range(lat.shape[1]) if lat[340:, j].std() > 1e-6]
    assert np.median(r) > 0.9
    # renormalisation: the predicted batch takes the training statistics
    np.testing.assert_allclose(pred.std(0), lat[:340].std(0), rtol=1e-3, atol=1e-4)
    out = dec.reconstruct(X[340:344])
    assert out["stage1"].shape == out["final"].shape == (4, 16, 16, 3)
    loaded = BrainDiffuser.from_pretrained(dec.save_pretrained(tmp_path / "d"), generator=tiny_generator)
    np.testing.assert_allclose(
        loaded.predict_embeddings(X[340:])["image"], dec.predict_embeddings(X[340:])["image"], rtol=1e-5
    )
    with pytest.raises(ValueError, match="'X'"):
        dec.predict_latents(X[:, :10])


def test_low_level_pixels_stage1(tiny_generator, tmp_path):
    from neurocodec.decoders._images import resize_images

    rng = np.random.default_rng(5)
    imgs = _images(300, seed=5)
    coarse = resize_images(imgs, 8).reshape(300, -1)
    X = coarse @ rng.standard_normal((coarse.shape[1], 150)) + 0.05 * rng.standard_normal((300, 150))
    dec = BrainDiffuser(
        tiny_generator, alphas=[0.01, 1.0, 100.0], cv=3, low_level="pixels", low_level_size=8, num_inference_steps=2
    ).fit(X[:250], imgs[:250])
    s1 = dec.predict_stage1(X[250:])
    assert s1.shape == (50, 16, 16, 3) and dec.low_level_ == "pixels"
    r = np.corrcoef(resize_images(s1, 8).reshape(-1), coarse[250:].reshape(-1))[0, 1]
    assert r > 0.9
    assert dec.predict_latents(X[250:252]).shape[0] == 2
    loaded = BrainDiffuser.from_pretrained(dec.save_pretrained(tmp_path / "p"), generator=tiny_generator)
    np.testing.assert_allclose(loaded.predict_stage1(X[250:]), s1, atol=1e-5)
    with pytest.raises(ValueError, match="'low_level'"):
        BrainDiffuser(tiny_generator, low_level="voxels").fit(X[:250], imgs[:250])


class _CountingGenerator:
    """Generator double whose k-th seed returns images whose embedding is seed-dependent."""

    def __init__(self, base):
        self.base = base
        self.autoencoder = base.autoencoder

    def embed_images(self, images):
        return np.asarray(images).reshape(len(images), -1)[:, :6]

    def generate(self, embeddings, init_images=None, seed=0, **kw):
        rng = np.random.default_rng(seed)
        out = np.empty((len(embeddings), 16, 16, 3))
        for i, e in enumerate(embeddings):  # seed 2 reproduces the embedding exactly, others are noise
            flat = rng.random(16 * 16 * 3)
            if seed == 2:
                flat[:6] = e
            out[i] = flat.reshape(16, 16, 3)
        return out


def test_best_of_n_ranks_by_predicted_embedding(tiny_generator):
    rng = np.random.default_rng(1)
    imgs = _images(30, seed=3)
    X = rng.standard_normal((30, 40))
    gen = _CountingGenerator(tiny_generator)
    dec = BrainDiffuser(gen, alphas=[1.0], cv=2).fit(X, imgs)
    pred = dec.predict_embeddings(X[:5])["image"]
    best = dec.reconstruct(X[:5], n_samples=4)["final"]
    np.testing.assert_allclose(best.reshape(5, -1)[:, :6], pred, rtol=1e-6)


def _latent_fmri(generator, image_seed, seed, n=200, n_voxels=120):
    """Images and 'fMRI' that is a noisy linear map of their autoencoder latents."""
    rng = np.random.default_rng(seed)
    imgs = _images(n, seed=image_seed)
    lat = generator.autoencoder.encode(imgs).reshape(n, -1)
    return imgs, lat @ rng.standard_normal((lat.shape[1], n_voxels)) + 0.05 * rng.standard_normal((n, n_voxels))


class _StrengthGenerator(_CountingGenerator):
    """Generator double: low strength returns the init (stage-1) images, high strength noise."""

    def generate(self, embeddings, init_images=None, strength=0.75, seed=0, **kw):
        if strength < 0.5:
            return np.asarray(init_images, dtype=float)
        return np.random.default_rng(seed).random((len(embeddings), 16, 16, 3))


def test_strength_chosen_on_training_validation_split(tiny_generator, tmp_path):
    imgs, X = _latent_fmri(tiny_generator, image_seed=4, seed=0)
    gen = _StrengthGenerator(tiny_generator)
    dec = BrainDiffuser(
        gen, alphas=[0.1, 10.0], cv=3, strength=[0.9, 0.2], guidance_scale=[1.0, 2.0], validation_fraction=0.2
    ).fit(X, imgs)
    assert len(dec.validation_) == 4 and {r["strength"] for r in dec.validation_} == {0.9, 0.2}
    by = {(r["strength"], r["guidance_scale"]): r for r in dec.validation_}
    assert by[(0.2, 1.0)]["two_way_pixels"] > by[(0.9, 1.0)]["two_way_pixels"] + 0.1  # stage 1 beats noise
    assert dec.strength_ == 0.2 and dec.guidance_scale_ in (1.0, 2.0)
    np.testing.assert_allclose(dec.reconstruct(X[:3])["final"], dec.reconstruct(X[:3])["stage1"])
    loaded = BrainDiffuser.from_pretrained(dec.save_pretrained(tmp_path / "d"), generator=gen)
    assert loaded.strength_ == 0.2 and loaded.validation_ == dec.validation_
    assert BrainDiffuser.from_pretrained(tmp_path / "d", generator=gen, strength=0.9).reconstruct(X[:3])[
        "final"
    ].shape == (3, 16, 16, 3)
    with pytest.raises(ValueError, match="'validation_fraction'"):
        BrainDiffuser(gen, strength=[0.2, 0.9], validation_fraction=0.001).fit(X, imgs)
    with pytest.raises(ValueError, match="'strength'"):
        BrainDiffuser(gen, strength=[0.2, 1.5]).fit(X, imgs)


class _RankGenerator(_CountingGenerator):
    """Generator double: seed 1 returns the init (stage-1) images, seed 2 the predicted embedding, others noise."""

    def generate(self, embeddings, init_images=None, seed=0, **kw):
        if seed == 1:
            return np.asarray(init_images, dtype=float)
        return super().generate(embeddings, init_images=init_images, seed=seed, **kw)


def test_rank_weight_stage1_agreement_and_validation_splits(tiny_generator, tmp_path):
    imgs, X = _latent_fmri(tiny_generator, image_seed=6, seed=2)
    gen = _RankGenerator(tiny_generator)
    dec = BrainDiffuser(gen, alphas=[0.1, 10.0], cv=3, n_samples=4, rank_weight=0.0).fit(X, imgs)
    by_embedding = dec.reconstruct(X[:5])
    np.testing.assert_allclose(
        by_embedding["final"].reshape(5, -1)[:, :6], dec.predict_embeddings(X[:5])["image"], rtol=1e-6
    )
    dec.rank_weight = 1.0  # agreement with the (predicted) stage-1 image only: the init images win
    np.testing.assert_allclose(dec.reconstruct(X[:5])["final"], by_embedding["stage1"])
    # candidates: the stage-1-faithful sample identifies far better than the noisy embedding match
    dec = BrainDiffuser(
        gen,
        alphas=[0.1, 10.0],
        cv=3,
        n_samples=4,
        rank_weight=[0.0, 1.0],
        strength=0.5,
        validation_fraction=0.2,
        validation_splits=3,
        validation_criterion="min",
    ).fit(X, imgs)
    assert len(dec.validation_) == 2 and dec.rank_weight_ == 1.0
    by = {r["rank_weight"]: r for r in dec.validation_}
    assert by[1.0]["two_way_pixels"] > by[0.0]["two_way_pixels"] + 0.1
    loaded = BrainDiffuser.from_pretrained(dec.save_pretrained(tmp_path / "r"), generator=gen)
    assert loaded.rank_weight_ == 1.0 and loaded.validation_criterion == "min" and loaded.validation_splits == 3
    np.testing.assert_allclose(loaded.reconstruct(X[:3])["final"], dec.reconstruct(X[:3])["final"], atol=1e-6)
    row = {"two_way_pixels": 0.95, "two_way_gabor": 0.8}
    assert dec._score(row) == 0.8 and BrainDiffuser(gen)._score(row) == pytest.approx(0.875)
    with pytest.raises(ValueError, match="'validation_fraction'"):  # 3 disjoint splits of 40% do not fit
        BrainDiffuser(gen, strength=[0.2, 0.9], validation_fraction=0.4, validation_splits=3).fit(X, imgs)
    with pytest.raises(ValueError, match="'rank_weight'"):
        BrainDiffuser(gen, rank_weight=[0.0, 1.5]).fit(X, imgs)


@pytest.mark.slow
def test_stages_end_to_end(tmp_path):
    cfg = {
        "stages": {
            "sim": {
                "stage": "simulate_visual_fmri",
                "params": {
                    "n_subjects": 2,
                    "n_voxels": [60, 70],
                    "image_size": 16,
                    "n_train_images": 40,
                    "n_test_images": 8,
                    "seed": 0,
                },
            },
            "dec": {
                "stage": "fit_decoder",
                "inputs": {"experiment": "sim"},
                "params": {
                    "subjects": ["sub-01", "sub-02"],
                    "image_size": 16,
                    "vae_channels": [8, 16],
                    "unet_channels": [16, 32],
                    "embed_dim": 6,
                    "embedding": "pixels",
                    "vae_steps": 2,
                    "unet_steps": 2,
                    "batch_size": 8,
                    "alphas": [1.0, 100.0],
                    "cv": 2,
                    "strength": [0.5, 0.75],
                    "num_inference_steps": 2,
                    "validation_fraction": 0.25,
                },
            },
            "rec": {
                "stage": "reconstruct",
                "inputs": {"decoder": "dec", "experiment": "sim"},
                "params": {"n_samples": 2},
            },
            "ev": {
                "stage": "evaluate_reconstruction",
                "inputs": {"reconstructions": "rec"},
                "params": {"features": ["pixels", "gabor", "swav"]},
            },
        }
    }
    summary = run_pipeline(cfg, cache=tmp_path, show_progress=False, report=False)
    assert summary.ok
    store = ArtifactStore(tmp_path)

    def art(stage):
        (key,) = [p.name for p in (tmp_path / stage).iterdir() if not p.name.startswith(".")]
        return store.open(stage, key)

    fit = load_json(art("fit_decoder").file("summary"))
    assert set(fit["subjects"]) == {"sub-01", "sub-02"} and fit["subjects"]["sub-02"]["n_voxels"] == 70
    assert fit["subjects"]["sub-01"]["strength"] in (0.5, 0.75) and len(fit["subjects"]["sub-01"]["validation"]) == 2
    rec = load_arrays(art("reconstruct").file("reconstructions"))
    assert rec["true"].shape == rec["sub-02_final"].shape == (8, 16, 16, 3) and rec["true"].dtype == np.uint8
    assert (art("reconstruct").file("grid")).stat().st_size > 0
    metrics = load_json(art("evaluate_reconstruction").file("metrics"))
    assert {"pixcorr", "ssim", "two_way_pixels", "two_way_gabor"} <= set(metrics["sub-01"]["final"])
    assert "distance_swav" not in metrics["mean"]["final"]  # no SwAV weights offline: skipped, not faked
    from neurocodec.decoders.brain_diffuser.stages import EvaluateReconstruction, Reconstruct

    assert (
        Reconstruct.report(art("reconstruct")).blocks
        and EvaluateReconstruction.report(art("evaluate_reconstruction")).blocks
    )

    spatial = json.loads(
        json.dumps(cfg)
    )  # spatial tokens reach the generator the stage saves, and reconstruct uses them
    spatial["stages"]["dec"]["params"] |= {"subjects": ["sub-01"], "embedding": "effnet_lite0", "spatial_grid": 2}
    del spatial["stages"]["ev"]
    assert run_pipeline(spatial, cache=tmp_path / "spatial", show_progress=False, report=False).ok
    (gen_config,) = (tmp_path / "spatial").glob("fit_decoder/*/generator/config.json")
    assert json.loads(gen_config.read_text())["config"]["spatial_grid"] == 2

    bad = json.loads(json.dumps(cfg))
    bad["stages"]["dec"]["params"]["subjects"] = ["sub-09"]
    failed = run_pipeline(bad, cache=tmp_path / "bad", show_progress=False, report=False)
    (dec,) = [r for r in failed.results if r.step_id == "dec"]
    assert dec.status == "failed" and "'subjects' of fit_decoder" in dec.error and "sub-09" in dec.error


@pytest.mark.slow
def test_benchmark_quick(tmp_path):
    bench = [
        sys.executable,
        str(ROOT / "benchmarks" / "reconstruction.py"),
        "--quick",
        "--generator-dir",
        str(tmp_path / "g"),
    ]
    out = subprocess.run(bench, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert {"two_way_pixel", "two_way_gabor", "pixcorr", "ssim"} <= set(result) and result["generator_reused"] is False
    assert (tmp_path / "g" / "unet" / "config.json").is_file()
    # the saved generator is reused (recorded, with its original training time) instead of retrained
    again = subprocess.run(bench + ["--generator-only"], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert again.returncode == 0, again.stderr[-2000:]
    reused = json.loads(again.stdout.strip().splitlines()[-1])
    assert reused["reused"] is True and reused["seconds_train_generator"] == result["seconds_train_generator"]
