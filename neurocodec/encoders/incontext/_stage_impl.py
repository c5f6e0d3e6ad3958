"""Bodies of the in-context stages (imported lazily by ``stages.py``)."""

from __future__ import annotations

import time

import numpy as np

from ..._compat import torch_threads as _threads
from ...pipeline import bad_value, check, check_array, load_arrays, load_json, save_arrays, save_json, save_table

__all__ = ["load_embeddings", "fit_projection", "apply_projection", "run_metatrain", "run_fit"]


def load_embeddings(artifact, n_images: int, feature_key: str = "") -> tuple[np.ndarray, str]:
    """The (n_images, n_features) embedding array of a ``stimulus_features`` artifact and its set name.

    Parameters
    ----------
    artifact : Artifact or path
        A ``stimulus_features`` artifact (the ``features`` stage, or a simulation's true features).
    n_images : int
        Number of stimuli of the experiment (rows expected).
    feature_key : str
        Feature set name; empty: the last (deepest) set.
    """
    from ...datasets.kinds import StimulusFeatures

    key, a = StimulusFeatures.load(artifact).get(feature_key or None)
    if a.shape[0] != n_images:
        raise bad_value("features", f"one row per stimulus ({n_images})", f"<shape {a.shape} in set {key!r}>")
    return a.reshape(n_images, -1), key


def fit_projection(embeddings: np.ndarray, n_components: int, center: bool) -> dict[str, np.ndarray]:
    """Centring + PCA fitted on stimulus embeddings only (no responses)."""
    embeddings = check_array(embeddings, "features", "(n_images >= 2, n_features)", ndim=2, min_rows=2)
    mean = embeddings.mean(0) if center else np.zeros(embeddings.shape[1], np.float32)
    if n_components == 0 or n_components >= embeddings.shape[1]:
        return dict(mean=mean.astype(np.float32), components=np.zeros((0,), np.float32))
    k = min(n_components, embeddings.shape[0] - 1)
    _, _, vt = np.linalg.svd(embeddings.astype(np.float64) - embeddings.mean(0), full_matrices=False)
    return dict(mean=mean.astype(np.float32), components=vt[:k].T.astype(np.float32))


def apply_projection(embeddings: np.ndarray, projection: dict[str, np.ndarray]) -> np.ndarray:
    """Centre, project and unit-norm embeddings (n_images, n_features) -> (n_images, E)."""
    from ._training import unit_norm

    embeddings = check_array(embeddings, "features", "(n_images, n_features)", ndim=2)
    mean, comps = projection["mean"], projection["components"]
    check(
        embeddings.shape[1] == mean.shape[0],
        "features",
        f"{mean.shape[0]} columns (as in meta-training)",
        f"<{embeddings.shape[1]} columns>",
    )
    x = embeddings - mean
    if comps.size:
        x = x @ comps
    return unit_norm(x, "features")


def _experiment(inputs):
    from ...datasets.kinds import StimulusResponses

    return StimulusResponses.load(inputs["experiment"])


def run_metatrain(params, inputs, out_dir) -> None:
    with _threads(params.n_threads):
        _run_metatrain(params, inputs, out_dir)


def run_fit(params, inputs, out_dir) -> None:
    with _threads(params.n_threads):
        _run_fit(params, inputs, out_dir)


def _run_metatrain(params, inputs, out_dir) -> None:
    import torch

    from ._model import BraInCoRL, BraInCoRLConfig
    from ._training import MetaTrainingSubject, metatrain

    exp = _experiment(inputs)
    raw, key = load_embeddings(inputs["features"], len(exp.stimuli), params.feature_key)
    projection = fit_projection(raw, params.n_components, params.center)
    emb = apply_projection(raw, projection)
    names = sorted(exp.subjects)
    train = list(params.train_subjects) or names[:-1]
    check(len(train) > 0, "train_subjects", "at least one subject (the experiment has one; name it explicitly)", train)
    for s in train:
        check(s in exp.subjects, "train_subjects", f"subjects of the experiment {names}", train)
    subjects = []
    for s in train:
        ids, betas = exp.subjects[s].mean_betas("train")
        subjects.append(MetaTrainingSubject(emb[ids], betas, s))
    torch.manual_seed(params.seed)
    config = BraInCoRLConfig.from_preset(
        params.preset,
        emb.shape[1],
        width=params.width,
        n_layers=params.n_layers,
        n_heads=params.n_heads,
        ffn_dim=params.ffn_dim,
        n_registers=params.n_registers,
        dropout=params.dropout,
    )
    model = BraInCoRL(config)
    n_img = min(s.embeddings.shape[0] for s in subjects)
    hist = metatrain(
        model,
        subjects,
        n_steps=params.n_steps,
        batch_voxels=params.batch_voxels,
        min_context=params.min_context,
        max_context=params.max_context,
        n_query=params.n_query,
        lr=params.lr,
        weight_decay=params.weight_decay,
        val_fraction=params.val_fraction,
        val_every=params.val_every,
        device=params.device,
        seed=params.seed,
    )
    model.to("cpu").save_pretrained(out_dir / "model")
    save_arrays(out_dir / "projection.npz", **projection)
    save_table(out_dir / "history.tsv", hist["records"])
    save_json(
        out_dir / "summary.json",
        dict(
            train_subjects=train,
            heldout_subjects=[s for s in names if s not in train],
            feature_key=key,
            n_features=int(raw.shape[1]),
            embed_dim=int(emb.shape[1]),
            n_images_min=int(n_img),
            val_voxels={s.name: s.val_voxels.tolist() for s in subjects},
            best_step=hist["best_step"],
            best_val_loss=hist["best_val_loss"],
            train_time_s=hist["train_time_s"],
            n_parameters=hist["n_parameters"],
            device=params.device,
            config=config.to_dict(),
        ),
    )


