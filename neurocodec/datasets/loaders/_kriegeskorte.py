"""Kriegeskorte et al. 2008 (Neuron): 92 object images and human IT RDMs (MATLAB v5 files)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...pipeline import bad_value
from .._paths import dataset_dir, require_files

__all__ = ["load_kriegeskorte92", "KRIEGESKORTE_URL"]

KRIEGESKORTE_URL = "https://github.com/rsagroup/rsatoolbox (demos/92imageData)"
_STIM = "Kriegeskorte_Neuron2008_supplementalData.mat"
_RDMS = "92_brainRDMs.mat"


def load_kriegeskorte92(root=None, *, data_dir=None) -> dict:
    """Images, category table and the hIT RDMs.

    Returns
    -------
    dict with
        ``images`` (92, 175, 175, 3) uint8; ``categories`` pandas.DataFrame
        (category, human, face, animal, natural; one row per image);
        ``rdms`` (n_subjects, n_sessions, 92, 92) float32; ``rdm_names`` list of str.
    """
    import pandas as pd
    from scipy.io import loadmat

    root = Path(root).expanduser() if root is not None else dataset_dir("kriegeskorte92", data_dir)
    stim_path, rdm_path = require_files(root, [_STIM, _RDMS], dataset="Kriegeskorte-92", url=KRIEGESKORTE_URL)
    try:
        stim = loadmat(stim_path)["stimuli_92objs"].ravel()
        rdms = loadmat(rdm_path)["RDMs"]
    except (KeyError, ValueError, OSError) as err:
        raise bad_value(
            "files", "the rsatoolbox 92-image .mat files (stimuli_92objs, RDMs)", f"<{type(err).__name__}: {err}>"
        ) from None
    images = np.stack([np.asarray(s["image"], dtype=np.uint8) for s in stim])
    table = pd.DataFrame(
        {
            "category": [str(s["category"].ravel()[0]) for s in stim],
            **{k: [int(np.asarray(s[k]).ravel()[0]) for s in stim] for k in ("human", "face", "animal", "natural")},
        }
    )
    rdm_arr = np.stack(
        [
            [np.asarray(rdms[0, i, j]["RDM"], dtype=np.float32) for j in range(rdms.shape[2])]
            for i in range(rdms.shape[1])
        ]
    )
    names = [str(rdms[0, i, j]["name"].ravel()[0]) for i in range(rdms.shape[1]) for j in range(rdms.shape[2])]
    if images.shape[0] != 92 or rdm_arr.shape[-2:] != (92, 92):
        raise bad_value("files", "92 images and 92x92 RDMs", f"<{images.shape[0]} images, RDMs {rdm_arr.shape}>")
    return {"images": images, "categories": table, "rdms": rdm_arr, "rdm_names": names}
