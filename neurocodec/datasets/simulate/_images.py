"""Built-in stimulus images that need no download, and their Gabor energy features.

Five categories, generated with numpy (vectorised over images):

- ``digit``: scikit-learn's 8x8 handwritten digits, upsampled, on a tinted background;
- ``shape``: filled discs, squares, triangles and ellipses of random colour, size,
  position and rotation;
- ``grating``: sinusoidal gratings of random orientation, spatial frequency,
  phase and colour, in a soft circular aperture;
- ``texture``: random crops of scikit-image's grass / gravel / brick photographs
  mixed with oriented band-pass filtered noise;
- ``photo``: random crops of scikit-image's sample photographs (astronaut,
  coffee, cat, rocket, ...).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...pipeline import check, check_array

__all__ = ["CATEGORY_NAMES", "make_stimuli", "gabor_energy", "pool_grid", "cell_centres"]

CATEGORY_NAMES = ["digit", "shape", "grating", "texture", "photo"]
_PHOTOS = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "camera",
    "coins",
    "moon",
    "clock",
    "immunohistochemistry",
    "hubble_deep_field",
)
_TEXTURES = ("grass", "gravel", "brick")


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates in image-fraction units, shape (1, size, size) each."""
    c = (np.arange(size, dtype=np.float32) + 0.5) / size
    yy, xx = np.meshgrid(c, c, indexing="ij")
    return xx[None], yy[None]


