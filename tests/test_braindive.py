"""BrainDiVE: differentiable encoders, voxel targets, brain-guided sampling (embedded and tiny Stable Diffusion)."""

import json

import numpy as np
import pandas as pd
import pytest

from neurocodec._compat import ensure_torchvision

ensure_torchvision()
torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

from neurocodec.datasets.simulate import make_stimuli, noiseless_responses, simulate_visual_experiment  # noqa: E402
from neurocodec.decoders.braindive import (  # noqa: E402
    BrainGuidedSampler,
    DifferentiableEncoder,
    VoxelTarget,
    decode_roi_pattern,
    differentiable_features,
    roi_pattern,
    select_voxels,
)
from neurocodec.decoders.braindive._loading import load_encoder  # noqa: E402
from neurocodec.encoders.features import EfficientNetLite0Features, GaborPyramid, OpenClipFeatures  # noqa: E402

pytestmark = pytest.mark.usefixtures("single_thread")
TINY_CLIP = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8, "head_width": 32},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2},
}


@pytest.fixture(scope="module")
def stimuli():
    return make_stimuli(24, 16, seed=0)[0]


@pytest.fixture(scope="module")
def tiny_generator(stimuli):
    from neurocodec.decoders.generation import EmbeddedLatentDiffusion

    return EmbeddedLatentDiffusion(
        image_size=16,
        vae_channels=(8, 16),
        unet_channels=(16, 32),
        embed_dim=8,
        embedding="pixels",
        vae_steps=3,
        unet_steps=3,
        batch_size=8,
    ).fit(stimuli)


def _tensor(images):
    return torch.from_numpy(np.ascontiguousarray(images, np.float32)).permute(0, 3, 1, 2)


def test_torch_gabor_matches_gabor_pyramid(stimuli):
    for kw in (dict(bandwidth=3.0), dict(nonlinearity="sqrt", standardize=False)):
        g = GaborPyramid(spatial_frequencies=[1.0, 2.0, 4.0], n_orientations=4, **kw).fit(stimuli)
        ref = g.transform(stimuli)
        mine = differentiable_features(g)(_tensor(stimuli)).detach().numpy()
        assert mine.shape == ref.shape
        np.testing.assert_allclose(mine, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())


def test_deep_features_match_extractors(tmp_path, stimuli):
    ext = EfficientNetLite0Features(layers=["blocks.2", "global_pool"], weights="random", image_size=32)
    ref = ext.transform(stimuli[:4])
    for layer in ext.layers_:
        mine = differentiable_features(ext, layer)(_tensor(stimuli[:4])).detach().numpy()
        np.testing.assert_allclose(mine, ref[layer], rtol=1e-4, atol=1e-4 * np.abs(ref[layer]).max())
    import open_clip

    (tmp_path / "nc-braindive-tiny.json").write_text(json.dumps(TINY_CLIP))
    open_clip.add_model_config(tmp_path)
    clip = OpenClipFeatures("nc-braindive-tiny")
    mine = differentiable_features(clip)(_tensor(stimuli[:4])).detach().numpy()
    np.testing.assert_allclose(mine, clip.encode_images(stimuli[:4]), atol=1e-5)


def test_encoder_reuses_ridge_weights_and_bad_inputs(stimuli):
    from neurocodec.encoders import RidgeCV

    g = GaborPyramid(spatial_frequencies=[1.0, 2.0, 4.0], n_orientations=4).fit(stimuli)
    feats = g.transform(stimuli)
    y = feats[:, :5] @ np.random.default_rng(0).normal(size=(5, 6)) + 1.0
    ridge = RidgeCV(alphas=[0.1, 10.0], cv=3).fit(feats, y)
    enc = DifferentiableEncoder.from_fitted(g, ridge, voxels=[1, 4])
    np.testing.assert_allclose(enc.predict(stimuli), ridge.predict(feats)[:, [1, 4]], rtol=1e-3, atol=1e-3)
    x = _tensor(stimuli[:2]).requires_grad_(True)
    enc(x).sum().backward()
    assert x.grad is not None and float(x.grad.abs().sum()) > 0
    with pytest.raises(TypeError, match="The 'extractor' must be a differentiable feature extractor"):
        DifferentiableEncoder(feats, ridge.coef_, ridge.intercept_)  # a precomputed feature table
    with pytest.raises(ValueError, match="The 'voxels' must be a non-empty voxel set"):
        DifferentiableEncoder(g, ridge.coef_, ridge.intercept_, voxels=[])
    with pytest.raises(TypeError, match="The 'encoder' must be fitted on features of a differentiable extractor"):
        load_encoder("unused.npz", None, "gabor", stimuli)


