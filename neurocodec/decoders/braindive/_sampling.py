"""Brain-guided diffusion sampling (BrainDiVE, Luo et al. 2023).

At every DDIM step the denoiser's output gives the predicted clean latent
``x0 = (z_t - sqrt(1 - a_t) eps) / sqrt(a_t)``; ``x0`` is decoded by the VAE, the
differentiable encoder predicts the responses of the decoded image and the
objective (mean predicted response of the target voxels, or a contrast) is
differentiated with respect to ``z_t`` (through the decoder and the denoiser).
The noise estimate is moved against that gradient,
``eps' = eps - sqrt(1 - a_t) * s * grad`` (classifier guidance on the
predicted clean image, as in CLIP-guided Stable Diffusion), so the step moves
``x0`` up the objective; classifier-free guidance on the conditioning is
applied inside the denoiser as usual.
"""

from __future__ import annotations

import numpy as np

from neurocodec.pipeline import bad_value, check

__all__ = ["BrainGuidedSampler"]


class _EmbeddedBackend:
    """:class:`EmbeddedLatentDiffusion`: conditioned on an image embedding, null (zero) embedding by default."""

    def __init__(self, gen, embeddings, cfg_scale):
        from ..generation._diffusers import diffusers

        gen._check_fitted()
        self.unet, self.vae = gen.unet_, gen.vae_
        self.scheduler = diffusers().DDIMScheduler.from_config(gen.scheduler_.config)
        self.scaling = float(self.vae.config.scaling_factor)
        size = self.unet.config.sample_size
        self.latent_shape = (self.unet.config.in_channels, size, size)
        self.embed_shape = (-1, gen.embed_dim)
        self.embeddings, self.cfg_scale = embeddings, float(cfg_scale)
        self.dtype = next(self.unet.parameters()).dtype

    def condition(self, n, sl):
        import torch

        dev = next(self.unet.parameters()).device
        if self.embeddings is None:
            return torch.zeros((n, 1, self.embed_shape[1]), device=dev, dtype=self.dtype), None
        emb = torch.from_numpy(np.asarray(self.embeddings[sl], np.float32).reshape(n, *self.embed_shape)).to(dev)
        return emb, torch.zeros_like(emb)

    def model_output(self, z, t, cond):
        import torch

        c, null = cond
        if null is None or self.cfg_scale == 1.0:
            return self.unet(z, t, encoder_hidden_states=c, class_labels=c[:, 0]).sample
        both = torch.cat([null, c])
        u, p = self.unet(torch.cat([z, z]), t, encoder_hidden_states=both, class_labels=both[:, 0]).sample.chunk(2)
        return u + self.cfg_scale * (p - u)

    def decode(self, latents):
        return (self.vae.decode(latents / self.scaling).sample.float().clamp(-1, 1) + 1) / 2


class _StableDiffusionBackend:
    """A diffusers Stable Diffusion pipeline (``unet``, ``vae``, ``tokenizer``, ``text_encoder``): text prompt + CFG."""

    def __init__(self, pipe, prompt, cfg_scale):
        from ..generation._diffusers import diffusers

        for part in ("unet", "vae", "tokenizer", "text_encoder", "scheduler"):
            check(
                getattr(pipe, part, None) is not None,
                "generator",
                f"a Stable Diffusion pipeline with a {part}",
                f"<{type(pipe).__name__}>",
            )
        self.pipe, self.unet, self.vae = pipe, pipe.unet, pipe.vae
        self.scheduler = diffusers().DDIMScheduler.from_config(pipe.scheduler.config)
        self.scaling = float(self.vae.config.scaling_factor)
        size = self.unet.config.sample_size
        self.latent_shape = (self.unet.config.in_channels, size, size)
        self.prompt, self.cfg_scale = prompt, float(cfg_scale)
        self.dtype = next(self.unet.parameters()).dtype

    def _text(self, texts):
        import torch

        tok = self.pipe.tokenizer(
            list(texts),
            padding="max_length",
            truncation=True,
            max_length=self.pipe.tokenizer.model_max_length,
            return_tensors="pt",
        )
        with torch.no_grad():
            return self.pipe.text_encoder(tok.input_ids.to(self.unet.device))[0].to(self.dtype)

    def condition(self, n, sl):
        cond = self._text([self.prompt]).expand(n, -1, -1)
        return cond, (self._text([""]).expand(n, -1, -1) if self.cfg_scale != 1.0 else None)

    def model_output(self, z, t, cond):
        import torch

        c, null = cond
        z = z.to(self.dtype)
        if null is None:
            return self.unet(z, t, encoder_hidden_states=c).sample.float()
        u, p = self.unet(torch.cat([z, z]), t, encoder_hidden_states=torch.cat([null, c])).sample.float().chunk(2)
        return u + self.cfg_scale * (p - u)

    def decode(self, latents):
        return (self.vae.decode((latents / self.scaling).to(self.dtype)).sample.float().clamp(-1, 1) + 1) / 2


