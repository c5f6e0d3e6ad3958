"""The offline embedded generator: a small latent diffusion model trained on the stimuli themselves.

Real Stable Diffusion / unCLIP / Versatile Diffusion weights are not available
everywhere, so NeuroCodec can train, in minutes on a CPU, the same kind of
model at stimulus scale: a small diffusers ``AutoencoderKL`` (the stage-1 latent
space), NeuroCodec's own image embedding (PCA-whitened features of the real
pretrained EfficientNet-Lite0, the CLIP stand-in) and a small
``UNet2DConditionModel`` denoising latents conditioned on that embedding
(cross-attention token + projected class embedding, as unCLIP does), with
classifier-free guidance and DDIM img2img sampling.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from neurocodec.pipeline import PretrainedMixin, bad_value, check

from .._images import as_images, resize_images
from ._autoencoder import ImageAutoencoder, small_autoencoder_config
from ._sampling import img2img_loop

__all__ = ["ImageEmbedder", "EmbeddedLatentDiffusion"]


class ImageEmbedder(PretrainedMixin, TransformerMixin, BaseEstimator):
    """NeuroCodec's image embedding: whitened principal components of image features.

    Parameters
    ----------
    source : {"effnet_lite0", "pixels"}
        ``"effnet_lite0"``: pooled features of the ImageNet-pretrained
        EfficientNet-Lite0 (shipped offline); ``"pixels"``: 8x8 thumbnails.
    n_components : int
        Embedding dimension (per token).
    input_size : int
        Image size fed to the network.
    spatial_grid : int
        0: one pooled token ``(n_components,)``. ``g > 0``: also ``g * g``
        spatial tokens, as CLIP-vision's patch tokens that Brain-Diffuser
        regresses next to its class token: EfficientNet-Lite0's stride-16
        feature map (80 channels) averaged to a ``g x g`` grid, each cell
        projected on principal components shared by all cells (whitened), so
        the embedding is ``(1 + g * g, n_components)`` and says *where* which
        mid-level structure is, which a pooled vector cannot.
    spatial_size : int
        Image size fed to the network for the spatial tokens (128: an 8 x 8
        feature map, whose cells stay local; at 64 the 4 x 4 map is dominated
        by the zero-padded borders).

    Attributes
    ----------
    mean_, components_, scale_ : ndarray
        Feature mean ``(n_features,)``, principal axes ``(n_components, n_features)`` and their standard
        deviations ``(n_components,)`` on the fit images.
    spatial_mean_, spatial_components_, spatial_scale_ : ndarray
        The same for the feature-map cells (``spatial_grid > 0``).
    """

    def __init__(
        self,
        source: str = "effnet_lite0",
        n_components: int = 64,
        input_size: int = 64,
        spatial_grid: int = 0,
        spatial_size: int = 128,
    ):
        self.source = source
        self.n_components = n_components
        self.input_size = input_size
        self.spatial_grid = spatial_grid
        self.spatial_size = spatial_size

    def _spatial_features(self, images) -> np.ndarray:
        """``(n_images, g * g, 80)`` EfficientNet-Lite0 stride-16 features averaged over a ``g x g`` grid."""
        import torch
        import torch.nn.functional as F

        from ..metrics._extractors import _IMAGENET

        net = getattr(getattr(self, "extractor_", None), "net_", None)  # the pooled features' network, loaded once
        if net is None:
            self._features(images[:1])
            net = self.extractor_.net_
        g = int(self.spatial_grid)
        mean, std = (torch.tensor(v)[:, None, None] for v in _IMAGENET)
        images = as_images(images)
        out = []
        with torch.no_grad():
            for start in range(0, len(images), 64):
                batch = resize_images(images[start : start + 64].astype(np.float32), self.spatial_size)
                x = (torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2) - mean) / std
                fmap = net.blocks[:4](net.bn1(net.conv_stem(x)))  # stride 16, 80 channels
                cells = F.adaptive_avg_pool2d(fmap, g)  # (b, 80, g, g)
                out.append(cells.flatten(2).transpose(1, 2).numpy())
        return np.concatenate(out).astype(np.float64)

    def _features(self, images) -> np.ndarray:
        images = as_images(images)
        if self.source == "pixels":
            return resize_images(images, 8).reshape(len(images), -1)
        if self.source == "effnet_lite0":
            from ..metrics import FeatureExtractor

            if getattr(self, "extractor_", None) is None:
                self.extractor_ = FeatureExtractor("effnet_lite0", size=self.input_size, batch_size=64)
            return self.extractor_(images)
        raise bad_value("source", "'effnet_lite0' or 'pixels'", self.source, of="ImageEmbedder")

    def fit(self, images, y=None) -> ImageEmbedder:
        """Fit the principal components on ``(n_images, H, W, 3)`` images."""
        feats = self._features(images)
        k = min(self.n_components, feats.shape[0] - 1, feats.shape[1])
        check(
            k == self.n_components,
            "n_components",
            f"<= min(n_images - 1, n_features) = {k}",
            self.n_components,
            of="ImageEmbedder",
        )
        self.mean_ = feats.mean(0).astype(np.float32)
        _, s, vt = np.linalg.svd(feats - self.mean_, full_matrices=False)
        self.components_ = vt[:k].astype(np.float32)
        self.scale_ = (s[:k] / np.sqrt(len(feats) - 1)).astype(np.float32)
        if self.spatial_grid:
            check(
                self.source == "effnet_lite0",
                "spatial_grid",
                "0 unless source='effnet_lite0'",
                self.spatial_grid,
                of="ImageEmbedder",
            )
            cells = self._spatial_features(images)
            cells = cells.reshape(-1, cells.shape[-1])
            check(
                self.n_components <= cells.shape[1],
                "n_components",
                f"<= {cells.shape[1]} (the feature-map channels) with spatial_grid",
                self.n_components,
                of="ImageEmbedder",
            )
            self.spatial_mean_ = cells.mean(0).astype(np.float32)
            _, s, vt = np.linalg.svd(cells - self.spatial_mean_, full_matrices=False)
            self.spatial_components_ = vt[: self.n_components].astype(np.float32)
            self.spatial_scale_ = (s[: self.n_components] / np.sqrt(len(cells) - 1)).astype(np.float32)
        return self

    def transform(self, images) -> np.ndarray:
        """Embeddings ``(n_images, n_components)`` float32 (unit variance per dimension on the fit set);
        ``(n_images, 1 + g * g, n_components)`` with ``spatial_grid = g`` (token 0 the pooled one).
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "components_")
        feats = self._features(images).astype(np.float32)
        pooled = ((feats - self.mean_) @ self.components_.T) / self.scale_
        if not self.spatial_grid:
            return pooled
        cells = self._spatial_features(images).astype(np.float32)
        spatial = ((cells - self.spatial_mean_) @ self.spatial_components_.T) / self.spatial_scale_
        return np.concatenate([pooled[:, None, :], spatial], axis=1).astype(np.float32)

    # ------------------------------------------------------------ persistence (PretrainedMixin)
    _ARRAYS = ("mean_", "components_", "scale_")
    _SPATIAL = ("spatial_mean_", "spatial_components_", "spatial_scale_")

    def _pretrained_config(self) -> dict:
        return self.get_params()

    def _pretrained_state(self) -> dict:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "components_")
        names = self._ARRAYS + (self._SPATIAL if self.spatial_grid else ())
        return {"arrays": {k.rstrip("_"): getattr(self, k) for k in names}}

    @classmethod
    def _from_pretrained_state(cls, config, state, directory, device, **kwargs) -> ImageEmbedder:
        self = cls(**config)
        for k in self._ARRAYS + (self._SPATIAL if self.spatial_grid else ()):
            setattr(self, k, np.asarray(state["arrays"][k.rstrip("_")], np.float32))
        return self


