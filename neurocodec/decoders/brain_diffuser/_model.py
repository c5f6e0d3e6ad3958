"""Brain-Diffuser (Ozcelik & VanRullen 2023): a two-stage image decoder from fMRI.

Stage 1 (low level): ridge regression from voxels to the latent of an image
autoencoder, predictions renormalised to the training latent mean/std, decoded
to a coarse image. Stage 2 (semantic): ridge regression from voxels to the
generator's image embedding (and text embedding when captions are given); the
generator then runs img2img from the stage-1 image (strength 0.75) conditioned
on the predicted embeddings.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from neurocodec.pipeline import bad_value, check, load_arrays, save_arrays

__all__ = ["BrainDiffuser", "make_ridge", "DEFAULT_DECODER_ALPHAS"]

#: Candidate ridge penalties (standardised voxels; Brain-Diffuser's fixed 5e4-6e4 lies inside).
DEFAULT_DECODER_ALPHAS = tuple(float(a) for a in np.logspace(-1, 6, 15))


def make_ridge(alphas=DEFAULT_DECODER_ALPHAS, cv=5):
    """NeuroCodec's RidgeCV (one CV'd alpha per target); scikit-learn's as a fallback."""
    try:
        from neurocodec.encoders import RidgeCV
    except ImportError:  # pragma: no cover - the encoders area ships RidgeCV
        from sklearn.linear_model import RidgeCV

        return RidgeCV(alphas=list(alphas), alpha_per_target=True)
    return RidgeCV(alphas=list(alphas), cv=cv, alpha_per_target=True)


class _Head:
    """A fitted linear map ``X @ coef + intercept`` with the training target statistics."""

    def __init__(self, coef, intercept, alphas, target_mean, target_std, shape):
        self.coef = np.asarray(coef, np.float32)
        self.intercept = np.asarray(intercept, np.float32)
        self.alphas = np.asarray(alphas, np.float64)
        self.target_mean = np.asarray(target_mean, np.float32)
        self.target_std = np.asarray(target_std, np.float32)
        self.shape = tuple(int(s) for s in shape)

    @classmethod
    def fit(cls, X, Y, ridge):
        Y2 = Y.reshape(len(Y), -1).astype(np.float64)
        varying = np.ptp(Y2, axis=0) > 0  # constant targets (e.g. CLIP's BOS token) are predicted as their value
        coef = np.zeros((X.shape[1], Y2.shape[1]), np.float32)
        intercept = Y2[0].astype(np.float32)
        alphas = np.full(Y2.shape[1], np.nan)
        if varying.any():
            est = ridge.fit(X, Y2[:, varying])
            c = np.asarray(est.coef_).reshape(-1, int(varying.sum())) if np.ndim(est.coef_) < 2 else np.asarray(est.coef_)
            if c.shape != (X.shape[1], int(varying.sum())):  # scikit-learn orientation
                c = c.T
            coef[:, varying] = c
            intercept[varying] = est.intercept_
            alphas[varying] = np.broadcast_to(np.asarray(getattr(est, "alphas_", getattr(est, "alpha_", np.nan))), (int(varying.sum()),))
        return cls(coef, intercept, alphas, Y2.mean(0), Y2.std(0), Y.shape[1:])

    def predict(self, X, renormalize: bool):
        pred = X @ self.coef + self.intercept
        if renormalize and len(pred) > 1:
            sd = pred.std(0)
            pred = (pred - pred.mean(0)) / np.where(sd > 0, sd, 1.0) * self.target_std + self.target_mean
        return pred.reshape((len(X),) + self.shape).astype(np.float32)

    def arrays(self, prefix):
        return {f"{prefix}_{k}": getattr(self, k) for k in ("coef", "intercept", "alphas", "target_mean", "target_std")} | {
            f"{prefix}_shape": np.asarray(self.shape, np.int64)}

    @classmethod
    def from_arrays(cls, arrays, prefix):
        return cls(*(arrays[f"{prefix}_{k}"] for k in ("coef", "intercept", "alphas", "target_mean", "target_std", "shape")))


