"""Real diffusers pipeline paths, built offline from tiny random configs (2 inference steps)."""

import json

import numpy as np
import pytest

from neurocodec._compat import ensure_torchvision

ensure_torchvision()

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")
transformers = pytest.importorskip("transformers")

from neurocodec.decoders import MissingModelError  # noqa: E402
from neurocodec.decoders.brain_diffuser import BrainDiffuser  # noqa: E402
from neurocodec.decoders.generation import DiffusersGenerator  # noqa: E402

D = 32  # hidden size of every tiny component


def _tokenizer(tmp_path):
    """A byte-level CLIPTokenizer with no merges, written locally (no download)."""
    from transformers import CLIPTokenizer

    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("\u00a1"), ord("\u00ac") + 1))
        + list(range(ord("\u00ae"), 256))
    )
    extra = [b for b in range(256) if b not in bs]
    chars = [chr(b) for b in bs] + [chr(256 + i) for i in range(len(extra))]  # GPT-2 byte-to-unicode alphabet
    vocab = {t: i for i, t in enumerate(chars + [c + "</w>" for c in chars] + ["<|startoftext|>", "<|endoftext|>"])}
    (tmp_path / "vocab.json").write_text(json.dumps(vocab))
    (tmp_path / "merges.txt").write_text("#version: 0.2\n")
    return CLIPTokenizer(str(tmp_path / "vocab.json"), str(tmp_path / "merges.txt"), model_max_length=16)


def _common(tmp_path, unet_kwargs):
    from transformers import (
        CLIPImageProcessor,
        CLIPTextConfig,
        CLIPTextModel,
        CLIPVisionConfig,
        CLIPVisionModelWithProjection,
    )

    torch.manual_seed(0)
    vae = diffusers.AutoencoderKL(
        block_out_channels=[32, 64],
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        down_block_types=["DownEncoderBlock2D"] * 2,
        up_block_types=["UpDecoderBlock2D"] * 2,
        norm_num_groups=32,
        sample_size=32,
    )
    unet = diffusers.UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=16,
        in_channels=4,
        out_channels=4,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=D,
        norm_num_groups=32,
        **unet_kwargs,
    )
    text = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=514,
            bos_token_id=512,
            eos_token_id=513,
            pad_token_id=513,
            hidden_size=D,
            intermediate_size=37,
            num_attention_heads=4,
            num_hidden_layers=2,
            max_position_embeddings=16,
            projection_dim=D,
        )
    )
    vision = CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=D,
            intermediate_size=37,
            num_attention_heads=4,
            num_hidden_layers=2,
            image_size=32,
            patch_size=8,
            projection_dim=D,
        )
    )
    proc = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    sched = diffusers.DDIMScheduler(
        beta_schedule="scaled_linear",
        beta_start=0.00085,
        beta_end=0.012,
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    return dict(
        vae=vae,
        unet=unet,
        text_encoder=text,
        tokenizer=_tokenizer(tmp_path),
        image_encoder=vision,
        feature_extractor=proc,
        scheduler=sched,
    )


def _unclip(tmp_path):
    from diffusers.pipelines.stable_diffusion.stable_unclip_image_normalizer import StableUnCLIPImageNormalizer

    c = _common(tmp_path, dict(class_embed_type="projection", projection_class_embeddings_input_dim=2 * D))
    return diffusers.StableUnCLIPImg2ImgPipeline(
        image_normalizer=StableUnCLIPImageNormalizer(embedding_dim=D),
        image_noising_scheduler=diffusers.DDPMScheduler(beta_schedule="squaredcos_cap_v2"),
        **c,
    )


def _ip_adapter(tmp_path):
    c = _common(tmp_path, {})
    pipe = diffusers.StableDiffusionImg2ImgPipeline(safety_checker=None, requires_safety_checker=False, **c)
    # IP-Adapter weights: image projection (4 tokens) + to_k_ip / to_v_ip of every cross-attention
    n_tokens, state = 4, {"image_proj": {}, "ip_adapter": {}}
    state["image_proj"] = {
        "proj.weight": torch.randn(D * n_tokens, D) * 0.1,
        "proj.bias": torch.zeros(D * n_tokens),
        "norm.weight": torch.ones(D),
        "norm.bias": torch.zeros(D),
    }
    key = 1
    for name in pipe.unet.attn_processors:
        if name.endswith("attn1.processor"):
            continue
        hidden = _hidden(pipe.unet, name)
        state["ip_adapter"][f"{key}.to_k_ip.weight"] = torch.randn(hidden, D) * 0.1
        state["ip_adapter"][f"{key}.to_v_ip.weight"] = torch.randn(hidden, D) * 0.1
        key += 2
    pipe.unet._load_ip_adapter_weights([state])
    return pipe


def _hidden(unet, name):
    if name.startswith("mid_block"):
        return unet.config.block_out_channels[-1]
    block = int(name.split(".")[1])
    channels = unet.config.block_out_channels
    return channels[block] if name.startswith("down_blocks") else list(reversed(channels))[block]


def _versatile(tmp_path):
    c = _common(tmp_path, {})
    from transformers import CLIPTextModelWithProjection

    text = CLIPTextModelWithProjection(c["text_encoder"].config)
    text_unet = diffusers.UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=16,
        in_channels=4,
        out_channels=4,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=D,
        norm_num_groups=32,
    )
    from diffusers.pipelines.deprecated.versatile_diffusion.modeling_text_unet import UNetFlatConditionModel  # noqa: F401

    return diffusers.VersatileDiffusionDualGuidedPipeline(
        tokenizer=c["tokenizer"],
        image_feature_extractor=c["feature_extractor"],
        text_encoder=text,
        image_encoder=c["image_encoder"],
        image_unet=c["unet"],
        text_unet=text_unet,
        vae=c["vae"],
        scheduler=c["scheduler"],
    )


