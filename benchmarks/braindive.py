"""BrainDiVE on simulated visual fMRI: do the synthesized images drive the TRUE responses of the targeted voxels?

Runs configs/examples/braindive.yaml through the engine (simulation, EfficientNet-Lite0 and Gabor encoders, the
embedded generator, brain-guided synthesis for every category-selective voxel group and four pRF groups, ROI-optimal
reconstructions of the same targets), then scores the images with the simulator's own forward model
(``noiseless_responses``): the true mean response of each group relative to the top 1 % of the natural training
stimuli, the encoder-predicted gain beside it, the share of synthesized images that a category classifier
(logistic regression on Gabor-pyramid + colour-thumbnail features, trained on the training stimuli; independent of
the EfficientNet encoder that steered the synthesis) assigns to the preferred category, and for pRF groups the
distance between the contrast-energy centre of the images and the group's true pRF centre, against unguided samples
of the same seeds. The simulator's category feature is a label, so a synthesized image's category input is the
classifier's posterior; the true gain of a category group is therefore at most 1 by construction.
"""

from __future__ import annotations

import copy
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _common import emit, parse_args, peak_rss_mb  # noqa: E402

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "examples" / "braindive.yaml"
CENTRE_THRESHOLD = 0.5  # contrast-energy centre: centroid of the blurred energy map above this share of its maximum


def quick_config(cfg):
    """Seconds-long version of the config (tiny images, generator and step counts; 2 targets per stage)."""
    cfg = copy.deepcopy(cfg)
    s = cfg["stages"]
    s["sim_visual"]["params"].update(
        n_voxels=[150], image_size=16, n_train_images=100, n_test_images=10, n_repeats_train=1
    )
    s["effnet_features"]["params"].update(image_size=32)
    s["gabor_features"]["params"].update(spatial_frequencies=[1.0, 2.0, 4.0])
    s["generator"]["params"].update(
        image_size=16,
        vae_channels=[8, 16],
        unet_channels=[16, 32],
        embed_dim=8,
        embedding="pixels",
        vae_steps=3,
        unet_steps=3,
        batch_size=16,
        num_inference_steps=3,
    )
    for step in ("preferred_category", "preferred_prf", "roi_category", "roi_prf"):
        s[step]["params"].update(n_images=2, num_inference_steps=3)
        s[step]["params"]["targets"] = s[step]["params"]["targets"][:2]
    return cfg


def with_seed(cfg, seed):
    """The config with another simulation and generator seed (a fresh experiment)."""
    cfg = copy.deepcopy(cfg)
    cfg["stages"]["sim_visual"]["params"]["seed"] = seed
    cfg["stages"]["generator"]["params"]["seed"] = seed
    return cfg


def generator_ceiling(generator_dir, exp, proba, n_images=8, steps=30):
    """Per category: share of the generator's samples, conditioned on the TRUE embeddings of training images of that
    category (no brain guidance), that the classifier assigns to it: what the generator can render at all."""

    from neurocodec.decoders.generation import EmbeddedLatentDiffusion

    gen = EmbeddedLatentDiffusion.from_pretrained(generator_dir)
    out = {}
    for c, name in enumerate(exp.category_names):
        ids = exp.train_image_ids[exp.categories[exp.train_image_ids] == c][:n_images]
        images = gen.generate(gen.embed_images(exp.stimuli[ids]), num_inference_steps=steps, guidance_scale=3.0, seed=0)
        out[name] = float((proba(images).argmax(1) == c).mean())
    return out