def _backend(generator, embeddings, prompt, cfg_scale):
    from ..generation import EmbeddedLatentDiffusion

    if isinstance(generator, EmbeddedLatentDiffusion):
        return _EmbeddedBackend(generator, embeddings, cfg_scale)
    pipe = getattr(generator, "pipeline", generator)  # a DiffusersGenerator or a pipeline
    if hasattr(pipe, "unet") and hasattr(pipe, "vae") and hasattr(pipe, "text_encoder"):
        return _StableDiffusionBackend(pipe, prompt, cfg_scale)
    raise bad_value(
        "generator",
        "an EmbeddedLatentDiffusion or a diffusers Stable Diffusion pipeline",
        f"<{type(generator).__name__}>",
        exc=TypeError,
    )


def _to_x0_eps(out, z, alpha, kind):
    """``(x0, eps)`` from the model output in the scheduler's prediction type."""
    a, b = alpha**0.5, (1 - alpha) ** 0.5
    if kind == "epsilon":
        return (z - b * out) / a, out
    if kind == "v_prediction":
        return a * z - b * out, b * z + a * out
    if kind == "sample":
        return out, (z - a * out) / b
    raise bad_value("prediction_type", "'epsilon', 'v_prediction' or 'sample'", kind)


def _from_x0_eps(x0, eps, alpha, kind):
    a, b = alpha**0.5, (1 - alpha) ** 0.5
    return {"epsilon": eps, "sample": x0}.get(kind, a * eps - b * x0)


