"""Image generation from predicted embeddings (the generative half of fMRI decoders).

Every generator has the same small API, so decoders (Brain-Diffuser, MindBridge)
can swap them:

``generator.embed_images(images) -> (n, *embedding_shape)``
    The conditioning embedding of images (the regression targets).
``generator.generate(embeddings, init_images=None, strength=0.75, guidance_scale=..., ...) -> (n, H, W, 3)``
    (also ``num_inference_steps``, ``seed``, ``text_embeddings``, ``text_weight``).
    Images in ``[0, 1]`` conditioned on (predicted) embeddings; with
    ``init_images``, img2img from them at ``strength``.
``generator.autoencoder -> ImageAutoencoder``
    The generator's own VAE (``encode`` / ``decode`` numpy images <-> latents).

:class:`EmbeddedLatentDiffusion` trains a small one offline on the stimuli;
:class:`DiffusersGenerator` wraps real diffusers pipelines (Stable unCLIP
img2img, IP-Adapter on Stable Diffusion img2img, Versatile Diffusion dual
guided) from a hub id or a local folder.
"""

from ..._lazy import lazy_exports

__all__ = [
    "DEFAULT_MODELS",
    "DiffusersGenerator",
    "PIPELINE_KINDS",
    "patch_dual_transformers",
    "EmbeddedLatentDiffusion",
    "ImageAutoencoder",
    "ImageEmbedder",
    "img2img_loop",
    "small_autoencoder_config",
]

# Lazy attributes (PEP 562): importing the package (the stage modules do) must not import scikit-learn / torch.
_LAZY = {
    "ImageAutoencoder": "._autoencoder",
    "small_autoencoder_config": "._autoencoder",
    "EmbeddedLatentDiffusion": "._embedded",
    "ImageEmbedder": "._embedded",
    "DEFAULT_MODELS": "._pipelines",
    "PIPELINE_KINDS": "._pipelines",
    "DiffusersGenerator": "._pipelines",
    "patch_dual_transformers": "._pipelines",
    "img2img_loop": "._sampling",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
