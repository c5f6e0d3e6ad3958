"""Scikit-learn style voxelwise encoder whose weights come from the in-context transformer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from ...pipeline import PretrainedMixin, bad_value, check, check_array
from ._model import BraInCoRL
from ._training import standardize_context, unit_norm

__all__ = ["InContextEncoder"]


class InContextEncoder(PretrainedMixin, RegressorMixin, BaseEstimator):
    """Voxelwise linear encoder built from a few context images, without gradient steps.

    ``fit(X_context, Y_context)`` runs the meta-trained :class:`BraInCoRL` on
    each voxel's context set (voxels in batches) and stores the linear weights
    it outputs; ``predict`` applies them like any ridge encoder. Responses are
    z-scored per voxel with the context statistics before entering the model,
    and the weights are mapped back to response units, so ``coef_`` and
    ``intercept_`` predict raw responses.

    Parameters
    ----------
    model : BraInCoRL or str
        The meta-trained model, or a folder written by ``save_pretrained``.
    device : str
        Torch device for the forward passes.
    batch_voxels : int
        Voxels per forward pass (results do not depend on it).
    normalize : bool
        Scale each embedding row to unit norm (as in meta-training) in ``fit``
        and ``predict``; ``coef_`` applies to the unit-normed embeddings.

    Attributes
    ----------
    model_ : BraInCoRL
        The model used (loaded if ``model`` is a path).
    coef_ : ndarray, shape (n_features, n_voxels)
        Weights on the (unit-normed) embeddings, in response units.
    intercept_ : ndarray, shape (n_voxels,)
    n_features_in_ : int
    n_context_ : int
        Number of context images used.
    """

    def __init__(self, model=None, device: str = "cpu", batch_voxels: int = 256, normalize: bool = True):
        self.model = model
        self.device = device
        self.batch_voxels = batch_voxels
        self.normalize = normalize

    # -- persistence (PretrainedMixin: the fitted model_ in model_/, weights in arrays.npz) ---------------
    def _pretrained_config(self) -> dict:
        """The parameters; ``device`` is the loader's, a ``model`` object is saved as ``model_/``."""
        params = self.get_params(deep=False)
        del params["device"]
        params["model"] = str(self.model) if isinstance(self.model, (str, Path)) else None
        return params

    # -- helpers ----------------------------------------------------------
    def _load_model(self) -> BraInCoRL:
        if isinstance(self.model, BraInCoRL):
            return self.model.to(self.device).eval()
        if isinstance(self.model, (str, Path)):
            return BraInCoRL.from_pretrained(self.model, device=self.device)
        raise bad_value(
            "model",
            "a BraInCoRL model or a folder written by save_pretrained",
            f"<{type(self.model).__name__}>",
            of="InContextEncoder",
        )

    def _embeddings(self, X, embed_dim: int, name: str = "X") -> np.ndarray:
        X = check_array(
            X, name, "(n_images, n_features)", ndim=2, finite=False, of="InContextEncoder", dtype=np.float32
        )
        check(X.ndim == 2, name, "a 2-D array (n_images, n_features)", f"<shape {X.shape}>", of="InContextEncoder")
        check(
            X.shape[1] == embed_dim,
            name,
            f"{embed_dim} columns (the model's embedding dimension)",
            f"<{X.shape[1]} columns>",
            of="InContextEncoder",
        )
        check(bool(np.isfinite(X).all()), name, "finite (no NaN or inf)", "<non-finite values>", of="InContextEncoder")
        return unit_norm(X, name) if self.normalize else X

    def _context(self, X, Y):
        model = self._load_model()
        Y = check_array(
            Y, "Y", "(n_context[, n_voxels])", ndim=(1, 2), finite=False, of="InContextEncoder", dtype=np.float32
        )
        if Y.ndim == 1:
            Y = Y[:, None]
        X = np.asarray(X)
        check(
            X.ndim == 2 and X.shape[0] >= 2,
            "X",
            "at least 2 context images (n_context >= 2)",
            f"<shape {X.shape}>",
            of="InContextEncoder",
        )
        X = self._embeddings(X, model.embed_dim)
        check(
            Y.ndim == 2 and Y.shape[0] == X.shape[0],
            "Y",
            f"(n_context={X.shape[0]}, n_voxels)",
            f"<shape {Y.shape}>",
            of="InContextEncoder",
        )
        check(bool(np.isfinite(Y).all()), "Y", "finite (no NaN or inf)", "<non-finite values>", of="InContextEncoder")
        check(self.batch_voxels >= 1, "batch_voxels", ">= 1", self.batch_voxels, of="InContextEncoder")
        return model, X, Y

    def _batches(self, model, X, Y, return_attention=False):
        dev = torch.device(self.device)
        e = torch.as_tensor(X, device=dev)
        with torch.no_grad():
            for start in range(0, Y.shape[1], self.batch_voxels):
                y = torch.as_tensor(Y[:, start : start + self.batch_voxels].T.copy(), device=dev)
                z, mean, std = standardize_context(y)
                out = model(e, z, return_attention=return_attention)
                yield out, mean, std

    # -- estimator API ----------------------------------------------------
    def fit(self, X, Y):
        """Build every voxel's weights from its context set.

        Parameters
        ----------
        X : array, shape (n_context, n_features)
            Embeddings of the context images (``n_features`` = the model's ``embed_dim``).
        Y : array, shape (n_context, n_voxels) or (n_context,)
            Responses of the voxels to the context images.

        Returns
        -------
        self
        """
        model, X, Y = self._context(X, Y)
        coefs, intercepts = [], []
        for w, mean, std in self._batches(model, X, Y):
            w = w.float()
            coefs.append((w[:, :-1] * std).cpu().numpy())
            intercepts.append((w[:, -1:] * std + mean)[:, 0].cpu().numpy())
        self.model_ = model
        self.coef_ = np.concatenate(coefs, axis=0).T.astype(np.float32)
        self.intercept_ = np.concatenate(intercepts).astype(np.float32)
        self.n_features_in_ = X.shape[1]
        self.n_context_ = X.shape[0]
        return self

    def predict(self, X):
        """Predicted responses.

        Parameters
        ----------
        X : array, shape (n_images, n_features)

        Returns
        -------
        Y_pred : ndarray, shape (n_images, n_voxels)
        """
        check_is_fitted(self, "coef_")
        X = self._embeddings(X, self.n_features_in_)
        return X @ self.coef_ + self.intercept_

    def context_attention(self, X, Y, layer: int | None = -1) -> np.ndarray:
        """Attention of each voxel's read-out token over its context images.

        Parameters
        ----------
        X : array, shape (n_context, n_features)
        Y : array, shape (n_context, n_voxels)
        layer : int or None
            Transformer layer (negative counts from the end); None averages all layers.

        Returns
        -------
        attention : ndarray, shape (n_voxels, n_context)
            Head-averaged attention weights (the share of the read-out token's
            attention that goes to each context image; registers take the rest).
        """
        model, X, Y = self._context(X, Y)
        n_layers = model.config.n_layers
        if layer is not None:
            check(
                -n_layers <= layer < n_layers, "layer", f"in [-{n_layers}, {n_layers})", layer, of="context_attention"
            )
        out = []
        for (_, attn), _, _ in self._batches(model, X, Y, return_attention=True):
            a = torch.stack(attn).mean(0) if layer is None else attn[layer]
            out.append(a.float().cpu().numpy())
        return np.concatenate(out, axis=0)
