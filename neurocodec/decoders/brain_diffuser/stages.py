"""Pipeline stages of Brain-Diffuser reconstruction (cheap to import: no torch / diffusers at top level)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from neurocodec.pipeline import Input, Output, Stage, StageParams, register_stage, runtime_field

__all__ = ["FitDecoder", "Reconstruct", "EvaluateReconstruction"]

_GENERATORS = Literal["embedded", "stable_unclip_img2img", "ip_adapter_img2img", "versatile_dual_guided"]


class FitDecoderParams(StageParams):
    subjects: list[str] = Field([], description="Subjects to fit a decoder for (keys of the experiment; empty: all).")
    generator: _GENERATORS = Field(
        "embedded",
        description="'embedded': train a small VAE + conditional UNet on the stimuli (offline); otherwise a "
        "real diffusers pipeline loaded from 'model'.",
    )
    model: str = Field("", description="Hub id or local folder of the real pipeline (generator != 'embedded').")

    @field_validator("model")
    @classmethod
    def _model_for_real_pipelines(cls, value, info: ValidationInfo):
        if not value and info.data.get("generator", "embedded") != "embedded":
            raise ValueError(f"a hub id or local folder for generator {info.data['generator']!r}")
        return value

    image_size: int = Field(32, ge=8, description="Square image size of the embedded generator.")
    vae_channels: list[int] = Field(
        [16, 32, 64], min_length=2, description="AutoencoderKL block_out_channels (embedded)."
    )
    unet_channels: list[int] = Field(
        [32, 64], min_length=2, description="UNet2DConditionModel block_out_channels (embedded)."
    )
    embed_dim: int = Field(64, gt=0, description="Dimension of NeuroCodec's image embedding (embedded).")
    embedding: Literal["effnet_lite0", "pixels"] = Field(
        "effnet_lite0", description="Features the embedding is built from."
    )
    spatial_grid: int = Field(
        0,
        ge=0,
        description=(
            "0: condition on one pooled embedding token; g > 0: also on g*g tokens of EfficientNet-Lite0 "
            "feature-map cells "
            "(where which structure is; as Brain-Diffuser's CLIP patch tokens), predicted by the stage-2 ridge "
            "(embedded; "
            "needs embedding='effnet_lite0')."
        ),
    )
    vae_steps: int = Field(600, ge=0, description="Autoencoder training steps (embedded).")
    unet_steps: int = Field(1500, ge=0, description="Denoiser training steps (embedded).")
    batch_size: int = Field(64, gt=0, description="Training batch size (embedded).")
    learning_rate: float = Field(1e-3, gt=0, description="AdamW learning rate (embedded).")
    vae_degrade: float = Field(
        0.0,
        ge=0,
        le=1,
        description=(
            "Share of each autoencoder batch replaced by blurred copies (input and target), so the VAE also "
            "encodes coarse "
            "stage-1 images faithfully (embedded)."
        ),
    )
    prediction_type: Literal["epsilon", "v_prediction", "sample"] = Field(
        "epsilon", description="Denoiser target (embedded)."
    )
    alphas: list[float] = Field(
        [float(10 ** (k / 2)) for k in range(-2, 13)],
        min_length=1,
        description="Ridge penalties, one chosen per target by cross-validation.",
    )
    cv: int = Field(5, ge=2, description="Cross-validation folds of the ridge.")
    low_level: list[Literal["latent", "pixels"]] = Field(
        ["latent"],
        min_length=1,
        description=(
            "Stage-1 ridge target: 'latent' (the autoencoder latent, as the paper) or 'pixels' (the image "
            "downsampled to "
            "low_level_size); several: candidates validated with strength."
        ),
    )
    low_level_size: int = Field(16, ge=2, description="Side of the downsampled stage-1 image of low_level 'pixels'.")
    strength: list[float] = Field(
        [0.75],
        min_length=1,
        description=(
            "img2img strength from the stage-1 image (paper: 0.75). Several values: candidates, one chosen (with "
            "guidance_scale) by 2-way identification (pixels + Gabor) on a validation split of the TRAINING images."
        ),
    )
    guidance_scale: list[float] = Field(
        [3.0], min_length=1, description="Classifier-free guidance scale, or candidates (see strength)."
    )
    num_inference_steps: int = Field(
        50, gt=0, description="Denoising steps of the full DDIM trajectory (validation and default of reconstruct)."
    )
    n_samples: int = Field(
        1,
        ge=1,
        description="Best-of-N candidates per image, ranked by brain-derived signals only (validation and "
        "default of reconstruct).",
    )
    rank_weight: list[float] = Field(
        [0.0],
        min_length=1,
        description=(
            "Best-of-N ranking: (1 - w) * corr(candidate embedding, PREDICTED embedding) + w * corr(candidate, "
            "stage-1 image) "
            "(never the true image). Several values: candidates validated with strength."
        ),
    )
    validation_fraction: float = Field(
        0.1, gt=0, lt=1, description="Share of the training images held out (per split) to choose among candidates."
    )
    validation_splits: int = Field(
        1, ge=1, description="Disjoint validation splits of the training images, scores averaged (less noisy choice)."
    )
    validation_criterion: Literal["mean", "min"] = Field(
        "mean",
        description=(
            "Validation score of a candidate: mean or smaller of its 2-way identification on pixels and on "
            "Gabor features."
        ),
    )
    seed: int = Field(
        0, description="Seed of the generator training, the validation split and the validation generation."
    )
    device: str = runtime_field("cpu", "Torch device.")
    n_threads: int = runtime_field(0, "Torch CPU threads (0: torch's default).")


def _load_generator(folder, device):
    """The generator saved by fit_decoder (embedded weights, or a reference to real weights)."""
    import json

    config = json.loads((folder / "generator.json").read_text())
    if config["kind"] == "embedded":
        from ..generation import EmbeddedLatentDiffusion

        return EmbeddedLatentDiffusion.from_pretrained(folder, device=device)
    from ..generation import DiffusersGenerator

    return DiffusersGenerator.from_pretrained(config["model"], device=device, kind=config["kind"])


@register_stage
class FitDecoder(Stage):
    """Fit Brain-Diffuser: generator (trained offline or real weights) + ridge fMRI -> latents / embeddings."""

    name = "fit_decoder"
    version = 3
    Params = FitDecoderParams
    libraries = ("numpy", "torch", "diffusers", "scikit-learn")
    inputs = {"experiment": Input("Stimuli and single-trial responses.", kinds=("stimulus_responses",))}
    outputs = {
        "generator": Output(
            "generator/", "generator.json (+ vae/, unet/, scheduler/, embedder/ for the embedded generator)."
        ),
        "decoders": Output(
            "decoders/",
            kind="brain_diffuser",
            description="<subject>/decoder.npz + decoder.json: ridge weights, alphas, statistics.",
        ),
        "summary": Output(
            "fit.json", "Per subject: voxels, training images, median alphas; generator training losses."
        ),
    }

    def run(self, params, inputs, out_dir):
        from ..._compat import torch_threads

        with torch_threads(params.n_threads):
            self._run(params, inputs, out_dir)

    def _run(self, params, inputs, out_dir):
        import numpy as np

        from neurocodec.datasets.kinds import StimulusResponses
        from neurocodec.pipeline import bad_value, save_json

        from .. import generation
        from ._model import BrainDiffuser

        exp = StimulusResponses.load(inputs["experiment"])
        subjects = list(params.subjects) or sorted(exp.subjects)
        for sub in subjects:
            if sub not in exp.subjects:
                raise bad_value("subjects", f"keys of the experiment {sorted(exp.subjects)}", sub, of="fit_decoder")
        if exp.stimuli is None:
            raise bad_value(
                "experiment", "stimulus_responses holding the stimulus images", "<no stimuli>", of="fit_decoder"
            )
        gen_dir = out_dir / "generator"
        summary = {"generator": params.generator, "subjects": {}}
        if params.generator == "embedded":
            gen = generation.EmbeddedLatentDiffusion(
                image_size=params.image_size,
                vae_channels=tuple(params.vae_channels),
                unet_channels=tuple(params.unet_channels),
                embed_dim=params.embed_dim,
                embedding=params.embedding,
                spatial_grid=params.spatial_grid,
                vae_steps=params.vae_steps,
                unet_steps=params.unet_steps,
                batch_size=params.batch_size,
                learning_rate=params.learning_rate,
                vae_degrade=params.vae_degrade,
                prediction_type=params.prediction_type,
                seed=params.seed,
                device=params.device,
            )
            gen.fit(exp.stimuli[exp.train_image_ids])
            gen.save_pretrained(gen_dir)
            summary["losses"] = {k: [float(np.mean(v[-20:]))] if v else [] for k, v in gen.losses_.items()}
        else:
            if not params.model:
                raise bad_value("model", "a hub id or local folder for a real pipeline", params.model, of="fit_decoder")
            gen = generation.DiffusersGenerator.from_pretrained(
                params.model, device=params.device, kind=params.generator
            )
            gen_dir.mkdir(parents=True)
        save_json(gen_dir / "generator.json", {"kind": params.generator, "model": params.model})

        latents = {}
        for sub in subjects:
            ids, betas = exp.subjects[sub].mean_betas("train")
            images = exp.stimuli[ids]
            key = tuple(ids.tolist())
            if key not in latents:  # subjects sharing a training set share the targets
                latents[key] = (
                    gen.autoencoder.encode(images) if "latent" in params.low_level else None,
                    gen.embed_images(images),
                )
            dec = BrainDiffuser(
                gen,
                alphas=params.alphas,
                cv=params.cv,
                low_level=params.low_level,
                low_level_size=params.low_level_size,
                strength=params.strength,
                guidance_scale=params.guidance_scale,
                num_inference_steps=params.num_inference_steps,
                n_samples=params.n_samples,
                rank_weight=params.rank_weight,
                validation_fraction=params.validation_fraction,
                validation_splits=params.validation_splits,
                validation_criterion=params.validation_criterion,
                seed=params.seed,
            )
            dec.fit(betas, images, latents=latents[key][0], embeddings=latents[key][1])
            dec.save_pretrained(out_dir / "decoders" / sub)
            summary["subjects"][sub] = {
                "n_voxels": int(betas.shape[1]),
                "n_train_images": int(len(ids)),
                "low_level": dec.low_level_,
                "median_alpha_stage1": float(np.median(dec.stage1_head_.alphas)),
                "median_alpha_embedding": float(np.median(dec.image_head_.alphas)),
                "strength": dec.strength_,
                "guidance_scale": dec.guidance_scale_,
                "rank_weight": dec.rank_weight_,
                "validation": dec.validation_,
            }
        save_json(out_dir / "fit.json", summary)


class ReconstructParams(StageParams):
    strength: float | None = Field(
        None,
        gt=0,
        le=1,
        description=(
            "img2img strength from the stage-1 image; null: the decoder's (fit_decoder's, or the one it chose "
            "by validation)."
        ),
    )
    guidance_scale: float | None = Field(None, ge=1, description="Classifier-free guidance scale; null: the decoder's.")
    num_inference_steps: int | None = Field(
        None, gt=0, description="Denoising steps of the full DDIM trajectory; null: the decoder's."
    )
    text_weight: float = Field(
        0.4, ge=0, le=1, description="Share of the text condition (generators mixing image and text)."
    )
    n_samples: int | None = Field(
        None,
        ge=1,
        description="Best-of-N: candidates per image, ranked by the PREDICTED embedding; null: the decoder's.",
    )
    renormalize: bool = Field(
        True, description="Renormalise predictions to the training latent/embedding mean and std."
    )
    seed: int = Field(0, description="Seed of the generation noise.")
    device: str = runtime_field("cpu", "Torch device.")
    n_threads: int = runtime_field(0, "Torch CPU threads (0: torch's default).")


@register_stage
class Reconstruct(Stage):
    """Reconstruct the shared test images from each subject's repeat-averaged betas (stage 1 and final)."""

    name = "reconstruct"
    version = 2
    Params = ReconstructParams
    libraries = ("numpy", "torch", "diffusers")
    inputs = {
        "decoder": Input("Fitted Brain-Diffuser decoders.", kinds=("brain_diffuser",)),
        "experiment": Input(
            "The stimulus_responses the decoder was fitted on (its test trials are decoded).",
            kinds=("stimulus_responses",),
        ),
    }
    outputs = {
        "reconstructions": Output(
            "reconstructions.npz",
            kind="reconstructions",
            description="image_ids (n,), true (n, H, W, 3) uint8, <subject>_stage1 and "
            "<subject>_final (n, H, W, 3) uint8.",
        ),
        "grid": Output("grid.png", "Rows per subject: true / stage 1 / final for the first 16 test images."),
    }

    def run(self, params, inputs, out_dir):
        from ..._compat import torch_threads

        with torch_threads(params.n_threads):
            self._run(params, inputs, out_dir)

    def _run(self, params, inputs, out_dir):
        import numpy as np

        from neurocodec.datasets.kinds import StimulusResponses
        from neurocodec.pipeline import save_arrays

        from .._images import to_uint8
        from ._grid import save_grid
        from ._model import BrainDiffuser

        exp = StimulusResponses.load(inputs["experiment"])
        folder = inputs["decoder"].path
        gen = _load_generator(folder / "generator", params.device)
        arrays, rows = {}, []
        subjects = sorted(p.name for p in (folder / "decoders").iterdir() if p.is_dir())
        for sub in subjects:
            ids, betas = exp.subjects[sub].mean_betas("test")
            dec = BrainDiffuser.from_pretrained(
                folder / "decoders" / sub,
                generator=gen,
                strength=params.strength,
                guidance_scale=params.guidance_scale,
                num_inference_steps=params.num_inference_steps,
                text_weight=params.text_weight,
                renormalize=params.renormalize,
                seed=params.seed,
                n_samples=params.n_samples,
            )
            rec = dec.reconstruct(betas)
            if "image_ids" in arrays and not np.array_equal(arrays["image_ids"], ids):
                raise ValueError(f"The test image ids of {sub} differ from those of {subjects[0]}.")
            arrays["image_ids"], arrays["true"] = ids, to_uint8(exp.stimuli[ids])
            arrays[f"{sub}_stage1"], arrays[f"{sub}_final"] = to_uint8(rec["stage1"]), to_uint8(rec["final"])
            rows.append((sub, arrays[f"{sub}_stage1"], arrays[f"{sub}_final"]))
        save_arrays(out_dir / "reconstructions.npz", **arrays)
        save_grid(out_dir / "grid.png", arrays["true"], rows)

    @classmethod
    def report(cls, artifact):
        from neurocodec.pipeline.report import Figure, Section

        return Section(
            "Brain-Diffuser reconstructions",
            [
                Figure.from_file(
                    artifact.file("grid"),
                    caption="Held-out test images: true (top), then per subject stage 1 (low-level ridge -> "
                    "VAE latent) and final (img2img conditioned on the predicted embedding).",
                )
            ],
        )


