"""BraInCoRL: an in-context transformer that builds a new subject's voxelwise
encoder from a few (image, response) pairs, without gradient steps.

Public API: :class:`BraInCoRL` (the model, ``save_pretrained`` /
``from_pretrained``), :class:`BraInCoRLConfig`, :data:`PRESETS`,
:func:`metatrain`, :class:`MetaTrainingSubject`, :class:`InContextEncoder`
(scikit-learn estimator), :func:`context_scaling` (in-context vs RidgeCV over
context sizes), :func:`fit_projection` / :func:`apply_projection` (the stimulus-embedding PCA
the stages use). Stages: ``metatrain_incontext``, ``fit_incontext``.

Names are imported lazily so that the stage module stays cheap to import
(torch loads on first use of a public name).
"""

from ..._lazy import lazy_exports

_WHERE = {
    "PRESETS": "_model",
    "BraInCoRL": "_model",
    "BraInCoRLConfig": "_model",
    "predict_from_weights": "_model",
    "InContextEncoder": "_estimator",
    "MetaTrainingSubject": "_training",
    "metatrain": "_training",
    "standardize_context": "_training",
    "unit_norm": "_training",
    "context_scaling": "_scaling",
    "fit_projection": "_stage_impl",
    "apply_projection": "_stage_impl",
}

__all__ = sorted(_WHERE)

__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