BUILDERS = {"stable_unclip_img2img": _unclip, "ip_adapter_img2img": _ip_adapter, "versatile_dual_guided": _versatile}


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_tiny_pipeline_two_steps(kind, tmp_path):
    pipe = BUILDERS[kind](tmp_path)
    pipe.set_progress_bar_config(disable=True)
    gen = DiffusersGenerator(pipe, kind, batch_size=4)
    rng = np.random.default_rng(0)
    images = rng.random((3, 32, 32, 3)).astype(np.float32)
    emb = gen.embed_images(images)
    assert emb.shape[0] == 3 and np.isfinite(emb).all()
    text = gen.embed_texts(["a cat", "a digit", "a grating"])
    assert text.shape[:2] == (3, 16)
    init = gen.autoencoder.decode(gen.autoencoder.encode(images))
    out = gen.generate(
        emb, init_images=init, text_embeddings=text, strength=0.75, guidance_scale=2.0, num_inference_steps=2
    )
    assert out.shape == (3, 32, 32, 3) and np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1
    # the condition matters: other embeddings give other images
    other = gen.generate(emb[::-1].copy(), init_images=init, strength=1.0, guidance_scale=2.0, num_inference_steps=2)
    assert not np.allclose(out, other)
    # and the whole two-stage decoder runs on top of it
    X = rng.standard_normal((6, 20))
    imgs6 = rng.random((6, 32, 32, 3)).astype(np.float32)
    dec = BrainDiffuser(gen, alphas=[1.0, 100.0], cv=2, num_inference_steps=2, guidance_scale=1.5)
    rec = dec.fit(X, imgs6, captions=["a cat", "a dog", "two digits", "a red disc", "grass", "bricks"]).reconstruct(
        X[:2]
    )
    assert rec["stage1"].shape == rec["final"].shape == (2, 32, 32, 3)


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_real_weights_offline_error_names_model(kind, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    with pytest.raises(MissingModelError, match="acme/missing-model") as info:
        DiffusersGenerator.from_pretrained("acme/missing-model", kind=kind)
    assert kind in str(info.value)


def test_unknown_kind():
    with pytest.raises(ValueError, match="'kind' of DiffusersGenerator"):
        DiffusersGenerator.from_pretrained("x", kind="dalle")
