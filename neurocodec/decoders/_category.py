"""Category decoding of single-trial (or block) response patterns, cross-validated over runs.

:class:`CategoryDecoder` is a linear classifier of patterns: a standardised linear SVM whose ``C`` is chosen by
an inner cross-validation over the training groups only (nested when run inside
:func:`cross_validate_categories`), or shrinkage LDA (Ledoit-Wolf, no hyper-parameter). Either way the fitted
model is one linear map on the raw patterns (the standardisation folded in), saved with ``save_pretrained``.

:func:`cross_validate_categories` runs the outer loop: leave one group (run) out, or folds of whole groups
(images) when there are no runs, so no run (or image) is in both a training and a test fold.
:func:`decoding_samples` takes one subject of a ``stimulus_responses`` kind to ``(X, y, groups)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone

from ..pipeline import PretrainedMixin, bad_value, check, check_array

__all__ = ["CategoryDecoder", "CategoryCVResult", "cross_validate_categories", "decoding_samples"]

CLASSIFIERS = ("svm", "lda")
DEFAULT_C = (0.01, 0.1, 1.0, 10.0)


def _labels(v, name, n, as_str=True):
    """``v`` as a 1-D array of ``n`` labels (any dtype), else one template error."""
    v = np.asarray(v)
    check(v.ndim == 1 and len(v) == n, name, f"a 1-D array (n_samples={n},)", f"<shape {v.shape}>")
    return v.astype(str) if as_str else v


def _group_splitter(n_folds):
    from sklearn.model_selection import GroupKFold, LeaveOneGroupOut

    return LeaveOneGroupOut() if n_folds is None else GroupKFold(n_splits=n_folds)


class CategoryDecoder(PretrainedMixin, ClassifierMixin, BaseEstimator):
    """Linear decoder of categories from response patterns.

    Parameters
    ----------
    classifier : {"svm", "lda"}
        ``"svm"``: ``StandardScaler`` + ``LinearSVC``, ``C`` chosen among ``C`` by an inner cross-validation over
        the groups given to :meth:`fit` (mean accuracy; the first best on ties), then refitted on all of them.
        ``"lda"``: shrinkage LDA (``solver="lsqr"``, Ledoit-Wolf shrinkage), no hyper-parameter.
    C : sequence of float
        Candidate inverse penalties of the SVM (a single value skips the inner search).
    inner_cv : int, optional
        Inner folds: None leaves one group out; an int makes that many folds of whole groups.
    max_iter : int
        Iterations of ``LinearSVC``.
    random_state : int
        Seed of ``LinearSVC``'s coordinate descent.

    Attributes
    ----------
    classes_ : ndarray, shape (n_classes,), str
    coef_ : ndarray, shape (1 or n_classes, n_features), float64
        Weights on the raw patterns (standardisation folded in); binary problems have one row (positive:
        ``classes_[1]``).
    intercept_ : ndarray, shape (1 or n_classes,), float64
    C_ : float or None
        The chosen ``C`` (None for LDA).
    cv_results_ : list of dict
        Inner mean accuracy of every candidate ``C`` (empty without a search).
    """

    model_type = "CategoryDecoder"
    format_version = 1

    def __init__(self, classifier="svm", C=DEFAULT_C, inner_cv=None, max_iter=20000, random_state=0):
        self.classifier = classifier
        self.C = C
        self.inner_cv = inner_cv
        self.max_iter = max_iter
        self.random_state = random_state

    def _check(self):
        check(self.classifier in CLASSIFIERS, "classifier", f"one of {CLASSIFIERS}", self.classifier)
        Cs = [self.C] if np.isscalar(self.C) else list(self.C)
        check(len(Cs) > 0 and all(float(c) > 0 for c in Cs), "C", "one or more values > 0", self.C)
        if self.inner_cv is not None:
            check(int(self.inner_cv) >= 2, "inner_cv", "None or an int >= 2", self.inner_cv)
        return [float(c) for c in Cs]

    def fit(self, X, y, groups=None):
        """Fit on patterns ``X`` (n_samples, n_features) with labels ``y``; ``groups`` feed the inner C search.

        Without ``groups`` the inner search uses stratified folds (``inner_cv`` or 5).
        """
        from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
        from sklearn.model_selection import GridSearchCV, StratifiedKFold
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import LinearSVC

        Cs = self._check()
        X = check_array(X, "X", "(n_samples, n_features)", ndim=2, dtype=np.float64)
        y = _labels(y, "y", len(X))
        check(len(np.unique(y)) >= 2, "y", "at least two classes", sorted(set(y.tolist())))
        self.cv_results_ = []
        if self.classifier == "lda":
            model = LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto").fit(X, y)
            self.classes_, self.C_ = model.classes_.astype(str), None
            self.coef_, self.intercept_ = np.asarray(model.coef_, np.float64), np.asarray(model.intercept_, np.float64)
            return self
        pipe = make_pipeline(StandardScaler(), LinearSVC(max_iter=self.max_iter, random_state=self.random_state))
        if len(Cs) > 1:
            if groups is None:
                inner = StratifiedKFold(self.inner_cv or 5)
            else:
                groups = np.asarray(groups)
                need = 2 if self.inner_cv is None else int(self.inner_cv)
                check(
                    len(np.unique(groups)) >= need,
                    "groups",
                    f"at least {need} groups in the training data for the inner C search",
                    len(np.unique(groups)),
                )
                inner = _group_splitter(self.inner_cv)
            search = GridSearchCV(pipe, {"linearsvc__C": Cs}, cv=inner).fit(X, y, groups=groups)
            fitted, self.C_ = search.best_estimator_, float(search.best_params_["linearsvc__C"])
            self.cv_results_ = [
                {"C": float(c), "mean_accuracy": float(m)}
                for c, m in zip(search.cv_results_["param_linearsvc__C"], search.cv_results_["mean_test_score"])
            ]
        else:
            fitted, self.C_ = pipe.set_params(linearsvc__C=Cs[0]).fit(X, y), Cs[0]
        scaler, svc = fitted.named_steps["standardscaler"], fitted.named_steps["linearsvc"]
        self.classes_ = svc.classes_.astype(str)
        self.coef_ = svc.coef_ / scaler.scale_
        self.intercept_ = svc.intercept_ - self.coef_ @ scaler.mean_
        return self

    def decision_function(self, X):
        """Linear scores (n_samples,) for two classes (positive: ``classes_[1]``), else (n_samples, n_classes)."""
        X = check_array(X, "X", "(n_samples, n_features)", ndim=2, dtype=np.float64)
        n_features = self.coef_.shape[1]
        check(X.shape[1] == n_features, "X", f"(n_samples, {n_features}) as in fit", f"<shape {X.shape}>")
        scores = X @ self.coef_.T + self.intercept_
        return scores[:, 0] if len(self.classes_) == 2 else scores

    def predict(self, X):
        """Predicted category of each pattern, shape (n_samples,), str."""
        scores = self.decision_function(X)
        idx = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[idx]

    # -- persistence -----------------------------------------------------------------------
    def _pretrained_config(self):
        C = [float(self.C)] if np.isscalar(self.C) else [float(c) for c in self.C]
        return {
            "classifier": self.classifier,
            "C": C,
            "inner_cv": self.inner_cv,
            "max_iter": self.max_iter,
            "random_state": self.random_state,
        }

    def _pretrained_state(self):
        arrays = {"classes_": self.classes_.astype(str), "coef_": self.coef_, "intercept_": self.intercept_}
        return {"arrays": arrays, "json": {"C_": self.C_, "cv_results_": self.cv_results_}}

    @classmethod
    def _from_pretrained_state(cls, config, state, directory, device, **kwargs):
        model = cls(**config)
        arrays = state["arrays"]
        model.classes_ = np.asarray(arrays["classes_"]).astype(str)
        model.coef_, model.intercept_ = np.asarray(arrays["coef_"]), np.asarray(arrays["intercept_"])
        model.C_, model.cv_results_ = state["json"]["C_"], state["json"]["cv_results_"]
        return model


@dataclass
class CategoryCVResult:
    """Outer cross-validation of a :class:`CategoryDecoder`.

    Attributes
    ----------
    classes : list of str
    accuracy : float
        Correct test predictions over all test samples (pooled over folds).
    fold_accuracy : list of float
        Accuracy of each outer fold.
    held_out : list of list
        The group(s) held out by each fold.
    fold_C : list of float or None
        ``C`` chosen in each fold (None for LDA).
    confusion : ndarray, shape (n_classes, n_classes), int64
        Rows true, columns predicted, pooled over folds.
    chance : float
        Share of the most frequent class among the samples (1 / n_classes when balanced).
    predictions : ndarray, shape (n_samples,), str
        The out-of-fold prediction of every sample.
    fold_of_sample : ndarray, shape (n_samples,), int64
    """

    classes: list
    accuracy: float
    fold_accuracy: list
    held_out: list
    fold_C: list
    confusion: np.ndarray
    chance: float
    predictions: np.ndarray
    fold_of_sample: np.ndarray
    n_samples: int = 0
    info: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """JSON-ready figures (no per-sample arrays)."""
        return {
            "accuracy": self.accuracy,
            "fold_accuracy": self.fold_accuracy,
            "held_out": self.held_out,
            "fold_C": self.fold_C,
            "chance": self.chance,
            "classes": self.classes,
            "n_samples": self.n_samples,
            "n_folds": len(self.fold_accuracy),
            "confusion": self.confusion.tolist(),
            **self.info,
        }


def cross_validate_categories(decoder, X, y, groups, *, n_folds=None) -> CategoryCVResult:
    """Outer cross-validation of ``decoder`` over groups, each fold refitting a clone on the training groups only.

    Parameters
    ----------
    decoder : CategoryDecoder
        Unfitted; its inner C search sees the training folds' groups only (nested cross-validation).
    X : ndarray, shape (n_samples, n_features)
    y : ndarray, shape (n_samples,)
    groups : ndarray, shape (n_samples,)
        Run (or image) of each sample.
    n_folds : int, optional
        None: leave one group out; an int: that many folds of whole groups.

    Returns
    -------
    CategoryCVResult
    """
    X = check_array(X, "X", "(n_samples, n_features)", ndim=2, dtype=np.float64)
    y = _labels(y, "y", len(X))
    groups = _labels(groups, "groups", len(X), as_str=False)
    n_groups = len(np.unique(groups))
    need = 2 if n_folds is None else int(n_folds)
    check(n_groups >= need, "groups", f"at least {need} groups (runs or images) for the outer folds", n_groups)
    classes = sorted(np.unique(y).tolist())
    pred = np.empty(len(y), dtype=object)
    fold_of = np.full(len(y), -1, np.int64)
    fold_acc, held, fold_C = [], [], []
    for k, (train, test) in enumerate(_group_splitter(n_folds).split(X, y, groups)):
        if len(np.unique(y[train])) < 2:
            raise bad_value("y", "at least two classes in every training fold", f"<only {np.unique(y[train])}>")
        model = clone(decoder).fit(X[train], y[train], groups=groups[train])
        pred[test] = model.predict(X[test])
        fold_of[test] = k
        fold_acc.append(float(np.mean(pred[test] == y[test])))
        held.append(sorted(np.unique(groups[test]).tolist()))
        fold_C.append(model.C_)
    pred = pred.astype(str)
    index = {c: i for i, c in enumerate(classes)}
    confusion = np.zeros((len(classes), len(classes)), np.int64)
    np.add.at(confusion, ([index[t] for t in y], [index.get(p, 0) for p in pred]), 1)
    counts = np.array([np.sum(y == c) for c in classes])
    return CategoryCVResult(
        classes=classes,
        accuracy=float(np.mean(pred == y)),
        fold_accuracy=fold_acc,
        held_out=held,
        fold_C=fold_C,
        confusion=confusion,
        chance=float(counts.max() / counts.sum()),
        predictions=pred,
        fold_of_sample=fold_of,
        n_samples=int(len(y)),
    )


def decoding_samples(experiment, subject: str, categories=None):
    """One subject's trials of a ``stimulus_responses`` kind as decoding samples.

    Parameters
    ----------
    experiment : StimulusResponses
    subject : str
    categories : list of str, optional
        Keep these categories (default: every known one); trials of unknown category (-1) are left out.

    Returns
    -------
    X : ndarray, shape (n_samples, n_voxels), float32
        Training then test trials together (the outer cross-validation makes its own splits).
    y : ndarray, shape (n_samples,), str
    groups : ndarray, shape (n_samples,), int64
        The run of each trial (``(session, run)`` pairs numbered in order of appearance) when the subject's
        trials table gives runs, else its image id.
    group_by : {"run", "image"}
    group_names : list of str
        Name of each group number: the run (``session/run`` with several sessions) or the image name.
    """
    import pandas as pd

    from ..datasets.kinds import StimulusResponses

    check(isinstance(experiment, StimulusResponses), "experiment", "a StimulusResponses", experiment, exc=TypeError)
    if subject not in experiment.subjects:
        raise bad_value("subjects", f"subjects of the experiment {sorted(experiment.subjects)}", subject)
    names = list(experiment.category_names)
    check(bool(names), "experiment", "stimulus_responses with category labels", "<no category_names>")
    if categories:
        unknown = sorted(set(categories) - set(names))
        if unknown:
            raise bad_value("categories", f"among the experiment's categories {names}", unknown)
    sub = experiment.subjects[subject]
    ids, X = sub.all_trials()
    cat = np.asarray(experiment.categories)[ids]
    label = np.asarray(names + ["?"], dtype=object)[cat]
    keep = (cat >= 0) & (np.isin(label, list(categories)) if categories else True)
    trials = sub.trials
    if trials is not None and "run" in trials.columns:
        run = trials["run"].astype(str)
        session = trials["session"].astype(str) if "session" in trials.columns else pd.Series("0", index=trials.index)
        codes, uniq = pd.factorize(run if session.nunique() == 1 else session + "/" + run)
        groups, group_by, group_names = codes.astype(np.int64), "run", [str(u) for u in uniq]
    else:
        image_names = experiment.image_names or [str(i) for i in range(experiment.n_images)]
        groups, group_by, group_names = ids.astype(np.int64), "image", [str(n) for n in image_names]
    check(bool(keep.any()), "categories", "categories with trials", list(categories or names), of=f"subject {subject}")
    return X[keep], label[keep].astype(str), groups[keep], group_by, group_names
