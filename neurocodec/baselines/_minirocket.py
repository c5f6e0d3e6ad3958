"""MiniRocket (Dempster, Schmidt & Webb 2021), multivariate, in vectorised numpy,
and the MiniRocket + ridge classifier baseline.

84 fixed kernels of length 9 (weights -1, with 2 at three of the nine taps),
dilations spread exponentially up to the series length, channel subsets
drawn per (dilation, kernel), biases from quantiles of the convolution of a
random training series (low-discrepancy quantiles), and proportion-of-
positive-values (PPV) features. Padding alternates between kernels.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin

from ..pipeline import PretrainedMixin, bad_value

__all__ = ["MiniRocket", "MiniRocketClassifier"]

_INDICES = np.array(list(combinations(range(9), 3)), dtype=np.int64)  # (84, 3)


def _dilations(n_times: int, n_features: int, max_dilations: int) -> tuple[np.ndarray, np.ndarray]:
    per_kernel = n_features // 84
    true_max = min(per_kernel, max_dilations)
    multiplier = per_kernel / true_max
    max_exp = np.log2(max((n_times - 1) / 8, 1))
    dil, counts = np.unique(np.logspace(0, max_exp, true_max, base=2).astype(np.int64), return_counts=True)
    counts = (counts * multiplier).astype(np.int64)
    i = 0
    while counts.sum() < per_kernel:
        counts[i] += 1
        i = (i + 1) % len(counts)
    return dil, counts


def _shifted(x: np.ndarray, d: int) -> np.ndarray:
    """(9, ...): ``x`` shifted along its last axis by (g - 4) * d with zero padding (tap g)."""
    length = x.shape[-1]
    out = np.zeros((9,) + x.shape, dtype=np.float32)
    for g in range(9):
        s = (g - 4) * d
        if s >= 0:
            if s < length:
                out[g, ..., : length - s] = x[..., s:]
        elif -s < length:
            out[g, ..., -s:] = x[..., : length + s]
    return out


def _kernel_conv(xm: np.ndarray, d: int) -> np.ndarray:
    """Convolutions (84, n, L) of kernel k with its channel-summed input ``xm[k]`` (84, n, L)."""
    s = _shifted(xm, d)  # (9, 84, n, L)
    k = np.arange(84)
    sel = s[_INDICES[:, 0], k] + s[_INDICES[:, 1], k] + s[_INDICES[:, 2], k]
    return 3.0 * sel - s.sum(0)


class MiniRocket(PretrainedMixin, TransformerMixin, BaseEstimator):
    """MiniRocket transform of multivariate series.

    Parameters
    ----------
    n_features : int
        Approximate number of features (rounded down to a multiple of 84).
    max_dilations : int
        Maximum dilations per kernel.
    random_state : int
        Seed of channel subsets and bias examples.

    Attributes
    ----------
    dilations_ : ndarray (n_dilations,)
    n_features_per_dilation_ : ndarray (n_dilations,)
    channel_masks_ : list of ndarray (84, n_chans) per dilation
    biases_ : list of ndarray (84, n_features_per_dilation) per dilation
    """

    def __init__(self, n_features: int = 10_000, max_dilations: int = 32, random_state: int = 0):
        self.n_features = n_features
        self.max_dilations = max_dilations
        self.random_state = random_state

    def _conv(self, x: np.ndarray, di: int) -> np.ndarray:
        """Channel-summed convolution outputs (84, n, L) of every kernel at dilation ``di``."""
        # channel sums commute with the (linear) convolution: sum channels first
        xm = np.einsum("kc,ncl->knl", self.channel_masks_[di], x, optimize=True)
        return _kernel_conv(xm, int(self.dilations_[di]))

    def _region(self, di: int, k: int, length: int) -> slice:
        pad = (8 * int(self.dilations_[di])) // 2
        if (di + k) % 2 == 1 and pad > 0 and length > 2 * pad:
            return slice(pad, length - pad)
        return slice(0, length)

    def fit(self, X: np.ndarray, y=None) -> MiniRocket:
        """Fit dilations, channel subsets and biases on ``X`` (n_series, n_chans, n_times)."""
        X = self._check(X)
        n, c, length = X.shape
        rng = np.random.default_rng(self.random_state)
        self.n_chans_ = c
        self.dilations_, self.n_features_per_dilation_ = _dilations(length, self.n_features, self.max_dilations)
        total = 84 * int(self.n_features_per_dilation_.sum())
        quantiles = (np.arange(1, total + 1) * ((np.sqrt(5) + 1) / 2)) % 1
        self.channel_masks_, self.biases_ = [], []
        q0 = 0
        for di, nf in enumerate(self.n_features_per_dilation_):
            mask = np.zeros((84, c), dtype=np.float32)
            max_exp = np.log2(min(c, 9) + 1)
            for k in range(84):
                m = int(2 ** rng.uniform(0, max_exp))
                mask[k, rng.choice(c, size=max(1, min(m, c)), replace=False)] = 1.0
            self.channel_masks_.append(mask)
            examples = X[rng.integers(0, n, size=84)]  # one random series per kernel
            xm = np.einsum("kc,kcl->kl", mask, examples)[:, None, :]  # (84, 1, L)
            conv = _kernel_conv(xm, int(self.dilations_[di]))[:, 0]  # (84, L)
            b = np.empty((84, nf), dtype=np.float32)
            for k in range(84):
                q = quantiles[q0 : q0 + nf]
                q0 += nf
                b[k] = np.quantile(conv[k, self._region(di, k, length)], q)
            self.biases_.append(b)
        return self

    def transform(self, X: np.ndarray, batch_size: int = 32) -> np.ndarray:
        """PPV features (n_series, n_features_) float32."""
        if not hasattr(self, "biases_"):
            raise RuntimeError("This MiniRocket is not fitted yet: call fit(X) first.")
        X = self._check(X)
        if X.shape[1] != self.n_chans_:
            raise bad_value("n_chans", f"{self.n_chans_} (as in fit)", X.shape[1], of="X")
        out = []
        for i in range(0, len(X), batch_size):
            xb = X[i : i + batch_size]
            feats = []
            for di in range(len(self.dilations_)):
                conv = self._conv(xb, di)  # (84, nb, L)
                for parity in (0, 1):
                    ks = np.arange(parity, 84, 2) if di % 2 == 0 else np.arange(1 - parity, 84, 2)
                    region = self._region(di, int(ks[0]), conv.shape[-1])
                    c = conv[ks][:, :, region]  # (k, nb, L')
                    above = c[:, :, None, :] > self.biases_[di][ks][:, None, :, None]
                    ppv = np.count_nonzero(above, axis=-1) / np.float32(c.shape[-1])  # (k, nb, nf)
                    feats.append(ppv.transpose(1, 0, 2).reshape(len(xb), -1))
            out.append(np.concatenate(feats, axis=1).astype(np.float32))
        return np.concatenate(out)

    @staticmethod
    def _check(X) -> np.ndarray:
        X = np.asarray(X)
        if X.dtype.kind not in "biuf":
            raise bad_value("X", "a numeric array (n_series, n_chans, n_times)", f"<dtype {X.dtype}>", exc=TypeError)
        X = X.astype(np.float32, copy=False)
        if X.ndim == 2:
            X = X[:, None, :]
        if X.ndim != 3 or not len(X):
            raise bad_value("X", "a non-empty array (n_series, n_chans, n_times)", f"<shape {X.shape}>")
        if X.shape[-1] < 9:
            raise bad_value("n_times", ">= 9 (the kernel length)", X.shape[-1], of="X")
        if not np.isfinite(X).all():
            raise bad_value("X", "finite (no NaN or inf)", "<non-finite values>")
        return X


class MiniRocketClassifier(PretrainedMixin, ClassifierMixin, BaseEstimator):
    """MiniRocket features -> standardisation -> RidgeClassifierCV (alphas 1e-3..1e3).

    Parameters
    ----------
    n_features, max_dilations, random_state
        See :class:`MiniRocket`.
    alphas : array-like
        Ridge penalties tried by leave-one-out CV.

    Attributes
    ----------
    rocket_ : MiniRocket
    mean_, scale_ : ndarray (n_features_out,)
        Standardisation of the features (training mean and standard deviation).
    coef_ : ndarray (1, n_features_out) for 2 classes, else (n_classes, n_features_out)
    intercept_ : ndarray (1,) or (n_classes,)
    alpha_ : float
        The penalty chosen by leave-one-out CV.
    classes_ : ndarray (n_classes,)
    """

    def __init__(self, n_features: int = 10_000, max_dilations: int = 32, random_state: int = 0, alphas=None):
        self.n_features = n_features
        self.max_dilations = max_dilations
        self.random_state = random_state
        self.alphas = alphas

    def fit(self, X: np.ndarray, y: np.ndarray) -> MiniRocketClassifier:
        """Fit the transform and the ridge on series ``X`` (n_series, n_chans, n_times) and labels ``y``."""
        from sklearn.linear_model import RidgeClassifierCV
        from sklearn.preprocessing import StandardScaler

        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(np.asarray(X)):
            raise bad_value(
                "y",
                f"one label per series of X ({len(np.asarray(X))})",
                f"<shape {y.shape}>",
                of="MiniRocketClassifier.fit",
            )
        self.rocket_ = MiniRocket(self.n_features, self.max_dilations, self.random_state).fit(X)
        alphas = np.logspace(-3, 3, 10) if self.alphas is None else np.asarray(self.alphas)
        scaler = StandardScaler()
        ridge = RidgeClassifierCV(alphas=alphas).fit(scaler.fit_transform(self.rocket_.transform(X)), y)
        self.mean_, self.scale_ = scaler.mean_, scaler.scale_
        self.coef_, self.intercept_ = np.atleast_2d(ridge.coef_), np.atleast_1d(ridge.intercept_)
        self.alpha_, self.classes_ = float(ridge.alpha_), ridge.classes_
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """Ridge scores (n_series,) for 2 classes, else (n_series, n_classes)."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "coef_")
        scores = ((self.rocket_.transform(X) - self.mean_) / self.scale_) @ self.coef_.T + self.intercept_
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Softmax of ridge scores (uncalibrated; for ranking metrics such as AUROC)."""
        s = self.decision_function(X)
        if s.ndim == 1:
            s = np.stack([-s / 2, s / 2], axis=1)
        s = s - s.max(1, keepdims=True)
        e = np.exp(s)
        return e / e.sum(1, keepdims=True)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted labels (n_series,): the positive class where the score is > 0, else the best score's."""
        s = self.decision_function(X)
        return self.classes_[(s > 0).astype(int)] if s.ndim == 1 else self.classes_[s.argmax(1)]
