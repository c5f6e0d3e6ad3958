"""A user's own image-viewing experiment -> the ``stimulus_responses`` kind.

Images: a folder of image files (read in sorted name order) or a ``.npy`` stack (n_images, H, W, 3) (uint8, or
float in [0, 1]). Responses: single-trial betas as ``.npy`` / ``.h5`` (dataset ``betas``) (n_trials, n_voxels), or a
4-D NIfTI (one volume per trial) with a 3-D mask. Trials: a TSV with one row per beta and a column ``image``
(the image's index, or its file name), optional ``split`` (``train`` / ``test``: images of test trials are
held out) and ``category``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...pipeline import bad_value, check
from .._validation import check_finite

__all__ = ["load_stimulus_responses", "read_images"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def read_images(source: str | Path, image_size: int | None = None) -> tuple[np.ndarray, list[str]]:
    """Images (n, H, W, 3) uint8 and their names from a folder of image files or a ``.npy`` stack.

    Images of different sizes (or all, when ``image_size`` is given) are resized to ``image_size`` (default: the
    first image's size) with PIL.
    """
    from PIL import Image

    source = Path(source)
    if source.suffix == ".npy":
        stack = np.load(source, allow_pickle=False)
        check(
            stack.ndim == 4 and stack.shape[-1] == 3,
            "images",
            "a .npy stack (n_images, H, W, 3)",
            f"<shape {stack.shape}>",
        )
        if stack.dtype != np.uint8:
            check(
                stack.dtype.kind == "f" and float(stack.min()) >= 0 and float(stack.max()) <= 1,
                "images",
                "uint8 or float in [0, 1]",
                f"<dtype {stack.dtype}, range [{stack.min()}, {stack.max()}]>",
            )
            stack = np.round(stack * 255).astype(np.uint8)
        names = [str(i) for i in range(len(stack))]
        if image_size is not None and stack.shape[1:3] != (image_size, image_size):
            stack = np.stack([np.asarray(Image.fromarray(im).resize((image_size,) * 2, Image.BICUBIC)) for im in stack])
        return stack, names
    if not source.is_dir():
        raise bad_value("images", "a folder of image files or a .npy stack", str(source), exc=FileNotFoundError)
    files = sorted(p for p in source.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise bad_value("images", f"a folder holding image files {IMAGE_SUFFIXES}", str(source), exc=FileNotFoundError)
    imgs = [Image.open(f).convert("RGB") for f in files]
    size = (image_size, image_size) if image_size else imgs[0].size
    arr = np.stack([np.asarray(im if im.size == size else im.resize(size, Image.BICUBIC)) for im in imgs])
    return arr, [str(f.relative_to(source)) for f in files]


def _read_betas(path: Path, mask: Path | None) -> np.ndarray:
    name = path.name.lower()
    if name.endswith(".npy"):
        betas = np.load(path, allow_pickle=False)
    elif name.endswith((".h5", ".hdf5")):
        import h5py

        with h5py.File(path, "r") as f:
            if "betas" not in f:
                raise bad_value(
                    "betas", "an HDF5 file with a dataset 'betas' (n_trials, n_voxels)", f"<datasets {list(f)}>"
                )
            betas = f["betas"][...]
    elif name.endswith((".nii", ".nii.gz")):
        import nibabel as nib

        if mask is None:
            raise bad_value("mask", "a 3-D mask NIfTI beside NIfTI betas", "<none given>")
        m = np.asarray(nib.load(str(mask)).dataobj) > 0
        if not m.any():
            raise bad_value("mask", "a mask with at least one voxel", f"<empty mask {mask.name}>")
        data = np.asarray(nib.load(str(path)).dataobj)
        if data.ndim != 4 or data.shape[:3] != m.shape:
            raise bad_value(
                "betas", f"a 4-D NIfTI on the mask's grid {m.shape} (one volume per trial)", f"<shape {data.shape}>"
            )
        betas = data[m].T
    else:
        raise bad_value("betas", "a .npy, .h5/.hdf5 or 4-D NIfTI file", str(path))
    betas = np.asarray(betas, dtype=np.float32)
    check(
        betas.ndim == 2 and betas.size > 0,
        "betas",
        "a non-empty 2-D array (n_trials, n_voxels)",
        f"<shape {betas.shape}>",
    )
    return check_finite(betas, "betas")


def load_stimulus_responses(
    images: str | Path,
    betas: str | Path,
    trials: str | Path,
    *,
    mask: str | Path | None = None,
    subject: str = "sub-01",
    test_fraction: float = 0.1,
    seed: int = 0,
    image_size: int | None = None,
) -> Any:
    """A user's experiment as :class:`~neurocodec.datasets.kinds.StimulusResponses`.

    Parameters
    ----------
    images : path
        Folder of image files (sorted by name) or ``.npy`` stack (n_images, H, W, 3).
    betas : path
        Single-trial responses (n_trials, n_voxels): ``.npy``, ``.h5`` / ``.hdf5`` (dataset ``betas``), or a 4-D
        NIfTI with ``mask``.
    trials : path
        TSV, one row per beta: ``image`` (index into the images, or a file name), optional ``split``
        (train / test) and ``category``.
    mask : path, optional
        3-D NIfTI mask of NIfTI betas (voxel coordinates go into the voxel table).
    subject : str
        Subject id in the artifact.
    test_fraction : float
        Without a ``split`` column: share of the images drawn (seeded) as the test set.
    seed : int
    image_size : int, optional
        Resize every image to this square size.

    Returns
    -------
    StimulusResponses
    """
    import pandas as pd

    from ..kinds import StimulusResponses, SubjectResponses

    for name, value in (("images", images), ("betas", betas), ("trials", trials), ("mask", mask)):
        if value is not None and not Path(value).exists():
            raise bad_value(name, "an existing file or folder", str(value), exc=FileNotFoundError)
    stack, names = read_images(images, image_size)
    b = _read_betas(Path(betas), Path(mask) if mask is not None else None)
    table = pd.read_csv(trials, sep="\t", dtype={"image": str})
    if "image" not in table.columns:
        raise bad_value(
            "trials",
            "a TSV with an 'image' column (index or file name of each trial's image)",
            f"<columns {list(table.columns)}>",
        )
    if len(table) != len(b):
        raise bad_value("trials", f"one row per beta ({len(b)} betas)", f"<{len(table)} rows>")
    by_name = {n: i for i, n in enumerate(names)}
    ids = np.empty(len(table), np.int64)
    for row, ref in enumerate(table["image"].astype(str)):
        if ref in by_name:
            ids[row] = by_name[ref]
        elif ref.lstrip("-").isdigit():
            ids[row] = int(ref)
        else:
            raise bad_value("trials", f"image indices or file names of the {len(names)} images", ref, of=f"row {row}")
    if ids.min() < 0 or ids.max() >= len(names):
        bad = int(ids[(ids < 0) | (ids >= len(names))][0])
        raise bad_value("trials", f"image indices in [0, {len(names) - 1}]", bad, of="the 'image' column")
    if "split" in table.columns:
        split = table["split"].astype(str).str.lower().to_numpy()
        check(set(split) <= {"train", "test"}, "split", "'train' or 'test' per trial", sorted(set(split)), of="trials")
        test_images = np.unique(ids[split == "test"])
    else:
        check(0 < test_fraction < 1, "test_fraction", "in (0, 1) when the trials have no 'split' column", test_fraction)
        shown = np.unique(ids)
        n_test = max(1, int(round(test_fraction * len(shown))))
        test_images = np.sort(np.random.default_rng(seed).choice(shown, n_test, replace=False))
    is_test = np.isin(ids, test_images)
    check(bool((~is_test).any()), "trials", "some training trials", "<every trial is a test trial>")
    categories = np.full(len(names), -1, np.int64)
    category_names: list[str] = []
    if "category" in table.columns:
        category_names = sorted(table["category"].astype(str).unique())
        categories[ids] = [category_names.index(c) for c in table["category"].astype(str)]
    voxels = pd.DataFrame({"voxel": np.arange(b.shape[1])})
    if mask is not None:
        import nibabel as nib

        ijk = np.argwhere(np.asarray(nib.load(str(mask)).dataobj) > 0)
        voxels["i"], voxels["j"], voxels["k"] = ijk[:, 0], ijk[:, 1], ijk[:, 2]
    sub = SubjectResponses(ids[~is_test], b[~is_test], ids[is_test], b[is_test], voxels=voxels)
    shown_train = np.setdiff1d(np.unique(ids[~is_test]), test_images)
    return StimulusResponses(
        stimuli=stack,
        categories=categories,
        category_names=category_names,
        train_image_ids=shown_train,
        test_image_ids=test_images,
        subjects={subject: sub},
        image_names=names,
        info={"producer": "load_stimulus_responses", "images": str(images), "betas": str(betas), "trials": str(trials)},
    )
