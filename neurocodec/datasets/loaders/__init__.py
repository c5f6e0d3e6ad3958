"""Public-dataset loaders. Each knows the release's on-disk layout and finds it at
argument -> ``$NEUROCODEC_DATA`` -> ``~/neurocodec_data``, raising an error that says
where to download it when absent.
"""

from ._abide import (
    ABIDE_URL,
    PCP_ATLASES,
    ZERO_VARIANCE_POLICIES,
    fc_from_upper,
    load_abide_fc,
    load_abide_timeseries,
    read_1d,
)
from ._bonn import BONN_SETS, BONN_SFREQ, BONN_URL, load_bonn
from ._haxby import HAXBY_URL, HaxbyData, haxby_responses, haxby_volume_samples, load_haxby
from ._kriegeskorte import KRIEGESKORTE_URL, load_kriegeskorte92
from ._nsd import (
    NSD_SESSIONS,
    NSD_URL,
    NSDTrials,
    average_repeats,
    load_nsd_betas,
    load_nsd_captions,
    load_nsd_design,
    load_nsd_images,
    nsd_shared_test_ids,
    nsd_trials,
)
from ._sleep_edf import SLEEP_EDF_URL, SLEEP_STAGES, load_sleep_edf_record, read_hypnogram, sleep_edf_pairs
from ._tuh import TUEV_LABELS, TUH_URL, read_tuev_rec, tuab_index, tuev_index
from ._uea import UEA_URL, load_uea, load_uea_info, read_ts
from ._user import load_stimulus_responses, read_images

__all__ = [
    "ABIDE_URL",
    "BONN_SETS",
    "BONN_SFREQ",
    "BONN_URL",
    "HAXBY_URL",
    "KRIEGESKORTE_URL",
    "NSD_SESSIONS",
    "NSD_URL",
    "SLEEP_EDF_URL",
    "SLEEP_STAGES",
    "TUEV_LABELS",
    "TUH_URL",
    "UEA_URL",
    "HaxbyData",
    "NSDTrials",
    "average_repeats",
    "fc_from_upper",
    "haxby_responses",
    "haxby_volume_samples",
    "load_abide_fc",
    "load_bonn",
    "load_haxby",
    "load_kriegeskorte92",
    "load_nsd_betas",
    "load_nsd_captions",
    "load_nsd_design",
    "load_nsd_images",
    "load_abide_timeseries",
    "read_1d",
    "PCP_ATLASES",
    "ZERO_VARIANCE_POLICIES",
    "load_sleep_edf_record",
    "load_uea",
    "load_uea_info",
    "nsd_shared_test_ids",
    "nsd_trials",
    "read_hypnogram",
    "read_images",
    "read_ts",
    "read_tuev_rec",
    "load_stimulus_responses",
    "sleep_edf_pairs",
    "tuab_index",
    "tuev_index",
]
