"""Public-dataset loaders. Each knows the release's on-disk layout and finds it at
argument -> ``$NEUROCODEC_DATA`` -> ``~/neurocodec_data``, raising an error that says
where to download it when absent."""

from ._abide import ABIDE_URL, fc_from_upper, load_abide_fc, load_roi_timeseries
from ._uea import UEA_URL, load_uea, load_uea_info, read_ts

__all__ = [
    "ABIDE_URL",
    "UEA_URL",
    "fc_from_upper",
    "load_abide_fc",
    "load_roi_timeseries",
    "load_uea",
    "load_uea_info",
    "read_ts",
]
