"""Brain-Diffuser (Ozcelik & VanRullen 2023): a two-stage image decoder from fMRI.

Stage 1 (low level): ridge regression from voxels to the latent of an image
autoencoder, predictions renormalised to the training latent mean/std, decoded
to a coarse image. Stage 2 (semantic): ridge regression from voxels to the
generator's image embedding (and text embedding when captions are given); the
generator then runs img2img from the stage-1 image (strength 0.75) conditioned
on the predicted embeddings. The stage-1 target (latent or coarse pixels), the
strength and the guidance scale can instead be chosen among candidates on a
validation split of the training images.
"""

from __future__ import annotations

import numpy as np

from neurocodec.pipeline import PretrainedMixin, bad_value, check

from .._images import as_images, resize_images

__all__ = ["BrainDiffuser", "make_ridge", "DEFAULT_DECODER_ALPHAS"]

#: Candidate ridge penalties (standardised voxels; Brain-Diffuser's fixed 5e4-6e4 lies inside).
DEFAULT_DECODER_ALPHAS = tuple(float(a) for a in np.logspace(-1, 6, 15))


def make_ridge(alphas=DEFAULT_DECODER_ALPHAS, cv=5):
    """NeuroCodec's RidgeCV (one CV'd alpha per target); scikit-learn's as a fallback."""
    alphas = np.asarray(alphas, dtype=float) if np.asarray(alphas).dtype.kind in "biuf" else np.asarray(alphas)
    check(
        alphas.ndim == 1
        and alphas.size > 0
        and alphas.dtype.kind == "f"
        and bool(np.all(np.isfinite(alphas) & (alphas > 0))),
        "alphas",
        "a non-empty list of penalties > 0",
        alphas.tolist(),
    )
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
            c = (
                np.asarray(est.coef_).reshape(-1, int(varying.sum()))
                if np.ndim(est.coef_) < 2
                else np.asarray(est.coef_)
            )
            if c.shape != (X.shape[1], int(varying.sum())):  # scikit-learn orientation
                c = c.T
            coef[:, varying] = c
            intercept[varying] = est.intercept_
            alphas[varying] = np.broadcast_to(
                np.asarray(getattr(est, "alphas_", getattr(est, "alpha_", np.nan))), (int(varying.sum()),)
            )
        return cls(coef, intercept, alphas, Y2.mean(0), Y2.std(0), Y.shape[1:])

    def predict(self, X, renormalize: bool):
        pred = X @ self.coef + self.intercept
        if renormalize and len(pred) > 1:
            sd = pred.std(0)
            pred = (pred - pred.mean(0)) / np.where(sd > 0, sd, 1.0) * self.target_std + self.target_mean
        return pred.reshape((len(X),) + self.shape).astype(np.float32)

    def arrays(self, prefix):
        return {
            f"{prefix}_{k}": getattr(self, k) for k in ("coef", "intercept", "alphas", "target_mean", "target_std")
        } | {f"{prefix}_shape": np.asarray(self.shape, np.int64)}

    @classmethod
    def from_arrays(cls, arrays, prefix):
        return cls(
            *(arrays[f"{prefix}_{k}"] for k in ("coef", "intercept", "alphas", "target_mean", "target_std", "shape"))
        )