def _kind_means(values: np.ndarray, kinds: np.ndarray) -> dict[str, float]:
    out = {"all": float(np.nanmean(values))}
    for k in np.unique(kinds):
        out[str(k)] = float(np.nanmean(values[kinds == k]))
    return out


def _run_fit(params, inputs, out_dir) -> None:
    from ..scores import explained_variance, pearson_r
    from ._estimator import InContextEncoder
    from ._model import BraInCoRL
    from ._scaling import context_scaling

    art = inputs["model"]
    model = BraInCoRL.from_pretrained(art.file("model"), device=params.device)
    projection = load_arrays(art.file("projection"))
    msum = load_json(art.file("summary"))
    exp = _experiment(inputs)
    raw, _ = load_embeddings(inputs["features"], len(exp.stimuli), msum["feature_key"])
    emb = apply_projection(raw, projection)
    subjects = list(params.subjects) or [s for s in sorted(exp.subjects) if s not in msum["train_subjects"]]
    check(len(subjects) > 0, "subjects", "at least one (every subject was used in meta-training; name one)", subjects)
    weights, attention, voxelwise, rows, summary = {}, {}, {}, [], {}
    for s in subjects:
        check(s in exp.subjects, "subjects", f"subjects of the experiment {sorted(exp.subjects)}", subjects)
        sr = exp.subjects[s]
        ids_tr, y_tr = sr.mean_betas("train")
        ids_te, y_te = sr.mean_betas("test")
        n_ctx = params.n_context or len(ids_tr)
        check(n_ctx <= len(ids_tr), "n_context", f"<= the {len(ids_tr)} training images of {s}", n_ctx)
        rng = np.random.default_rng(params.seed)
        ctx = np.sort(rng.choice(len(ids_tr), size=n_ctx, replace=False))
        encoder = InContextEncoder(model, device=params.device, batch_voxels=params.batch_voxels)
        t0 = time.perf_counter()
        encoder.fit(emb[ids_tr[ctx]], y_tr[ctx])
        fit_s = time.perf_counter() - t0
        pred = encoder.predict(emb[ids_te])
        weights[f"{s}/coef"], weights[f"{s}/intercept"] = encoder.coef_, encoder.intercept_
        weights[f"{s}/context_ids"] = ids_tr[ctx]
        attention[s] = encoder.context_attention(emb[ids_tr[ctx]], y_tr[ctx]).astype(np.float32)
        kinds = np.asarray(sr.voxel_kind).astype(str)
        sub = dict(
            n_context=int(n_ctx),
            fit_time_s=fit_s,
            final_test_ev=_kind_means(explained_variance(y_te, pred), kinds),
            final_test_r=_kind_means(pearson_r(y_te, pred), kinds),
        )
        sizes = [c for c in params.context_sizes if c <= len(ids_tr)]
        sub["dropped_context_sizes"] = [c for c in params.context_sizes if c > len(ids_tr)]
        if sizes:
            res = context_scaling(
                InContextEncoder(model, device=params.device, batch_voxels=params.batch_voxels),
                emb[ids_tr],
                y_tr,
                emb[ids_te],
                y_te,
                context_sizes=sizes,
                n_draws=params.n_draws,
                alphas=params.alphas,
                cv=params.cv,
                seed=params.seed,
            )
            sub.update(context_sizes=sizes, n_draws=res["n_draws"])
            for m in res["ev"]:
                voxelwise[f"{s}/{m}/ev"], voxelwise[f"{s}/{m}/r"] = res["ev"][m], res["r"][m]
                sub[f"{m}_ev"] = [float(np.nanmean(res["ev"][m][i])) for i in range(len(sizes))]
                sub[f"{m}_r"] = [float(np.nanmean(res["r"][m][i])) for i in range(len(sizes))]
                for i, c in enumerate(sizes):
                    per_kind = {k: float(np.nanmean(res["ev"][m][i][:, kinds == k])) for k in np.unique(kinds)}
                    sub[f"{m}_ev_by_kind_{c}"] = per_kind
                    for d in range(res["n_draws"][i]):
                        ev_k = _kind_means(res["ev"][m][i, d], kinds)
                        r_k = _kind_means(res["r"][m][i, d], kinds)
                        rows += [
                            dict(subject=s, method=m, context_size=c, draw=d, voxel_kind=k, ev=ev_k[k], r=r_k[k])
                            for k in ev_k
                        ]
        summary[s] = sub
    save_arrays(out_dir / "weights.npz", **weights)
    save_arrays(out_dir / "attention.npz", **attention)
    save_arrays(out_dir / "scaling_voxelwise.npz", **voxelwise)
    save_table(
        out_dir / "scaling.tsv",
        rows if rows else {c: [] for c in ("subject", "method", "context_size", "draw", "voxel_kind", "ev", "r")},
    )
    save_json(out_dir / "summary.json", dict(subjects=summary, train_subjects=msum["train_subjects"]))