def test_voxel_selection_and_targets():
    table = pd.DataFrame(
        {
            "voxel": range(6),
            "kind": ["prf", "prf", "category", "category", "global", "prf"],
            "x": [0.2, 0.8, np.nan, np.nan, np.nan, 0.25],
            "y": [0.2, 0.2, np.nan, np.nan, np.nan, 0.3],
            "category": ["none", "none", "photo", "digit", "none", "none"],
        }
    )
    assert select_voxels(table, category="photo").tolist() == [2]
    assert select_voxels(table, kind="prf", near=[0.2, 0.2, 0.15]).tolist() == [0, 5]
    assert select_voxels(table, roi=["category", "global"]).tolist() == [2, 3, 4]
    assert select_voxels(table, mask=[1, 1, 0, 0, 0, 0], voxels=[1, 2]).tolist() == [1]
    empty = "The 'target' must be a non-empty voxel set, got <0 voxels matching category='face'>"
    with pytest.raises(ValueError, match=empty):
        select_voxels(table, category="face")
    with pytest.raises(ValueError, match="The 'target' must be a voxel selection"):
        select_voxels(table)
    r = np.arange(12.0).reshape(2, 6)
    assert VoxelTarget([2, 3]).objective(r).tolist() == [2.5, 8.5]
    assert VoxelTarget([2, 3], "minimize").objective(r).tolist() == [-2.5, -8.5]
    contrast = VoxelTarget([4], versus=[0, 1])
    assert contrast.objective(r).tolist() == [3.5, 3.5] and contrast.all_voxels.tolist() == [0, 1, 4]
    assert contrast.objective(r[:, [0, 1, 4]], voxels=[0, 1, 4]).tolist() == [3.5, 3.5]
    with pytest.raises(ValueError, match="non-empty"):
        VoxelTarget([])


def test_noiseless_responses_of_new_images():
    exp = simulate_visual_experiment(n_subjects=1, n_voxels=60, image_size=16, n_train_images=40, n_test_images=10)
    sub = exp.subjects["sub-01"]
    r = noiseless_responses(exp, "sub-01", exp.stimuli, exp.categories)
    np.testing.assert_allclose(r, sub.noiseless, atol=1e-4)
    soft = np.eye(5)[exp.categories] * 0.5 + 0.1  # a soft label moves only the category voxels
    r2 = noiseless_responses(exp, "sub-01", exp.stimuli, soft)
    cat = sub.voxel_kind == "category"
    assert np.allclose(r2[:, ~cat], r[:, ~cat], atol=1e-4) and not np.allclose(r2[:, cat], r[:, cat])
    with pytest.raises(ValueError, match="The 'images' must be an array"):
        noiseless_responses(exp, "sub-01", exp.stimuli[:, :8], exp.categories)


def _gabor_encoder(stimuli, n_vox=6):
    g = GaborPyramid(spatial_frequencies=[1.0, 2.0, 4.0], n_orientations=4).fit(stimuli)
    coef = np.random.default_rng(0).normal(size=(g.n_features_out_, n_vox)) * 0.1
    return DifferentiableEncoder(g, coef, np.ones(n_vox))