class BrainDiffuser:
    """Two-stage Brain-Diffuser decoder on top of any generator.

    Parameters
    ----------
    generator : object
        An image generator of :mod:`neurocodec.decoders.generation`
        (:class:`EmbeddedLatentDiffusion` or :class:`DiffusersGenerator`):
        ``embed_images``, ``generate`` and an ``autoencoder`` property.
    autoencoder : ImageAutoencoder, optional
        Stage-1 autoencoder (default: the generator's own VAE).
    alphas : sequence of float
        Ridge penalties cross-validated per target.
    cv : int
        Cross-validation folds.
    renormalize : bool
        Renormalise predicted latents / embeddings to the training mean and
        std (per dimension, over the predicted batch), as the paper does.
    strength : float
        img2img strength from the stage-1 image (paper: 0.75).
    guidance_scale : float
        Classifier-free guidance scale.
    num_inference_steps : int
        Denoising steps of the full trajectory.
    text_weight : float
        Share of the text condition where the generator mixes image and text
        embeddings (Versatile Diffusion: 0.4 text / 0.6 image in the paper).
    standardize : bool
        Z-score voxels with the training mean/std before the ridge.
    seed : int
        Seed of the generation noise.
    """

    def __init__(self, generator, autoencoder=None, alphas=DEFAULT_DECODER_ALPHAS, cv=5, renormalize=True,
                 strength=0.75, guidance_scale=3.0, num_inference_steps=50, text_weight=0.4, standardize=True, seed=0):
        self.generator = generator
        self.autoencoder = autoencoder
        self.alphas = alphas
        self.cv = cv
        self.renormalize = renormalize
        self.strength = strength
        self.guidance_scale = guidance_scale
        self.num_inference_steps = num_inference_steps
        self.text_weight = text_weight
        self.standardize = standardize
        self.seed = seed

    @property
    def _autoencoder(self):
        return self.autoencoder if self.autoencoder is not None else self.generator.autoencoder

    def _x(self, X):
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise bad_value("X", "an array of shape (n_samples, n_voxels)", f"<shape {X.shape}>")
        if hasattr(self, "x_mean_"):
            check(X.shape[1] == len(self.x_mean_), "X", f"{len(self.x_mean_)} voxels (as in fit)", f"<{X.shape[1]} voxels>")
            return (X - self.x_mean_) / self.x_scale_
        return X

    def fit(self, X, images, captions=None, latents=None, embeddings=None):
        """Fit both ridge stages.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_voxels)
            Training responses (e.g. repeat-averaged betas).
        images : array-like, shape (n_samples, H, W, 3)
            The images seen, in ``[0, 1]``.
        captions : list of str, optional
            One caption per image (text embeddings; generators with a text
            encoder only).
        latents, embeddings : ndarray, optional
            Precomputed stage-1 latents / image embeddings of ``images``.
        """
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or len(X) != len(images):
            raise bad_value("X", f"an array of shape (n_images={len(images)}, n_voxels)", f"<shape {X.shape}>")
        self.x_mean_ = X.mean(0) if self.standardize else np.zeros(X.shape[1])
        sd = X.std(0) if self.standardize else np.ones(X.shape[1])
        self.x_scale_ = np.where(sd > 0, sd, 1.0)
        Xz = self._x(X)
        if latents is None:
            latents = self._autoencoder.encode(images)
        if embeddings is None:
            embeddings = self.generator.embed_images(images)
        self.latent_head_ = _Head.fit(Xz, np.asarray(latents), make_ridge(self.alphas, self.cv))
        self.image_head_ = _Head.fit(Xz, np.asarray(embeddings), make_ridge(self.alphas, self.cv))
        self.text_head_ = None
        if captions is not None:
            check(len(captions) == len(X), "captions", f"{len(X)} captions (one per image)", f"<{len(captions)} captions>")
            self.text_head_ = _Head.fit(Xz, np.asarray(self.generator.embed_texts(list(captions))), make_ridge(self.alphas, self.cv))
        return self

    def _check_fitted(self):
        if not hasattr(self, "latent_head_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("This BrainDiffuser is not fitted yet; call fit(X, images) or load(path, generator).")

    def predict_latents(self, X) -> np.ndarray:
        """Stage-1 latents ``(n_samples, c, h, w)`` predicted from ``X``."""
        self._check_fitted()
        return self.latent_head_.predict(self._x(X), self.renormalize)

    def predict_embeddings(self, X) -> dict:
        """Predicted ``{"image": (n, ...), "text": (n, ...) or None}`` embeddings."""
        self._check_fitted()
        Xz = self._x(X)
        text = self.text_head_.predict(Xz, self.renormalize) if self.text_head_ is not None else None
        return {"image": self.image_head_.predict(Xz, self.renormalize), "text": text}

    def reconstruct(self, X, n_samples: int = 1) -> dict:
        """Reconstruct images from responses.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_voxels)
        n_samples : int
            Generate this many candidates per input and keep the one whose own
            embedding correlates best with the **predicted** embedding (never
            the true image).

        Returns
        -------
        dict with ``"stage1"`` and ``"final"`` images ``(n, H, W, 3)`` in [0, 1].
        """
        self._check_fitted()
        check(n_samples >= 1, "n_samples", ">= 1", n_samples)
        stage1 = self._autoencoder.decode(self.predict_latents(X))
        emb = self.predict_embeddings(X)
        best, best_score = None, None
        for k in range(n_samples):
            images = self.generator.generate(
                emb["image"], init_images=stage1, text_embeddings=emb["text"], text_weight=self.text_weight,
                strength=self.strength, guidance_scale=self.guidance_scale, num_inference_steps=self.num_inference_steps,
                seed=self.seed + k)
            if n_samples == 1:
                return {"stage1": stage1, "final": images}
            score = _rowwise_corr(self.generator.embed_images(images), emb["image"])
            if best is None:
                best, best_score = images.copy(), score
            else:
                better = score > best_score
                best[better], best_score[better] = images[better], score[better]
        return {"stage1": stage1, "final": best}

    # ------------------------------------------------------------ persistence
    def save(self, directory) -> Path:
        """Write ``decoder.npz`` (ridge weights, statistics) and ``decoder.json`` (parameters)."""
        self._check_fitted()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        arrays = {"x_mean": self.x_mean_, "x_scale": self.x_scale_} | self.latent_head_.arrays("latent") | self.image_head_.arrays("image")
        if self.text_head_ is not None:
            arrays |= self.text_head_.arrays("text")
        save_arrays(directory / "decoder.npz", **arrays)
        params = {k: getattr(self, k) for k in ("cv", "renormalize", "strength", "guidance_scale", "num_inference_steps",
                                                "text_weight", "standardize", "seed")}
        params["alphas"] = list(self.alphas)
        (directory / "decoder.json").write_text(json.dumps(params, indent=2) + "\n")
        return directory

    @classmethod
    def load(cls, directory, generator, autoencoder=None, **overrides) -> "BrainDiffuser":
        """Load a decoder written by :meth:`save`; ``overrides`` replace generation parameters."""
        directory = Path(directory)
        params = json.loads((directory / "decoder.json").read_text()) | overrides
        self = cls(generator, autoencoder=autoencoder, **params)
        arrays = load_arrays(directory / "decoder.npz")
        self.x_mean_, self.x_scale_ = arrays["x_mean"], arrays["x_scale"]
        self.latent_head_ = _Head.from_arrays(arrays, "latent")
        self.image_head_ = _Head.from_arrays(arrays, "image")
        self.text_head_ = _Head.from_arrays(arrays, "text") if "text_coef" in arrays else None
        return self


def _rowwise_corr(a, b):
    a = a.reshape(len(a), -1) - a.reshape(len(a), -1).mean(1, keepdims=True)
    b = b.reshape(len(b), -1) - b.reshape(len(b), -1).mean(1, keepdims=True)
    return (a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1) + 1e-12)
