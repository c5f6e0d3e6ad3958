"""Pipeline stages of BrainDiVE: ``synthesize_preferred`` and ``decode_roi_pattern`` (cheap to import: no torch)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from neurocodec.pipeline import Input, Output, Stage, StageParams, register_stage, runtime_field

from . import _kinds as _kinds  # noqa: F401

__all__ = ["SynthesizePreferred", "DecodeRoiPattern"]

_EXP = ("stimulus_responses",)


class RegionSpec(BaseModel):
    """A voxel set of the voxel table; every given criterion must hold."""

    model_config = ConfigDict(extra="forbid", strict=True)
    roi: str | list[str] | None = Field(None, description="ROI label(s) ('roi' column, else 'kind').")
    kind: str | list[str] | None = Field(None, description="Voxel kind(s): prf, linear_prf, category, global.")
    category: str | None = Field(None, description="Preferred category of category-selective voxels.")
    near: list[float] | None = Field(
        None,
        min_length=3,
        max_length=3,
        description="[x, y, radius]: pRF centre within radius of (x, y), image-width fractions.",
    )
    mask: list[bool] | None = Field(None, description="One boolean per voxel.")
    voxels: list[int] | None = Field(None, description="Explicit voxel indices.")

    def select(self, table):
        from ._targets import select_voxels

        return select_voxels(table, **self.model_dump())


class TargetSpec(RegionSpec):
    """A named target: a region maximised or minimised, optionally against a second region."""

    name: str = Field(..., min_length=1, description="Target name (file keys, report rows).")
    direction: Literal["maximize", "minimize"] = Field("maximize", description="Maximise or minimise the objective.")
    versus: RegionSpec | None = Field(None, description="Second region: objective mean(region) - mean(versus).")

    def target(self, table):
        from ._targets import VoxelTarget

        region = RegionSpec(**self.model_dump(include=set(RegionSpec.model_fields)))
        return VoxelTarget(
            region.select(table), self.direction, None if self.versus is None else self.versus.select(table), self.name
        )


def _targets(specs, table):
    import numpy as np

    from neurocodec.pipeline import bad_value

    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise bad_value("targets", "targets with distinct names", names)
    targets = {s.name: s.target(table) for s in specs}
    return targets, np.unique(np.concatenate([t.all_voxels for t in targets.values()]))


def _experiment(inputs, subject):
    from neurocodec.datasets.kinds import StimulusResponses
    from neurocodec.pipeline import bad_value

    exp = StimulusResponses.load(inputs["experiment"])
    if exp.stimuli is None:
        raise bad_value("experiment", "stimulus_responses with the stimulus images", "<no stimuli>")
    if subject not in exp.subjects:
        raise bad_value("subject", f"one of {sorted(exp.subjects)}", subject)
    return exp


def _encoder(artifact, exp, subject, voxels, device):
    """The fitted encoder of ``subject`` as a differentiable encoder (features rebuilt from the features stage)."""
    from neurocodec.datasets.kinds import StimulusFeatures
    from neurocodec.pipeline import bad_value, load_json

    from ._loading import load_encoder

    file = artifact.file("encoders") / subject
    if not file.is_dir():
        raise bad_value("subject", "a subject the encoder was fitted for", subject, of="encoder")
    key = load_json(artifact.file("summary"))["feature_set"]
    features = [a for a in artifact.upstream().values() if a.stage == "features"]  # the extractor's parameters
    params = features[0].params if features else None
    stored = StimulusFeatures.load(features[0]).get(key)[1] if features else None
    return load_encoder(file, params, key, exp.stimuli, stored_features=stored, voxels=voxels, device=device)


def _uint8(images):
    from .._images import to_uint8

    return to_uint8(images)


class SynthesizeParams(StageParams):
    subject: str = Field("sub-01", description="Subject whose encoder steers the generator.")
    targets: list[TargetSpec] = Field(..., min_length=1, description="Voxel targets (one image set each).")
    n_images: int = Field(8, ge=1, description="Synthesized images per target.")
    guidance_scale: float = Field(
        10.0,
        ge=0,
        description="Brain-guidance step size, objective in units of its s.d. over the natural stimuli (0: unguided).",
    )
    max_grad_norm: float | None = Field(None, gt=0, description="Clip each image's latent gradient norm (None: off)")
    num_inference_steps: int = Field(30, ge=1, description="DDIM steps.")
    cfg_scale: float = Field(1.0, ge=1, description="Classifier-free guidance of the generator's own conditioning.")
    generator: Literal["decoder", "stable_diffusion"] = Field(
        "decoder",
        description=(
            "'decoder': the embedded generator of the fit_decoder input (null embedding: unconditional); "
            "'stable_diffusion': a diffusers Stable Diffusion pipeline from 'model' (prompt + cfg_scale)."
        ),
    )
    model: str = Field("", description="Stable Diffusion hub id or local folder (generator 'stable_diffusion').")
    prompt: str = Field("", description="Text prompt of Stable Diffusion (the paper: empty).")
    top_fraction: float = Field(0.01, gt=0, le=1, description="Share of natural stimuli in the reference top set.")
    seed: int = Field(0, description="Noise seed (batch b: seed + b), shared by guided and unguided samples.")
    batch_size: int = runtime_field(8, "Images per guided batch.", gt=0)
    device: str = runtime_field("cpu", "Torch device (real weights: 'cuda').")
    dtype: Literal["auto", "float16", "float32"] = runtime_field("auto", "Stable Diffusion dtype (auto: fp16 on CUDA).")
    n_threads: int = runtime_field(0, "Torch CPU threads (0: torch's default).")


@register_stage
class SynthesizePreferred(Stage):
    """BrainDiVE: images maximising a fitted encoder's predicted response of voxel targets (brain-guided diffusion)."""

    name = "synthesize_preferred"
    version = 1
    Params = SynthesizeParams
    libraries = ("numpy", "torch", "diffusers")
    inputs = {
        "experiment": Input("Stimuli, responses and the voxel table (targets).", kinds=_EXP),
        "encoder": Input("Fitted voxelwise encoders over differentiable features.", kinds=("voxel_encoders",)),
        "decoder": Input(
            "fit_decoder artifact whose embedded generator is sampled (generator 'decoder').",
            kinds=("brain_diffuser",),
            required=False,
        ),
    }
    outputs = {
        "images": Output(
            "images.npz",
            "<target> guided and <target>_unguided (n, H, W, 3) uint8, <target>_top_ids.",
            kind="preferred_images",
        ),
        "summary": Output(
            "summary.json",
            "Per target: voxels, predicted objective (synthesized, unguided, natural "
            "top), gains, per-step history, seeds.",
        ),
        "grid": Output("grid.png", "Per target: natural top, unguided, synthesized rows."),
    }
    report_impl = "._report:synthesis_section"

    def run(self, params, inputs, out_dir):
        from ..._compat import torch_threads

        with torch_threads(params.n_threads):
            self._run(params, inputs, out_dir)

    def _run(self, params, inputs, out_dir):
        from neurocodec.pipeline import bad_value, save_arrays, save_json

        from ._sampling import BrainGuidedSampler
        from ._synthesis import save_rows_grid, synthesize_targets

        exp = _experiment(inputs, params.subject)
        targets, voxels = _targets(params.targets, exp.subjects[params.subject].voxels)
        encoder = _encoder(inputs["encoder"], exp, params.subject, voxels, params.device)
        if params.generator == "decoder":
            if "decoder" not in inputs:
                raise bad_value(
                    "decoder", "a fit_decoder input (generator 'decoder')", "<none>", of="synthesize_preferred"
                )
            from ..brain_diffuser.stages import _load_generator

            generator = _load_generator(inputs["decoder"].path / "generator", params.device)
        else:
            from ._loading import load_stable_diffusion

            generator = load_stable_diffusion(params.model, params.device, params.dtype)
        natural = exp.stimuli[exp.train_image_ids]
        sampler = BrainGuidedSampler(
            encoder,
            params.guidance_scale,
            params.max_grad_norm,
            params.num_inference_steps,
            params.cfg_scale,
            params.prompt,
            image_size=exp.stimuli.shape[1],
            reference_images=natural,
            batch_size=params.batch_size,
            seed=params.seed,
        )
        result = synthesize_targets(
            sampler, generator, targets, params.n_images, natural, params.top_fraction, params.seed
        )
        arrays, rows, summary = {}, [], {}
        for name, r in result.items():
            top_ids = exp.train_image_ids[r["top_ids"]]
            arrays |= {name: _uint8(r["images"]), f"{name}_unguided": _uint8(r["baseline"]), f"{name}_top_ids": top_ids}
            rows += [_uint8(exp.stimuli[top_ids]), arrays[f"{name}_unguided"], arrays[name]]
            summary[name] = {
                "voxels": targets[name].voxels.tolist(),
                "direction": targets[name].direction,
                "versus": None if targets[name].versus is None else targets[name].versus.tolist(),
                **{k: r[k] for k in ("n_voxels", "predicted", "history", "seeds")},
            }
        save_arrays(out_dir / "images.npz", **arrays)
        save_json(
            out_dir / "summary.json",
            {
                "subject": params.subject,
                "generator": params.generator,
                "batch_size": params.batch_size,
                "targets": summary,
            },
        )
        save_rows_grid(out_dir / "grid.png", rows, n_images=params.n_images)


