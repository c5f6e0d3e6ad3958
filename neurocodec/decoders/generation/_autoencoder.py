"""A numpy-in / numpy-out wrapper around a diffusers ``AutoencoderKL`` (stage 1's image latent)."""

from __future__ import annotations

import numbers

import numpy as np

from .._images import as_images

__all__ = ["ImageAutoencoder", "small_autoencoder_config"]


def small_autoencoder_config(image_size: int = 32, block_out_channels=(32, 64, 64), latent_channels: int = 4) -> dict:
    """Config of a small ``AutoencoderKL`` (downsampling ``2 ** (len(block_out_channels) - 1)``)."""
    from neurocodec.pipeline import check

    n = len(block_out_channels)
    down = 2 ** (n - 1)
    check(
        isinstance(image_size, numbers.Integral) and image_size > 0 and image_size % down == 0,
        "image_size",
        f"an int > 0 divisible by the downsampling {down}",
        image_size,
    )
    return dict(
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * n,
        up_block_types=["UpDecoderBlock2D"] * n,
        block_out_channels=list(block_out_channels),
        layers_per_block=1,
        latent_channels=latent_channels,
        norm_num_groups=min(32, min(block_out_channels)),
        sample_size=image_size,
        scaling_factor=1.0,
    )


class ImageAutoencoder:
    """Encode ``(n, H, W, 3)`` images in ``[0, 1]`` to ``AutoencoderKL`` latents and back.

    Parameters
    ----------
    vae : diffusers.AutoencoderKL
        Any KL autoencoder (e.g. a Stable Diffusion VAE, or a pipeline's own).
    image_size : int, optional
        Images are resized to this square size before encoding (default: the
        VAE's ``sample_size``).
    batch_size : int
        Images per forward pass.
    """

    def __init__(self, vae, image_size: int | None = None, batch_size: int = 64):
        from neurocodec.pipeline import check

        check(
            image_size is None or (isinstance(image_size, numbers.Integral) and image_size > 0),
            "image_size",
            "None or > 0",
            image_size,
        )
        check(isinstance(batch_size, numbers.Integral) and batch_size >= 1, "batch_size", "an int >= 1", batch_size)
        self.vae = vae
        self.image_size = image_size
        self.batch_size = batch_size

    @property
    def size(self) -> int:
        return int(self.image_size or self.vae.config.sample_size)

    @property
    def _device(self):
        return next(self.vae.parameters()).device

    @property
    def _dtype(self):
        return next(self.vae.parameters()).dtype

    def images_to_tensor(self, images):
        """``(n, H, W, 3)`` [0, 1] -> ``(n, 3, size, size)`` tensor in [-1, 1] on the VAE's device."""
        import torch

        from .._images import resize_images

        arr = resize_images(as_images(images), self.size).astype(np.float32)
        x = torch.from_numpy(np.ascontiguousarray(arr)).permute(0, 3, 1, 2)
        return (x * 2 - 1).to(self._device, self._dtype)

    @staticmethod
    def tensor_to_images(x) -> np.ndarray:
        """``(n, 3, H, W)`` tensor in [-1, 1] -> ``(n, H, W, 3)`` float32 in [0, 1]."""
        return ((x.float().clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).cpu().numpy()

    def encode(self, images, sample: bool = False, generator=None) -> np.ndarray:
        """Latents ``(n, latent_channels, h, w)`` float32 (posterior mean unless ``sample``), unscaled."""
        import torch

        out = []
        with torch.no_grad():
            for start in range(0, len(images), self.batch_size):
                dist = self.vae.encode(self.images_to_tensor(images[start : start + self.batch_size])).latent_dist
                out.append((dist.sample(generator) if sample else dist.mean).float().cpu().numpy())
        return np.concatenate(out)

    def decode(self, latents) -> np.ndarray:
        """Images ``(n, H, W, 3)`` float32 in [0, 1] from unscaled latents ``(n, c, h, w)``."""
        import torch

        latents = np.asarray(latents, dtype=np.float32)
        out = []
        with torch.no_grad():
            for start in range(0, len(latents), self.batch_size):
                z = torch.from_numpy(latents[start : start + self.batch_size]).to(self._device, self._dtype)
                out.append(self.tensor_to_images(self.vae.decode(z).sample))
        return np.concatenate(out)