def _resize_stack(stack: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of (n, h, w[, c]) to (n, size, size[, c]), vectorised over images."""
    from scipy.ndimage import map_coordinates

    n, h, w = stack.shape[:3]
    ys = (np.arange(size) + 0.5) * h / size - 0.5
    xs = (np.arange(size) + 0.5) * w / size - 0.5
    yy, xx = np.meshgrid(np.clip(ys, 0, h - 1), np.clip(xs, 0, w - 1), indexing="ij")
    if stack.ndim == 3:
        stack = stack[..., None]
    out = np.empty((n, size, size, stack.shape[3]), np.float32)
    for c in range(stack.shape[3]):
        coords = np.stack(
            [
                np.broadcast_to(np.arange(n)[:, None, None], (n, size, size)),
                np.broadcast_to(yy, (n, size, size)),
                np.broadcast_to(xx, (n, size, size)),
            ]
        )
        out[..., c] = map_coordinates(stack[..., c].astype(np.float32), coords, order=1, mode="nearest")
    return out


def _random_colors(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.uniform(0.0, 1.0, (n, 1, 1, 3)).astype(np.float32)


def _digit_images() -> np.ndarray:
    """scikit-learn's 1797 8x8 digits (0..16), read from its data file without importing sklearn (slow)."""
    import importlib.util

    spec = importlib.util.find_spec("sklearn")
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz" if spec and spec.origin else None
    if path is None or not path.is_file():  # pragma: no cover - layout changed
        from sklearn.datasets import load_digits

        return load_digits().images
    data = np.loadtxt(path, delimiter=",", dtype=np.float32)
    return data[:, :64].reshape(-1, 8, 8)


def _digits(rng, n, size):
    images = _digit_images()
    idx = rng.integers(0, len(images), n)
    ink = _resize_stack(images[idx] / 16.0, size)[..., 0][..., None]  # (n, s, s, 1)
    bg = rng.uniform(0.0, 0.3, (n, 1, 1, 1)).astype(np.float32) * np.ones((1, 1, 1, 3), np.float32)
    fg = 0.7 + 0.3 * _random_colors(rng, n)
    return bg * (1 - ink) + fg * ink


def _shapes(rng, n, size):
    xx, yy = _grid(size)
    cx, cy = (rng.uniform(0.3, 0.7, (2, n, 1, 1))).astype(np.float32)
    r = rng.uniform(0.12, 0.32, (n, 1, 1)).astype(np.float32)
    theta = rng.uniform(0, np.pi, (n, 1, 1)).astype(np.float32)
    kind = rng.integers(0, 4, (n, 1, 1))
    u = (xx - cx) * np.cos(theta) + (yy - cy) * np.sin(theta)
    v = -(xx - cx) * np.sin(theta) + (yy - cy) * np.cos(theta)
    disc = u**2 + v**2 <= r**2
    square = (np.abs(u) <= r * 0.8) & (np.abs(v) <= r * 0.8)
    ellipse = (u / r) ** 2 + (v / (0.5 * r)) ** 2 <= 1
    # Equilateral triangle: three half-planes at 120 degrees.
    tri = np.ones_like(disc)
    for a in (np.pi / 2, np.pi / 2 + 2 * np.pi / 3, np.pi / 2 + 4 * np.pi / 3):
        tri &= u * np.cos(a) + v * np.sin(a) <= 0.5 * r
    mask = np.select([kind == 0, kind == 1, kind == 2], [disc, square, tri], ellipse).astype(np.float32)
    # Anti-alias slightly with a 3-tap blur along each axis.
    mask = (np.roll(mask, 1, 1) + 2 * mask + np.roll(mask, -1, 1)) / 4
    mask = (np.roll(mask, 1, 2) + 2 * mask + np.roll(mask, -1, 2)) / 4
    bg, fg = _random_colors(rng, n), _random_colors(rng, n)
    return bg * (1 - mask[..., None]) + fg * mask[..., None]


def _gratings(rng, n, size):
    xx, yy = _grid(size)
    theta = rng.uniform(0, np.pi, (n, 1, 1))
    sf = np.exp(rng.uniform(np.log(1.5), np.log(max(2.0, size / 4)), (n, 1, 1)))  # cycles / image
    phase = rng.uniform(0, 2 * np.pi, (n, 1, 1))
    contrast = rng.uniform(0.4, 1.0, (n, 1, 1))
    wave = np.cos(2 * np.pi * sf * ((xx - 0.5) * np.cos(theta) + (yy - 0.5) * np.sin(theta)) + phase)
    rr = np.sqrt((xx - 0.5) ** 2 + (yy - 0.5) ** 2)
    aperture = np.where(rng.random((n, 1, 1)) < 0.5, 1.0, 1 / (1 + np.exp((rr - 0.4) / 0.03)))
    lum = 0.5 + 0.5 * contrast * wave * aperture
    tint = 0.6 + 0.4 * _random_colors(rng, n)
    return (lum[..., None] * tint).astype(np.float32)


def _noise_textures(rng, n, size):
    f = np.fft.fftfreq(size)[:, None]
    g = np.fft.fftfreq(size)[None, :]
    rad = np.sqrt(f**2 + g**2) + 1e-6
    ang = np.arctan2(f, g)
    theta = rng.uniform(0, np.pi, (n, 1, 1))
    peak = rng.uniform(0.08, 0.3, (n, 1, 1))
    kappa = rng.uniform(0.5, 4.0, (n, 1, 1))
    filt = np.exp(-((np.log(rad / peak)) ** 2) / (2 * 0.5**2)) * np.exp(kappa * (np.cos(2 * (ang - theta)) - 1))
    white = rng.standard_normal((n, size, size))
    img = np.real(np.fft.ifft2(np.fft.fft2(white) * filt))
    img = (img - img.mean((1, 2), keepdims=True)) / (img.std((1, 2), keepdims=True) + 1e-8)
    lum = np.clip(0.5 + 0.18 * img, 0, 1)
    return (lum[..., None] * (0.7 + 0.3 * _random_colors(rng, n))).astype(np.float32)


def _crops(rng, names, n, size, min_frac=0.25):
    """Random square crops of scikit-image sample images, resized; RGB float32."""
    import skimage.data

    sources = []
    for name in names:
        im = np.asarray(getattr(skimage.data, name)(), dtype=np.float32) / 255.0
        if im.ndim == 2:
            im = np.repeat(im[..., None], 3, axis=2)
        sources.append(im[..., :3])
    which = rng.integers(0, len(sources), n)
    out = np.empty((n, size, size, 3), np.float32)
    for k, src in enumerate(sources):
        sel = np.flatnonzero(which == k)
        if not sel.size:
            continue
        h, w = src.shape[:2]
        side = (min(h, w) * rng.uniform(min_frac, 1.0, sel.size)).astype(int)
        crops = []
        for s in side:  # one crop per image of this source; resizing is vectorised below
            y0, x0 = rng.integers(0, h - s + 1), rng.integers(0, w - s + 1)
            step = max(1, s // (4 * size))  # subsample big crops before interpolating
            crop = src[y0 : y0 + s : step, x0 : x0 + s : step]
            crops.append(_resize_stack(crop[None], size)[0])
        out[sel] = np.stack(crops)
    return np.clip(out, 0, 1)


def _textures(rng, n, size):
    photo = rng.random(n) < 0.5
    out = _noise_textures(rng, n, size)
    if photo.any():
        out[photo] = _crops(rng, _TEXTURES, int(photo.sum()), size, min_frac=0.1)
    return out


def make_stimuli(n_images: int, image_size: int = 32, seed: int | None = 0):
    """Generate a balanced, shuffled set of stimulus images from five categories.

    Parameters
    ----------
    n_images : int
        Number of images (> 0).
    image_size : int
        Side in pixels (>= 8).
    seed : int or None
        Random seed.

    Returns
    -------
    images : ndarray, shape (n_images, image_size, image_size, 3), float32 in [0, 1]
        RGB images; grayscale sources are replicated to three channels.
    categories : ndarray, shape (n_images,), int64
        Index into ``CATEGORY_NAMES``.
    """
    for name, value in (("n_images", n_images), ("image_size", image_size)):
        check(
            isinstance(value, (int, np.integer)) and not isinstance(value, bool), name, "an int", value, exc=TypeError
        )
    check(n_images > 0, "n_images", "> 0", n_images)
    check(image_size >= 8, "image_size", ">= 8 pixels", image_size)
    rng = np.random.default_rng(seed)
    categories = np.arange(n_images) % len(CATEGORY_NAMES)
    rng.shuffle(categories)
    images = np.empty((n_images, image_size, image_size, 3), np.float32)
    makers = (_digits, _shapes, _gratings, _textures, _photos)
    for c, make in enumerate(makers):
        sel = np.flatnonzero(categories == c)
        if sel.size:
            images[sel] = make(rng, sel.size, image_size)
    return np.clip(images, 0.0, 1.0), categories.astype(np.int64)


def _photos(rng, n, size):
    return _crops(rng, _PHOTOS, n, size)


def gabor_energy(
    gray: np.ndarray,
    orientations: np.ndarray,
    spatial_frequencies: np.ndarray,
    bandwidth: float = 1.0,
    grid: int | None = None,
) -> np.ndarray:
    """Gabor (quadrature-pair) contrast energy maps computed by FFT convolution.

    Each filter is a Gaussian in the 2-D frequency domain centred on
    ``sf * (cos(theta), sin(theta))`` with a one-sided (analytic) passband, so
    the modulus of the filtered image is the energy of the even/odd Gabor pair
    (Kay et al. 2008; Adelson & Bergen 1985).

    Parameters
    ----------
    gray : ndarray, shape (n_images, H, W)
        Luminance images (mean removed per image is advisable).
    orientations : ndarray, shape (n_orientations,)
        Preferred orientations in radians (0 = vertical bars varying along x).
    spatial_frequencies : ndarray, shape (n_sf,)
        Spatial frequencies in cycles per image width.
    bandwidth : float
        Full-width at half-maximum of the radial passband in octaves.
    grid : int, optional
        If given, each energy map is averaged over a ``grid x grid`` partition
        as soon as it is computed (see :func:`pool_grid`), which saves memory.

    Returns
    -------
    energy : ndarray, shape (n_images, n_orientations, n_sf, H, W) or (..., grid, grid), float32
    """
    import scipy.fft

    gray = check_array(gray, "gray", "(n_images, H, W)", ndim=3)
    orientations = check_array(orientations, "orientations", "(n_orientations,) in radians", ndim=1)
    spatial_frequencies = check_array(spatial_frequencies, "spatial_frequencies", "(n_sf,) > 0", ndim=1)
    check(bool((spatial_frequencies > 0).all()), "spatial_frequencies", "> 0 cycles per image", spatial_frequencies)
    n, h, w = gray.shape
    fy = np.fft.fftfreq(h)[:, None] * h  # cycles per image height
    fx = np.fft.fftfreq(w)[None, :] * w
    spectrum = scipy.fft.fft2(gray.astype(np.float32), workers=-1)
    side = (h, w) if grid is None else (grid, grid)
    out = np.empty((n, len(orientations), len(spatial_frequencies), *side), np.float32)
    # Radial sigma from the octave bandwidth of a log-Gabor-like band: FWHM in octaves.
    for j, sf in enumerate(spatial_frequencies):
        sigma_f = sf * (2**bandwidth - 1) / (2**bandwidth + 1) / np.sqrt(2 * np.log(2)) * 2
        for i, theta in enumerate(orientations):
            cx, cy = sf * np.cos(theta), sf * np.sin(theta)
            filt = np.exp(-((fx - cx) ** 2 + (fy - cy) ** 2) / (2 * sigma_f**2)).astype(np.float32)
            amp = np.abs(scipy.fft.ifft2(spectrum * filt, workers=-1))
            out[:, i, j] = amp if grid is None else pool_grid(amp, grid)
    return out


def pool_grid(maps: np.ndarray, grid: int) -> np.ndarray:
    """Average the last two axes of ``maps`` over a ``grid x grid`` partition.

    Parameters
    ----------
    maps : ndarray, shape (..., H, W)
    grid : int
        Cells per side (<= H, W).

    Returns
    -------
    pooled : ndarray, shape (..., grid, grid)
    """
    h, w = maps.shape[-2:]
    ey = np.linspace(0, h, grid + 1).round().astype(int)
    ex = np.linspace(0, w, grid + 1).round().astype(int)
    s = np.add.reduceat(np.add.reduceat(maps, ey[:-1], axis=-2), ex[:-1], axis=-1)
    area = np.diff(ey)[:, None] * np.diff(ex)[None, :]
    return (s / area).astype(np.float32)


def cell_centres(grid: int) -> np.ndarray:
    """Centres of the pooling cells in image-fraction units, shape (grid, grid, 2) as (x, y)."""
    e = np.linspace(0, 1, grid + 1)
    c = (e[:-1] + e[1:]) / 2
    yy, xx = np.meshgrid(c, c, indexing="ij")
    return np.stack([xx, yy], axis=-1)
