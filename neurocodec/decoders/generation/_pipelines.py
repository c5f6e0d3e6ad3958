"""Real diffusers pipelines as Brain-Diffuser generators (hub id or local folder, CPU or one GPU).

Supported kinds:

``"stable_unclip_img2img"`` (``StableUnCLIPImg2ImgPipeline``, e.g. ``stabilityai/stable-diffusion-2-1-unclip``)
    Conditioned on a CLIP image embedding ``(n, d)`` through the UNet's class
    embedding (noise-augmented), text through cross-attention.
``"ip_adapter_img2img"`` (``StableDiffusionImg2ImgPipeline`` + IP-Adapter, e.g. SD 1.5 + ``h94/IP-Adapter``)
    CLIP image embedding ``(n, d)`` through the IP-Adapter's decoupled cross-attention.
``"versatile_dual_guided"`` (``VersatileDiffusionDualGuidedPipeline``, ``shi-labs/versatile-diffusion``)
    Brain-Diffuser's own choice: CLIP-vision tokens ``(n, 257, 768)`` and
    CLIP-text tokens ``(n, 77, 768)`` mixed by ``text_weight``.

Img2img from the stage-1 image uses the pipeline's own VAE: its latents are
noised to ``strength`` and denoised (natively for IP-Adapter, with
:func:`img2img_loop` for the two pipelines that have no init-image input).
"""

from __future__ import annotations

import os

import numpy as np

from neurocodec.pipeline import bad_value, check

from .._errors import MissingModelError, offline
from .._images import as_images
from ._autoencoder import ImageAutoencoder
from ._diffusers import diffusers
from ._sampling import img2img_loop

__all__ = ["DiffusersGenerator", "PIPELINE_KINDS", "DEFAULT_MODELS", "patch_dual_transformers"]

PIPELINE_KINDS = {
    "stable_unclip_img2img": "StableUnCLIPImg2ImgPipeline",
    "ip_adapter_img2img": "StableDiffusionImg2ImgPipeline",
    "versatile_dual_guided": "VersatileDiffusionDualGuidedPipeline",
}
#: Hub ids used when ``model`` is empty.
DEFAULT_MODELS = {
    "stable_unclip_img2img": "stabilityai/stable-diffusion-2-1-unclip",
    "ip_adapter_img2img": "stable-diffusion-v1-5/stable-diffusion-v1-5",
    "versatile_dual_guided": "shi-labs/versatile-diffusion",
}
DEFAULT_IP_ADAPTER = ("h94/IP-Adapter", "models", "ip-adapter_sd15.bin")


def patch_dual_transformers(unet) -> int:
    """Let Versatile Diffusion's ``DualTransformer2DModel`` ignore keyword arguments it does not know.

    Recent UNet blocks pass ``encoder_attention_mask`` (diffusers issue 13651);
    returns the number of modules patched.
    """
    d = diffusers()
    dual = d.models.transformers.dual_transformer_2d.DualTransformer2DModel
    count = 0
    for module in unet.modules():
        if isinstance(module, dual) and not getattr(module, "_neurocodec_patched", False):
            original = module.forward

            def forward(
                hidden_states,
                encoder_hidden_states,
                timestep=None,
                attention_mask=None,
                cross_attention_kwargs=None,
                return_dict=True,
                _original=original,
                **_ignored,
            ):
                return _original(
                    hidden_states,
                    encoder_hidden_states,
                    timestep=timestep,
                    attention_mask=attention_mask,
                    cross_attention_kwargs=cross_attention_kwargs,
                    return_dict=return_dict,
                )

            module.forward = forward
            module._neurocodec_patched = True
            count += 1
    return count