class DecodeParams(StageParams):
    subject: str = Field("sub-01", description="Subject whose fitted decoder reconstructs the patterns.")
    targets: list[TargetSpec] = Field(..., min_length=1, description="Voxel targets (one pattern each).")
    k: float = Field(3.0, gt=0, description="Target voxels at +k s.d. of their training betas, the rest at the mean.")
    n_images: int = Field(8, ge=1, description="Reconstructions per pattern (different generation noise).")
    strength: float | None = Field(None, gt=0, le=1, description="img2img strength; null: the decoder's.")
    guidance_scale: float | None = Field(None, ge=1, description="Classifier-free guidance; null: the decoder's.")
    num_inference_steps: int | None = Field(None, gt=0, description="DDIM steps; null: the decoder's.")
    top_fraction: float = Field(0.01, gt=0, le=1, description="Share of natural stimuli in the reference top set.")
    seed: int = Field(0, description="Seed of the generation noise.")
    device: str = runtime_field("cpu", "Torch device.")
    n_threads: int = runtime_field(0, "Torch CPU threads (0: torch's default).")


@register_stage
class DecodeRoiPattern(Stage):
    """ROI-optimal reconstruction: decode a synthetic pattern (target voxels at +k s.d.) through Brain-Diffuser."""

    name = "decode_roi_pattern"
    version = 1
    Params = DecodeParams
    libraries = ("numpy", "torch", "diffusers")
    inputs = {
        "experiment": Input("Stimuli, training responses and the voxel table (targets).", kinds=_EXP),
        "decoder": Input("Fitted Brain-Diffuser decoders.", kinds=("brain_diffuser",)),
        "encoder": Input(
            "Fitted encoders: predicted responses of the reconstructions (optional).",
            kinds=("voxel_encoders",),
            required=False,
        ),
    }
    outputs = {
        "images": Output(
            "images.npz",
            "<target>_final, <target>_stage1 (n, H, W, 3) uint8, <target>_pattern.",
            kind="roi_reconstructions",
        ),
        "summary": Output("summary.json", "Per target: voxels, k, predicted objective of the reconstructions."),
        "grid": Output("grid.png", "Per target: stage-1 and final rows."),
    }
    report_impl = "._report:decode_section"

    def run(self, params, inputs, out_dir):
        from ..._compat import torch_threads

        with torch_threads(params.n_threads):
            self._run(params, inputs, out_dir)

    def _run(self, params, inputs, out_dir):
        from neurocodec.pipeline import bad_value, save_arrays, save_json

        from ..brain_diffuser import BrainDiffuser
        from ..brain_diffuser.stages import _load_generator
        from ._synthesis import decode_targets, save_rows_grid

        exp = _experiment(inputs, params.subject)
        folder = inputs["decoder"].path
        if not (folder / "decoders" / params.subject).is_dir():
            raise bad_value("subject", "a subject the decoder was fitted for", params.subject, of="decoder")
        targets, voxels = _targets(params.targets, exp.subjects[params.subject].voxels)
        encoder = (
            None if "encoder" not in inputs else _encoder(inputs["encoder"], exp, params.subject, voxels, params.device)
        )
        generator = _load_generator(folder / "generator", params.device)
        decoder = BrainDiffuser.from_pretrained(
            folder / "decoders" / params.subject,
            generator=generator,
            strength=params.strength,
            guidance_scale=params.guidance_scale,
            seed=params.seed,
            num_inference_steps=params.num_inference_steps,
        )
        _, betas = exp.subjects[params.subject].mean_betas("train")
        natural = exp.stimuli[exp.train_image_ids]
        result = decode_targets(
            decoder, betas, targets, params.k, params.n_images, encoder, natural, params.top_fraction
        )
        arrays, rows, summary = {}, [], {}
        for name, r in result.items():
            arrays |= {
                f"{name}_final": _uint8(r["final"]),
                f"{name}_stage1": _uint8(r["stage1"]),
                f"{name}_pattern": r["pattern"].astype("float32"),
            }
            rows += [arrays[f"{name}_stage1"], arrays[f"{name}_final"]]
            summary[name] = {
                "voxels": targets[name].voxels.tolist(),
                "n_voxels": r["n_voxels"],
                "predicted": r.get("predicted"),
            }
        save_arrays(out_dir / "images.npz", **arrays)
        save_json(
            out_dir / "summary.json",
            {"subject": params.subject, "k": params.k, "seed": params.seed, "targets": summary},
        )
        save_rows_grid(out_dir / "grid.png", rows, n_images=params.n_images)
