"""Data: simulations with ground truth, readers of fMRI/EEG/sEEG, public-dataset loaders.

Readers import nibabel / nilearn / MNE inside their functions, so importing this
package stays cheap.
"""

from . import bids, eeg, fmri
from ._paths import DATA_ENV, dataset_dir, get_data_home
from ._trial_responses import responses_from_betas
from .bids import bids_entities, bids_pipeline_steps, find_bids_files
from .eeg import make_epochs, pick_channels, preprocess_raw, read_raw, read_raws, seeg_bipolar_pairs, set_bipolar
from .fmri import (
    atlas_regions,
    extract_signals,
    load_confounds,
    load_events,
    load_img,
    load_mask,
    load_surface,
    single_trial_betas,
)
from .loaders import *  # noqa: F401,F403
from .loaders import __all__ as _loaders_all

__all__ = [
    "DATA_ENV",
    "bids",
    "eeg",
    "fmri",
    "dataset_dir",
    "get_data_home",
    "bids_entities",
    "bids_pipeline_steps",
    "find_bids_files",
    "make_epochs",
    "pick_channels",
    "preprocess_raw",
    "read_raw",
    "read_raws",
    "seeg_bipolar_pairs",
    "set_bipolar",
    "extract_signals",
    "load_confounds",
    "load_events",
    "load_img",
    "load_mask",
    "load_surface",
    "single_trial_betas",
    "atlas_regions",
    "responses_from_betas",
    *_loaders_all,
]