class DiffusersGenerator:
    """A real diffusers pipeline behind the generator API of :mod:`neurocodec.decoders.generation`.

    Parameters
    ----------
    pipeline : diffusers.DiffusionPipeline
        A pipeline of one of :data:`PIPELINE_KINDS` (IP-Adapter already loaded
        for ``"ip_adapter_img2img"``).
    kind : str
        One of :data:`PIPELINE_KINDS`.
    prompt : str
        Text prompt used when no text embeddings are given (default: empty).
    noise_level : int
        unCLIP image-embedding noise augmentation level.
    batch_size : int
        Images per generation call.
    """

    def __init__(self, pipeline, kind: str, prompt: str = "", noise_level: int = 0, batch_size: int = 8):
        if kind not in PIPELINE_KINDS:
            raise bad_value("kind", f"one of {sorted(PIPELINE_KINDS)}", kind, of="DiffusersGenerator")
        self.pipeline = pipeline
        self.kind = kind
        self.prompt = prompt
        self.noise_level = noise_level
        self.batch_size = batch_size
        if kind == "versatile_dual_guided":
            patch_dual_transformers(pipeline.image_unet)

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_pretrained(
        cls,
        model: str = "",
        device: str = "cpu",
        *,
        kind: str,
        torch_dtype=None,
        ip_adapter=DEFAULT_IP_ADAPTER,
        attention_slicing: bool = False,
        cpu_offload: bool = False,
        **kwargs,
    ) -> DiffusersGenerator:
        """Load real weights from a hub id or a local folder (the ``from_pretrained(dir_or_hub_id, device=...)``
        convention of NeuroCodec's models; a pipeline of another library, so nothing of ours is saved).

        Parameters
        ----------
        model : str
            Hub id or local folder of the diffusers pipeline (empty: :data:`DEFAULT_MODELS` of ``kind``).
        device : str
            Torch device.
        kind : str
            One of :data:`PIPELINE_KINDS` (which pipeline class reads ``model``).

        fp16 on CUDA by default; ``attention_slicing`` / ``cpu_offload`` for
        small GPUs. Offline (``HF_HUB_OFFLINE=1``) without the weights in the
        cache, raises :class:`MissingModelError` naming the model.
        """
        import torch

        if kind not in PIPELINE_KINDS:
            raise bad_value("kind", f"one of {sorted(PIPELINE_KINDS)}", kind, of="DiffusersGenerator")
        model = model or DEFAULT_MODELS[kind]
        if torch_dtype is None:
            torch_dtype = torch.float16 if str(device).startswith("cuda") else torch.float32
        pipe_cls = getattr(diffusers(), PIPELINE_KINDS[kind])
        local = os.path.isdir(model)
        try:
            pipe = pipe_cls.from_pretrained(model, dtype=torch_dtype, local_files_only=local or offline())
            if kind == "ip_adapter_img2img":
                repo, subfolder, weight = ip_adapter
                pipe.load_ip_adapter(
                    repo, subfolder=subfolder, weight_name=weight, local_files_only=os.path.isdir(repo) or offline()
                )
        except (OSError, ValueError) as exc:
            where = "the local folder" if local else "the Hugging Face cache (offline)" if offline() else "the hub"
            raise MissingModelError(
                f"The {kind} generator needs the {PIPELINE_KINDS[kind]} weights {model!r}"
                + (f" and the IP-Adapter {ip_adapter[0]!r}" if kind == "ip_adapter_img2img" else "")
                + f", which could not be loaded from {where}: {type(exc).__name__}: {exc}"
            ) from exc
        if attention_slicing:
            pipe.enable_attention_slicing()
        if cpu_offload:
            pipe.enable_model_cpu_offload()
        else:
            pipe.to(device)
        pipe.set_progress_bar_config(disable=True)
        return cls(pipe, kind, **kwargs)

    # -------------------------------------------------------------- components
    @property
    def _unet(self):
        return self.pipeline.image_unet if self.kind == "versatile_dual_guided" else self.pipeline.unet

    @property
    def _device(self):
        return next(self._unet.parameters()).device

    @property
    def image_size(self) -> int:
        return int(self._unet.config.sample_size * self.pipeline.vae_scale_factor)

    @property
    def autoencoder(self) -> ImageAutoencoder:
        """The pipeline's own VAE at the pipeline's image size."""
        return ImageAutoencoder(self.pipeline.vae, image_size=self.image_size, batch_size=self.batch_size)

    def _pixel_values(self, images):
        processor = (
            self.pipeline.image_feature_extractor
            if self.kind == "versatile_dual_guided"
            else self.pipeline.feature_extractor
        )
        arr = as_images(images).astype(np.float32)
        pv = processor(images=list(arr), return_tensors="pt", do_rescale=False).pixel_values
        encoder = self.pipeline.image_encoder
        return pv.to(self._device, next(encoder.parameters()).dtype)

    def embed_images(self, images) -> np.ndarray:
        """CLIP image embeddings: ``(n, d)`` (unCLIP, IP-Adapter) or normalised tokens ``(n, n_tokens, d)`` (VD)."""
        import torch

        encoder = self.pipeline.image_encoder
        out = []
        with torch.no_grad():
            for s in range(0, len(images), self.batch_size):
                enc = encoder(self._pixel_values(images[s : s + self.batch_size]))
                if self.kind == "versatile_dual_guided":
                    e = encoder.visual_projection(encoder.vision_model.post_layernorm(enc.last_hidden_state))
                    e = e / torch.norm(e[:, :1], dim=-1, keepdim=True)
                else:
                    e = enc.image_embeds
                out.append(e.float().cpu().numpy())
        return np.concatenate(out)

    def embed_texts(self, captions) -> np.ndarray:
        """CLIP text-token embeddings ``(n, n_tokens, d)`` of captions (normalised as VD does for VD)."""
        import torch

        pipe = self.pipeline
        out = []
        with torch.no_grad():
            for s in range(0, len(captions), self.batch_size):
                tok = pipe.tokenizer(
                    list(captions[s : s + self.batch_size]),
                    padding="max_length",
                    truncation=True,
                    max_length=pipe.tokenizer.model_max_length,
                    return_tensors="pt",
                )
                enc = pipe.text_encoder(tok.input_ids.to(self._device))
                if self.kind == "versatile_dual_guided":
                    e = pipe.text_encoder.text_projection(enc.last_hidden_state)
                    e = e / torch.norm(enc.text_embeds.unsqueeze(1), dim=-1, keepdim=True)
                else:
                    e = enc[0]
                out.append(e.float().cpu().numpy())
        return np.concatenate(out)

    # -------------------------------------------------------------- generation
    def generate(
        self,
        embeddings,
        init_images=None,
        strength: float = 0.75,
        guidance_scale: float = 7.5,
        num_inference_steps: int = 50,
        seed: int = 0,
        text_embeddings=None,
        text_weight: float = 0.4,
    ) -> np.ndarray:
        """Images ``(n, H, W, 3)`` in [0, 1] from predicted embeddings, img2img from ``init_images``.

        ``text_embeddings`` (n, n_tokens, d) replace the encoded ``prompt``;
        ``text_weight`` is Versatile Diffusion's text share of the dual guidance.
        """
        import torch

        emb = np.asarray(embeddings, dtype=np.float32)
        check(0 < strength <= 1, "strength", "in (0, 1]", strength)
        if init_images is not None:
            check(len(init_images) == len(emb), "init_images", f"{len(emb)} images", f"<{len(init_images)} images>")
        gen = torch.Generator().manual_seed(seed)
        out = []
        for s in range(0, len(emb), self.batch_size):
            sl = slice(s, s + self.batch_size)
            text = None if text_embeddings is None else np.asarray(text_embeddings[sl], np.float32)
            init = None if init_images is None else init_images[sl]
            out.append(
                self._generate_batch(
                    emb[sl], init, text, strength, guidance_scale, num_inference_steps, gen, text_weight
                )
            )
        return np.concatenate(out)

    def _tensor(self, arr):
        return torch_from(arr).to(self._device, self._unet.dtype)

    def _text(self, text, n):
        """(uncond, cond) text token embeddings for a batch of ``n``."""
        uncond = torch_from(self.embed_texts([""])).to(self._device, self._unet.dtype).expand(n, -1, -1)
        cond = (
            self._tensor(text)
            if text is not None
            else torch_from(self.embed_texts([self.prompt])).to(self._device, self._unet.dtype).expand(n, -1, -1)
        )
        return uncond, cond

    def _init_latents(self, init, n):
        import torch

        if init is None:
            size = self._unet.config.sample_size
            return torch.zeros(
                (n, self._unet.config.in_channels, size, size), device=self._device, dtype=self._unet.dtype
            )
        z = self.autoencoder.encode(init) * self.pipeline.vae.config.scaling_factor
        return self._tensor(z)

    def _generate_batch(self, emb, init, text, strength, guidance, steps, gen, text_weight):
        import torch

        pipe, n = self.pipeline, len(emb)
        strength = strength if init is not None else 1.0
        cfg = guidance > 1.0
        if self.kind == "ip_adapter_img2img":
            uncond_t, cond_t = self._text(text, n)
            image_embeds = self._tensor(emb)[:, None]
            if cfg:
                image_embeds = torch.cat([torch.zeros_like(image_embeds), image_embeds])
            kwargs = dict(
                prompt_embeds=cond_t,
                negative_prompt_embeds=uncond_t,
                ip_adapter_image_embeds=[image_embeds],
                guidance_scale=guidance,
                num_inference_steps=steps,
                generator=gen,
                output_type="np",
            )
            if init is None:
                size = self.image_size
                init = np.full((n, size, size, 3), 0.5, np.float32)
                strength = 1.0
            init_t = torch_from(as_images(init).astype(np.float32)).permute(0, 3, 1, 2)
            images = pipe(image=init_t, strength=strength, **kwargs).images
            return np.asarray(images, dtype=np.float32)
        with torch.no_grad():
            if self.kind == "stable_unclip_img2img":
                uncond_t, cond_t = self._text(text, n)
                labels = pipe.noise_image_embeddings(self._tensor(emb), self.noise_level, generator=gen)
                hidden = torch.cat([uncond_t, cond_t]) if cfg else cond_t
                labels = torch.cat([torch.zeros_like(labels), labels]) if cfg else labels

                def model(z, t):
                    return self._unet(z, t, encoder_hidden_states=hidden, class_labels=labels).sample
            else:  # versatile_dual_guided
                uncond_t, cond_t = self._text(text, n)
                gray = np.full((1, 64, 64, 3), 0.5, np.float32)
                uncond_i = torch_from(self.embed_images(gray)).to(self._device, self._unet.dtype).expand(n, -1, -1)
                cond_i = self._tensor(emb)
                hidden = (
                    torch.cat([torch.cat([uncond_t, uncond_i], 1), torch.cat([cond_t, cond_i], 1)])
                    if cfg
                    else torch.cat([cond_t, cond_i], 1)
                )
                self._set_mix(text_weight, cond_t.shape[1], cond_i.shape[1])

                def model(z, t):
                    return self._unet(z, t, encoder_hidden_states=hidden).sample

            def denoise(z, t):
                if not cfg:
                    return model(z, t)
                u, c = model(torch.cat([z, z]), t).chunk(2)
                return u + guidance * (c - u)

            z = img2img_loop(denoise, pipe.scheduler, self._init_latents(init, n), strength, steps, gen)
            return self.autoencoder.tensor_to_images(pipe.vae.decode(z / pipe.vae.config.scaling_factor).sample)

    def _set_mix(self, text_weight, n_text, n_image):
        """Versatile Diffusion dual guidance: text share ``text_weight``, token counts of both conditions."""
        dual = diffusers().models.transformers.dual_transformer_2d.DualTransformer2DModel
        for module in self.pipeline.image_unet.modules():
            if isinstance(module, dual):
                module.mix_ratio = text_weight
                module.condition_lengths = [n_text, n_image]
                module.transformer_index_for_condition = [1, 0]  # text -> text transformer, image -> image transformer


def torch_from(arr):
    import torch

    return torch.from_numpy(np.ascontiguousarray(arr))