class BrainDiffuser(PretrainedMixin):
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
    strength : float or sequence of float
        img2img strength from the stage-1 image (paper: 0.75). A sequence is
        a list of candidates: :meth:`fit` picks one by validation (below).
    guidance_scale : float or sequence of float
        Classifier-free guidance scale, or candidates validated as ``strength``.
    num_inference_steps : int
        Denoising steps of the full trajectory.
    text_weight : float
        Share of the text condition where the generator mixes image and text
        embeddings (Versatile Diffusion: 0.4 text / 0.6 image in the paper).
    standardize : bool
        Z-score voxels with the training mean/std before the ridge.
    low_level : {"latent", "pixels"} or sequence of them
        Stage-1 ridge target: the autoencoder latent (the paper) decoded by
        the VAE, or the image itself downsampled to ``low_level_size`` (the
        coarse image directly; the VAE then encodes it for img2img). A
        sequence lists candidates validated like ``strength``.
    low_level_size : int
        Side of the downsampled image of ``low_level="pixels"``.
    seed : int
        Seed of the generation noise (and of the validation split).
    validation_fraction : float
        When ``low_level``, ``strength``, ``guidance_scale`` or
        ``rank_weight`` list several candidates, :meth:`fit` holds out this
        fraction of the TRAINING images, fits the ridges on the rest,
        reconstructs the held-out images with every candidate and keeps the
        best by ``validation_criterion`` (test data never enters the choice);
        the ridges are then refitted on all training images.
    validation_splits : int
        Number of disjoint validation splits (each ``validation_fraction`` of
        the training images; scores averaged over splits): more splits make
        the choice less noisy at the cost of more generation.
    validation_criterion : {"mean", "min"}
        Score of a candidate: the mean or the smaller of its validation 2-way
        identification accuracies on pixels and on Gabor features.
    n_samples : int
        Best-of-N candidates per image in :meth:`reconstruct` (and in the
        validation), ranked by brain-derived signals only (below).
    rank_weight : float or sequence of float
        Best-of-N ranking score ``(1 - w) * corr(embedding(candidate),
        predicted embedding) + w * corr(candidate, stage-1 image)`` (both
        images at ``low_level_size``): 0 ranks by the PREDICTED embedding
        only; the stage-1 image is itself predicted from the responses, never
        the true image. A sequence lists candidates validated like ``strength``.

    Attributes
    ----------
    low_level_ : str
    strength_, guidance_scale_, rank_weight_ : float
        The stage-1 target and generation settings used by :meth:`reconstruct`
        (the given ones, or those chosen by validation).
    stage1_head_, image_head_, text_head_ : fitted ridge maps (``alphas`` per target)
    validation_ : list of dict
        Per candidate: ``low_level``, ``strength``, ``guidance_scale``, ``rank_weight``,
        ``two_way_pixels``, ``two_way_gabor``, ``pixcorr`` on the validation images
        (means over the splits; empty without candidates).
    """

    def __init__(
        self,
        generator,
        autoencoder=None,
        alphas=DEFAULT_DECODER_ALPHAS,
        cv=5,
        renormalize=True,
        strength=0.75,
        guidance_scale=3.0,
        num_inference_steps=50,
        text_weight=0.4,
        standardize=True,
        seed=0,
        validation_fraction=0.1,
        n_samples=1,
        low_level="latent",
        low_level_size=16,
        rank_weight=0.0,
        validation_splits=1,
        validation_criterion="mean",
    ):
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
        self.validation_fraction = validation_fraction
        self.n_samples = n_samples
        self.low_level = low_level
        self.low_level_size = low_level_size
        self.rank_weight = rank_weight
        self.validation_splits = validation_splits
        self.validation_criterion = validation_criterion

    def _candidates(self):
        """Candidate ``(low_level, strength, guidance_scale, rank_weight)`` tuples."""
        lows = [self.low_level] if isinstance(self.low_level, str) else list(self.low_level)
        for v in lows:
            check(v in ("latent", "pixels"), "low_level", "'latent' or 'pixels'", v, of="BrainDiffuser")
        strengths = [float(v) for v in np.atleast_1d(self.strength)]
        scales = [float(v) for v in np.atleast_1d(self.guidance_scale)]
        for v in strengths:
            check(0 < v <= 1, "strength", "in (0, 1]", v, of="BrainDiffuser")
        for v in scales:
            check(v >= 1, "guidance_scale", ">= 1", v, of="BrainDiffuser")
        weights = [float(v) for v in np.atleast_1d(self.rank_weight)]
        for v in weights:
            check(0 <= v <= 1, "rank_weight", "in [0, 1]", v, of="BrainDiffuser")
        return [(low, a, b, w) for low in lows for a in strengths for b in scales for w in weights]

    def _score(self, row):
        check(
            self.validation_criterion in ("mean", "min"),
            "validation_criterion",
            "'mean' or 'min'",
            self.validation_criterion,
            of="BrainDiffuser",
        )
        pair = (row["two_way_pixels"], row["two_way_gabor"])
        return min(pair) if self.validation_criterion == "min" else sum(pair) / 2

    @property
    def _autoencoder(self):
        return self.autoencoder if self.autoencoder is not None else self.generator.autoencoder

    def _x(self, X):
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise bad_value("X", "an array of shape (n_samples, n_voxels)", f"<shape {X.shape}>")
        if hasattr(self, "x_mean_"):
            check(
                X.shape[1] == len(self.x_mean_),
                "X",
                f"{len(self.x_mean_)} voxels (as in fit)",
                f"<{X.shape[1]} voxels>",
            )
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
        for name in ("x_mean_", "x_scale_"):  # refitting: standardise with the new data's statistics
            self.__dict__.pop(name, None)
        candidates = self._candidates()
        if latents is None and any(c[0] == "latent" for c in candidates):
            latents = self._autoencoder.encode(images)
        if embeddings is None:
            embeddings = self.generator.embed_images(images)
        self.validation_ = []
        if len(candidates) > 1:
            self.validation_ = self._validate(
                X, np.asarray(images), captions, latents, np.asarray(embeddings), candidates
            )
            best = max(self.validation_, key=self._score)
            self.low_level_, self.strength_ = best["low_level"], best["strength"]
            self.guidance_scale_, self.rank_weight_ = best["guidance_scale"], best["rank_weight"]
        else:
            self.low_level_, self.strength_, self.guidance_scale_, self.rank_weight_ = candidates[0]
        self.x_mean_ = X.mean(0) if self.standardize else np.zeros(X.shape[1])
        sd = X.std(0) if self.standardize else np.ones(X.shape[1])
        self.x_scale_ = np.where(sd > 0, sd, 1.0)
        Xz = self._x(X)
        self.stage1_head_ = _Head.fit(Xz, self._stage1_targets(images, latents), make_ridge(self.alphas, self.cv))
        self.image_head_ = _Head.fit(Xz, np.asarray(embeddings), make_ridge(self.alphas, self.cv))
        self.text_head_ = None
        if captions is not None:
            check(
                len(captions) == len(X), "captions", f"{len(X)} captions (one per image)", f"<{len(captions)} captions>"
            )
            self.text_head_ = _Head.fit(
                Xz, np.asarray(self.generator.embed_texts(list(captions))), make_ridge(self.alphas, self.cv)
            )
        return self

    def _validate(self, X, images, captions, latents, embeddings, candidates):
        """Score every candidate pair on a held-out part of the training images."""
        from ..metrics import FeatureExtractor, pixcorr, two_way_identification

        check(
            0 < self.validation_fraction < 1,
            "validation_fraction",
            "in (0, 1)",
            self.validation_fraction,
            of="BrainDiffuser",
        )
        check(int(self.validation_splits) >= 1, "validation_splits", ">= 1", self.validation_splits, of="BrainDiffuser")
        n_val = int(round(len(X) * self.validation_fraction))
        n_splits = int(self.validation_splits)
        check(
            n_val >= 2 and len(X) - n_val * n_splits >= 0 and len(X) - n_val >= 2,
            "validation_fraction",
            f"a fraction leaving >= 2 validation images per split ({n_splits} disjoint splits) and >= 2 fitting images "
            f"of {len(X)}",
            self.validation_fraction,
            of="BrainDiffuser",
        )
        perm = np.random.default_rng(self.seed).permutation(len(X))
        scores = {}
        for split in range(n_splits):
            val = np.sort(perm[split * n_val : (split + 1) * n_val])
            fit = np.setdiff1d(np.arange(len(X)), val)
            true = images[val]
            extractors = {name: FeatureExtractor(name).fit(true) for name in ("pixels", "gabor")}
            feats_true = {name: ext(true) for name, ext in extractors.items()}
            for low in dict.fromkeys(c[0] for c in candidates):
                inner = BrainDiffuser(
                    self.generator,
                    autoencoder=self.autoencoder,
                    alphas=self.alphas,
                    cv=self.cv,
                    renormalize=self.renormalize,
                    num_inference_steps=self.num_inference_steps,
                    text_weight=self.text_weight,
                    standardize=self.standardize,
                    seed=self.seed,
                    n_samples=self.n_samples,
                    low_level=low,
                    low_level_size=self.low_level_size,
                )
                inner.fit(
                    X[fit],
                    images[fit],
                    captions=None if captions is None else [captions[i] for i in fit],
                    latents=None if latents is None else np.asarray(latents)[fit],
                    embeddings=embeddings[fit],
                )
                stage1 = inner._stage1(X[val])
                emb = inner.predict_embeddings(X[val])
                for setting in dict.fromkeys(c[1:3] for c in candidates if c[0] == low):
                    samples = inner._samples(stage1, emb, *setting, self.n_samples)
                    for weight in (c[3] for c in candidates if c[:3] == (low, *setting)):
                        pred = resize_images(inner._select(samples, weight), true.shape[1:3])
                        row = {"pixcorr": float(pixcorr(true, pred))}
                        for name, ext in extractors.items():
                            row[f"two_way_{name}"] = float(two_way_identification(feats_true[name], ext(pred)))
                        for k, v in row.items():
                            scores.setdefault((low, *setting, weight), {}).setdefault(k, []).append(v)
        return [
            {"low_level": c[0], "strength": c[1], "guidance_scale": c[2], "rank_weight": c[3]}
            | {k: float(np.mean(v)) for k, v in row.items()}
            for c, row in scores.items()
        ]

    def _stage1_targets(self, images, latents):
        if self.low_level_ == "latent":
            return np.asarray(latents if latents is not None else self._autoencoder.encode(images))
        check(self.low_level_size >= 2, "low_level_size", ">= 2", self.low_level_size, of="BrainDiffuser")
        return resize_images(as_images(images), self.low_level_size)

    def _check_fitted(self):
        if not hasattr(self, "stage1_head_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("This BrainDiffuser is not fitted yet; call fit(X, images) or load(path, generator).")

    def predict_latents(self, X) -> np.ndarray:
        """Stage-1 latents ``(n_samples, c, h, w)`` predicted from ``X`` (``low_level="pixels"``: the coarse image)."""
        self._check_fitted()
        if self.low_level_ == "pixels":
            return self._autoencoder.encode(self._stage1(X))
        return self.stage1_head_.predict(self._x(X), self.renormalize)

    def predict_stage1(self, X) -> np.ndarray:
        """Stage-1 (low-level) images ``(n_samples, H, W, 3)`` in [0, 1] predicted from ``X``."""
        self._check_fitted()
        return self._stage1(X)

    def predict_embeddings(self, X) -> dict:
        """Predicted ``{"image": (n, ...), "text": (n, ...) or None}`` embeddings."""
        self._check_fitted()
        Xz = self._x(X)
        text = self.text_head_.predict(Xz, self.renormalize) if self.text_head_ is not None else None
        return {"image": self.image_head_.predict(Xz, self.renormalize), "text": text}

    def reconstruct(self, X, n_samples: int | None = None) -> dict:
        """Reconstruct images from responses.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_voxels)
        n_samples : int, optional
            Generate this many candidates per input and keep the one whose own
            embedding correlates best with the **predicted** embedding (never
            the true image); default ``self.n_samples``.

        Returns
        -------
        dict with ``"stage1"`` and ``"final"`` images ``(n, H, W, 3)`` in [0, 1].
        """
        self._check_fitted()
        n_samples = self.n_samples if n_samples is None else n_samples
        stage1 = self._stage1(X)
        strength = getattr(self, "strength_", None) if np.ndim(self.strength) else self.strength
        scale = getattr(self, "guidance_scale_", None) if np.ndim(self.guidance_scale) else self.guidance_scale
        weight = getattr(self, "rank_weight_", 0.0) if np.ndim(self.rank_weight) else self.rank_weight
        samples = self._samples(stage1, self.predict_embeddings(X), float(strength), float(scale), n_samples)
        return {"stage1": stage1, "final": self._select(samples, float(weight))}

    def _stage1(self, X):
        if self.low_level_ == "latent":
            return self._autoencoder.decode(self.stage1_head_.predict(self._x(X), self.renormalize))
        coarse = np.clip(self.stage1_head_.predict(self._x(X), self.renormalize), 0.0, 1.0)
        return resize_images(coarse, self._autoencoder.size)

    def _samples(self, stage1, emb, strength, guidance_scale, n_samples):
        """``n_samples`` img2img candidates per image with their two ranking signals (no true image involved)."""
        check(n_samples >= 1, "n_samples", ">= 1", n_samples)
        out = {"images": [], "embedding": [], "stage1": []}
        small = resize_images(stage1, self.low_level_size)
        for k in range(n_samples):
            images = self.generator.generate(
                emb["image"],
                init_images=stage1,
                text_embeddings=emb["text"],
                text_weight=self.text_weight,
                strength=strength,
                guidance_scale=guidance_scale,
                num_inference_steps=self.num_inference_steps,
                seed=self.seed + k,
            )
            out["images"].append(images)
            if n_samples > 1:
                out["embedding"].append(_rowwise_corr(self.generator.embed_images(images), emb["image"]))
                out["stage1"].append(_rowwise_corr(resize_images(images, self.low_level_size), small))
        return out

    @staticmethod
    def _select(samples, rank_weight):
        """Per image, the candidate maximising ``(1 - w) * embedding agreement + w * stage-1 agreement``."""
        if len(samples["images"]) == 1:
            return samples["images"][0]
        score = (1 - rank_weight) * np.stack(samples["embedding"]) + rank_weight * np.stack(samples["stage1"])
        best = score.argmax(0)
        return np.stack(samples["images"])[best, np.arange(len(best))]

    # ------------------------------------------------------------ persistence (PretrainedMixin)
    _PARAMS = (
        "cv",
        "renormalize",
        "num_inference_steps",
        "text_weight",
        "standardize",
        "seed",
        "validation_fraction",
        "n_samples",
        "low_level_size",
        "validation_splits",
        "validation_criterion",
    )

    def _pretrained_config(self) -> dict:
        params = {k: getattr(self, k) for k in self._PARAMS}
        params["low_level"] = self.low_level if isinstance(self.low_level, str) else list(self.low_level)
        params |= {
            k: [float(v) for v in np.atleast_1d(getattr(self, k))]
            if np.ndim(getattr(self, k))
            else float(getattr(self, k))
            for k in ("strength", "guidance_scale", "rank_weight")
        }
        params["alphas"] = list(self.alphas)
        return params

    def _pretrained_state(self) -> dict:
        self._check_fitted()
        arrays = (
            {"x_mean": self.x_mean_, "x_scale": self.x_scale_}
            | self.stage1_head_.arrays(self.low_level_)
            | self.image_head_.arrays("image")
        )
        if self.text_head_ is not None:
            arrays |= self.text_head_.arrays("text")
        selected = {
            "low_level": self.low_level_,
            "strength": float(self.strength_),
            "guidance_scale": float(self.guidance_scale_),
            "rank_weight": float(self.rank_weight_),
            "validation": self.validation_,
        }
        return {"arrays": arrays, "json": {"selected": selected}}

    @classmethod
    def _from_pretrained_state(
        cls, config, state, directory, device, generator=None, autoencoder=None, **overrides
    ) -> BrainDiffuser:
        """``generator`` (required): the generator the decoder was fitted with; ``overrides`` (``None`` values
        ignored) replace generation parameters.
        """
        if generator is None:
            raise bad_value(
                "generator", "the generator the decoder was fitted with", None, of="BrainDiffuser.from_pretrained"
            )
        config |= {k: v for k, v in overrides.items() if v is not None}
        self = cls(generator, autoencoder=autoencoder, **config)
        selected = state["json"]["selected"]
        self.low_level_, self.strength_ = selected["low_level"], selected["strength"]
        self.guidance_scale_, self.rank_weight_ = selected["guidance_scale"], float(selected["rank_weight"])
        self.validation_ = selected["validation"]
        arrays = state["arrays"]
        self.x_mean_, self.x_scale_ = arrays["x_mean"], arrays["x_scale"]
        self.stage1_head_ = _Head.from_arrays(arrays, self.low_level_)
        self.image_head_ = _Head.from_arrays(arrays, "image")
        self.text_head_ = _Head.from_arrays(arrays, "text") if "text_coef" in arrays else None
        return self


def _rowwise_corr(a, b):
    a = a.reshape(len(a), -1) - a.reshape(len(a), -1).mean(1, keepdims=True)
    b = b.reshape(len(b), -1) - b.reshape(len(b), -1).mean(1, keepdims=True)
    return (a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1) + 1e-12)
