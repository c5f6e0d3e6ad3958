"""BraInCoRL test-time scaling on a held-out simulated subject: in-context encoder vs RidgeCV.

Simulates an NSD-like visual experiment (5 subjects), embeds the stimuli with the
weights-free Gabor pyramid (PCA, unit-normed), meta-trains the small BraInCoRL
preset on 4 subjects on the CPU, then builds the held-out subject's voxelwise
encoder from 10..1000 context images (disjoint draws) and compares its explained
variance on the shared test images with a RidgeCV (per-voxel alpha, 5-fold CV over
1e-3..1e5) fitted on the same context images.

Keys: context_sizes, incontext_ev, ridge_ev (mean voxelwise EV over voxels and
draws), the same for r and per voxel kind, train_time_s, ...
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, parse_args, peak_rss_mb  # noqa: E402


def _extra(p):
    p.add_argument("--n-steps", type=int, default=None, help="Meta-training steps.")
    p.add_argument("--threads", type=int, default=2, help="Torch threads.")
    p.add_argument("--device", default="cpu", help="Torch device.")


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, _extra)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from neurocodec.datasets.simulate import simulate_visual_experiment
    from neurocodec.encoders.features import GaborPyramid
    from neurocodec.encoders.incontext import (
        BraInCoRL,
        BraInCoRLConfig,
        InContextEncoder,
        MetaTrainingSubject,
        apply_projection,
        context_scaling,
        fit_projection,
        metatrain,
    )

    torch.set_num_threads(args.threads)
    quick = args.quick
    if quick:
        sim = dict(n_subjects=3, n_voxels=60, n_train_images=160, n_test_images=30)
        sizes, n_draws, n_comp = [10, 30], 2, 16
        train_kw = dict(
            n_steps=args.n_steps or 20, batch_voxels=16, min_context=10, max_context=40, n_query=40, val_every=10
        )
        arch = dict(width=32, n_layers=1, n_heads=2, ffn_dim=32, mlp_hidden=32)
    else:
        sim = dict(n_subjects=5, n_voxels=[300, 350, 400, 450, 400], n_train_images=1300, n_test_images=100)
        sizes, n_draws, n_comp = [10, 30, 100, 300, 1000], 3, 64
        train_kw = dict(
            n_steps=args.n_steps or 600, batch_voxels=48, min_context=10, max_context=300, n_query=100, val_every=100
        )
        arch = {}
    t0 = time.perf_counter()
    exp = simulate_visual_experiment(image_size=32, n_repeats=3, snr=1.0, seed=0, **sim)
    t_sim = time.perf_counter() - t0
    t0 = time.perf_counter()
    raw = GaborPyramid(spatial_frequencies=(1.0, 2.0, 4.0, 8.0), n_orientations=8).fit_transform(exp.stimuli)
    emb = apply_projection(raw, fit_projection(raw, n_comp, center=True))
    t_feat = time.perf_counter() - t0

    names = sorted(exp.subjects)
    train_names, heldout = names[:-1], names[-1]
    subjects = [
        MetaTrainingSubject(emb[ids], b, s) for s in train_names for ids, b in [exp.subjects[s].mean_betas("train")]
    ]
    torch.manual_seed(0)
    model = BraInCoRL(BraInCoRLConfig.from_preset("small", emb.shape[1], **arch))
    hist = metatrain(
        model,
        subjects,
        lr=1e-3,
        weight_decay=0.1,
        device=args.device,
        seed=0,
        callback=None if quick else (lambda r: print(r, flush=True)),
        **train_kw,
    )

    sr = exp.subjects[heldout]
    ids_tr, y_tr = sr.mean_betas("train")
    ids_te, y_te = sr.mean_betas("test")
    t0 = time.perf_counter()
    res = context_scaling(
        InContextEncoder(model, device=args.device),
        emb[ids_tr],
        y_tr,
        emb[ids_te],
        y_te,
        context_sizes=sizes,
        n_draws=n_draws,
        cv=5,
        seed=0,
    )
    t_eval = time.perf_counter() - t0
    kinds = np.asarray(sr.voxel_kind).astype(str)

    def mean(method, metric, mask=None):
        a = res[metric][method]
        a = a if mask is None else a[:, :, mask]
        return [round(float(np.nanmean(a[i])), 4) for i in range(len(sizes))]

    out = dict(
        context_sizes=sizes,
        n_draws=res["n_draws"],
        incontext_ev=mean("incontext", "ev"),
        ridge_ev=mean("ridge", "ev"),
        incontext_r=mean("incontext", "r"),
        ridge_r=mean("ridge", "r"),
    )
    for k in np.unique(kinds):
        out[f"incontext_ev_{k}"] = mean("incontext", "ev", kinds == k)
        out[f"ridge_ev_{k}"] = mean("ridge", "ev", kinds == k)
    ceiling = float(np.mean(sr.noise_ceiling**2))
    out.update(
        heldout_subject=heldout,
        train_subjects=train_names,
        n_voxels_heldout=int(len(kinds)),
        mean_squared_noise_ceiling=round(ceiling, 4),
        embedding=f"gabor pyramid -> PCA {emb.shape[1]}",
        n_parameters=hist["n_parameters"],
        n_steps=train_kw["n_steps"],
        best_step=hist["best_step"],
        best_val_ev=round(max(r["val_ev"] for r in hist["records"]), 4),
        train_time_s=round(hist["train_time_s"], 1),
        simulate_time_s=round(t_sim, 1),
        features_time_s=round(t_feat, 1),
        eval_time_s=round(t_eval, 1),
        device=args.device,
        torch_threads=args.threads,
        peak_rss_mb=round(peak_rss_mb(), 1),
    )
    emit("incontext_scaling", out, quick=quick)
    return out


if __name__ == "__main__":
    main()
