"""Tiny synthetic fMRI releases (nibabel, seeded) for the fMRI producer stages and their examples.

* :func:`event_design`: 3 BIDS runs (4x4x3 voxels, TR 2 s), events with ``trial_type`` (two categories whose
  voxel patterns differ) and ``stim_file`` (distinct training images in runs 0-1, repeated test images in run 2),
  a ``stimuli/`` folder of 16x16 PNGs and a mask;
* :func:`atlas_runs`: 2 BIDS runs of one subject, a 3-region label atlas on their grid and its labels TSV;
* :func:`haxby_release`: the OpenfMRI layout of Haxby 2001 (sub001, 3 runs, face/house blocks, a vt mask).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

AFF = np.diag([3.0, 3.0, 3.0, 1.0])
SHAPE = (4, 4, 3)


def _bold(events, n_scans, t_r, patterns, rng, scale=2.0):
    """BOLD (SHAPE + (n_scans,)) whose trials add their category's pattern (Glover HRF), plus noise."""
    from nilearn.glm.first_level import make_first_level_design_matrix

    frame = np.arange(n_scans) * t_r
    names = [f"t{i}" for i in range(len(events))]
    dm = make_first_level_design_matrix(frame, events.assign(trial_type=names), drift_model=None)
    data = 100 + rng.standard_normal(SHAPE + (n_scans,))
    for name, cat in zip(names, events["trial_type"]):
        data += scale * patterns[cat][..., None] * dm[name].to_numpy()[None, None, None, :]
    return data.astype(np.float32)


def event_design(root: Path, seed: int = 0) -> dict[str, Path]:
    """Build (once) and return ``{"bold": folder, "mask": file, "stimuli": folder, "events": folder}``."""
    import nibabel as nib
    import pandas as pd
    from PIL import Image

    folder = Path(root) / "event_design"
    paths = {"bold": folder / "func", "mask": folder / "mask.nii.gz", "stimuli": folder / "stimuli"}
    paths["events"] = paths["bold"]
    if folder.is_dir():
        return paths
    rng = np.random.default_rng(seed)
    paths["bold"].mkdir(parents=True)
    paths["stimuli"].mkdir()
    patterns = {c: rng.standard_normal(SHAPE) for c in ("animal", "object")}
    n_scans, t_r, n_trials = 60, 2.0, 14
    onsets = 6.0 + 8.0 * np.arange(n_trials)
    for run in range(3):
        images = [run * n_trials + i for i in range(n_trials)] if run < 2 else [28 + i % 7 for i in range(n_trials)]
        ev = pd.DataFrame(
            {
                "onset": onsets,
                "duration": 2.0,
                "trial_type": ["animal" if i % 2 else "object" for i in images],
                "stim_file": [f"img{i:02d}.png" for i in images],
            }
        )
        stem = f"sub-01_task-view_run-{run + 1}"
        nib.save(nib.Nifti1Image(_bold(ev, n_scans, t_r, patterns, rng), AFF), paths["bold"] / f"{stem}_bold.nii.gz")
        ev.to_csv(paths["bold"] / f"{stem}_events.tsv", sep="\t", index=False)
    for i in range(35):
        pixels = rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(paths["stimuli"] / f"img{i:02d}.png")
    nib.save(nib.Nifti1Image(np.ones(SHAPE, np.uint8), AFF), paths["mask"])
    return paths