class BrainGuidedSampler:
    """Sample images that maximise (or minimise) an encoder's predicted response of a voxel target.

    Parameters
    ----------
    encoder : DifferentiableEncoder
        Predicts the voxels the targets read (``encoder.voxels``).
    guidance_scale : float
        Step size ``s`` of the brain guidance (0: plain sampling). The objective
        is divided by its standard deviation over ``reference_images`` when
        given, so ``s`` is in units of natural-image response spread.
    max_grad_norm : float, optional
        Clip the per-image gradient norm (with respect to the latent) to this value.
    num_inference_steps : int
        DDIM steps.
    cfg_scale : float
        Classifier-free guidance of the generator's own conditioning (prompt or
        embedding); 1 disables it.
    prompt : str
        Text prompt of a Stable Diffusion generator.
    image_size : int, optional
        Side the decoded images are resized to (bilinear, antialiased) before
        the encoder (the encoder's fitted image size; default: the generator's).
    reference_images : ndarray, shape (n, H, W, 3), optional
        Natural images that set the objective's scale.
    batch_size : int
    seed : int

    Attributes
    ----------
    history_ : list of ndarray
        Per batch of the last :meth:`sample`: the mean (unscaled) objective of the
        predicted clean images at every step.
    """

    def __init__(
        self,
        encoder,
        guidance_scale=10.0,
        max_grad_norm=None,
        num_inference_steps=30,
        cfg_scale=1.0,
        prompt="",
        image_size=None,
        reference_images=None,
        batch_size=8,
        seed=0,
    ):
        self.encoder = encoder
        self.guidance_scale = guidance_scale
        self.max_grad_norm = max_grad_norm
        self.num_inference_steps = num_inference_steps
        self.cfg_scale = cfg_scale
        self.prompt = prompt
        self.image_size = image_size
        self.reference_images = reference_images
        self.batch_size = batch_size
        self.seed = seed

    def objective_scale(self, target) -> float:
        """Standard deviation of the predicted objective over ``reference_images`` (1 without them)."""
        if self.reference_images is None:
            return 1.0
        values = target.objective(self.encoder.predict(self.reference_images), self.encoder.voxels)
        sd = float(np.std(values))
        return sd if sd > 0 else 1.0

    def _encode(self, images):
        from neurocodec.decoders.braindive._encoder import _resize

        return self.encoder(_resize(images, self.image_size))

    def sample(self, generator, target, n_images, embeddings=None, seed=None) -> np.ndarray:
        """Brain-guided samples.

        Parameters
        ----------
        generator : EmbeddedLatentDiffusion or diffusers Stable Diffusion pipeline (or DiffusersGenerator)
        target : VoxelTarget
        n_images : int
        embeddings : ndarray, shape (n_images, *embedding_shape), optional
            Conditioning of the embedded generator (default: the null embedding, unconditional).
        seed : int, optional
            Noise seed (default ``self.seed``); batch ``b`` uses ``seed + b``.

        Returns
        -------
        images : ndarray, shape (n_images, H, W, 3), float32 in [0, 1]
        """
        import torch

        check(int(n_images) >= 1, "n_images", ">= 1", n_images)
        check(self.guidance_scale >= 0, "guidance_scale", ">= 0", self.guidance_scale)
        check(self.max_grad_norm is None or self.max_grad_norm > 0, "max_grad_norm", "> 0 or None", self.max_grad_norm)
        check(int(self.num_inference_steps) >= 1, "num_inference_steps", ">= 1", self.num_inference_steps)
        if embeddings is not None:
            check(
                len(embeddings) == n_images,
                "embeddings",
                f"{n_images} rows (one per image)",
                f"<{len(embeddings)} rows>",
            )
        be = _backend(generator, embeddings, self.prompt, self.cfg_scale)
        scale = self.objective_scale(target) if self.guidance_scale > 0 else 1.0
        seed = self.seed if seed is None else seed
        dev = next(be.unet.parameters()).device
        kind = be.scheduler.config.prediction_type
        out, self.history_ = [], []
        for b, s in enumerate(range(0, int(n_images), int(self.batch_size))):
            n = min(int(self.batch_size), int(n_images) - s)
            cond = be.condition(n, slice(s, s + n))
            gen = torch.Generator().manual_seed(int(seed) + b)
            be.scheduler.set_timesteps(int(self.num_inference_steps), device=dev)
            z = torch.randn((n, *be.latent_shape), generator=gen).to(dev) * be.scheduler.init_noise_sigma
            trace = []
            for t in be.scheduler.timesteps:
                alpha = be.scheduler.alphas_cumprod[int(t)].to(dev).float()
                guided = self.guidance_scale > 0
                with torch.enable_grad():
                    zg = z.detach().requires_grad_(guided)
                    pred = be.model_output(be.scheduler.scale_model_input(zg, t), t, cond).float()
                    x0, eps = _to_x0_eps(pred, zg, alpha, kind)
                    if guided:
                        obj = target.objective(self._encode(be.decode(x0)), self.encoder.voxels)
                        trace.append(float(obj.detach().mean()))
                        grad = torch.autograd.grad((obj / scale).sum(), zg)[0].float()
                        if self.max_grad_norm is not None:
                            norm = grad.flatten(1).norm(dim=1).clamp_min(1e-12)[:, None, None, None]
                            grad = grad * (float(self.max_grad_norm) / norm).clamp(max=1.0)
                        eps = eps.detach() - (1 - alpha) ** 0.5 * float(self.guidance_scale) * grad
                        x0 = (zg.detach() - (1 - alpha) ** 0.5 * eps) / alpha**0.5
                model_out = _from_x0_eps(x0.detach(), eps.detach(), alpha, kind)
                z = be.scheduler.step(model_out, t, z.detach(), generator=gen).prev_sample
            with torch.no_grad():
                out.append(be.decode(z).permute(0, 2, 3, 1).cpu().numpy())
            self.history_.append(np.asarray(trace))
        return np.concatenate(out).astype(np.float32)
