"""Feature families of the ABIDE benchmark's kernel ridge grid (see abide.py).

Per-subject features need no fit; ``tangent_ref_0.1`` is built per outer fold
in abide.py from the fold's training rows.
"""

from __future__ import annotations

import numpy as np

FEATURES = {"correlation": None, "tangent_1e-3": 1e-3, "tangent_0.1": 0.1}


def fc_features(fc, names=tuple(FEATURES)):
    """Fisher-z correlations or identity-tangent (logm of the shrunk matrix) vectors of ``fc`` (n_subjects, n_edges)."""
    from neurocodec.features.connectivity import map_eigenvalues, shrink_to_spd, unvectorize, vectorize

    out = {}
    for name in names:
        min_eig = FEATURES[name]
        if min_eig is None:
            out[name] = np.arctanh(np.clip(fc, -0.999999, 0.999999))
        else:
            mats = shrink_to_spd(unvectorize(fc, discard_diagonal=True), "auto", min_eig)[0]
            out[name] = vectorize(map_eigenvalues(np.log, mats))
    return out


def train_gram(X, train):
    """Linear kernel of ``X`` standardised with the statistics of the rows ``train``."""
    mu, sd = X[train].mean(0), X[train].std(0) + 1e-12
    Z = (X - mu) / sd
    return Z @ Z.T


LOSO_FEATURES = ("correlation", "correlation_subject_z", "tangent_0.1")
# --families: feature families of the kernel ridge grid (LOSO_FEATURES: the previous 60-config default grid)
FAMILIES = {
    "correlation": "fisher_z",
    "correlation_subject_z": "fisher_z, then each subject z-scored across its edges",
    "tangent_0.1": "log_euclidean_tangent(min_eigenvalue=0.1) at the identity (logm of the shrunk matrix)",
    "correlation_rank_gauss": "fisher_z, then each subject's edges replaced by normal quantiles of their ranks",
    "tangent_ref_0.1": "logm(R^-1/2 C R^-1/2), C shrunk (min_eigenvalue=0.1), R = log-Euclidean mean of the outer "
                       "fold's training matrices",
    "network_blocks": "mean fisher_z within/between the Yeo-7 x hemisphere blocks (14 x 14 upper triangle with "
                      "diagonal, 105 features)",
}
DEFAULT_FAMILIES = LOSO_FEATURES + ("network_blocks",)   # chosen by inner figures only (see abide.py's docstring)


def family_subsets(families):
    """Named subsets of the grid's families whose unselected-ensemble inner figure is reported."""
    fam = list(families)
    base = [f for f in LOSO_FEATURES if f in fam]
    new = [f for f in fam if f not in LOSO_FEATURES]
    out = {"+".join(base): base} if base else {}
    for f in fam:
        out.setdefault(f, [f])
    if base:
        for f in new:
            out["+".join(base + [f])] = base + [f]
    if base and len(new) > 1:
        out["+".join(base + new)] = base + new
    return out


def family_features(fc, names, rois):
    """Per-subject (no fit) features of the grid; the fitted family ``tangent_ref_0.1`` is built per fold."""
    from neurocodec.features.connectivity import (
        network_block_means,
        rank_gaussianize,
        schaefer_network_labels,
        standardize_subjects,
    )

    needs_z = set(names) & {"correlation", "correlation_subject_z", "correlation_rank_gauss", "network_blocks"}
    base = fc_features(fc, names=("correlation",) * bool(needs_z) + ("tangent_0.1",) * ("tangent_0.1" in names))
    out = {}
    for f in names:
        if f in ("correlation", "tangent_0.1"):
            out[f] = base[f]
        elif f == "correlation_subject_z":
            out[f] = standardize_subjects(base["correlation"])
        elif f == "correlation_rank_gauss":
            out[f] = rank_gaussianize(base["correlation"])
        elif f == "network_blocks":
            out[f] = network_block_means(base["correlation"], schaefer_network_labels(rois))
    return out
