"""Seed ensemble of whole TFM pipelines: :class:`TFMEnsembleClassifier`.

On a few hundred trials the tokenizer's short training lands on rather
different codebooks from one seed to the next, and the downstream classifier
inherits that variance. Averaging the probabilities of K independently seeded
pipelines (tokenizer, masked-token pretraining, fine-tuning), each fitted on
all training trials, is the standard remedy for small EEG sets.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone

from ...pipeline import PretrainedMixin, check
from ._classifier import TFMClassifier

__all__ = ["TFMEnsembleClassifier", "average_proba"]


def average_proba(probas: list[np.ndarray]) -> np.ndarray:
    """The seed ensemble's rule: the mean of its members' class probabilities.

    Shared by :meth:`TFMEnsembleClassifier.predict_proba` and the ``tfm_evaluate`` stage (several models).

    Parameters
    ----------
    probas : list of ndarray (n_trials, n_classes)
        One per member, columns in the same class order.

    Returns
    -------
    ndarray (n_trials, n_classes)
    """
    check(len(probas) >= 1, "probas", "at least one member's probabilities", len(probas))
    return np.mean(probas, axis=0)


class TFMEnsembleClassifier(PretrainedMixin, ClassifierMixin, BaseEstimator):
    """Average of ``n_members`` :class:`TFMClassifier` pipelines with seeds ``seed, seed + 1, ...``.

    Parameters
    ----------
    estimator : TFMClassifier, optional
        Template cloned for every member (its ``seed`` is the first member's);
        default ``TFMClassifier()``.
    n_members : int
        Number of independently seeded pipelines (fixed a priori).

    Attributes
    ----------
    members_ : list of TFMClassifier
        The fitted pipelines.
    classes_ : ndarray (n_classes,)
    history_ : dict
        ``members``: each member's ``history_``.
    """

    def __init__(self, estimator: TFMClassifier | None = None, n_members: int = 3):
        self.estimator = estimator
        self.n_members = n_members

    def _member(self, k: int) -> TFMClassifier:
        template = self.estimator if self.estimator is not None else TFMClassifier()
        return clone(template).set_params(seed=template.seed + k)

    def check_is_fitted(self) -> None:
        if not hasattr(self, "members_"):
            raise RuntimeError("This TFMEnsembleClassifier is not fitted yet: call fit(X, y) first.")

    def fit(self, X: Any, y: Any, sfreq: float | None = None, groups: Any = None) -> TFMEnsembleClassifier:
        """Fit every member on trials ``X`` (n_trials, n_chans, n_times) with labels ``y`` (see
        :meth:`TFMClassifier.fit`).
        """
        check(
            isinstance(self.n_members, (int, np.integer)) and self.n_members >= 1,
            "n_members",
            "an integer >= 1",
            self.n_members,
        )
        self.members_ = [self._member(k).fit(X, y, sfreq=sfreq, groups=groups) for k in range(self.n_members)]
        self.classes_ = self.members_[0].classes_
        self.history_ = {"members": [m.history_ for m in self.members_]}
        return self

    def predict_proba(self, X: Any, sfreq: float | None = None) -> np.ndarray:
        """Mean of the members' class probabilities (n_trials, n_classes)."""
        self.check_is_fitted()
        return average_proba([m.predict_proba(X, sfreq) for m in self.members_])

    def predict(self, X: Any, sfreq: float | None = None) -> np.ndarray:
        """Predicted labels (n_trials,)."""
        proba = self.predict_proba(X, sfreq)  # checks the fitted state first
        return self.classes_[proba.argmax(1)]

    # -- persistence (PretrainedMixin) ----------------------------------------
    def _pretrained_config(self) -> dict[str, Any]:
        """``n_members`` and the template's parameters (see :meth:`TFMClassifier._pretrained_config`)."""
        template = None if self.estimator is None else self.estimator._pretrained_config()
        return {"estimator": template, "n_members": self.n_members}

    def _pretrained_state(self) -> dict[str, Any]:
        """``member_k/``: each fitted :class:`TFMClassifier`."""
        self.check_is_fitted()
        return {"folders": {f"member_{k}": m for k, m in enumerate(self.members_)}}

    @classmethod
    def _from_pretrained_state(cls, config, state, directory, device, **kwargs) -> TFMEnsembleClassifier:
        template = config["estimator"]
        estimator = None if template is None else TFMClassifier(**template, device=device)
        self = cls(estimator=estimator, n_members=config["n_members"])
        self.members_ = [state["folders"][f"member_{k}"] for k in range(self.n_members)]
        self.classes_ = self.members_[0].classes_
        self.history_ = {"members": [m.history_ for m in self.members_]}
        return self
