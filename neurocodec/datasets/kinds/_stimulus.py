"""The ``stimulus_responses`` kind: stimuli and each subject's single-trial responses to them.

One format for every producer: the visual-fMRI simulator (with its ground truth as optional
extras), the NSD loader, Haxby and a user's own experiment (:func:`~neurocodec.datasets.load_stimulus_responses`).

On disk (format version 1)::

    stimulus_responses.json     kind, version, category_names, subjects, feature_names, info
    stimuli.npy                 (n_images, H, W, 3) float32 RGB in [0, 1] or uint8 (absent when no images are known)
    images.tsv                  image_id, name, category, category_name, split (train, test, both, unused)
                                [, caption]
    splits.npz                  categories (n_images,), train_image_ids, test_image_ids (int64)
    features.npy                (n_images, n_features) float32 true model features (simulations only)
    subjects/<sub>/responses.npz  trial_image_ids_train, betas_train, trial_image_ids_test, betas_test
                                  [+ ground truth: noiseless, noise_ceiling, voxel_kind, weights, intercept, noise_sd]
    subjects/<sub>/voxels.tsv     one row per voxel: voxel [, kind, x, y, z, sigma, roi, category, noise_ceiling, ...]
    subjects/<sub>/trials.tsv     optional, one row per trial, the training trials then the test trials (the rows of
                                  betas_train then betas_test): split, image_id [, run, session, onset, duration,
                                  trial_type, stim_file, ...] (fmri_single_trial_betas, load_haxby)

The split is per trial. An image may be shown in both splits when the stimuli are categories rather than
images (Haxby's blocks, an events table with only a ``trial_type``): each category is then one stimulus
(no pixels), in both ``train_image_ids`` and ``test_image_ids``. ``trials.tsv`` is optional and backwards
compatible: readers that do not know it ignore it, and its absence leaves ``SubjectResponses.trials`` None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...pipeline import bad_value, check, load_arrays, save_array, save_arrays, save_table
from ._common import kind_root, read_header, write_header

__all__ = ["SubjectResponses", "StimulusResponses"]

KIND = "stimulus_responses"
VERSION = 1
_TRUTH = ("noiseless", "noise_ceiling", "voxel_kind", "weights", "intercept", "noise_sd")


@dataclass
class SubjectResponses:
    """One subject's single-trial responses (and, for simulations, the ground truth behind them).

    Attributes
    ----------
    trial_image_ids_train, trial_image_ids_test : ndarray, shape (n_trials,), int64
        Image shown on each trial (indices into ``StimulusResponses.stimuli``), repeats included.
    betas_train, betas_test : ndarray, shape (n_trials, n_voxels), float32
        Single-trial responses.
    voxels : pandas.DataFrame
        One row per voxel: ``voxel`` and whatever is known (``kind``, ``x``, ``y``, ``z``, ``sigma``,
        ``roi``, ``category``, ``noise_ceiling``, ...). Simulations: ``x, y, sigma`` are pRF centre and
        size in image-width fractions (NaN for non-pRF voxels), ``category`` the preferred category.
    noiseless : ndarray, shape (n_images, n_voxels), float32, optional
        True response of every voxel to every image (simulations).
    noise_ceiling : ndarray, shape (n_voxels,), float32, optional
        Noise ceiling (Pearson r) of the repeat-averaged test betas, when known.
    voxel_kind : ndarray, shape (n_voxels,), str, optional
        Simulated voxel class: ``"prf"``, ``"linear_prf"``, ``"category"``, ``"global"``.
    weights : ndarray, shape (n_features, n_voxels), float32, optional
        True weights: ``noiseless = features @ weights + intercept`` (simulations).
    intercept, noise_sd : ndarray, shape (n_voxels,), float32, optional
    trials : pandas.DataFrame, optional
        One row per trial, training trials then test trials: ``split`` (train / test), ``image_id`` and what the
        producer knows (``run``, ``session``, ``onset``, ``duration``, ``trial_type``, ...).
    """

    trial_image_ids_train: np.ndarray
    betas_train: np.ndarray
    trial_image_ids_test: np.ndarray
    betas_test: np.ndarray
    voxels: Any
    noiseless: np.ndarray | None = None
    noise_ceiling: np.ndarray | None = None
    voxel_kind: np.ndarray | None = None
    weights: np.ndarray | None = None
    intercept: np.ndarray | None = None
    noise_sd: np.ndarray | None = None
    trials: Any = None

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            ids = np.asarray(getattr(self, f"trial_image_ids_{split}"))
            betas = np.asarray(getattr(self, f"betas_{split}"))
            check(ids.ndim == 1, f"trial_image_ids_{split}", "a 1-D array of image ids", f"<shape {ids.shape}>")
            check(
                betas.ndim == 2 and len(betas) == len(ids),
                f"betas_{split}",
                f"a 2-D array (n_trials={len(ids)}, n_voxels)",
                f"<shape {betas.shape}>",
            )
            check(
                bool(np.isfinite(betas).all()),
                f"betas_{split}",
                "finite (no NaN or inf)",
                f"<{int((~np.isfinite(betas)).sum())} non-finite values>",
            )
        if self.betas_train.shape[1] != self.betas_test.shape[1]:
            raise bad_value(
                "betas_test",
                f"{self.betas_train.shape[1]} voxels as betas_train",
                f"<{self.betas_test.shape[1]} voxels>",
            )
        if self.trials is not None:
            self.trials = self._check_trials(self.trials)

    def _check_trials(self, trials):
        import pandas as pd

        trials = pd.DataFrame(trials).reset_index(drop=True)
        n_train, n_test = len(self.trial_image_ids_train), len(self.trial_image_ids_test)
        check(len(trials) == n_train + n_test, "trials", f"one row per trial ({n_train + n_test})", f"<{len(trials)}>")
        for col in ("split", "image_id"):
            if col not in trials:
                raise bad_value("trials", f"a table with a {col!r} column", f"<columns {list(trials.columns)}>")
        want = np.array(["train"] * n_train + ["test"] * n_test)
        check(
            bool((trials["split"].astype(str).to_numpy() == want).all()),
            "trials",
            "the training trials then the test trials ('split' column)",
            "<another order>",
        )
        ids = np.concatenate([self.trial_image_ids_train, self.trial_image_ids_test])
        check(
            bool((trials["image_id"].to_numpy() == ids).all()),
            "trials",
            "the image id of each trial in its 'image_id' column",
            "<ids differing from trial_image_ids>",
        )
        return trials

    def all_trials(self) -> tuple[np.ndarray, np.ndarray]:
        """Training then test trials together.

        Returns
        -------
        image_ids : ndarray, shape (n_trials,), int64
        betas : ndarray, shape (n_trials, n_voxels), float32
        """
        ids = np.concatenate([self.trial_image_ids_train, self.trial_image_ids_test]).astype(np.int64)
        return ids, np.concatenate([self.betas_train, self.betas_test]).astype(np.float32)

    @property
    def n_voxels(self) -> int:
        return int(np.asarray(self.betas_train).shape[1])

    @property
    def has_truth(self) -> bool:
        """Whether the simulator's noiseless responses travel with the data."""
        return self.noiseless is not None

    def mean_betas(self, split: str = "test") -> tuple[np.ndarray, np.ndarray]:
        """Betas averaged over the repeats of each image.

        Parameters
        ----------
        split : {"train", "test"}

        Returns
        -------
        image_ids : ndarray, shape (n_unique,), int64
            Sorted unique image ids.
        betas : ndarray, shape (n_unique, n_voxels), float32
        """
        if split not in ("train", "test"):
            raise bad_value("split", "'train' or 'test'", split)
        ids = getattr(self, f"trial_image_ids_{split}")
        betas = getattr(self, f"betas_{split}")
        uniq, inv = np.unique(ids, return_inverse=True)
        sums = np.zeros((len(uniq), betas.shape[1]), np.float64)
        np.add.at(sums, inv, betas)
        counts = np.bincount(inv, minlength=len(uniq))[:, None]
        return uniq.astype(np.int64), (sums / counts).astype(np.float32)

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {
            k: getattr(self, k) for k in ("trial_image_ids_train", "betas_train", "trial_image_ids_test", "betas_test")
        }
        arrays.update({k: getattr(self, k) for k in _TRUTH if getattr(self, k) is not None})
        save_arrays(folder / "responses.npz", **arrays)
        save_table(folder / "voxels.tsv", self.voxels)
        if self.trials is not None:
            save_table(folder / "trials.tsv", self.trials)
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> SubjectResponses:
        import pandas as pd

        folder = Path(folder)
        arrays = load_arrays(folder / "responses.npz")
        voxels = pd.read_csv(folder / "voxels.tsv", sep="\t", keep_default_na=False, na_values=["", "nan", "NaN"])
        trials = None
        if (folder / "trials.tsv").is_file():
            trials = pd.read_csv(
                folder / "trials.tsv",
                sep="\t",
                keep_default_na=False,
                na_values=["", "nan", "NaN"],
                dtype={"split": str, "trial_type": str, "session": str, "stim_file": str},
            )
        return cls(voxels=voxels, trials=trials, **arrays)