def atlas_runs(root: Path, seed: int = 0) -> dict[str, Path]:
    """Build (once) and return ``{"bold": folder, "atlas": file, "labels": file}`` (3 regions, 2 coupled)."""
    import nibabel as nib
    import pandas as pd

    folder = Path(root) / "atlas_runs"
    paths = {"bold": folder / "func", "atlas": folder / "atlas.nii.gz", "labels": folder / "atlas_dseg.tsv"}
    if folder.is_dir():
        return paths
    rng = np.random.default_rng(seed)
    paths["bold"].mkdir(parents=True)
    labels = np.zeros(SHAPE, np.int16)
    labels[:2, :, :], labels[2:, :2, :], labels[2:, 2:, :] = 1, 2, 3
    for run in (1, 2):
        shared = rng.standard_normal(50)
        data = 100 + rng.standard_normal(SHAPE + (50,))
        data[labels == 1] += 2 * shared
        data[labels == 2] += 2 * shared
        nib.save(
            nib.Nifti1Image(data.astype(np.float32), AFF), paths["bold"] / f"sub-07_task-rest_run-{run}_bold.nii.gz"
        )
    nib.save(nib.Nifti1Image(labels, AFF), paths["atlas"])
    pd.DataFrame({"index": [1, 2, 3], "name": ["left", "middle", "right"]}).to_csv(
        paths["labels"], sep="\t", index=False
    )
    return paths


def haxby_release(root: Path, seed: int = 0) -> Path:
    """Build (once) a 3-run Haxby-layout folder (face / house blocks) and return it."""
    import nibabel as nib
    import pandas as pd

    folder = Path(root) / "haxby2001"
    if folder.is_dir():
        return folder
    rng = np.random.default_rng(seed)
    (folder / "models" / "model001").mkdir(parents=True)
    (folder / "models" / "model001" / "condition_key.txt").write_text("task001 cond001 face\ntask001 cond002 house\n")
    (folder / "scan_key.txt").write_text("TR 2.5\n")
    patterns = {c: rng.standard_normal(SHAPE) for c in ("face", "house")}
    for run in range(1, 4):
        d = folder / "sub001" / "BOLD" / f"task001_run{run:03d}"
        d.mkdir(parents=True)
        ev = pd.DataFrame(
            {"onset": [5.0, 30.0, 55.0, 80.0], "duration": 15.0, "trial_type": ["face", "house", "house", "face"]}
        )
        nib.save(nib.Nifti1Image(_bold(ev, 44, 2.5, patterns, rng, 1.0), AFF), d / "bold.nii.gz")
        ev.to_csv(d / "bold_events.tsv", sep="\t", index=False)
    masks = folder / "sub001" / "masks" / "25mm"
    masks.mkdir(parents=True)
    vt = np.zeros(SHAPE, np.uint8)
    vt[1:3, 1:3, :] = 1
    nib.save(nib.Nifti1Image(vt, AFF), masks / "vt.nii.gz")
    nib.save(nib.Nifti1Image(np.ones(SHAPE, np.uint8), AFF), masks / "brain.nii.gz")
    return folder


def kriegeskorte_release(root: Path, seed: int = 0) -> Path:
    """Build (once) the two rsatoolbox .mat files of Kriegeskorte-92 (random 16-px images, 2 x 2 random RDMs)."""
    from scipy.io import savemat

    folder = Path(root) / "kriegeskorte92"
    if folder.is_dir():
        return folder
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    fields = ("image", "category", "human", "face", "animal", "natural")
    stim = np.zeros((1, 92), dtype=[(f, "O") for f in fields])
    for i in range(92):
        cat = ("face", "body", "natural", "artificial")[i % 4]
        stim[0, i] = (rng.integers(0, 255, (16, 16, 3), dtype=np.uint8), cat, int(i % 4 < 2), int(i % 4 == 0), 0, 0)
    rdms = np.zeros((1, 2, 2), dtype=[("RDM", "O"), ("name", "O")])
    for s in range(2):
        for j in range(2):
            d = np.abs(rng.standard_normal((92, 92)))
            d = (d + d.T) / 2
            np.fill_diagonal(d, 0)
            rdms[0, s, j] = (d, f"BE s{s + 1} session {j + 1}")
    savemat(folder / "Kriegeskorte_Neuron2008_supplementalData.mat", {"stimuli_92objs": stim})
    savemat(folder / "92_brainRDMs.mat", {"RDMs": rdms})
    return folder
