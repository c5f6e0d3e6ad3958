"""Input checks shared by the readers: one clear error per bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..pipeline import bad_value

__all__ = [
    "as_float_images",
    "check_file",
    "check_finite",
    "check_ndim_img",
    "check_same_grid",
    "check_mask_not_empty",
    "check_sfreq_match",
    "check_channels_present",
    "check_events_in_range",
]


def as_float_images(images: Any, name: str = "images", *, gray_ok: bool = True, tolerance: float = 0.5) -> np.ndarray:
    """Images as float ``(n_images, H, W, 3)`` in [0, 1] (grayscale ``(n, H, W[, 1])`` replicated to RGB).

    uint8 images are divided by 255 (float32); float images keep their precision. Other integer dtypes and floats
    outside ``[-tolerance, 1 + tolerance]`` (e.g. 0-255 floats) are refused, so no image is silently read on the
    wrong scale (the tolerance lets a decoder's unclipped predictions, which overshoot slightly, through).
    """
    x = np.asarray(images)
    if x.dtype == np.uint8:
        x = x.astype(np.float32) / 255.0
    elif x.dtype.kind in "iub":
        raise bad_value(name, "uint8 (0-255) or float in [0, 1] images", f"<dtype {x.dtype}>", exc=TypeError)
    elif x.dtype.kind != "f":
        raise bad_value(name, "a numeric image array", f"<dtype {x.dtype}>", exc=TypeError)
    if gray_ok and x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in ((1, 3) if gray_ok else (3,)) or x.shape[0] == 0 or 0 in x.shape[1:3]:
        layout = "(n_images, H, W, 3) or (n_images, H, W)" if gray_ok else "(n_images, H, W, 3)"
        raise bad_value(name, f"a non-empty array {layout}", f"<shape {x.shape}>")
    if not np.isfinite(x).all():
        raise bad_value(name, "finite values (no NaN or inf)", f"<{int((~np.isfinite(x)).sum())} non-finite pixels>")
    lo, hi = float(x.min()), float(x.max())
    if lo < -tolerance or hi > 1 + tolerance:
        raise bad_value(
            name, "float images in [0, 1] (divide 0-255 images by 255, or pass uint8)", f"<range [{lo:.4g}, {hi:.4g}]>"
        )
    if x.shape[-1] == 1:
        x = np.repeat(x, 3, axis=-1)
    return x


def check_file(path: Any, name: str, *, suffixes: tuple[str, ...] = ()) -> Path:
    """``path`` must be an existing file (with one of ``suffixes`` if given)."""
    p = Path(path)
    if not p.is_file():
        raise bad_value(name, "an existing file", str(p), exc=FileNotFoundError)
    if suffixes and not any(p.name.lower().endswith(s) for s in suffixes):
        raise bad_value(name, f"a file ending in {' or '.join(suffixes)}", p.name)
    return p


def check_finite(data: np.ndarray, name: str, *, of: str | None = None) -> np.ndarray:
    """Reject NaN / inf values, saying how many and where the first one is."""
    data = np.asarray(data)
    if np.issubdtype(data.dtype, np.number) and not np.issubdtype(data.dtype, np.integer):
        bad = ~np.isfinite(data)
        if bad.any():
            first = tuple(int(i) for i in np.argwhere(bad)[0])
            raise bad_value(
                name, "finite (no NaN or inf)", f"<{int(bad.sum())} non-finite values, first at index {first}>", of=of
            )
    return data


def check_ndim_img(img: Any, ndim: int, name: str) -> Any:
    """A nibabel image must be ``ndim``-D (a 4-D image with one volume counts as 3-D)."""
    shape = tuple(img.shape)
    if ndim == 3 and len(shape) == 4 and shape[3] == 1:
        return img
    if len(shape) != ndim:
        raise bad_value(name, f"a {ndim}-D image", f"<{len(shape)}-D image of shape {shape}>")
    return img


def check_same_grid(img: Any, ref: Any, name: str, ref_name: str, *, atol: float = 1e-3) -> None:
    """``img`` and ``ref`` must share the 3-D shape and affine."""
    if tuple(img.shape[:3]) != tuple(ref.shape[:3]):
        raise bad_value(
            name, f"on the grid of {ref_name} (shape {tuple(ref.shape[:3])})", f"<shape {tuple(img.shape[:3])}>"
        )
    if not np.allclose(img.affine, ref.affine, atol=atol):
        raise bad_value(
            name,
            f"on the grid of {ref_name} (same affine)",
            f"<affine differing by up to {np.abs(img.affine - ref.affine).max():.3g}>",
        )


def check_mask_not_empty(mask: np.ndarray, name: str) -> None:
    """A mask must select at least one voxel."""
    n = int(np.count_nonzero(mask))
    if n == 0:
        raise bad_value(name, "a mask with at least one non-zero voxel", "<an empty mask>")


def check_sfreq_match(sfreqs: dict[str, float], name: str = "sfreq") -> float:
    """All recordings must share one sampling frequency."""
    values = sorted(set(float(v) for v in sfreqs.values()))
    if len(values) > 1:
        detail = ", ".join(f"{k}: {v:g} Hz" for k, v in sfreqs.items())
        raise bad_value(name, "the same in every file", f"<{detail}>")
    return values[0]


def check_channels_present(
    wanted: list[str], available: list[str], name: str = "channels", *, of: str | None = None
) -> None:
    """Every wanted channel must exist."""
    missing = [c for c in wanted if c not in set(available)]
    if missing:
        raise bad_value(
            name, f"channels of the recording (has {len(available)}: {available[:8]}...)", f"<missing {missing}>", of=of
        )


def check_events_in_range(
    samples: np.ndarray, n_times: int, tmin_samp: int, tmax_samp: int, name: str = "events"
) -> None:
    """Every event window ``[s + tmin, s + tmax]`` must lie in ``[0, n_times)``."""
    samples = np.asarray(samples, dtype=np.int64)
    out = (samples + tmin_samp < 0) | (samples + tmax_samp >= n_times) | (samples < 0)
    if out.any():
        raise bad_value(
            name,
            f"inside the recording (0..{n_times - 1} samples)",
            f"<{int(out.sum())} events outside, first at sample {int(samples[out][0])}>",
        )