def _degrade(x, fraction, gen):
    """Replace a ``fraction`` of the batch ``x`` (n, 3, H, W) by blurred copies (down/up-sampled by 2x to 8x)."""
    import torch
    import torch.nn.functional as F

    n = int(round(len(x) * fraction))
    if n == 0:
        return x
    x = x.clone()
    side = x.shape[-1]
    for k in range(n):
        factor = int(2 ** torch.randint(1, 4, (1,), generator=gen).item())
        small = F.interpolate(
            x[k : k + 1], size=max(side // factor, 1), mode="bilinear", antialias=True, align_corners=False
        )
        x[k : k + 1] = F.interpolate(small, size=side, mode="bilinear", align_corners=False)
    return x


def _unet_config(latent_size, latent_channels, channels, embed_dim):
    return dict(
        sample_size=latent_size,
        in_channels=latent_channels,
        out_channels=latent_channels,
        layers_per_block=1,
        block_out_channels=list(channels),
        down_block_types=["CrossAttnDownBlock2D"] * (len(channels) - 1) + ["DownBlock2D"],
        up_block_types=["UpBlock2D"] + ["CrossAttnUpBlock2D"] * (len(channels) - 1),
        cross_attention_dim=embed_dim,
        attention_head_dim=8,
        norm_num_groups=min(32, min(channels)),
        class_embed_type="projection",
        projection_class_embeddings_input_dim=embed_dim,
    )


class EmbeddedLatentDiffusion(PretrainedMixin, BaseEstimator):
    """Small conditional latent diffusion model trained on the stimuli (offline generator).

    Parameters
    ----------
    image_size : int
        Square image size the models work at.
    vae_channels : sequence of int
        ``block_out_channels`` of the ``AutoencoderKL`` (latent side =
        ``image_size / 2 ** (len - 1)``).
    latent_channels : int
        Channels of the latent.
    unet_channels : sequence of int
        ``block_out_channels`` of the ``UNet2DConditionModel``.
    embed_dim : int
        Dimension of the conditioning image embedding.
    embedding : {"effnet_lite0", "pixels"}
        Features the embedding is computed from (see :class:`ImageEmbedder`).
    spatial_grid : int
        0: condition on one pooled embedding token. ``g > 0``: on ``1 + g * g``
        tokens (pooled + a ``g x g`` grid of EfficientNet-Lite0 feature-map
        cells, see :class:`ImageEmbedder`) through cross-attention, as
        Brain-Diffuser conditions on CLIP-vision's class and patch tokens.
    vae_steps, unet_steps : int
        Optimisation steps of the autoencoder and of the denoiser.
    batch_size : int
        Training batch size.
    learning_rate : float
        AdamW learning rate (both models).
    kl_weight : float
        Weight of the KL term of the autoencoder loss.
    vae_degrade : float
        Share of each autoencoder batch replaced by degraded copies of the
        images (bilinear down- and up-sampling by 2x to 8x), input and target
        alike, so the VAE also encodes coarse images (such as stage-1
        reconstructions) faithfully; 0 trains on the stimuli only.
    cond_dropout : float
        Probability of dropping the embedding while training the denoiser
        (enables classifier-free guidance).
    prediction_type : {"epsilon", "v_prediction", "sample"}
        What the denoiser predicts.
    num_train_timesteps : int
        Diffusion steps of the training noise schedule (squared-cosine).
    seed : int
        Seed of initialisation, batches and noise.
    device : str
        Torch device.

    Attributes
    ----------
    vae_, unet_, scheduler_ : diffusers models and the DDIM scheduler
    embedder_ : ImageEmbedder
    losses_ : dict of list of float
        Training losses (``"vae"``, ``"unet"``), one per step.
    """

    def __init__(
        self,
        image_size: int = 32,
        vae_channels=(32, 64, 64),
        latent_channels: int = 4,
        unet_channels=(64, 128),
        embed_dim: int = 64,
        embedding: str = "effnet_lite0",
        spatial_grid: int = 0,
        vae_steps: int = 600,
        unet_steps: int = 1500,
        batch_size: int = 64,
        learning_rate: float = 1e-3,
        kl_weight: float = 1e-4,
        vae_degrade: float = 0.0,
        cond_dropout: float = 0.1,
        prediction_type: str = "epsilon",
        num_train_timesteps: int = 1000,
        seed: int = 0,
        device: str = "cpu",
    ):
        self.image_size = image_size
        self.vae_channels = vae_channels
        self.latent_channels = latent_channels
        self.unet_channels = unet_channels
        self.embed_dim = embed_dim
        self.embedding = embedding
        self.spatial_grid = spatial_grid
        self.vae_steps = vae_steps
        self.unet_steps = unet_steps
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.kl_weight = kl_weight
        self.vae_degrade = vae_degrade
        self.cond_dropout = cond_dropout
        self.prediction_type = prediction_type
        self.num_train_timesteps = num_train_timesteps
        self.seed = seed
        self.device = device

    # ------------------------------------------------------------------ fitting
    def _check_params(self):
        check(self.image_size >= 8, "image_size", ">= 8", self.image_size, of="EmbeddedLatentDiffusion")
        factor = 2 ** (len(self.vae_channels) - 1)
        check(
            self.image_size % factor == 0,
            "image_size",
            f"a multiple of {factor} (the VAE downsampling)",
            self.image_size,
            of="EmbeddedLatentDiffusion",
        )
        check(
            self.prediction_type in ("epsilon", "v_prediction", "sample"),
            "prediction_type",
            "'epsilon', 'v_prediction' or 'sample'",
            self.prediction_type,
            of="EmbeddedLatentDiffusion",
        )
        check(0 <= self.vae_degrade <= 1, "vae_degrade", "in [0, 1]", self.vae_degrade, of="EmbeddedLatentDiffusion")
        check(0 <= self.cond_dropout < 1, "cond_dropout", "in [0, 1)", self.cond_dropout, of="EmbeddedLatentDiffusion")
        check(int(self.spatial_grid) >= 0, "spatial_grid", ">= 0", self.spatial_grid, of="EmbeddedLatentDiffusion")

    def _schedulers(self):
        from ._diffusers import diffusers

        DDIMScheduler, DDPMScheduler = diffusers().DDIMScheduler, diffusers().DDPMScheduler

        kw = dict(
            num_train_timesteps=self.num_train_timesteps,
            beta_schedule="squaredcos_cap_v2",
            prediction_type=self.prediction_type,
            clip_sample=False,
        )
        return DDPMScheduler(**kw), DDIMScheduler(**kw, set_alpha_to_one=True)

    def fit(self, images) -> EmbeddedLatentDiffusion:
        """Train the autoencoder, the embedding and the denoiser on ``(n_images, H, W, 3)`` images."""
        import torch

        from ._diffusers import diffusers

        AutoencoderKL, UNet2DConditionModel = diffusers().AutoencoderKL, diffusers().UNet2DConditionModel

        self._check_params()
        images = resize_images(as_images(images), self.image_size).astype(np.float32)
        torch.manual_seed(self.seed)
        gen = torch.Generator().manual_seed(self.seed)
        self.losses_ = {"vae": [], "unet": []}

        self.vae_ = AutoencoderKL(
            **small_autoencoder_config(self.image_size, self.vae_channels, self.latent_channels)
        ).to(self.device)
        ae = ImageAutoencoder(self.vae_)
        x_all = ae.images_to_tensor(images)
        opt = torch.optim.AdamW(self.vae_.parameters(), lr=self.learning_rate, weight_decay=0.0)
        self.vae_.train()
        for _ in range(self.vae_steps):
            idx = torch.randint(0, len(x_all), (min(self.batch_size, len(x_all)),), generator=gen)
            x = x_all[idx]
            if self.vae_degrade > 0:
                x = _degrade(x, self.vae_degrade, gen)
            dist = self.vae_.encode(x).latent_dist
            z = dist.mean + dist.std * torch.randn(dist.mean.shape, generator=gen).to(x.device)
            loss = (
                torch.nn.functional.mse_loss(self.vae_.decode(z).sample, x)
                + self.kl_weight * dist.kl().mean() / z[0].numel()
            )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            self.losses_["vae"].append(loss.item())
        self.vae_.eval().requires_grad_(False)

        with torch.no_grad():
            dists = [self.vae_.encode(x_all[s : s + 256]).latent_dist for s in range(0, len(x_all), 256)]
            mean = torch.cat([d.mean for d in dists])
            std = torch.cat([d.std for d in dists])
        scaling = float(1.0 / mean.std())
        self.vae_.register_to_config(scaling_factor=scaling)

        self.embedder_ = ImageEmbedder(self.embedding, self.embed_dim, spatial_grid=self.spatial_grid).fit(images)
        emb_all = torch.from_numpy(self.embedder_.transform(images).reshape(len(images), -1, self.embed_dim)).to(
            self.device
        )

        latent_size = self.image_size // 2 ** (len(self.vae_channels) - 1)
        self.unet_ = UNet2DConditionModel(
            **_unet_config(latent_size, self.latent_channels, self.unet_channels, self.embed_dim)
        ).to(self.device)
        train_sched, self.scheduler_ = self._schedulers()
        opt = torch.optim.AdamW(self.unet_.parameters(), lr=self.learning_rate, weight_decay=0.0)
        lr_sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(self.unet_steps, 1))
        self.unet_.train()
        for _ in range(self.unet_steps):
            idx = torch.randint(0, len(mean), (min(self.batch_size, len(mean)),), generator=gen)
            z0 = (mean[idx] + std[idx] * torch.randn(mean[idx].shape, generator=gen).to(mean.device)) * scaling
            cond = (
                emb_all[idx]
                * (torch.rand(len(idx), generator=gen) >= self.cond_dropout).float().to(self.device)[:, None, None]
            )
            noise = torch.randn(z0.shape, generator=gen).to(z0.device)
            t = torch.randint(0, self.num_train_timesteps, (len(idx),), generator=gen).to(z0.device)
            zt = train_sched.add_noise(z0, noise, t)
            target = {"epsilon": noise, "sample": z0}.get(self.prediction_type)
            if target is None:
                target = train_sched.get_velocity(z0, noise, t)
            out = self.unet_(zt, t, encoder_hidden_states=cond, class_labels=cond[:, 0]).sample
            loss = torch.nn.functional.mse_loss(out, target)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            lr_sched.step()
            self.losses_["unet"].append(loss.item())
        self.unet_.eval().requires_grad_(False)
        return self

    # --------------------------------------------------------------- inference
    def _check_fitted(self):
        if getattr(self, "unet_", None) is None:
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(
                "This EmbeddedLatentDiffusion is not fitted yet; call fit(images) or from_pretrained(path)."
            )

    @property
    def autoencoder(self) -> ImageAutoencoder:
        """The stage-1 :class:`ImageAutoencoder` (the generator's own VAE)."""
        self._check_fitted()
        return ImageAutoencoder(self.vae_)

    @property
    def embedding_shape(self) -> tuple:
        return (1 + int(self.spatial_grid) ** 2, self.embed_dim) if self.spatial_grid else (self.embed_dim,)

    def embed_images(self, images) -> np.ndarray:
        """Conditioning embeddings ``(n_images, *embedding_shape)`` of images (ridge targets of stage 2)."""
        self._check_fitted()
        return self.embedder_.transform(images)

    def generate(
        self,
        embeddings,
        init_images=None,
        strength: float = 0.75,
        num_inference_steps: int = 50,
        guidance_scale: float = 3.0,
        seed: int = 0,
        batch_size: int = 64,
        **unused,
    ) -> np.ndarray:
        """Images ``(n, H, W, 3)`` in [0, 1] conditioned on ``embeddings`` ``(n, *embedding_shape)``.

        With ``init_images`` (img2img) their latents are noised to ``strength``
        and denoised; without, generation starts from pure noise.
        ``guidance_scale`` > 1 applies classifier-free guidance against the
        null (zero) embedding. Other keyword arguments of the generator API
        (e.g. ``text_embeddings``) have no meaning here and are ignored.
        """
        import torch

        self._check_fitted()
        shape = self.embedding_shape
        emb = np.asarray(embeddings, dtype=np.float32).reshape(len(embeddings), -1)
        check(
            emb.shape[1] == int(np.prod(shape)),
            "embeddings",
            f"of shape (n, {', '.join(map(str, shape))})",
            f"<shape {np.shape(embeddings)}>",
        )
        emb = emb.reshape(len(emb), -1, self.embed_dim)
        check(0 < strength <= 1, "strength", "in (0, 1]", strength)
        dev = next(self.unet_.parameters()).device
        scaling = self.vae_.config.scaling_factor
        latent_size = self.unet_.config.sample_size
        if init_images is not None:
            init = as_images(init_images, "init_images")
            check(
                len(init) == len(emb), "init_images", f"{len(emb)} images (one per embedding)", f"<{len(init)} images>"
            )
            init_latents = self.autoencoder.encode(init) * scaling
        else:
            init_latents = np.zeros((len(emb), self.latent_channels, latent_size, latent_size), np.float32)
            strength = 1.0
        gen = torch.Generator().manual_seed(seed)
        out = []
        for s in range(0, len(emb), batch_size):
            cond = torch.from_numpy(emb[s : s + batch_size]).to(dev)
            both = torch.cat([torch.zeros_like(cond), cond])

            def denoise(z, t, both=both):
                if guidance_scale == 1.0:
                    c = both[len(both) // 2 :]
                    return self.unet_(z, t, encoder_hidden_states=c, class_labels=c[:, 0]).sample
                pred = self.unet_(torch.cat([z, z]), t, encoder_hidden_states=both, class_labels=both[:, 0]).sample
                uncond, condp = pred.chunk(2)
                return uncond + guidance_scale * (condp - uncond)

            with torch.no_grad():
                z0 = torch.from_numpy(init_latents[s : s + batch_size]).to(dev)
                z = img2img_loop(denoise, self.scheduler_, z0, strength, num_inference_steps, gen)
                out.append(ImageAutoencoder.tensor_to_images(self.vae_.decode(z / scaling).sample))
        return np.concatenate(out)

    # ------------------------------------------------------------ persistence (PretrainedMixin)
    format_version = 2  # 2: the embedder in its own folder (embedder/)

    def _pretrained_config(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.get_params().items() if k != "device"}

    def _pretrained_state(self) -> dict:
        """vae/, unet/, scheduler/ in diffusers' format; embedder/ (an :class:`ImageEmbedder`)."""
        self._check_fitted()
        folders = {"vae": self.vae_, "unet": self.unet_, "scheduler": self.scheduler_, "embedder": self.embedder_}
        return {"folders": folders}

    @classmethod
    def _from_pretrained_state(cls, config, state, directory, device, **kwargs) -> EmbeddedLatentDiffusion:
        from ._diffusers import diffusers

        d = diffusers()
        self = cls(**config, device=device)
        # low_cpu_mem_usage=False: what diffusers falls back to without accelerate, said so it logs no warning
        self.vae_ = d.AutoencoderKL.from_pretrained(directory / "vae", low_cpu_mem_usage=False).to(device).eval()
        self.unet_ = d.UNet2DConditionModel.from_pretrained(directory / "unet", low_cpu_mem_usage=False)
        self.unet_ = self.unet_.to(device).eval()
        self.scheduler_ = d.DDIMScheduler.from_pretrained(directory / "scheduler")
        self.embedder_ = state["folders"]["embedder"]
        return self