def test_guided_sampling_embedded_generator(stimuli, tiny_generator):
    enc = _gabor_encoder(stimuli)
    target = VoxelTarget([0, 1])
    kw = dict(num_inference_steps=4, reference_images=stimuli, batch_size=4, seed=3)
    plain = BrainGuidedSampler(enc, guidance_scale=0.0, **kw).sample(tiny_generator, target, 4)
    guided = BrainGuidedSampler(enc, guidance_scale=10.0, **kw).sample(tiny_generator, target, 4)
    lower = BrainGuidedSampler(enc, guidance_scale=10.0, **kw).sample(
        tiny_generator, VoxelTarget([0, 1], "minimize"), 4
    )
    assert guided.shape == plain.shape == (4, 16, 16, 3) and 0 <= guided.min() and guided.max() <= 1
    f = lambda im: target.objective(enc.predict(im)).mean()  # noqa: E731
    assert f(guided) > f(plain) > f(lower)
    clipped = BrainGuidedSampler(enc, guidance_scale=10.0, max_grad_norm=1e-3, **kw).sample(tiny_generator, target, 4)
    assert np.abs(clipped - plain).max() < np.abs(guided - plain).max()
    again = BrainGuidedSampler(enc, guidance_scale=10.0, **kw).sample(tiny_generator, target, 4)
    np.testing.assert_array_equal(again, guided)  # seeded
    with pytest.raises(TypeError, match="The 'generator' must be an EmbeddedLatentDiffusion"):
        BrainGuidedSampler(enc).sample(object(), target, 2)


def test_guided_sampling_tiny_stable_diffusion(tmp_path, stimuli):
    """diffusers Stable Diffusion path: tiny random UNet / VAE / CLIP text encoder, tiny open_clip encoder, 2 steps."""
    import diffusers
    import open_clip
    from test_decoders_pipelines import _common

    c = _common(tmp_path, {})
    pipe = diffusers.StableDiffusionPipeline(
        vae=c["vae"],
        unet=c["unet"],
        text_encoder=c["text_encoder"],
        tokenizer=c["tokenizer"],
        scheduler=c["scheduler"],
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    (tmp_path / "nc-braindive-sd.json").write_text(json.dumps(TINY_CLIP))
    open_clip.add_model_config(tmp_path)
    torch.manual_seed(0)
    clip = OpenClipFeatures("nc-braindive-sd")
    enc = DifferentiableEncoder(clip, np.random.default_rng(0).normal(size=(32, 4)), np.zeros(4))
    target = VoxelTarget([0, 1], versus=[2])
    kw = dict(num_inference_steps=2, cfg_scale=2.0, prompt="a photo", image_size=16, batch_size=2, seed=0)
    plain = BrainGuidedSampler(enc, guidance_scale=0.0, **kw).sample(pipe, target, 2)
    guided = BrainGuidedSampler(enc, guidance_scale=50.0, reference_images=stimuli, **kw).sample(pipe, target, 2)
    assert guided.shape == (2, 32, 32, 3) and np.isfinite(guided).all() and not np.allclose(guided, plain)


def test_roi_pattern_and_decoding(stimuli, tiny_generator):
    from neurocodec.decoders.brain_diffuser import BrainDiffuser

    rng = np.random.default_rng(0)
    betas = rng.normal(2.0, 0.5, (24, 10))
    t = VoxelTarget([1, 2], versus=[5])
    p = roi_pattern(betas, t, k=2.0)
    sd, mean = betas.std(0), betas.mean(0)
    np.testing.assert_allclose(p[[1, 2]], mean[[1, 2]] + 2 * sd[[1, 2]])
    np.testing.assert_allclose(p[5], mean[5] - 2 * sd[5])
    np.testing.assert_allclose(np.delete(p, [1, 2, 5]), np.delete(mean, [1, 2, 5]))
    with pytest.raises(ValueError, match="The 'target' must be voxel indices < 10"):
        roi_pattern(betas, VoxelTarget([12]))
    dec = BrainDiffuser(tiny_generator, alphas=[1.0, 100.0], cv=2, num_inference_steps=2).fit(betas, stimuli)
    rec = decode_roi_pattern(dec, betas, VoxelTarget([1, 2]), k=3.0, n_images=3)
    assert rec["final"].shape == (3, 16, 16, 3) and rec["stage1"].shape == (3, 16, 16, 3)
    assert not np.allclose(rec["final"][0], rec["final"][1])  # different noise per sample
    assert dec.renormalize  # the caller's decoder is left as it was
