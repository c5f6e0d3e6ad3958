"""Dynamic functional connectivity: sliding-window (tapered) correlations and
recurring FC states by k-means on windows, with dwell times (Allen et al. 2014).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from ...pipeline import PretrainedMixin, bad_value, check
from ._fc import check_timeseries
from ._vectors import fisher_z, vectorize

__all__ = ["TAPERS", "window_taper", "sliding_window_fc", "FCStates", "state_dynamics"]

TAPERS = ("rectangular", "hamming", "hann", "tukey", "gaussian")


def window_taper(window_length: int, taper: str = "rectangular", sigma: float = 3.0) -> np.ndarray:
    """Weights of one window, shape (window_length,), summing to 1.

    ``"tukey"`` is a tapered cosine with ratio 0.5; ``"gaussian"`` is the
    rectangle convolved with a Gaussian of ``sigma`` samples (Allen et al. 2014)
    truncated to the window.
    """
    from scipy.signal import windows

    check(window_length >= 3, "window_length", ">= 3 samples", window_length)
    if taper == "rectangular":
        w = np.ones(window_length)
    elif taper == "hamming":
        w = windows.hamming(window_length)
    elif taper == "hann":
        w = windows.hann(window_length + 2)[1:-1]
    elif taper == "tukey":
        w = windows.tukey(window_length + 2, 0.5)[1:-1]
    elif taper == "gaussian":
        check(sigma > 0, "sigma", "> 0", sigma)
        half = window_length // 2
        t = np.arange(window_length) - (window_length - 1) / 2
        g = np.exp(-0.5 * (t / sigma) ** 2)
        rect = (np.abs(t) <= half - 2 * sigma).astype(float) if half > 2 * sigma else np.ones(window_length)
        w = np.convolve(rect, g / g.sum(), mode="same")
    else:
        raise bad_value("taper", f"one of {TAPERS}", taper)
    return w / w.sum()


def sliding_window_fc(
    timeseries, window_length: int, step: int = 1, taper: str = "rectangular", sigma: float = 3.0
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted-correlation matrices in sliding windows of one subject.

    Parameters
    ----------
    timeseries : ndarray, shape (n_times, n_rois)
    window_length : int
        Window length in samples.
    step : int
        Shift between windows in samples.
    taper : {"rectangular", "hamming", "hann", "tukey", "gaussian"}
        Window weights (see :func:`window_taper`).

    Returns
    -------
    fc : ndarray, shape (n_windows, n_rois, n_rois)
        Correlation in each window.
    centers : ndarray, shape (n_windows,)
        Centre of each window in samples.
    """
    x = check_timeseries([timeseries], min_times=window_length)[0]
    check(step >= 1, "step", ">= 1", step)
    w = window_taper(window_length, taper, sigma)
    starts = np.arange(0, len(x) - window_length + 1, step)
    segs = np.lib.stride_tricks.sliding_window_view(x, window_length, axis=0)[starts]  # (n_win, n_rois, L)
    mean = segs @ w
    xc = segs - mean[..., None]
    cov = np.matmul(xc * w, np.swapaxes(xc, 1, 2))
    sd = np.sqrt(np.clip(np.diagonal(cov, axis1=1, axis2=2), 1e-30, None))
    fc = cov / sd[:, :, None] / sd[:, None, :]
    n = x.shape[1]
    fc[:, np.arange(n), np.arange(n)] = 1.0
    return np.clip(fc, -1.0, 1.0), starts + (window_length - 1) / 2


