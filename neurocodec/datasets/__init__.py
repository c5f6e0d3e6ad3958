"""Data: simulations with ground truth, readers of fMRI/EEG/sEEG, public-dataset loaders.

Readers import nibabel / nilearn / MNE inside their functions, so importing this
package stays cheap.
"""

from ._paths import DATA_ENV, dataset_dir, get_data_home
from .loaders import fc_from_upper, load_abide_fc, load_roi_timeseries, load_uea, load_uea_info, read_ts

__all__ = [
    "DATA_ENV",
    "dataset_dir",
    "fc_from_upper",
    "get_data_home",
    "load_abide_fc",
    "load_roi_timeseries",
    "load_uea",
    "load_uea_info",
    "read_ts",
]
