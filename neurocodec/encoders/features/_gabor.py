"""Weights-free Gabor wavelet pyramid (Kay et al. 2008, Nature 452:352)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ...pipeline import PretrainedMixin, bad_value

__all__ = ["GaborPyramid", "to_grayscale"]

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def to_grayscale(images):
    """Luminance images ``(n_images, H, W)`` float32 from ``(n, H, W)`` or ``(n, H, W, 3)`` (uint8 or [0, 1])."""
    from ...datasets._validation import as_float_images

    x = np.asarray(images)
    if x.ndim == 4 and x.shape[-1] == 4:  # RGBA: drop alpha
        x = x[..., :3]
    return as_float_images(x).astype(np.float32, copy=False) @ _LUMA


def _resize(gray, size):
    if size is None or gray.shape[1:] == (size, size):
        return gray
    from PIL import Image

    return np.stack([np.asarray(Image.fromarray(g).resize((size, size), Image.BILINEAR)) for g in gray]).astype(
        np.float32
    )


class GaborPyramid(PretrainedMixin, TransformerMixin, BaseEstimator):
    """Gabor wavelet pyramid: quadrature-pair energy at orientations x frequencies x positions.

    Each channel is a pair of Gabor filters (even: cosine, odd: sine carrier)
    with a circular Gaussian envelope whose size gives ``bandwidth`` octaves;
    channels of frequency ``f`` tile the image on a square grid spaced by
    ``spacing`` envelope standard deviations. The output of a channel is the
    contrast energy ``sqrt(even^2 + odd^2)`` of the mean-removed luminance
    image, compressed (``"log"``: ``log(1 + E / m)`` with ``m`` the median energy over
    all channels and fitted images; ``"sqrt"``) and
    optionally z-scored over the fitted images. As in Kay et al. (2008), the
    filters are fixed: :meth:`fit` only learns the compression scale and the
    standardisation.

    Parameters
    ----------
    spatial_frequencies : list of float
        Carrier frequencies in cycles per image (each < image_size / 2).
    n_orientations : int
        Orientations evenly spaced in [0, pi); 0 = vertical bars (carrier along x).
    bandwidth : float
        Spatial-frequency bandwidth (full width at half maximum) in octaves.
        Wider bands give spatially smaller filters on a denser grid (envelope
        s.d. 0.80 / f image widths at 1 octave, 0.34 / f at 3 octaves). Choose it
        by cross-validation of the encoder on the training data: on
        :func:`neurocodec.datasets.simulate.simulate_visual_experiment` (broadband
        simulated filters) CV picks 3 octaves, which brings pRF voxels within 0.05
        of the noise ceiling (see ``tests/test_encoders_ceiling.py``).
    spacing : float
        Distance between neighbouring channel centres, in envelope s.d.
    nonlinearity : {"log", "sqrt", "none"}
    standardize : bool
        z-score every feature with the mean and s.d. of the fitted images.
    image_size : int or None
        Resize (bilinear) images to this square size first (None: keep).
    batch_size : int
        Images per matrix product.

    Attributes
    ----------
    centers_ : ndarray, shape (n_features, 2)
        Channel centres ``(x, y)`` in image-fraction units (x along width,
        y down the height, both in [0, 1]).
    frequencies_ : ndarray, shape (n_features,)
    orientations_ : ndarray, shape (n_features,)
        Radians.
    sigmas_ : ndarray, shape (n_features,)
        Envelope s.d. in image-fraction units.
    scale_, mean_, std_ : ndarray, shape (n_features,)
        Compression scale and standardisation statistics.
    n_features_out_ : int
    """

    def __init__(
        self,
        spatial_frequencies=(1.0, 2.0, 4.0, 8.0),
        n_orientations=8,
        bandwidth=1.0,
        spacing=1.0,
        nonlinearity="log",
        standardize=True,
        image_size=None,
        batch_size=256,
    ):
        self.spatial_frequencies = spatial_frequencies
        self.n_orientations = n_orientations
        self.bandwidth = bandwidth
        self.spacing = spacing
        self.nonlinearity = nonlinearity
        self.standardize = standardize
        self.image_size = image_size
        self.batch_size = batch_size

    def _bank(self, h, w):
        sfs = np.asarray(self.spatial_frequencies, dtype=np.float64).reshape(-1)
        if sfs.size == 0 or np.any(sfs <= 0) or np.any(sfs >= min(h, w) / 2):
            raise bad_value(
                "spatial_frequencies",
                f"values in (0, {min(h, w) / 2}) cycles per image (Nyquist)",
                self.spatial_frequencies,
            )
        if not (isinstance(self.n_orientations, (int, np.integer)) and self.n_orientations >= 1):
            raise bad_value("n_orientations", "an int >= 1", self.n_orientations)
        if self.bandwidth <= 0 or self.spacing <= 0:
            raise bad_value("bandwidth and spacing", "> 0", (self.bandwidth, self.spacing))
        if self.nonlinearity not in ("log", "sqrt", "none"):
            raise bad_value("nonlinearity", "'log', 'sqrt' or 'none'", self.nonlinearity)
        b = 2.0**self.bandwidth
        sd_cycles = np.sqrt(np.log(2)) / np.pi * (b + 1) / (b - 1)  # envelope s.d. x frequency
        yy, xx = np.meshgrid((np.arange(h) + 0.5) / h, (np.arange(w) + 0.5) / w, indexing="ij")
        thetas = np.arange(self.n_orientations) * np.pi / self.n_orientations
        even, odd, meta = [], [], []
        for f in sfs:
            sigma = sd_cycles / f
            n_pos = max(1, int(round(1.0 / (self.spacing * sigma))))
            pos = (np.arange(n_pos) + 0.5) / n_pos
            for th in thetas:
                for cy in pos:
                    for cx in pos:
                        dx, dy = xx - cx, yy - cy
                        env = np.exp(-(dx**2 + dy**2) / (2 * sigma**2))
                        phase = 2 * np.pi * f * (dx * np.cos(th) + dy * np.sin(th))
                        e, o = env * np.cos(phase), env * np.sin(phase)
                        e -= env * (e.sum() / env.sum())  # zero DC response
                        even.append(e / np.linalg.norm(e))
                        odd.append(o / max(np.linalg.norm(o), 1e-12))
                        meta.append((cx, cy, f, th, sigma))
        meta = np.asarray(meta)
        flat = lambda fs: np.stack(fs).reshape(len(fs), -1).T.astype(np.float32)  # noqa: E731
        return flat(even), flat(odd), meta

    def _energy(self, images):
        gray = _resize(to_grayscale(images), self.image_size)
        gray = gray - gray.mean(axis=(1, 2), keepdims=True)
        h, w = gray.shape[1:]
        if getattr(self, "_shape", None) != (h, w):
            self._even, self._odd, meta = self._bank(h, w)
            self._shape = (h, w)
            self._meta = meta
        flat = gray.reshape(len(gray), -1)
        out = np.empty((len(gray), self._even.shape[1]), dtype=np.float32)
        for s in range(0, len(gray), max(1, int(self.batch_size))):
            g = flat[s : s + self.batch_size]
            out[s : s + len(g)] = np.sqrt((g @ self._even) ** 2 + (g @ self._odd) ** 2)
        return out

    def _compress(self, e):
        if self.nonlinearity == "log":
            return np.log1p(e / self.scale_)
        if self.nonlinearity == "sqrt":
            return np.sqrt(e / self.scale_)
        return e / self.scale_

    def fit(self, X, y=None):
        """Learn compression scale and standardisation from images ``(n_images, H, W[, 3])`` in [0, 1]."""
        e = self._energy(X)
        if len(e) < 2 and self.standardize:
            raise bad_value("n_images", ">= 2 to standardise features", len(e), of="GaborPyramid.fit")
        med = float(np.median(e))  # one global scale keeps the channels' relative energies
        self.scale_ = np.full(e.shape[1], med if med > 0 else max(float(e.mean()), 1e-8), dtype=np.float32)
        c = self._compress(e)
        self.mean_ = c.mean(0) if self.standardize else np.zeros(c.shape[1], np.float32)
        sd = c.std(0)
        self.std_ = (
            np.where(sd > 1e-8, sd, 1.0).astype(np.float32) if self.standardize else np.ones(c.shape[1], np.float32)
        )
        m = self._meta
        self.centers_, self.frequencies_, self.orientations_, self.sigmas_ = m[:, :2], m[:, 2], m[:, 3], m[:, 4]
        self.n_features_out_ = e.shape[1]
        self.image_shape_ = self._shape
        return self

    def transform(self, X):
        """Features ``(n_images, n_features)`` float32 of images ``(n_images, H, W[, 3])`` in [0, 1]."""
        check_is_fitted(self, "scale_")
        e = self._energy(X)
        if self._shape != self.image_shape_:
            raise bad_value("images", f"of the fitted size {self.image_shape_}", f"<size {self._shape}>")
        return ((self._compress(e) - self.mean_) / self.std_).astype(np.float32)

    def get_feature_names_out(self, input_features=None):
        """Names ``gabor_sf{f}_o{k}_x{cx}_y{cy}``."""
        check_is_fitted(self, "scale_")
        k = np.round(self.orientations_ / np.pi * self.n_orientations).astype(int)
        return np.array(
            [f"gabor_sf{f:g}_o{o}_x{c[0]:.3f}_y{c[1]:.3f}" for f, o, c in zip(self.frequencies_, k, self.centers_)],
            dtype=object,
        )
