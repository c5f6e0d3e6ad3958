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
