"""Report sections of the connectivity stages (built from artifact files only)."""

from __future__ import annotations

import numpy as np


def _fig():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def connectivity_section(artifact):
    from ...datasets.kinds import Connectomes
    from ...pipeline.report import Figure, Section, Text

    plt = _fig()
    data = Connectomes.load(artifact.path)
    fc = data.matrices
    info = {
        "kind": data.measure,
        "estimator": data.info.get("estimator"),
        "source": data.info.get("source"),
        "n_subjects": fc.shape[0],
        "n_rois": fc.shape[1],
    }
    fig, ax = plt.subplots(1, 2, figsize=(8, 3.5))
    im = ax[0].imshow(
        fc.mean(0),
        cmap="RdBu_r",
        vmin=-1 if info["kind"] != "covariance" else None,
        vmax=1 if info["kind"] != "covariance" else None,
    )
    fig.colorbar(im, ax=ax[0], shrink=0.8)
    ax[0].set_title(f"mean {info['kind']}")
    rows, cols = np.triu_indices(fc.shape[1], 1)
    ax[1].hist(fc[:, rows, cols].ravel(), bins=60, color="0.4")
    ax[1].set_title("edge values, all subjects")
    fig.tight_layout()
    out = Section(
        "Functional connectivity",
        [
            Text(
                f"{info['n_subjects']} subjects x {info['n_rois']} ROIs, "
                f"{info['kind']} ({info['estimator']}) from {info['source']}."
            ),
            Figure.from_matplotlib(fig, caption="Group-mean matrix and edge histogram."),
        ],
    )
    plt.close(fig)
    return out


def group_section(artifact):
    from ...pipeline.report import Figure, Section, Table

    plt = _fig()
    info = artifact.load("info")
    t = artifact.load("group_difference")
    fig, ax = plt.subplots(figsize=(4.5, 3.8))
    lim = float(np.abs(t).max()) or 1.0
    im = ax.imshow(t, cmap="RdBu_r", vmin=-lim, vmax=lim)
    fig.colorbar(im, ax=ax, shrink=0.8)
    ax.set_title("group 1 - group 0 (Welch t, training subjects)")
    fig.tight_layout()
    rows = [[k, v] for k, v in sorted(info.items())]
    blocks = [Table(["field", "value"], rows), Figure.from_matplotlib(fig, caption="Edge-wise group difference.")]
    glass = _glass_brain(artifact, t)
    if glass is not None:
        blocks.append(glass)
    out = Section("Group connectivity features", blocks)
    plt.close(fig)
    return out


def _roi_coords(artifact):
    """(n_rois, 3) ROI coordinates from an upstream artifact's rois.tsv (x, y, z), if any."""
    import pandas as pd

    todo, seen = [artifact], set()
    while todo:
        art = todo.pop()
        if art.key in seen:
            continue
        seen.add(art.key)
        for rois in [art.path / "rois.tsv", *sorted(art.path.glob("*/rois.tsv"))]:
            if rois.is_file():
                table = pd.read_csv(rois, sep="\t")
                if {"x", "y", "z"} <= set(table.columns):
                    return table[["x", "y", "z"]].to_numpy(float)
        todo.extend(art.upstream().values())
    return None


def _glass_brain(artifact, t):
    """Connectome of the strongest group-difference edges on a glass brain (needs ROI coordinates)."""
    from ...pipeline.report import Figure

    coords = _roi_coords(artifact)
    if coords is None or coords.shape[0] != t.shape[0]:
        return None
    from nilearn import plotting

    plt = _fig()
    fig = plt.figure(figsize=(8, 3))
    plotting.plot_connectome(
        t,
        coords,
        edge_threshold="99%",
        node_size=8,
        edge_cmap="RdBu_r",
        display_mode="lzr",
        figure=fig,
        colorbar=True,
        title="strongest 1% group-difference edges",
    )
    return Figure.from_matplotlib(fig, caption="Group difference (Welch t) on a glass brain, top 1% of edges by |t|.")


def predict_section(artifact):
    from ...pipeline.report import Section, Table, Text

    per_site = artifact.load("per_site")
    m = artifact.load("metrics")

    def show(v):
        return "undefined" if v is None or v != v else f"{float(v):.3f}"

    rows = [
        [r.site, int(r.n_subjects), show(r.accuracy), show(r.auc), r.note if isinstance(r.note, str) else ""]
        for r in per_site.itertuples()
    ]
    undefined = m.get("auc_undefined", [])
    note = f" ({len(undefined)} sites without an AUC: one class only, left out of the mean)" if undefined else ""
    p = m["params"]
    return Section(
        "Phenotype prediction",
        [
            Text(
                f"ConnectomeClassifier (kind {p['kind']}, C {p['C']}, confounds {p['confounds'] or 'none'}), "
                f"{p['cv']}: "
                f"mean accuracy {show(m['mean_accuracy'])}, mean AUC {show(m['mean_auc'])} over "
                f"{m['n_sites_auc_defined']} of {m['n_sites']} sites{note}; pooled accuracy "
                f"{show(m['pooled_accuracy'])}, "
                f"pooled AUC {show(m['pooled_auc'])}; final model: {m['final_model']}."
            ),
            Table(["site", "n", "accuracy", "AUC", "note"], rows, caption="Per-site out-of-fold metrics."),
        ],
    )


def eeg_section(artifact):
    from ...pipeline.report import Figure, Section

    plt = _fig()
    conn = artifact.load("connectivity")
    info = artifact.load("info")
    methods = list(info["methods"])
    bands = list(info["bands"])
    fig, axes = plt.subplots(
        len(bands), len(methods), figsize=(1.6 * len(methods) + 1, 1.6 * len(bands) + 0.5), squeeze=False
    )
    for j, m in enumerate(methods):
        for i, b in enumerate(bands):
            axes[i, j].imshow(conn[m][0, i], cmap="viridis")
            axes[i, j].set_xticks([])
            axes[i, j].set_yticks([])
            if i == 0:
                axes[i, j].set_title(m, fontsize=8)
            if j == 0:
                axes[i, j].set_ylabel(b, fontsize=8)
    fig.tight_layout()
    out = Section(
        "EEG connectivity",
        [Figure.from_matplotlib(fig, caption=f"Group '{info['groups'][0]}', {info['n_epochs'][0]} epochs.")],
    )
    plt.close(fig)
    return out


def dynamic_section(artifact):
    from ...pipeline.report import Figure, Section, Table

    plt = _fig()
    states = artifact.load("states")
    dyn = artifact.load("dynamics")
    fig, axes = plt.subplots(1, len(states), figsize=(2.2 * len(states), 2.4), squeeze=False)
    for k, ax in enumerate(axes[0]):
        ax.imshow(states[k], cmap="RdBu_r", vmin=-1, vmax=1)
        ax.set_title(f"state {k}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    summary = dyn.groupby("state")[["fraction", "mean_dwell_s"]].mean().reset_index()
    rows = [[int(r.state), round(float(r.fraction), 3), round(float(r.mean_dwell_s), 1)] for r in summary.itertuples()]
    out = Section(
        "Dynamic FC states",
        [
            Figure.from_matplotlib(fig, caption="k-means centroids of windowed correlations."),
            Table(["state", "mean fraction", "mean dwell (s)"], rows),
        ],
    )
    plt.close(fig)
    return out
