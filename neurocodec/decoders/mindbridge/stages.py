"""Pipeline stages of MindBridge (cheap to import: pydantic only at top level)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ...pipeline import Input, Output, Stage, StageParams, bad_value, register_stage, runtime_field

__all__ = ["MindBridgeTargets", "MindBridgeTrain", "MindBridgeResetTune", "MindBridgeReconstruct", "subsample_trials"]

_EXPERIMENT = Input("Stimuli and single-trial responses.", kinds=("stimulus_responses",))
_TARGETS = Input("Token-level target embeddings.", kinds=("embedding_targets",))
_LIBS = ("numpy", "torch")
_GENERATOR = Input(
    "Brain-Diffuser fit whose generator/ MindBridge predicts embeddings for (image targets = its "
    "embedding of the stimuli).",
    kinds=("brain_diffuser",),
    required=False,
)


def _load_generator(folder, device):
    """The generator a ``fit_decoder`` step saved (small offline model, or a reference to real weights)."""
    import json

    config = json.loads((folder / "generator.json").read_text())
    if config["kind"] == "embedded":
        from ..generation import EmbeddedLatentDiffusion

        return EmbeddedLatentDiffusion.from_pretrained(folder, device=device)
    from ..generation import DiffusersGenerator

    return DiffusersGenerator.from_pretrained(config["model"], device=device, kind=config["kind"])


class TargetParams(StageParams):
    image_size: int = Field(64, ge=32, description="Side the stimuli are resized to before EfficientNet-Lite0.")
    block: int = Field(4, ge=0, le=6, description="Last EfficientNet-Lite0 block of the image-token feature map.")
    text_tokens: int = Field(8, ge=0, description="Text tokens per image from its category name (0: no text targets).")
    text_dim: int = Field(64, gt=0, description="Size of the hashed word embedding of the text tokens.")
    seed: int = Field(0, ge=0, description="Seed of the hashed word embedding.")
    device: str = runtime_field("cpu", "Torch device of the generator (with a 'generator' input).")


class _ArchParams(StageParams):
    n_pooled: int = Field(256, gt=0, description="Voxels are max-pooled to this size per subject (paper: 8192).")
    pool_type: Literal["max", "avg"] = Field("max", description="Adaptive pooling kind (paper: max).")
    hidden_dim: int = Field(256, gt=0, description="Width of the shared space (paper: 2048).")
    n_blocks: int = Field(2, ge=0, description="Residual MLP blocks of the shared translator (paper: 4).")
    adapter_rank: int = Field(16, gt=0, description="Rank of the embedder/builder low-rank adapters (paper: 128).")
    embedder_dropout: float = Field(0.5, ge=0, lt=1, description="Dropout after the embedders (paper: 0.5).")
    translator_dropout: float = Field(0.15, ge=0, lt=1, description="Dropout in the translator blocks (paper: 0.15).")


class _OptParams(StageParams):
    n_epochs: int = Field(40, gt=0, description="Training epochs (paper: 600 multi-subject, 200 reset-tuning).")
    batch_size: int = Field(32, gt=0, description="Trials per subject per step (paper: 50).")
    max_lr: float = Field(1e-3, gt=0, description="OneCycle peak learning rate of AdamW (paper: 1.5e-4).")
    weight_decay: float = Field(1e-2, ge=0, description="AdamW weight decay of the weight matrices.")
    temperature: float = Field(0.125, gt=0, description="Soft-CLIP temperature.")
    mse_mult: float = Field(
        30.0, ge=0, description="Weight of the MSE on normalised embeddings (paper: 1e4 for 257x768 tokens)."
    )
    text_mult: float = Field(1.0, ge=0, description="Weight of the text-token loss.")
    rec_mult: float = Field(1.0, ge=0, description="Weight of the voxel reconstruction loss (paper: 1).")
    cyc_mult: float = Field(1.0, ge=0, description="Weight of the cycle loss (paper: 1).")
    seed: int = Field(0, ge=0, description="Seed of initialisation, batches and dropout.")
    device: str = runtime_field("cpu", "Torch device (not part of the cache key).")


def _training_config(params):
    from ._training import TrainingConfig

    keys = (
        "n_epochs",
        "batch_size",
        "max_lr",
        "weight_decay",
        "temperature",
        "mse_mult",
        "text_mult",
        "rec_mult",
        "cyc_mult",
        "seed",
    )
    return TrainingConfig(**{k: getattr(params, k) for k in keys})


def _load(inputs):
    from ...datasets.kinds import StimulusResponses

    exp = StimulusResponses.load(inputs["experiment"])
    targets = inputs["targets"]
    image = targets.load("image")
    text = targets.load("text")
    return exp, image, (text if text.size else None)


def _scores(model, exp, image, subjects, device):
    from ..metrics import two_way_identification
    from ._training import predict_embeddings

    rows = []
    for name in subjects:
        ids, betas = exp.subjects[name].mean_betas("test")
        pred = predict_embeddings(model, betas, name, device=device)["image"]
        rows.append({"subject": name, "two_way": two_way_identification(image[ids], pred), "n_test": len(ids)})
    return rows


def _write_common(out_dir, model, history, rows):
    from ...pipeline import save_json, save_table

    model.save_pretrained(out_dir / "model")
    save_table(out_dir / "history.tsv", history)
    save_json(
        out_dir / "scores.json",
        {
            "two_way": {r["subject"]: r["two_way"] for r in rows},
            "mean_two_way": sum(r["two_way"] for r in rows) / len(rows),
            "rows": rows,
        },
    )


_MODEL_OUT = Output("model/", "MindBridge weights: model.safetensors + config.json.", kind="mindbridge_model")
_HISTORY_OUT = Output("history.tsv", "Per-epoch mean of each loss term.")
_SCORES_OUT = Output("scores.json", "2-way identification of test images in target-embedding space per subject.")


@register_stage
class MindBridgeTargets(Stage):
    """Token-level targets for MindBridge: image tokens (EfficientNet-Lite0 map or a generator's embedding), text.

    Without a ``generator`` input the image tokens are a global + spatial tokens
    of an ImageNet EfficientNet-Lite0 feature map; with one they are that
    generator's conditioning embedding, so that predictions can feed it.
    """

    name = "mindbridge_targets"
    version = 1
    Params = TargetParams
    libraries = ("numpy", "torch", "timm")
    inputs = {"experiment": _EXPERIMENT, "generator": _GENERATOR}
    outputs = {
        "image": Output("image_tokens.npy", "(n_images, n_tokens, dim) float32 image tokens."),
        "embedding_targets": Output(
            "./", "The files above as an embedding_targets artifact.", kind="embedding_targets"
        ),
        "text": Output("text_tokens.npy", "(n_images, text_tokens, text_dim) float32 text tokens (empty if none)."),
        "info": Output("targets.json", "Source of the image tokens and shapes."),
    }

    def run(self, params, inputs, out_dir):
        import numpy as np

        from ...datasets.kinds import StimulusResponses
        from ...pipeline import save_array, save_json
        from ._generation import generator_targets
        from ._targets import image_token_targets, text_token_targets

        exp = StimulusResponses.load(inputs["experiment"])
        if "generator" in inputs:
            image = generator_targets(
                _load_generator(inputs["generator"].path / "generator", params.device), exp.stimuli
            )
            source = "generator"
        else:
            image = image_token_targets(exp.stimuli, params.image_size, params.block)
            source = "efficientnet_lite0"
        save_array(out_dir / "image_tokens.npy", image)
        if params.text_tokens > 0:
            if exp.captions is not None:  # NSD / a user's captions
                names = exp.captions
            elif exp.category_names and (np.asarray(exp.categories) >= 0).all():
                names = [exp.category_names[c] for c in exp.categories]
            else:
                raise bad_value("text_tokens", "0 for stimuli without captions or category labels", params.text_tokens)
            text = text_token_targets(names, params.text_tokens, params.text_dim, params.seed)
        else:
            text = np.zeros((0, 0, 0), dtype=np.float32)
        save_array(out_dir / "text_tokens.npy", text)
        save_json(
            out_dir / "targets.json",
            {"image_source": source, "image_shape": list(image.shape[1:]), "text_shape": list(text.shape[1:])},
        )


class TrainParams(_ArchParams, _OptParams):
    subjects: list[str] | None = Field(None, description="Training subjects (default: all but 'exclude').")
    exclude: list[str] = Field(default_factory=list, description="Subjects left out (e.g. the one to reset-tune).")


@register_stage
class MindBridgeTrain(Stage):
    """MindBridge trained on several subjects at once (one subject: a subject-specific decoder)."""

    name = "mindbridge_train"
    version = 1
    Params = TrainParams
    libraries = _LIBS
    inputs = {"experiment": _EXPERIMENT, "targets": _TARGETS}
    outputs = {"model": _MODEL_OUT, "history": _HISTORY_OUT, "scores": _SCORES_OUT}

    @classmethod
    def report(cls, artifact):
        from ._report import training_section

        return training_section(artifact, "MindBridge multi-subject training")

    def run(self, params, inputs, out_dir):
        import torch

        from ...pipeline import check
        from ._model import MindBridgeModel
        from ._training import train_mindbridge

        exp, image, text = _load(inputs)
        subjects = params.subjects or [s for s in exp.subjects if s not in params.exclude]
        for s in subjects:
            check(s in exp.subjects, "subjects", f"names among {list(exp.subjects)}", s)
        torch.manual_seed(params.seed)
        model = MindBridgeModel(
            {s: exp.subjects[s].betas_train.shape[1] for s in subjects},
            image.shape[1],
            image.shape[2],
            0 if text is None else text.shape[1],
            0 if text is None else text.shape[2],
            **{k: getattr(params, k) for k in _ArchParams.model_fields},
        )
        data = {s: (exp.subjects[s].betas_train, exp.subjects[s].trial_image_ids_train) for s in subjects}
        history = train_mindbridge(model, data, image, text, _training_config(params), device=params.device)
        _write_common(out_dir, model, history, _scores(model, exp, image, subjects, params.device))


class ResetParams(_OptParams):
    subject: str = Field(description="New subject to adapt to (absent from the trained model's sources).")
    data_fraction: float = Field(0.1, gt=0, le=1, description="Fraction of the new subject's training trials used.")
    n_epochs: int = Field(200, gt=0, description="Passes over the new subject's (few) trials (paper: 200).")


@register_stage
class MindBridgeResetTune(Stage):
    """Reset-tuning: adapt a trained MindBridge to a new subject with little data (translator frozen)."""

    name = "mindbridge_reset_tune"
    version = 1
    Params = ResetParams
    libraries = _LIBS
    inputs = {
        "experiment": _EXPERIMENT,
        "targets": _TARGETS,
        "model": Input("Trained multi-subject MindBridge.", kinds=("mindbridge_model",)),
    }
    outputs = {
        "model": _MODEL_OUT,
        "history": _HISTORY_OUT,
        "scores": _SCORES_OUT,
        "trials": Output("trials.npy", "(n_used,) int64 indices of the new subject's training trials used."),
    }

    @classmethod
    def report(cls, artifact):
        from ._report import training_section

        return training_section(artifact, "MindBridge reset-tuning to a new subject")

    def run(self, params, inputs, out_dir):
        import numpy as np

        from ...pipeline import check, save_array
        from ._model import MindBridgeModel
        from ._training import reset_tune

        exp, image, text = _load(inputs)
        check(params.subject in exp.subjects, "subject", f"one of {list(exp.subjects)}", params.subject)
        model = MindBridgeModel.from_pretrained(inputs["model"].file("model"), device=params.device)
        sources = [s for s in model.subjects if s != params.subject]
        sr = exp.subjects[params.subject]
        used = subsample_trials(len(sr.trial_image_ids_train), params.data_fraction, params.seed)
        data = {s: (exp.subjects[s].betas_train, exp.subjects[s].trial_image_ids_train) for s in sources}
        history = reset_tune(
            model,
            params.subject,
            sr.betas_train[used],
            sr.trial_image_ids_train[used],
            data,
            image,
            text,
            _training_config(params),
            device=params.device,
        )
        save_array(out_dir / "trials.npy", used.astype(np.int64))
        _write_common(out_dir, model, history, _scores(model, exp, image, [params.subject], params.device))


def subsample_trials(n_trials: int, fraction: float, seed: int):
    """Sorted random subset of ``ceil(fraction * n_trials)`` (at least 2) trial indices."""
    import math

    import numpy as np

    n = max(2, math.ceil(fraction * n_trials))
    return np.sort(np.random.default_rng(seed).choice(n_trials, size=min(n, n_trials), replace=False))


class ReconstructParams(StageParams):
    subjects: list[str] | None = Field(
        None, description="Subjects to reconstruct the shared test images of (default: every subject of the model)."
    )
    n_samples: int = Field(
        4, ge=1, description="Best-of-N candidates per image, ranked by the PREDICTED embedding only."
    )
    guidance_scale: float = Field(3.0, ge=1, description="Classifier-free guidance scale.")
    num_inference_steps: int = Field(20, gt=0, description="Denoising steps.")
    use_text: bool = Field(False, description="Pass the predicted text tokens to generators that take text embeddings.")
    seed: int = Field(0, ge=0, description="Seed of the generation noise (candidate k uses seed + k).")
    device: str = runtime_field("cpu", "Torch device (not part of the cache key).")


@register_stage
class MindBridgeReconstruct(Stage):
    """Reconstruct the shared test images from MindBridge's predicted embeddings with the decoders' generator."""

    name = "mindbridge_reconstruct"
    version = 1
    Params = ReconstructParams
    libraries = ("numpy", "torch", "diffusers")
    inputs = {
        "experiment": _EXPERIMENT,
        "targets": _TARGETS,
        "model": Input("Trained or reset-tuned MindBridge.", kinds=("mindbridge_model",)),
        "generator": Input(
            "Brain-Diffuser fit whose generator the targets were computed with.", kinds=("brain_diffuser",)
        ),
    }
    outputs = {
        "reconstructions": Output(
            "reconstructions.npz",
            kind="reconstructions",
            description="image_ids (n,), true (n, H, W, 3) uint8, "
            "<subject>_final (n, H, W, 3) uint8, <subject>_chosen (n,) best-of-N index.",
        ),
        "scores": Output(
            "scores.json",
            "Per subject: 2-way identification of the predicted embeddings, and "
            "PixCorr / SSIM / 2-way EfficientNet-Lite0 of the reconstructions.",
        ),
    }

    report_impl = "._report:reconstruction_section"

    def run(self, params, inputs, out_dir):
        import numpy as np

        from ...pipeline import check, load_json, save_arrays, save_json
        from .._images import to_uint8
        from ..metrics import evaluate_reconstructions, two_way_identification
        from ._generation import reconstruct_images
        from ._model import MindBridgeModel
        from ._training import predict_embeddings

        exp, image, _ = _load(inputs)
        info = load_json(inputs["targets"].file("info"))
        check(
            info["image_source"] == "generator",
            "targets",
            "image tokens computed from the generator (a mindbridge_targets step with a 'generator' input)",
            info["image_source"],
        )
        gen = _load_generator(inputs["generator"].path / "generator", params.device)
        model = MindBridgeModel.from_pretrained(inputs["model"].file("model"), device=params.device)
        subjects = params.subjects or model.subjects
        arrays, scores = {}, {}
        for name in subjects:
            check(
                name in model.subjects and name in exp.subjects,
                "subjects",
                f"subjects of the model {model.subjects}",
                name,
            )
            ids, betas = exp.subjects[name].mean_betas("test")
            pred = predict_embeddings(model, betas, name, device=params.device)
            out = reconstruct_images(
                gen,
                pred["image"],
                pred.get("text") if params.use_text else None,
                n_samples=params.n_samples,
                seed=params.seed,
                guidance_scale=params.guidance_scale,
                num_inference_steps=params.num_inference_steps,
            )
            arrays["image_ids"], arrays["true"] = ids, to_uint8(exp.stimuli[ids])
            arrays[f"{name}_final"], arrays[f"{name}_chosen"] = to_uint8(out["images"]), out["chosen"]
            metrics = evaluate_reconstructions(
                exp.stimuli[ids], out["images"], features=["effnet_lite0"], device=params.device
            )
            scores[name] = {
                "two_way_embedding": two_way_identification(image[ids], pred["image"]),
                **{k: float(v) for k, v in metrics.items() if np.isscalar(v)},
            }
        save_arrays(out_dir / "reconstructions.npz", **arrays)
        save_json(out_dir / "scores.json", scores)
