"""Functional connectivity (fMRI and EEG), graph features and connectome-based
phenotype prediction."""

from ._fc import (
    COV_ESTIMATORS,
    KINDS,
    FunctionalConnectivity,
    TangentSpace,
    check_timeseries,
    cov_to_corr,
    covariances,
    prec_to_partial,
)
from ._dynamic import TAPERS, FCStates, sliding_window_fc, state_dynamics, window_taper
from ._eeg import DEFAULT_BANDS, EEG_METHODS, check_epochs, eeg_connectivity
from ._graph import GLOBAL_FEATURES, NODE_FEATURES, graph_features, threshold_graph
from ._io import diagnosis_to_group, load_abide_vectors
from ._predict import CV_SCHEMES, MODELS, SiteHarmonizer, classifier_head, make_classifier, site_cross_validate, site_splits
from ._spd import (
    batched_eigh,
    check_spd,
    geometric_mean,
    log_euclidean_mean,
    map_eigenvalues,
    shrink_to_spd,
    unvectorize,
    vectorize,
)

__all__ = [
    "CV_SCHEMES",
    "DEFAULT_BANDS",
    "EEG_METHODS",
    "FCStates",
    "GLOBAL_FEATURES",
    "MODELS",
    "NODE_FEATURES",
    "SiteHarmonizer",
    "TAPERS",
    "check_epochs",
    "classifier_head",
    "diagnosis_to_group",
    "eeg_connectivity",
    "graph_features",
    "load_abide_vectors",
    "make_classifier",
    "site_cross_validate",
    "site_splits",
    "sliding_window_fc",
    "state_dynamics",
    "threshold_graph",
    "window_taper",
    "COV_ESTIMATORS",
    "KINDS",
    "FunctionalConnectivity",
    "TangentSpace",
    "batched_eigh",
    "check_spd",
    "check_timeseries",
    "cov_to_corr",
    "covariances",
    "geometric_mean",
    "log_euclidean_mean",
    "map_eigenvalues",
    "prec_to_partial",
    "shrink_to_spd",
    "unvectorize",
    "vectorize",
]
