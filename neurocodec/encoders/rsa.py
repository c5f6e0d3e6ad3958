"""Representational similarity analysis (Kriegeskorte et al. 2008): model RDMs against brain RDMs.

Plain functions; the ``rsa`` stage wraps them.
"""

from __future__ import annotations

import numpy as np

from ..pipeline import bad_value, check, check_array

__all__ = ["rdm", "upper_triangle", "compare_rdms", "rsa_scores"]


def rdm(features: np.ndarray, metric: str = "correlation") -> np.ndarray:
    """Dissimilarity matrix (n_stimuli, n_stimuli) of feature rows (n_stimuli, n_features).

    ``metric``: ``"correlation"`` (1 - Pearson r, the paper's) or ``"euclidean"``.
    """
    x = check_array(features, "features", "(n_stimuli >= 3, n_features)", ndim=2, min_rows=3, dtype=np.float64)
    if metric == "correlation":
        sd = x.std(1)
        check(
            bool((sd > 0).all()),
            "features",
            "rows with non-zero variance (1 - Pearson r)",
            f"<{int((sd == 0).sum())} constant rows>",
        )
        return 1.0 - np.corrcoef(x)
    if metric == "euclidean":
        sq = (x**2).sum(1)
        return np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0.0))
    raise bad_value("metric", "'correlation' or 'euclidean'", metric)


def upper_triangle(m: np.ndarray) -> np.ndarray:
    """Entries above the diagonal of a square matrix, row-major."""
    m = check_array(m, "rdm", "(n_stimuli, n_stimuli)", ndim=2)
    check(m.shape[0] == m.shape[1], "rdm", "a square matrix", f"<shape {m.shape}>")
    return m[np.triu_indices(m.shape[0], 1)]


def compare_rdms(a: np.ndarray, b: np.ndarray, method: str = "spearman") -> float:
    """Spearman (the paper's), Kendall tau-a-like Kendall or Pearson correlation of two RDMs' upper triangles."""
    from scipy import stats

    ua, ub = upper_triangle(a), upper_triangle(b)
    check(ua.shape == ub.shape, "rdm", f"RDMs over the same stimuli ({a.shape})", f"<shape {np.shape(b)}>")
    if method == "spearman":
        return float(stats.spearmanr(ua, ub).statistic)
    if method == "pearson":
        return float(np.corrcoef(ua, ub)[0, 1])
    if method == "kendall":
        return float(stats.kendalltau(ua, ub).statistic)
    raise bad_value("method", "'spearman', 'pearson' or 'kendall'", method)


def rsa_scores(model_rdms: dict[str, np.ndarray], brain_rdms: np.ndarray, subjects, method: str = "spearman"):
    """Each model RDM against each subject's brain RDM (sessions averaged), and the noise ceiling.

    Parameters
    ----------
    model_rdms : dict of str to ndarray (n, n)
    brain_rdms : ndarray, shape (n_rdms, n, n)
    subjects : sequence of str, length n_rdms
        Subject of each brain RDM (RDMs of one subject are averaged first).
    method : str

    Returns
    -------
    rows : list of dict (model, subject, r)
    ceiling : dict
        ``lower``: mean correlation of each subject with the mean of the others; ``upper``: with the mean of all.
    """
    brain_rdms = check_array(brain_rdms, "brain_rdms", "(n_rdms, n_stimuli, n_stimuli)", ndim=3)
    subjects = np.asarray(subjects).astype(str)
    check(
        subjects.shape == brain_rdms.shape[:1],
        "subjects",
        f"one per brain RDM ({len(brain_rdms)})",
        f"<{subjects.size} subjects>",
    )
    names = list(dict.fromkeys(subjects))
    per_subject = np.stack([np.asarray(brain_rdms)[subjects == s].mean(0) for s in names])
    rows = [
        {"model": m, "subject": s, "r": compare_rdms(r, b, method)}
        for m, r in model_rdms.items()
        for s, b in zip(names, per_subject)
    ]
    ceiling = {"lower": float("nan"), "upper": float("nan")}
    if len(names) >= 2:
        mean_all = per_subject.mean(0)
        ceiling["lower"] = float(
            np.mean(
                [compare_rdms(per_subject[i], np.delete(per_subject, i, 0).mean(0), method) for i in range(len(names))]
            )
        )
        ceiling["upper"] = float(np.mean([compare_rdms(b, mean_all, method) for b in per_subject]))
    return rows, ceiling
