"""Report sections of the MindBridge stages (built from artifact files only)."""

from __future__ import annotations

import numpy as np

from ...pipeline import load_json, load_table
from ...pipeline.report import Figure, Section, Table, Text

_LOSSES = ("loss", "image_clip", "image_mse", "text_clip", "rec", "cyc")


def training_section(artifact, title: str) -> Section:
    """Per-subject 2-way identification and loss curves of a train / reset-tune artifact."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scores = load_json(artifact.file("scores"))
    history = load_table(artifact.file("history"))
    rows = [[r["subject"], r["two_way"], r["n_test"]] for r in scores["rows"]]
    blocks = [
        Table(
            ["subject", "2-way identification (embedding space)", "test images"],
            rows,
            caption=f"Mean 2-way identification: {scores['mean_two_way']:.3f} (chance 0.5).",
        )
    ]
    cols = [c for c in _LOSSES if c in history.columns]
    fig, axes = plt.subplots(1, len(cols), figsize=(2.6 * len(cols), 2.4))
    for ax, col in zip(np.atleast_1d(axes), cols):
        ax.plot(history["epoch"], history[col])
        ax.set_title(col, fontsize=9)
        ax.set_xlabel("epoch", fontsize=8)
    fig.tight_layout()
    blocks.append(Figure.from_matplotlib(fig, caption="Per-epoch mean of each loss term."))
    return Section(title, blocks)


def reconstruction_section(artifact) -> Section:
    """Ground truth vs best-of-N reconstructions per subject, and the scores table."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ...pipeline import load_arrays

    arrays = load_arrays(artifact.file("reconstructions"))
    scores = load_json(artifact.file("scores"))
    subjects = list(scores)
    n = min(10, len(arrays["image_ids"]))
    fig, axes = plt.subplots(1 + len(subjects), n, figsize=(1.1 * n, 1.15 * (1 + len(subjects))), squeeze=False)
    for j in range(n):
        for i, key in enumerate(["true"] + [f"{s}_final" for s in subjects]):
            axes[i, j].imshow(arrays[key][j])
            axes[i, j].set_xticks([])
            axes[i, j].set_yticks([])
            if j == 0:
                axes[i, j].set_ylabel("true" if i == 0 else subjects[i - 1], fontsize=7)
    keys = sorted({k for s in subjects for k in scores[s]})
    table = Table(["subject"] + keys, [[s] + [scores[s].get(k, "") for k in keys] for s in subjects])
    return Section(
        "MindBridge reconstructions",
        [
            Figure.from_matplotlib(fig, caption="Top row: test images; below: best-of-N reconstructions per subject."),
            table,
            Text("Candidates are ranked by the predicted embedding only (no ground truth)."),
        ],
    )