class EvaluateParams(StageParams):
    features: list[str] = Field(
        ["pixels", "gabor", "effnet_lite0"],
        description=(
            "Feature extractors for 2-way identification / correlation distance: pixels, gabor, effnet_lite0, "
            "alexnet2, "
            "alexnet5, inception_v3, clip, effnet_b1, swav (those without weights offline are skipped)."
        ),
    )
    protocol: Literal["brain-diffuser", "mindeye"] = Field("brain-diffuser", description="Input sizes of the networks.")
    sizes: dict[str, int] = Field({}, description="Per-extractor input size overrides, e.g. {effnet_lite0: 96}.")
    device: str = runtime_field("cpu", "Torch device.")
    n_threads: int = runtime_field(0, "Torch CPU threads (0: torch's default).")


@register_stage
class EvaluateReconstruction(Stage):
    """PixCorr, SSIM, 2-way identification and correlation distances of stage-1 and final reconstructions."""

    name = "evaluate_reconstruction"
    version = 1
    Params = EvaluateParams
    libraries = ("numpy", "scipy", "torch", "timm")
    inputs = {"reconstructions": Input("Reconstructions.", kinds=("reconstructions",))}
    outputs = {
        "metrics": Output(
            "metrics.json",
            kind="reconstruction_scores",
            description="{subject: {stage1: {metric: value}, final: {...}}, mean: {...}}.",
        ),
        "table": Output("metrics.tsv", "subject, stage, metric, value."),
    }

    def run(self, params, inputs, out_dir):
        from ..._compat import torch_threads

        with torch_threads(params.n_threads):
            self._run(params, inputs, out_dir)

    def _run(self, params, inputs, out_dir):
        import numpy as np

        from neurocodec.pipeline import save_json, save_table

        from ..metrics import evaluate_reconstructions

        data = inputs["reconstructions"].load("reconstructions")
        true = data["true"]
        subjects = sorted(k[: -len("_final")] for k in data if k.endswith("_final"))
        result, rows = {}, []
        stages = [st for st in ("stage1", "final") if all(f"{sub}_{st}" in data for sub in subjects)]
        for sub in subjects:  # Brain-Diffuser writes stage1 and final; MindBridge final only
            result[sub] = {}
            for stage in stages:
                scores = evaluate_reconstructions(
                    true,
                    data[f"{sub}_{stage}"],
                    features=params.features,
                    protocol=params.protocol,
                    sizes=params.sizes,
                    device=params.device,
                )
                result[sub][stage] = scores
                rows += [{"subject": sub, "stage": stage, "metric": k, "value": v} for k, v in scores.items()]
        result["mean"] = {
            stage: {
                k: float(np.mean([result[s][stage][k] for s in subjects if k in result[s][stage]]))
                for k in result[subjects[0]][stage]
            }
            for stage in stages
        }
        save_json(out_dir / "metrics.json", result)
        save_table(out_dir / "metrics.tsv", rows)

    @classmethod
    def report(cls, artifact):
        from neurocodec.pipeline.report import Section, Table

        m = artifact.load("metrics")["mean"]
        names = list(m["final"])
        return Section(
            "Reconstruction metrics (mean over subjects)",
            [
                Table(
                    ["metric", "stage 1", "final"],
                    [[k, m.get("stage1", {}).get(k, float("nan")), m["final"][k]] for k in names],
                    caption="2-way identification: chance 0.5; distance_*: correlation distance, lower is better.",
                )
            ],
        )
