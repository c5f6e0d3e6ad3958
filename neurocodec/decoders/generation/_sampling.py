"""The img2img denoising loop shared by the embedded generator and the dual-guided pipeline."""

from __future__ import annotations

import numbers

__all__ = ["img2img_loop"]


def img2img_loop(denoise, scheduler, init_latents, strength: float, num_inference_steps: int, generator=None):
    """Noise ``init_latents`` to ``strength`` and denoise them back.

    Parameters
    ----------
    denoise : callable
        ``denoise(latents, t) -> model_output`` (classifier-free guidance applied
        inside, output in the scheduler's prediction type).
    scheduler : diffusers scheduler
        A DDIM-like scheduler (``set_timesteps``, ``add_noise``, ``step``).
    init_latents : torch.Tensor, shape (n, c, h, w)
        Scaled latents of the initial images (pure noise when ``strength == 1``).
    strength : float in (0, 1]
        Fraction of the denoising trajectory re-run (1: ignore the init image).
    num_inference_steps : int
        Steps of the full trajectory; ``int(steps * strength)`` are run.
    generator : torch.Generator, optional
        Noise source.

    Returns
    -------
    latents : torch.Tensor, shape (n, c, h, w)
    """
    from neurocodec.pipeline import check, check_array

    check(isinstance(strength, (int, float)) and 0 < strength <= 1, "strength", "in (0, 1]", strength)
    check(
        isinstance(num_inference_steps, numbers.Integral) and num_inference_steps >= 1,
        "num_inference_steps",
        "an int >= 1",
        num_inference_steps,
    )
    check(callable(denoise), "denoise", "a callable denoise(latents, t)", f"<{type(denoise).__name__}>", exc=TypeError)
    init_latents = check_array(init_latents, "init_latents", "(n, c, h, w)", ndim=4)
    import torch

    scheduler.set_timesteps(num_inference_steps, device=init_latents.device)
    n_run = min(max(int(round(num_inference_steps * strength)), 1), num_inference_steps)
    timesteps = scheduler.timesteps[num_inference_steps - n_run :]
    noise = torch.randn(init_latents.shape, generator=generator, dtype=torch.float32).to(
        init_latents.device, init_latents.dtype
    )
    if strength >= 1.0:
        latents = noise * getattr(scheduler, "init_noise_sigma", 1.0)
    else:
        latents = scheduler.add_noise(init_latents, noise, timesteps[:1].repeat(len(init_latents)))
    for t in timesteps:
        model_input = scheduler.scale_model_input(latents, t)
        latents = scheduler.step(denoise(model_input, t), t, latents, generator=generator).prev_sample
    return latents