@dataclass
class StimulusResponses:
    """Stimuli and per-subject single-trial responses (kind ``stimulus_responses``).

    Attributes
    ----------
    stimuli : ndarray, shape (n_images, H, W, 3), float32 in [0, 1] (or uint8 before saving), or None
        The images (None when the experiment's images are not available, e.g. Haxby's blocks). uint8
        images are stored as uint8 and read back as float32 / 255.
    categories : ndarray, shape (n_images,), int64
        Category index of each image (into ``category_names``; -1 when unknown).
    category_names : list of str
    train_image_ids, test_image_ids : ndarray, int64
        Image ids of the training images and of the shared test images.
    subjects : dict of str to SubjectResponses
    image_names : list of str, optional
        Name of each image (file name, NSD 73k id, ...).
    captions : list of str, optional
        One caption per image ('' when unknown).
    features : ndarray, shape (n_images, n_features), float32, optional
        The true model features (simulations).
    feature_names : list of str
    info : dict
        Where the data came from (producer, parameters, dataset).
    """

    stimuli: np.ndarray | None
    categories: np.ndarray
    category_names: list[str]
    train_image_ids: np.ndarray
    test_image_ids: np.ndarray
    subjects: dict[str, SubjectResponses]
    image_names: list[str] | None = None
    captions: list[str] | None = None
    features: np.ndarray | None = None
    feature_names: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = self.n_images
        check(len(self.categories) == n, "categories", f"one entry per image ({n})", f"<{len(self.categories)}>")
        cats = np.asarray(self.categories)
        if cats.size:
            check(
                cats.dtype.kind in "iu" and cats.min() >= -1 and cats.max() < len(self.category_names),
                "categories",
                f"indices into category_names (0 .. {len(self.category_names) - 1}; -1: none)",
                f"<{cats.dtype} in [{cats.min()}, {cats.max()}]>",
            )
        for split in ("train", "test"):
            ids = np.asarray(getattr(self, f"{split}_image_ids"))
            if ids.size:
                check(
                    ids.dtype.kind in "iu" and ids.min() >= 0 and ids.max() < n,
                    f"{split}_image_ids",
                    f"image ids in [0, {n - 1}]",
                    f"<{ids.dtype} in [{ids.min()}, {ids.max()}]>",
                )
        if self.stimuli is not None:  # without images the stimuli are categories, shown in both splits (Haxby)
            shared = np.intersect1d(self.train_image_ids, self.test_image_ids)
            check(shared.size == 0, "test_image_ids", "images not in train_image_ids", f"<{shared.size} shared>")
        if self.stimuli is not None:
            st = np.asarray(self.stimuli)
            check(st.ndim == 4 and st.shape[-1] == 3, "stimuli", "an array (n_images, H, W, 3)", f"<shape {st.shape}>")
            check(len(st) == n, "stimuli", f"one image per category entry ({n})", f"<shape {st.shape}>")
            ok = st.dtype == np.uint8 or (
                st.dtype.kind == "f" and float(st.min(initial=0)) >= 0 and float(st.max(initial=0)) <= 1
            )
            check(
                ok,
                "stimuli",
                "uint8 RGB or float RGB in [0, 1]",
                f"<dtype {st.dtype}, range [{st.min(initial=0)}, {st.max(initial=0)}]>",
            )
        for name, sub in self.subjects.items():
            for split in ("train", "test"):
                ids = np.asarray(getattr(sub, f"trial_image_ids_{split}"))
                if len(ids) and (ids.min() < 0 or ids.max() >= n):
                    raise bad_value(
                        f"trial_image_ids_{split}",
                        f"image ids in [0, {n - 1}]",
                        f"<ids in [{ids.min()}, {ids.max()}]>",
                        of=f"subject {name}",
                    )

    @property
    def n_images(self) -> int:
        return int(len(self.categories))

    @property
    def has_truth(self) -> bool:
        """Whether the simulator's ground truth travels with the data."""
        return self.features is not None and all(s.has_truth for s in self.subjects.values())

    def save(self, folder: str | Path) -> Path:
        """Write the kind's folder (layout in the module docstring)."""
        import pandas as pd

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        if self.stimuli is not None:  # uint8 stays uint8 on disk (NSD-size image sets)
            st = np.asarray(self.stimuli)
            save_array(folder / "stimuli.npy", st if st.dtype == np.uint8 else st.astype(np.float32))
        if self.features is not None:
            save_array(folder / "features.npy", np.asarray(self.features, np.float32))
        save_arrays(
            folder / "splits.npz",
            categories=np.asarray(self.categories, np.int64),
            train_image_ids=np.asarray(self.train_image_ids, np.int64),
            test_image_ids=np.asarray(self.test_image_ids, np.int64),
        )
        split = np.full(self.n_images, "unused", dtype=object)
        split[self.train_image_ids] = "train"
        split[self.test_image_ids] = "test"
        split[np.intersect1d(self.train_image_ids, self.test_image_ids)] = "both"
        names = np.asarray(self.category_names + ["unknown"], dtype=object)
        table = {
            "image_id": np.arange(self.n_images),
            "name": self.image_names or [str(i) for i in range(self.n_images)],
            "category": self.categories,
            "category_name": names[np.asarray(self.categories)],
            "split": split,
        }
        if self.captions is not None:
            table["caption"] = self.captions
        save_table(folder / "images.tsv", pd.DataFrame(table))
        for name, sub in self.subjects.items():
            sub.save(folder / "subjects" / name)
        write_header(
            folder,
            KIND,
            VERSION,
            category_names=list(self.category_names),
            subjects=list(self.subjects),
            feature_names=list(self.feature_names),
            has_stimuli=self.stimuli is not None,
            info=self.info,
        )
        return folder

    @classmethod
    def load(cls, source: Any) -> StimulusResponses:
        """Read a ``stimulus_responses`` folder (an Artifact given to a stage, or a path)."""
        import pandas as pd

        folder = kind_root(source)
        meta = read_header(folder, KIND, VERSION)
        splits = load_arrays(folder / "splits.npz")
        images = pd.read_csv(folder / "images.tsv", sep="\t", keep_default_na=False, dtype={"name": str})
        stimuli = np.load(folder / "stimuli.npy", allow_pickle=False) if (folder / "stimuli.npy").is_file() else None
        if stimuli is not None and stimuli.dtype == np.uint8:
            stimuli = stimuli.astype(np.float32) / 255.0
        features = np.load(folder / "features.npy", allow_pickle=False) if (folder / "features.npy").is_file() else None
        return cls(
            stimuli=stimuli,
            categories=splits["categories"],
            category_names=list(meta["category_names"]),
            train_image_ids=splits["train_image_ids"],
            test_image_ids=splits["test_image_ids"],
            subjects={s: SubjectResponses.load(folder / "subjects" / s) for s in meta["subjects"]},
            image_names=images["name"].astype(str).tolist(),
            captions=images["caption"].astype(str).tolist() if "caption" in images else None,
            features=features,
            feature_names=list(meta["feature_names"]),
            info=meta.get("info", {}),
        )
