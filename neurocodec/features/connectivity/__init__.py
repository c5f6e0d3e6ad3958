"""Functional connectivity (fMRI and EEG), graph features and connectome-based
phenotype prediction.
"""

from ..._lazy import lazy_exports

__all__ = [
    "COV_ESTIMATORS",
    "CV_SCHEMES",
    "DEFAULT_BANDS",
    "EEG_METHODS",
    "FEATURE_KINDS",
    "GLOBAL_FEATURES",
    "KINDS",
    "NODE_FEATURES",
    "TAPERS",
    "ConnectomeClassifier",
    "FCStates",
    "FunctionalConnectivity",
    "TangentSpace",
    "covariances",
    "cv_summary",
    "edge_index",
    "eeg_connectivity",
    "fisher_z",
    "geometric_mean",
    "graph_features",
    "shrink_to_spd",
    "site_cross_validate",
    "site_splits",
    "sliding_window_fc",
    "state_dynamics",
    "threshold_graph",
    "triu_to_vectorized",
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
    "FEATURE_KINDS": "._classifier",
    "GLOBAL_FEATURES": "._graph",
    "KINDS": "._fc",
    "NODE_FEATURES": "._graph",
    "TAPERS": "._dynamic",
    "ConnectomeClassifier": "._classifier",
    "FCStates": "._dynamic",
    "FunctionalConnectivity": "._fc",
    "TangentSpace": "._fc",
    "covariances": "._fc",
    "cv_summary": "._predict",
    "edge_index": "._vectors",
    "eeg_connectivity": "._eeg",
    "fisher_z": "._vectors",
    "geometric_mean": "._spd",
    "graph_features": "._graph",
    "shrink_to_spd": "._spd",
    "site_cross_validate": "._predict",
    "site_splits": "._predict",
    "sliding_window_fc": "._dynamic",
    "state_dynamics": "._dynamic",
    "threshold_graph": "._graph",
    "triu_to_vectorized": "._vectors",
    "unvectorize": "._vectors",
    "vectorize": "._vectors",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
