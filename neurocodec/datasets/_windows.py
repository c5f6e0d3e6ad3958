"""Labels of fixed-length windows from a recording's annotations."""

from __future__ import annotations

import numpy as np

__all__ = ["window_labels"]


def window_labels(starts_s: np.ndarray, window_s: float, onsets_s: np.ndarray, durations_s: np.ndarray,
                  descriptions: np.ndarray, background: str = "background") -> np.ndarray:
    """The annotation with the largest total overlap of each window, else ``background``.

    Parameters
    ----------
    starts_s : ndarray (n_windows,)
        Window starts (s, from the recording's first sample).
    window_s : float
        Window length (s).
    onsets_s, durations_s, descriptions : ndarray (n_annotations,)
        The annotations (onsets from the first sample). Zero-duration
        annotations count when they fall inside a window (as a tiny overlap).
    background : str
        Label of windows that no annotation overlaps.

    Returns
    -------
    ndarray (n_windows,) of str
    """
    starts = np.asarray(starts_s, dtype=float)
    desc = np.array([str(d) for d in descriptions], dtype=object)
    names = sorted(set(desc.tolist()))
    score = np.zeros((len(starts), len(names)))
    for onset, dur, d in zip(np.asarray(onsets_s, float), np.asarray(durations_s, float), desc):
        stop = onset + max(dur, 1e-9)
        overlap = np.clip(np.minimum(starts + window_s, stop) - np.maximum(starts, onset), 0, None)
        score[:, names.index(d)] += overlap
    if not names:
        return np.full(len(starts), background)
    return np.where(score.max(1) > 0, np.asarray(names)[score.argmax(1)], background).astype(str)
