"""Token statistics for reports: frequency profile per token, class-discriminative
tokens, codebook usage, and discrete mutual information.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...pipeline import bad_value, check, check_array

__all__ = ["token_profiles", "discriminative_tokens", "mutual_information", "codebook_usage"]


def _tokens(tokens, layout: str, ndim) -> np.ndarray:
    """Token ids as a non-empty integer array (the template error otherwise)."""
    tok = check_array(tokens, "tokens", layout, ndim=ndim)
    check(tok.dtype.kind in "iu", "tokens", f"integer token ids {layout}", f"<dtype {tok.dtype}>", exc=TypeError)
    check(tok.size > 0 and tok.min() >= 0, "tokens", "non-empty, ids >= 0", f"<shape {tok.shape}>")
    return tok


def codebook_usage(tokens: np.ndarray, n_codes: int) -> dict[str, float]:
    """Perplexity (exp entropy) and number of distinct codes among ``tokens``."""
    tokens = _tokens(tokens, "(...) of ids", (1, 2, 3, 4))
    counts = np.bincount(tokens.ravel(), minlength=n_codes).astype(np.float64)
    p = counts[counts > 0] / counts.sum()
    return {
        "perplexity": float(np.exp(-(p * np.log(p)).sum())),
        "active_codes": int((counts > 0).sum()),
        "n_codes": int(n_codes),
        "n_tokens": int(counts.sum()),
    }


def token_profiles(
    tokens: np.ndarray, spectra: np.ndarray, top: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean spectrum of the frames assigned to each token.

    Parameters
    ----------
    tokens : ndarray (n_signals, n_frames) int
    spectra : ndarray (n_signals, n_freqs, n_frames)
        STFT magnitude of the same signals.
    top : int, optional
        Keep the ``top`` most frequent tokens only.

    Returns
    -------
    codes : ndarray (n_tokens_kept,)
        Token ids, most frequent first.
    counts : ndarray (n_tokens_kept,)
    profiles : ndarray (n_tokens_kept, n_freqs)
        Mean magnitude per frequency bin.
    """
    tokens = _tokens(tokens, "(n_signals, n_frames)", 2)
    spectra = check_array(spectra, "spectra", "(n_signals, n_freqs, n_frames)", ndim=3)
    if spectra.shape[::2] != tokens.shape:
        raise bad_value(
            "spectra", f"(n_signals, n_freqs, n_frames) matching tokens {tokens.shape}", f"<shape {spectra.shape}>"
        )
    tok = tokens.ravel()
    spec = np.moveaxis(spectra, 1, -1).reshape(-1, spectra.shape[1])
    codes, inverse, counts = np.unique(tok, return_inverse=True, return_counts=True)
    sums = np.zeros((len(codes), spec.shape[1]))
    np.add.at(sums, inverse, spec)
    order = np.argsort(-counts, kind="stable")[:top]
    return codes[order], counts[order], (sums[order] / counts[order, None]).astype(np.float32)


def discriminative_tokens(tokens: np.ndarray, y: np.ndarray, top: int = 10, min_count: int = 5) -> list[dict]:
    """Tokens whose occurrence rate differs most between classes.

    For each token and class, the share of that class's tokens that are this
    token; the score is the largest smoothed log-ratio of one class's share to
    the pooled share of the others.

    Parameters
    ----------
    tokens : ndarray (n_trials, ...) int
    y : ndarray (n_trials,)
    top : int
        Rows returned.
    min_count : int
        Ignore tokens seen fewer times.

    Returns
    -------
    list of dict with ``token``, ``class``, ``log_ratio``, ``count`` and
    ``rate_<class>`` per class.
    """
    tokens = _tokens(tokens, "(n_trials, ...)", (2, 3, 4))
    y = np.asarray(y)
    check(y.shape == tokens.shape[:1], "y", f"one label per trial ({len(tokens)})", f"<shape {y.shape}>")
    check(y.dtype.kind != "f" or bool(np.isfinite(y).all()), "y", "labels without NaN or inf", "<non-finite labels>")
    classes = np.unique(y)
    flat = tokens.reshape(len(y), -1)
    codes = np.unique(flat)
    counts = np.stack([np.array([np.sum(flat[y == c] == t) for t in codes]) for c in classes])  # (n_classes, n_codes)
    totals = counts.sum(1, keepdims=True)
    rate = (counts + 0.5) / (totals + 0.5 * len(codes))
    rows = []
    keep = counts.sum(0) >= min_count
    for j in np.flatnonzero(keep):
        for ci, c in enumerate(classes):
            others = np.delete(np.arange(len(classes)), ci)
            other_rate = (counts[others, j].sum() + 0.5) / (totals[others].sum() + 0.5 * len(codes))
            rows.append(
                {
                    "token": int(codes[j]),
                    "class": c.item() if hasattr(c, "item") else c,
                    "log_ratio": float(np.log(rate[ci, j] / other_rate)),
                    "count": int(counts[:, j].sum()),
                    **{f"rate_{cl}": float(counts[k, j] / max(totals[k, 0], 1)) for k, cl in enumerate(classes)},
                }
            )
    rows.sort(key=lambda r: -r["log_ratio"])
    return rows[:top]


def mutual_information(a: np.ndarray, b: np.ndarray) -> float:
    """Plug-in mutual information (bits) between two discrete label arrays of the same size (flattened)."""
    a, b = np.asarray(a), np.asarray(b)
    check(a.size > 0, "a", "a non-empty label array", f"<shape {a.shape}>")
    check(a.size == b.size, "b", f"as many labels as a ({a.size})", f"<shape {b.shape}>")
    for name, x in (("a", a), ("b", b)):
        check(x.dtype.kind != "f" or bool(np.isfinite(x).all()), name, "labels without NaN or inf", "<non-finite>")
    a = np.unique(a.ravel(), return_inverse=True)[1]
    b = np.unique(b.ravel(), return_inverse=True)[1]
    joint = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(joint, (a, b), 1.0)
    joint /= joint.sum()
    pa, pb = joint.sum(1, keepdims=True), joint.sum(0, keepdims=True)
    nz = joint > 0
    return float((joint[nz] * np.log2(joint[nz] / (pa @ pb)[nz])).sum())


def frame_motif_labels(
    motifs: Any, ch_names: list[str], n_frames: int, hop_s: float = 0.5, frame_s: float = 1.0
) -> np.ndarray:
    """Planted motif with the largest overlap of each (channel, frame), else "background".

    Parameters
    ----------
    motifs : pandas.DataFrame
        ``motifs.tsv`` of a simulated recording (rows per involved channel).

    Returns
    -------
    ndarray (n_chans, n_frames) of str
    """
    out = np.full((len(ch_names), n_frames), "background", dtype=object)
    best = np.zeros((len(ch_names), n_frames))
    start = np.arange(n_frames) * hop_s
    index = {c: i for i, c in enumerate(ch_names)}
    for row in motifs.itertuples():
        ci = index.get(row.channel)
        if ci is None:
            continue
        overlap = np.clip(
            np.minimum(start + frame_s, row.onset_s + row.duration_s) - np.maximum(start, row.onset_s), 0, None
        )
        take = overlap > np.maximum(best[ci], 0.25 * min(frame_s, row.duration_s))
        out[ci, take] = row.motif
        best[ci, take] = overlap[take]
    return out.astype(str)
