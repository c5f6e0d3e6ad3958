"""RSA of EfficientNet-Lite0 features vs human IT fMRI RDMs (Kriegeskorte et al. 2008, 92 images).

For each layer, the RDM (1 - Pearson r between images' feature vectors) is
compared with each subject's hIT RDM (4 subjects x 2 sessions, averaged over
sessions) by the Spearman correlation of the upper triangles. A category-model
RDM (animate/inanimate, face, body, natural/artificial object) is reported for
reference. ``--quick`` uses 24 images, 64-px inputs and two layers.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED_DATA, emit, parse_args, peak_rss_mb  # noqa: E402

FOLDER = SHARED_DATA / "kriegeskorte92"


def load():
    """Images (92, 175, 175, 3) in [0, 1], category vectors (92, 12), labels, hIT RDMs (4 subjects, 2 sessions, 92, 92)."""
    import scipy.io as sio

    sup = sio.loadmat(FOLDER / "Kriegeskorte_Neuron2008_supplementalData.mat")
    images = np.stack([s["image"] for s in sup["stimuli_92objs"][0]]).astype(np.float32) / 255.0
    labels = [str(x[0]) for x in sup["categoryLabels"][0]]
    rdms = sio.loadmat(FOLDER / "92_brainRDMs.mat")["RDMs"][0]
    brain = np.array([[np.asarray(rdms[s, k]["RDM"], dtype=np.float64) for k in range(rdms.shape[1])]
                      for s in range(rdms.shape[0])])
    return images, sup["categoryVectors"].astype(np.float64), labels, brain


def rdm(features):
    """1 - Pearson correlation between rows."""
    return 1.0 - np.corrcoef(features.astype(np.float64))


def upper(m):
    return m[np.triu_indices(m.shape[0], 1)]


def category_rdm(vectors, labels):
    """0 for pairs sharing the finest of {face, body, natural object, artificial object}, 0.5 same animacy, 1 otherwise."""
    idx = {k: labels.index(k) for k in ("animate", "face", "body", "natObj", "artiObj")}
    fine = np.argmax(vectors[:, [idx["face"], idx["body"], idx["natObj"], idx["artiObj"]]], 1) + \
        10 * (vectors[:, [idx["face"], idx["body"], idx["natObj"], idx["artiObj"]]].sum(1) == 0)
    anim = vectors[:, idx["animate"]]
    same_fine = fine[:, None] == fine[None, :]
    same_anim = anim[:, None] == anim[None, :]
    return np.where(same_fine, 0.0, np.where(same_anim, 0.5, 1.0))


def main(argv=None):
    from scipy.stats import spearmanr

    args = parse_args(__doc__.splitlines()[0], argv)
    if not FOLDER.is_dir():
        raise SystemExit(f"real data folder {FOLDER} is absent (set NEUROCODEC_SHARED_DATA)")
    from neurocodec.encoders.features import EfficientNetLite0Features

    images, vectors, labels, brain = load()
    sel = np.arange(len(images)) if not args.quick else np.linspace(0, len(images) - 1, 24).astype(int)
    layers = ["blocks.2", "global_pool"] if args.quick else ["blocks.1", "blocks.2", "blocks.3", "blocks.4", "blocks.5",
                                                             "blocks.6", "conv_head", "global_pool"]
    t0 = time.perf_counter()
    ext = EfficientNetLite0Features(layers=layers, image_size=64 if args.quick else 224, pool_size=None, batch_size=16)
    feats = ext.transform(images[sel])
    extract_s = time.perf_counter() - t0
    brain_sub = brain[:, :, sel][:, :, :, sel].mean(1)  # (subjects, n, n), sessions averaged
    per_layer, mean_spearman = {}, {}
    for name, f in feats.items():
        u = upper(rdm(f))
        rho = [float(spearmanr(u, upper(b)).statistic) for b in brain_sub]
        per_layer[name] = dict(per_subject=rho, n_features=int(f.shape[1]))
        mean_spearman[name] = float(np.mean(rho))
    cat = upper(category_rdm(vectors[sel], labels))
    cat_rho = [float(spearmanr(cat, upper(b)).statistic) for b in brain_sub]
    # inter-subject reliability: each subject vs the mean of the others (noise-ceiling lower bound)
    loo = [float(spearmanr(upper(brain_sub[s]), upper(np.delete(brain_sub, s, 0).mean(0))).statistic)
           for s in range(len(brain_sub))]
    best = max(mean_spearman, key=mean_spearman.get)
    return emit("rsa_kriegeskorte", dict(
        mean_spearman=mean_spearman, layers=per_layer, best_layer=best, best_mean_spearman=mean_spearman[best],
        category_model=dict(per_subject=cat_rho, mean_spearman=float(np.mean(cat_rho))),
        noise_ceiling_lower=float(np.mean(loo)), n_images=int(len(sel)), extract_s=extract_s,
        peak_rss_mb=peak_rss_mb(), quick=bool(args.quick)), quick=args.quick)


if __name__ == "__main__":
    main()
