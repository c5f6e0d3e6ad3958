"""Cross-subject decoding with MindBridge on the simulated visual experiment.

(a) One MindBridge model trained on all training subjects vs one decoder per
subject (same architecture, trained on that subject alone), scored by 2-way
identification of the shared test images in the target-embedding space
(EfficientNet-Lite0 image tokens).
(b) A new subject with 10% of its training trials: reset-tuning the
multi-subject model (new embedder/builder, translator frozen) vs a
subject-specific decoder trained from scratch on the same 10%, with the same
number of optimisation steps.

Subjects have different voxel counts. Prints one JSON object as its last line
(``config`` records sizes, epochs, seed, torch threads). Torch uses
``OMP_NUM_THREADS`` threads (default 2). Full run: 400 training images per
subject, 50 test images, 40 epochs, 150 reset-tuning epochs (about 4 min on a
shared 2-core machine with one thread).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, parse_args, peak_rss_mb  # noqa: E402


def _extra(p):
    p.add_argument("--seed", type=int, default=0, help="Seed of the simulation and the models.")
    p.add_argument("--fraction", type=float, default=0.1, help="Fraction of the new subject's training trials.")
    p.add_argument("--train-images", type=int, default=400, help="Training images per subject (full run).")
    p.add_argument("--test-images", type=int, default=50, help="Shared test images (full run).")
    p.add_argument("--epochs", type=int, default=40, help="Multi-subject / per-subject training epochs (full run).")
    p.add_argument(
        "--tune-epochs",
        type=int,
        default=150,
        help="Reset-tuning / subject-specific epochs over the new subject's few trials (full run).",
    )


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, _extra)
    import numpy as np
    import torch

    from neurocodec.datasets.simulate import simulate_visual_experiment
    from neurocodec.decoders.metrics import two_way_identification
    from neurocodec.decoders.mindbridge import (
        MODEL_PRESETS,
        TRAINING_PRESETS,
        MindBridgeModel,
        image_token_targets,
        predict_embeddings,
        reset_tune,
        text_token_targets,
        train_mindbridge,
    )
    from neurocodec.decoders.mindbridge.stages import subsample_trials

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    quick = args.quick
    n_voxels = [300, 350, 400, 450, 500]
    sizes = (
        dict(n_train_images=40, n_test_images=12)
        if quick
        else dict(n_train_images=args.train_images, n_test_images=args.test_images)
    )
    t0 = time.perf_counter()
    exp = simulate_visual_experiment(n_subjects=len(n_voxels), n_voxels=n_voxels, seed=args.seed, **sizes)
    image = image_token_targets(exp.stimuli, image_size=32 if quick else 64)
    text = text_token_targets([exp.category_names[c] for c in exp.categories], seed=args.seed)
    t_data = time.perf_counter() - t0
    names = list(exp.subjects)
    sources, new = names[:-1], names[-1]
    arch = dict(MODEL_PRESETS["cpu"])
    cfg = TRAINING_PRESETS["cpu"].with_(seed=args.seed, n_epochs=1 if quick else args.epochs)
    tune_cfg = cfg.with_(n_epochs=2 if quick else args.tune_epochs)
    train = {s: (exp.subjects[s].betas_train, exp.subjects[s].trial_image_ids_train) for s in names}

    def build(subjects):
        torch.manual_seed(args.seed)
        return MindBridgeModel(subjects, image.shape[1], image.shape[2], text.shape[1], text.shape[2], **arch)

    def score(model, s):
        ids, betas = exp.subjects[s].mean_betas("test")
        return two_way_identification(image[ids], predict_embeddings(model, betas, s)["image"])

    # (a) one model over all training subjects vs per-subject decoders
    t0 = time.perf_counter()
    bridge = build({s: train[s][0].shape[1] for s in sources})
    train_mindbridge(bridge, {s: train[s] for s in sources}, image, text, cfg)
    t_multi = time.perf_counter() - t0
    multi = {s: score(bridge, s) for s in sources}
    t0 = time.perf_counter()
    single = {}
    for s in sources:
        model = build({s: train[s][0].shape[1]})
        train_mindbridge(model, {s: train[s]}, image, text, cfg.with_(rec_mult=0.0))
        single[s] = score(model, s)
    t_single = time.perf_counter() - t0

    # (b) new subject with a fraction of its training data
    voxels, ids = train[new]
    used = subsample_trials(len(ids), args.fraction, args.seed)
    t0 = time.perf_counter()
    reset_tune(bridge, new, voxels[used], ids[used], {s: train[s] for s in sources}, image, text, tune_cfg)
    t_reset = time.perf_counter() - t0
    reset_score = score(bridge, new)
    t0 = time.perf_counter()
    specific = build({new: voxels.shape[1]})
    train_mindbridge(specific, {new: (voxels[used], ids[used])}, image, text, tune_cfg.with_(rec_mult=0.0))
    t_specific = time.perf_counter() - t0
    specific_score = score(specific, new)

    result = {
        "multi_subject_two_way": {**multi, "mean": float(np.mean(list(multi.values())))},
        "per_subject_two_way": {**single, "mean": float(np.mean(list(single.values())))},
        "reset_tuning_two_way": reset_score,
        "subject_specific_two_way": specific_score,
        "reset_tuning_wins": bool(reset_score > specific_score),
        "new_subject": new,
        "new_subject_trials": int(len(used)),
        "n_voxels": dict(zip(names, n_voxels)),
        "n_test_images": int(len(exp.test_image_ids)),
        "target_shape": list(image.shape[1:]),
        "epochs": {"multi": cfg.n_epochs, "reset_tune": tune_cfg.n_epochs},
        "config": {
            **sizes,
            "fraction": args.fraction,
            "seed": args.seed,
            "torch_threads": torch.get_num_threads(),
            "training": cfg.to_dict(),
            "model": arch,
        },
        "seconds": {
            "data_and_targets": t_data,
            "multi_subject": t_multi,
            "per_subject_total": t_single,
            "reset_tune": t_reset,
            "subject_specific": t_specific,
        },
        "peak_rss_mb": peak_rss_mb(),
        "quick": quick,
    }
    return emit("cross_subject", result, quick=quick)


if __name__ == "__main__":
    main()
