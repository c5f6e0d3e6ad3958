"""Functional connectivity (fMRI and EEG), graph features and connectome-based
phenotype prediction."""

import importlib

__all__ = [
    "CV_SCHEMES",
    "DEFAULT_BANDS",
    "EEG_METHODS",
    "FCStates",
    "GLOBAL_FEATURES",
    "MODELS",
    "NODE_FEATURES",
    "SiteHarmonizer",
    "SiteSubspaceProjector",
    "confound_design",
    "confound_operator",
    "project_gram",
    "gram_coordinates",
    "gram_logistic_scores",
    "site_mean_weights",
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

# Lazy attributes: importing the package (e.g. to register its stages) must not import
# scikit-learn / mne; each name is loaded from its module on first use.
_LAZY = {
    "COV_ESTIMATORS": "._fc",
    "CV_SCHEMES": "._predict",
    "DEFAULT_BANDS": "._eeg",
    "EEG_METHODS": "._eeg",
    "FCStates": "._dynamic",
    "FunctionalConnectivity": "._fc",
    "GLOBAL_FEATURES": "._graph",
    "KINDS": "._fc",
    "MODELS": "._predict",
    "NODE_FEATURES": "._graph",
    "SiteHarmonizer": "._predict",
    "SiteSubspaceProjector": "._predict",
    "confound_design": "._predict",
    "confound_operator": "._predict",
    "project_gram": "._predict",
    "gram_coordinates": "._predict",
    "gram_logistic_scores": "._predict",
    "site_mean_weights": "._predict",
    "TAPERS": "._dynamic",
    "TangentSpace": "._fc",
    "batched_eigh": "._spd",
    "check_epochs": "._eeg",
    "check_spd": "._spd",
    "check_timeseries": "._fc",
    "classifier_head": "._predict",
    "cov_to_corr": "._fc",
    "covariances": "._fc",
    "diagnosis_to_group": "._io",
    "eeg_connectivity": "._eeg",
    "geometric_mean": "._spd",
    "graph_features": "._graph",
    "load_abide_vectors": "._io",
    "log_euclidean_mean": "._spd",
    "make_classifier": "._predict",
    "map_eigenvalues": "._spd",
    "prec_to_partial": "._fc",
    "shrink_to_spd": "._spd",
    "site_cross_validate": "._predict",
    "site_splits": "._predict",
    "sliding_window_fc": "._dynamic",
    "state_dynamics": "._dynamic",
    "threshold_graph": "._graph",
    "unvectorize": "._spd",
    "vectorize": "._spd",
    "window_taper": "._dynamic",
}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
