"""Brain-Diffuser reconstruction of held-out simulated stimuli with the offline embedded generator.

Simulates an NSD-like visual experiment, trains the small AutoencoderKL + conditional
UNet on the training stimuli, fits the two ridge stages on one subject's repeat-averaged
training betas, reconstructs the shared test images from their repeat-averaged betas and
scores stage 1 and final images (PixCorr, SSIM, 2-way identification on pixels, Gabor
pyramid and EfficientNet-Lite0 features). Writes results/reconstruction_grid.png.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _common import RESULTS, emit, parse_args, peak_rss_mb  # noqa: E402

# The recipe: stage-1 target, strength and best-of-N ranking weight are chosen by the decoder on two disjoint
# validation splits (10% each) of the TRAINING images; the test images never enter a choice. The criterion,
# fixed before any test figure of this recipe was seen, is the smaller of the pixel and Gabor 2-way
# accuracies (the target asks for both). Best-of-4 candidates are ranked by brain-derived signals only:
# (1 - w) * agreement with the predicted embedding + w * agreement with the stage-1 image, w validated.
# Generator: conditioned on 1 pooled + 4x4 spatial embedding tokens (spatial_grid=4, as Brain-Diffuser's CLIP class +
# patch tokens); adopted 2026-11-22 from development seeds 1-2 (final Gabor 2-way 0.817 -> 0.875 on seed 1 at the same
# settings), then checked on seeds never run before. The pooled-only generator: --gen '{"spatial_grid": 0}'.
# Measured with this recipe (pixel / Gabor 2-way, 50 test images; one generator trained per seed):
#   dev seeds   0: 0.856 / 0.903   1: 0.924 / 0.878   2: 0.803 / 0.860
#   fresh seeds 4: 0.900 / 0.841   5: 0.895 / 0.914   6: 0.858 / 0.818   7: 0.920 / 0.895
#   mean of the fresh seeds 0.893 / 0.867 (all 7: 0.879 / 0.873); 4 of 7 single experiments clear 0.85 on both.
#   Pooled tokens on the same seed: 4: 0.891 / 0.828, 1: 0.926 / 0.839, 2: 0.838 / 0.792.
# Design: as in NSD, every image is shown 3 times (training images too; Brain-Diffuser fits on repeat-averaged
# betas). Until 2026-11-22 the training images were shown once, which made the validation split noisier than the
# test condition (test betas average 3 showings) and biased the validated choices; set n_repeats_train=1 for that.
FULL = dict(
    sim=dict(n_subjects=1, image_size=32, n_train_images=800, n_test_images=50, snr=1.0, n_repeats_train=3, seed=0),
    gen=dict(
        image_size=32,
        vae_channels=(16, 32, 64),
        unet_channels=(32, 64),
        embed_dim=32,
        spatial_grid=4,
        vae_steps=1000,
        unet_steps=2500,
        batch_size=64,
    ),
    rec=dict(
        low_level=["latent", "pixels"],
        strength=[0.2, 0.35, 0.5],
        guidance_scale=[3.0],
        num_inference_steps=50,
        n_samples=4,
        rank_weight=[0.0, 0.5, 0.75, 1.0],
        validation_fraction=0.1,
        validation_splits=2,
        validation_criterion="min",
    ),
)
QUICK = dict(
    sim=dict(n_subjects=1, n_voxels=[80], image_size=16, n_train_images=48, n_test_images=10, seed=0),
    gen=dict(
        image_size=16,
        vae_channels=(8, 16),
        unet_channels=(16, 32),
        embed_dim=8,
        embedding="pixels",
        vae_steps=3,
        unet_steps=3,
        batch_size=16,
    ),
    rec=dict(
        strength=[0.5, 0.75],
        guidance_scale=[3.0],
        num_inference_steps=3,
        n_samples=2,
        rank_weight=[0.0, 0.75],
        validation_fraction=0.25,
        validation_criterion="min",
    ),
)


def _generator(cls, params, images, directory):
    """Train the generator, or load the one saved in ``directory`` when its recipe matches.

    Returns ``(generator, train_seconds, train_cpu_seconds, reused)``; for a reused generator the
    times are those measured when it was trained (kept in ``benchmark_training.json``).
    """
    import numpy as np

    recipe = json.loads(json.dumps(params))
    meta_path = Path(directory) / "benchmark_training.json" if directory else None
    if meta_path is not None and meta_path.is_file():
        meta = json.loads(meta_path.read_text())
        if meta["recipe"] != recipe:
            raise SystemExit(
                f"--generator-dir {directory} holds a generator trained with {meta['recipe']}, not {recipe}."
            )
        gen = cls.from_pretrained(directory)
        gen.final_losses_ = meta.get("final_losses", {"vae": None, "unet": None})  # not recorded by older runs
        return gen, meta["seconds"], meta["cpu_seconds"], True
    t0, c0 = time.perf_counter(), time.process_time()
    gen = cls(**params).fit(images)
    t_gen, c_gen = time.perf_counter() - t0, time.process_time() - c0
    gen.final_losses_ = {
        "vae": float(np.mean(gen.losses_["vae"][-20:])),
        "unet": float(np.mean(gen.losses_["unet"][-50:])),
    }
    if meta_path is not None:
        gen.save_pretrained(directory)
        meta_path.write_text(
            json.dumps({"recipe": recipe, "seconds": t_gen, "cpu_seconds": c_gen, "final_losses": gen.final_losses_})
            + "\n"
        )
    return gen, t_gen, c_gen, False


def main(argv=None):
    args = parse_args(
        __doc__.splitlines()[0],
        argv,
        extra=lambda p: (
            p.add_argument("--threads", type=int, default=0, help="Torch CPU threads (0: default)."),
            p.add_argument(
                "--seed",
                type=int,
                default=0,
                help="Seed of the simulation and the generator (results of a "
                "seed other than 0 go to reconstruction_seedN.json).",
            ),
            p.add_argument(
                "--generator-dir",
                default=None,
                help="Folder of a trained generator: loaded with from_pretrained "
                "when it holds one trained with this run's recipe, else trained here and saved there (the JSON "
                "records the reuse and the original training time).",
            ),
            p.add_argument(
                "--rec",
                default=None,
                help="JSON object overriding decoder options of the recipe (experiments; recorded in the JSON).",
            ),
            p.add_argument(
                "--gen",
                default=None,
                help="JSON object overriding generator options of the recipe (experiments; recorded in the JSON).",
            ),
            p.add_argument("--tag", default="", help="Suffix of the result file names (experiments)."),
            p.add_argument(
                "--generator-only",
                action="store_true",
                help="Train (or check) the generator of --generator-dir and stop before any decoding or evaluation.",
            ),
        ),
    )
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from neurocodec.datasets.simulate import simulate_visual_experiment
    from neurocodec.decoders import to_uint8
    from neurocodec.decoders.brain_diffuser import BrainDiffuser, save_grid
    from neurocodec.decoders.generation import EmbeddedLatentDiffusion
    from neurocodec.decoders.metrics import evaluate_reconstructions

    cfg = QUICK if args.quick else FULL
    cfg = dict(
        cfg,
        sim=dict(cfg["sim"], seed=args.seed),
        gen=dict(cfg["gen"], seed=args.seed, **json.loads(args.gen or "{}")),
        rec=dict(cfg["rec"], **json.loads(args.rec or "{}")),
    )
    name = ("reconstruction" if args.seed == 0 else f"reconstruction_seed{args.seed}") + (
        f"_{args.tag}" if args.tag else ""
    )
    t0 = time.perf_counter()
    exp = simulate_visual_experiment(**cfg["sim"])
    sub = exp.subjects["sub-01"]
    t_sim = time.perf_counter() - t0

    gen, t_gen, c_gen, reused = _generator(
        EmbeddedLatentDiffusion, cfg["gen"], exp.stimuli[exp.train_image_ids], args.generator_dir
    )
    if args.generator_only:
        print(json.dumps({"generator_dir": args.generator_dir, "seconds_train_generator": t_gen, "reused": reused}))
        return

    t0 = time.perf_counter()
    ids, betas = sub.mean_betas("train")
    dec = BrainDiffuser(gen, **cfg["rec"]).fit(betas, exp.stimuli[ids])
    t_ridge = time.perf_counter() - t0

    t0 = time.perf_counter()
    test_ids, test_betas = sub.mean_betas("test")
    rec = dec.reconstruct(test_betas)
    t_rec = time.perf_counter() - t0

    t0 = time.perf_counter()
    true = exp.stimuli[test_ids]
    features = ["pixels", "gabor"] if args.quick else ["pixels", "gabor", "effnet_lite0"]
    sizes = {"effnet_lite0": 64} if args.quick else {}
    scores = {
        stage: evaluate_reconstructions(true, rec[stage], features=features, sizes=sizes)
        for stage in ("stage1", "final")
    }
    t_eval = time.perf_counter() - t0
    save_grid(
        RESULTS / (f"{name}_grid.quick.png" if args.quick else f"{name}_grid.png"),
        to_uint8(true),
        [("sub-01", to_uint8(rec["stage1"]), to_uint8(rec["final"]))],
        n_images=16,
    )

    final, s1 = scores["final"], scores["stage1"]
    result = {
        "two_way_pixel": final["two_way_pixels"],
        "two_way_gabor": final["two_way_gabor"],
        "pixcorr": final["pixcorr"],
        "ssim": final["ssim"],
        "stage1_two_way_pixel": s1["two_way_pixels"],
        "stage1_two_way_gabor": s1["two_way_gabor"],
        "stage1_pixcorr": s1["pixcorr"],
        "stage1_ssim": s1["ssim"],
        "n_train_images": int(len(ids)),
        "n_test_images": int(len(test_ids)),
        "n_voxels": int(betas.shape[1]),
        "vae_final_loss": gen.final_losses_["vae"],
        "unet_final_loss": gen.final_losses_["unet"],
        "seconds_simulate": t_sim,
        "seconds_train_generator": t_gen,
        "generator_reused": reused,
        "cpu_seconds_train_generator": c_gen,
        "seconds_fit_decoder": t_ridge,
        "seconds_reconstruct": t_rec,
        "seconds_evaluate": t_eval,
        "peak_rss_mb": peak_rss_mb(),
        "torch_threads": torch.get_num_threads(),
        "quick": bool(args.quick),
        "selected_low_level": dec.low_level_,
        "selected_strength": dec.strength_,
        "selected_guidance_scale": dec.guidance_scale_,
        "selected_rank_weight": dec.rank_weight_,
        "validation": dec.validation_,
        "selected_validation": next(
            (
                r
                for r in dec.validation_
                if (r["low_level"], r["strength"], r["guidance_scale"], r["rank_weight"])
                == (dec.low_level_, dec.strength_, dec.guidance_scale_, dec.rank_weight_)
            ),
            None,
        ),
        "recipe": {
            k: {n: (list(v) if isinstance(v, tuple) else v) for n, v in part.items()} for k, part in cfg.items()
        },
    }
    if "two_way_effnet_lite0" in final:
        result["two_way_effnet_lite0"] = final["two_way_effnet_lite0"]
        result["stage1_two_way_effnet_lite0"] = s1["two_way_effnet_lite0"]
    result["seed"] = args.seed
    emit(name, result, quick=args.quick)


if __name__ == "__main__":
    main()