def classifier(exp):
    """Category classifier trained on the training stimuli; returns (predict_proba, test accuracy)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from neurocodec.encoders.features import GaborPyramid

    size = exp.stimuli.shape[1]
    gabor = GaborPyramid(
        spatial_frequencies=[f for f in (1.0, 2.0, 4.0, 8.0) if f < size / 2], n_orientations=4, bandwidth=3.0
    ).fit(exp.stimuli[exp.train_image_ids])

    def feats(images):
        images = np.asarray(images, np.float32)
        n, h = len(images), images.shape[1]
        thumb = images.reshape(n, 4, h // 4, 4, h // 4, 3).mean(axis=(2, 4)).reshape(n, -1)
        return np.hstack([gabor.transform(images), thumb, images.std(axis=(1, 2))])

    clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    clf.fit(feats(exp.stimuli[exp.train_image_ids]), exp.categories[exp.train_image_ids])
    acc = float((clf.predict(feats(exp.stimuli[exp.test_image_ids])) == exp.categories[exp.test_image_ids]).mean())
    return (lambda images: clf.predict_proba(feats(images))), acc


def energy_centres(images):
    """Contrast-energy centre ``(n, 2)`` (x, y in image widths) of each image."""
    import numpy as np
    from scipy.ndimage import gaussian_filter

    gray = np.asarray(images, np.float64) @ np.array([0.299, 0.587, 0.114])
    gray = gray - gray.mean(axis=(1, 2), keepdims=True)
    h, w = gray.shape[1:]
    energy = np.stack([gaussian_filter(g**2, sigma=max(1.0, w / 16)) for g in gray])
    energy = energy * (energy >= CENTRE_THRESHOLD * energy.max(axis=(1, 2), keepdims=True))
    yy, xx = np.meshgrid((np.arange(h) + 0.5) / h, (np.arange(w) + 0.5) / w, indexing="ij")
    tot = energy.sum(axis=(1, 2)) + 1e-12
    return np.stack([(energy * xx).sum(axis=(1, 2)) / tot, (energy * yy).sum(axis=(1, 2)) / tot], 1)


def true_group(exp, subject, images, proba, voxels):
    import numpy as np

    from neurocodec.datasets.simulate import noiseless_responses

    return noiseless_responses(exp, subject, images, proba(images))[:, voxels].mean(1).astype(np.float64)


def score(exp, subject, images, voxels, proba, natural_top, category=None, centre=None, baseline=None):
    """True gain vs the natural top set, classifier share, pRF centre errors of one image set."""
    import numpy as np

    images = np.asarray(images, np.float32) / 255.0
    row = {"true_gain_vs_top1pct": float(true_group(exp, subject, images, proba, voxels).mean() / natural_top)}
    if category is not None:
        row["classifier_share"] = float((proba(images).argmax(1) == category).mean())
    if centre is not None:
        row["prf_centre_error"] = float(np.hypot(*(energy_centres(images) - centre).T).mean())
        if baseline is not None:
            b = np.asarray(baseline, np.float32) / 255.0
            row["prf_centre_error_unguided"] = float(np.hypot(*(energy_centres(b) - centre).T).mean())
    return row


def main(argv=None):
    def extra(p):
        p.add_argument("--cache", default=None, help="Artifact store (default: a temporary folder).")
        p.add_argument("--seed", type=int, default=None, help="Simulation and generator seed (default: the config's).")

    args = parse_args(__doc__.splitlines()[0], argv, extra=extra)
    import numpy as np
    import torch

    torch.set_num_threads(1)
    from neurocodec.datasets.kinds import StimulusResponses
    from neurocodec.pipeline import ArtifactStore, load_arrays, load_json, read_yaml, run_pipeline

    cfg = read_yaml(CONFIG)
    if args.quick:
        cfg = quick_config(cfg)
    if args.seed is not None:
        cfg = with_seed(cfg, args.seed)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(args.cache or tmp)
        run = run_pipeline(cfg, cache=cache, show_progress=False, report=False)
        failed = [(r.step_id, r.error.strip().splitlines()[-1]) for r in run.results if r.status == "failed"]
        if failed:
            raise SystemExit(f"steps failed: {failed}")
        t_pipeline = time.perf_counter() - t0
        store = ArtifactStore(cache)
        art = {r.step_id: store.open(r.stage, r.key) for r in run.results}
        exp = StimulusResponses.load(art["sim_visual"])
        t1 = time.perf_counter()
        proba, clf_acc = classifier(exp)
        result = {"classifier_test_accuracy": clf_acc}
        names = list(exp.category_names)
        for step, out_key, kind in (
            ("preferred_category", "", "synth"),
            ("preferred_prf", "", "synth"),
            ("roi_category", "_final", "roi"),
            ("roi_prf", "_final", "roi"),
        ):
            a = art[step]
            summary, images = load_json(a.file("summary")), load_arrays(a.file("images"))
            subject, sub = summary["subject"], exp.subjects[summary["subject"]]
            table = sub.voxels
            for name, t in summary["targets"].items():
                voxels = np.asarray(t["voxels"])
                natural = sub.noiseless[exp.train_image_ids][:, voxels].mean(1)
                k = max(1, int(np.ceil(0.01 * len(natural))))
                natural_top = float(np.sort(natural)[::-1][:k].mean())
                cats = set(table["category"].iloc[voxels])
                category = names.index(cats.pop()) if step.endswith("category") and len(cats) == 1 else None
                centre = table[["x", "y"]].to_numpy(float)[voxels].mean(0) if step.endswith("prf") else None
                row = score(
                    exp,
                    subject,
                    images[name + out_key],
                    voxels,
                    proba,
                    natural_top,
                    category,
                    centre,
                    images.get(f"{name}_unguided"),
                )
                pred = t["predicted"]["synthesized" if kind == "synth" else "reconstructed"] if t["predicted"] else {}
                row["predicted_gain_vs_top1pct"] = pred.get("gain_vs_top")
                if kind == "synth":
                    row["true_gain_unguided"] = score(
                        exp, subject, images[f"{name}_unguided"], voxels, proba, natural_top
                    )["true_gain_vs_top1pct"]
                result[f"{kind}/{name}"] = row
        if not args.quick:
            result["generator_ceiling_classifier_share"] = generator_ceiling(
                art["generator"].path / "generator", exp, proba
            )
        t_eval = time.perf_counter() - t1

    def mean_of(kind, key, prefix=""):
        vals = [
            v[key]
            for k, v in result.items()
            if k.startswith(f"{kind}/{prefix}") and isinstance(v, dict) and v.get(key) is not None
        ]
        return float(np.mean(vals)) if vals else None

    cats = [n for n in names if f"synth/{n}" in result]
    result["summary"] = {
        "synth_true_gain_min_category": float(min(result[f"synth/{n}"]["true_gain_vs_top1pct"] for n in cats)),
        "synth_true_gain_mean_category": float(np.mean([result[f"synth/{n}"]["true_gain_vs_top1pct"] for n in cats])),
        "synth_classifier_share_mean": float(np.mean([result[f"synth/{n}"]["classifier_share"] for n in cats])),
        "synth_prf_centre_error_mean": mean_of("synth", "prf_centre_error", "prf"),
        "synth_prf_centre_error_unguided_mean": mean_of("synth", "prf_centre_error_unguided", "prf"),
        "synth_prf_true_gain_mean": mean_of("synth", "true_gain_vs_top1pct", "prf"),
        "roi_true_gain_mean_category": float(np.mean([result[f"roi/{n}"]["true_gain_vs_top1pct"] for n in cats])),
        "roi_classifier_share_mean": float(np.mean([result[f"roi/{n}"]["classifier_share"] for n in cats])),
        "roi_prf_centre_error_mean": mean_of("roi", "prf_centre_error", "prf"),
        "roi_prf_true_gain_mean": mean_of("roi", "true_gain_vs_top1pct", "prf"),
    }
    result.update(
        quick=bool(args.quick),
        seed=cfg["stages"]["sim_visual"]["params"]["seed"],
        seconds_pipeline=round(t_pipeline, 1),
        seconds_evaluation=round(t_eval, 1),
        seconds_total=round(time.perf_counter() - t0, 1),
        peak_rss_mb=round(peak_rss_mb(), 1),
        steps={r.step_id: round(r.seconds, 1) for r in run.results},
    )
    return emit("braindive", result, quick=args.quick)


if __name__ == "__main__":
    main()
