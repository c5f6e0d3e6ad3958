"""The reconstruction grid image (true vs stage 1 vs final)."""

from __future__ import annotations

import numpy as np

__all__ = ["save_grid"]


def save_grid(path, true, rows, n_images: int = 16, scale: int = 3, gap: int = 2):
    """Write a PNG: true images on top, then ``stage1`` and ``final`` rows per subject.

    Parameters
    ----------
    true : ndarray, shape (n, H, W, 3) uint8
    rows : list of (subject, stage1 uint8 images, final uint8 images)
    """
    from PIL import Image

    from neurocodec.pipeline import check, check_array

    true = check_array(true, "true", "(n, H, W, 3) uint8", ndim=4)
    for i, row in enumerate(rows):
        check(
            isinstance(row, (tuple, list))
            and len(row) == 3
            and all(np.shape(a)[1:] == true.shape[1:] for a in row[1:]),
            f"rows[{i}]",
            f"(subject, stage1, final) with images of shape {true.shape[1:]}",
            f"<{type(row).__name__} of length {len(row) if hasattr(row, '__len__') else '?'}>",
        )
    n = min(n_images, len(true))
    h, w = true.shape[1:3]
    strips = [true[:n]] + [imgs[:n] for _, s1, fin in rows for imgs in (s1, fin)]
    canvas = np.full((len(strips) * (h + gap) + gap, n * (w + gap) + gap, 3), 255, np.uint8)
    for r, strip in enumerate(strips):
        for c in range(n):
            y, x = gap + r * (h + gap), gap + c * (w + gap)
            canvas[y : y + h, x : x + w] = strip[c]
    Image.fromarray(canvas).resize((canvas.shape[1] * scale, canvas.shape[0] * scale), Image.NEAREST).save(path)