def state_dynamics(labels, n_states: int, window_step_s: float = 1.0) -> dict[str, np.ndarray]:
    """Occupancy, dwell times and transitions of one state sequence.

    Parameters
    ----------
    labels : ndarray of int, shape (n_windows,)
        State of each window.
    n_states : int
    window_step_s : float
        Time between consecutive windows (step x TR), to express dwell times in seconds.

    Returns
    -------
    dict
        ``fraction`` (n_states,) time fraction, ``mean_dwell_s`` (n_states,)
        mean run length in seconds (0 for unvisited states),
        ``n_transitions`` scalar array, ``transitions`` (n_states, n_states)
        row-normalised transition probabilities.
    """
    labels = np.asarray(labels, dtype=int)
    check(labels.ndim == 1 and len(labels) > 0, "labels", "a non-empty 1-D sequence", f"<shape {labels.shape}>")
    check(
        labels.min() >= 0 and labels.max() < n_states,
        "labels",
        f"in [0, {n_states})",
        f"<range {labels.min()}..{labels.max()}>",
    )
    change = np.flatnonzero(np.diff(labels)) + 1
    bounds = np.r_[0, change, len(labels)]
    run_states = labels[bounds[:-1]]
    run_lengths = np.diff(bounds)
    dwell = np.zeros(n_states)
    for s in range(n_states):
        if np.any(run_states == s):
            dwell[s] = run_lengths[run_states == s].mean() * window_step_s
    trans = np.zeros((n_states, n_states))
    np.add.at(trans, (labels[:-1], labels[1:]), 1)
    rows = trans.sum(1, keepdims=True)
    return {
        "fraction": np.bincount(labels, minlength=n_states) / len(labels),
        "mean_dwell_s": dwell,
        "n_transitions": np.array(len(change)),
        "transitions": np.divide(trans, rows, out=np.zeros_like(trans), where=rows > 0),
    }


class FCStates(PretrainedMixin, BaseEstimator):
    """Recurring FC states: k-means on vectorised sliding-window correlations.

    Parameters
    ----------
    n_states : int
        Number of states (clusters).
    n_init : int
        k-means restarts.
    random_state : int

    Attributes
    ----------
    centroids_ : ndarray, shape (n_states, n_rois, n_rois)
        State connectivity patterns (correlations), sorted by occupancy.
    cluster_centers_ : ndarray, shape (n_states, n_edges)
        The k-means centres (Fisher-z edge vectors) :meth:`predict` assigns windows to.
    """

    def __init__(self, n_states: int = 4, n_init: int = 10, random_state: int = 0):
        self.n_states = n_states
        self.n_init = n_init
        self.random_state = random_state

    def _vectors(self, windows):
        vecs = [vectorize(np.asarray(w), discard_diagonal=True) for w in windows]
        n_edges = {v.shape[-1] for v in vecs}
        check(len(n_edges) == 1, "windows", "subjects with the same number of ROIs", f"<edge counts {sorted(n_edges)}>")
        return vecs

    def fit(self, windows, y=None):
        """Fit on a list of per-subject window stacks ``(n_windows_i, n_rois, n_rois)``."""
        from sklearn.cluster import KMeans

        vecs = self._vectors(windows)
        pooled = np.concatenate(vecs)
        check(
            len(pooled) >= self.n_states, "windows", f">= n_states={self.n_states} windows in total", f"<{len(pooled)}>"
        )
        km = KMeans(self.n_states, n_init=self.n_init, random_state=self.random_state).fit(fisher_z(pooled))
        order = np.argsort(-np.bincount(km.labels_, minlength=self.n_states), kind="stable")
        self.cluster_centers_ = km.cluster_centers_[order]
        n = np.asarray(windows[0]).shape[-1]
        from ._vectors import unvectorize

        self.centroids_ = unvectorize(np.tanh(self.cluster_centers_), discard_diagonal=True)
        self.n_rois_ = n
        return self

    def predict(self, windows) -> list[np.ndarray]:
        """State label of every window of every subject."""
        check_is_fitted(self)
        c = self.cluster_centers_
        return [
            (-2 * fisher_z(v) @ c.T + (c**2).sum(1)).argmin(1)  # the nearest centre, as KMeans.predict
            for v in self._vectors(windows)
        ]
