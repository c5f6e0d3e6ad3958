"""A linear classification head on TFM tokens: :class:`TokenLogisticHead`.

The frozen tokenizer's output of a trial is a grid of discrete codes
(n_chans, n_frames). Its one-hot encoding (a code indicator per channel and
frame) feeds an L2-regularised logistic regression whose inverse strength
``C`` is chosen by stratified k-fold cross-validation on the fitting trials.
It is the linear-probe counterpart of fine-tuning the TFM-Encoder, and much
less data hungry: on ~200 trials it is the stronger head on some sets, and
averaging the two heads' probabilities reduces the variance of either.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...pipeline import bad_value, check

__all__ = ["TokenLogisticHead", "one_hot_tokens"]


def one_hot_tokens(tokens: np.ndarray, n_codes: int):
    """Sparse one-hot encoding (n_trials, n_chans * n_frames * n_codes) of tokens (n_trials, n_chans, n_frames)."""
    from scipy import sparse

    tokens = np.asarray(tokens)
    check(tokens.ndim == 3, "tokens", "(n_trials, n_chans, n_frames)", f"<shape {tokens.shape}>")
    n, c, t = tokens.shape
    if n and (tokens.min() < 0 or tokens.max() >= n_codes):
        raise bad_value("tokens", f"codes in [0, {n_codes})", f"[{tokens.min()}, {tokens.max()}]")
    cols = (np.arange(c * t, dtype=np.int64) * n_codes)[None, :] + tokens.reshape(n, -1).astype(np.int64)
    rows = np.repeat(np.arange(n), c * t)
    data = np.ones(n * c * t, dtype=np.float64)
    return sparse.csr_matrix((data, (rows, cols.ravel())), shape=(n, c * t * n_codes))


class TokenLogisticHead:
    """L2 logistic regression on one-hot tokens, ``C`` chosen by cross-validation.

    Parameters
    ----------
    n_codes : int
        Tokenizer codebook size.
    Cs : list of float, optional
        Inverse regularisation strengths searched (default ``logspace(-3, 2, 11)``).
    cv : int
        Stratified folds of the search (fewer when the rarest class is smaller).
    seed : int
        Shuffling of the folds.

    Attributes
    ----------
    C_ : float
        Chosen inverse regularisation strength.
    coef_ : ndarray (n_outputs, n_features)
        ``n_outputs`` is 1 for two classes.
    intercept_ : ndarray (n_outputs,)
    n_classes_ : int
    input_shape_ : tuple (n_chans, n_frames)
    """

    def __init__(self, n_codes: int, Cs: list[float] | None = None, cv: int = 5, seed: int = 0):
        self.n_codes = n_codes
        self.Cs = Cs
        self.cv = cv
        self.seed = seed

    def check_is_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise RuntimeError("This TokenLogisticHead is not fitted yet: call fit(tokens, y) first.")

    def fit(self, tokens: np.ndarray, y: np.ndarray) -> "TokenLogisticHead":
        """Fit on tokens (n_trials, n_chans, n_frames) and class indices ``y`` (n_trials,) in 0..n_classes-1."""
        from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
        from sklearn.model_selection import StratifiedKFold

        y = np.asarray(y).astype(int)
        features = one_hot_tokens(tokens, self.n_codes)
        check(len(y) == features.shape[0], "y", f"of length {features.shape[0]} (one label per trial)", len(y))
        self.n_classes_ = int(y.max()) + 1
        check(len(np.unique(y)) >= 2, "y", "at least 2 classes", f"<{len(np.unique(y))} class>")
        self.input_shape_ = tuple(int(s) for s in np.shape(tokens)[1:])
        Cs = list(self.Cs) if self.Cs is not None else np.logspace(-3, 2, 11).tolist()
        folds = min(self.cv, int(np.bincount(y)[np.unique(y)].min()))
        if folds >= 2 and len(Cs) > 1:
            scoring = "roc_auc" if self.n_classes_ == 2 else "neg_log_loss"
            model = LogisticRegressionCV(Cs=Cs, cv=StratifiedKFold(folds, shuffle=True, random_state=self.seed),
                                         scoring=scoring, max_iter=2000, l1_ratios=(0.0,),
                                         use_legacy_attributes=False).fit(features, y)
            self.C_ = float(np.ravel(model.C_)[0])
        else:
            self.C_ = float(Cs[0])
            model = LogisticRegression(C=self.C_, max_iter=2000).fit(features, y)
        self.coef_ = np.asarray(model.coef_, dtype=np.float64)
        self.intercept_ = np.asarray(model.intercept_, dtype=np.float64)
        return self

    def decision_function(self, tokens: np.ndarray) -> np.ndarray:
        """Logits (n_trials, n_outputs)."""
        self.check_is_fitted()
        shape = tuple(np.shape(tokens)[1:])
        if shape != self.input_shape_:
            raise bad_value("tokens", f"(n_trials, {self.input_shape_[0]}, {self.input_shape_[1]}) "
                            "(the channels and frames the token head was fitted on)", f"<shape {np.shape(tokens)}>")
        return np.asarray(one_hot_tokens(tokens, self.n_codes) @ self.coef_.T) + self.intercept_

    def predict_proba(self, tokens: np.ndarray) -> np.ndarray:
        """Class probabilities (n_trials, n_classes)."""
        z = self.decision_function(tokens)
        if z.shape[1] == 1:
            p = 1.0 / (1.0 + np.exp(-z[:, 0]))
            return np.stack([1 - p, p], axis=1)
        z = z - z.max(1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(1, keepdims=True)

    def save(self, path: str | Path) -> Path:
        """Write the fitted head as ``.npz`` (no pickle)."""
        self.check_is_fitted()
        path = Path(path)
        np.savez(path, coef=self.coef_, intercept=self.intercept_, C=np.float64(self.C_),
                 n_codes=np.int64(self.n_codes), n_classes=np.int64(self.n_classes_),
                 input_shape=np.asarray(self.input_shape_, dtype=np.int64))
        return path

    @classmethod
    def load(cls, path: str | Path) -> "TokenLogisticHead":
        """Read a head written by :meth:`save`."""
        with np.load(Path(path), allow_pickle=False) as d:
            self = cls(int(d["n_codes"]))
            self.coef_, self.intercept_ = d["coef"], d["intercept"]
            self.C_, self.n_classes_ = float(d["C"]), int(d["n_classes"])
            self.input_shape_ = tuple(int(s) for s in d["input_shape"])
        return self
