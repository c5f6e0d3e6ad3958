"""Report sections of the in-context stages, drawn from the artifact files only."""

from __future__ import annotations

import numpy as np

from ...pipeline import load_json, load_table
from ...pipeline.report import Figure, Section, Table, Text


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def metatrain_section(artifact) -> Section:
    summary = load_json(artifact.file("summary"))
    history = load_table(artifact.file("history"))
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.8, 3))
    ax.plot(history["step"], history["train_loss"], label="train (query MSE)")
    ax.plot(history["step"], history["val_loss"], label="held-out voxels")
    ax.axvline(summary["best_step"], color="k", lw=0.6, ls=":")
    ax.set_xlabel("step")
    ax.set_ylabel("MSE (z-scored responses)")
    ax.legend(fontsize=7)
    c = summary["config"]
    text = Text(
        f"BraInCoRL meta-trained on {', '.join(summary['train_subjects'])} "
        f"({summary['n_parameters']:,} parameters; width {c['width']}, {c['n_layers']} layers, "
        f"{c['n_heads']} heads, {c['n_registers']} registers; E = {summary['embed_dim']} from "
        f"{summary['n_features']} features '{summary['feature_key']}') in {summary['train_time_s']:.1f} s on "
        f"{summary['device']}; best step {summary['best_step']}."
    )
    return Section("In-context encoder: meta-training", [text, Figure.from_matplotlib(fig, "Meta-training curves.")])


def fit_section(artifact) -> Section:
    summary = load_json(artifact.file("summary"))["subjects"]
    plt = _plt()
    blocks = []
    rows = []
    for s, sub in summary.items():
        rows.append([s, sub["n_context"], sub["final_test_ev"]["all"], sub["final_test_r"]["all"], sub["fit_time_s"]])
        if "context_sizes" not in sub:
            continue
        fig, ax = plt.subplots(figsize=(4.8, 3.2))
        for m, style in (("incontext", "o-"), ("ridge", "s--")):
            if f"{m}_ev" in sub:
                ax.plot(
                    sub["context_sizes"], sub[f"{m}_ev"], style, label="BraInCoRL" if m == "incontext" else "RidgeCV"
                )
        ax.set_xscale("log")
        ax.set_xlabel("context images")
        ax.set_ylabel("mean explained variance (test images)")
        ax.legend(fontsize=7)
        ax.set_title(s, fontsize=9)
        blocks.append(Figure.from_matplotlib(fig, f"{s}: in-context encoder vs RidgeCV on the same context images."))
    table = Table(
        ["subject", "context images", "test EV", "test r", "fit time (s)"],
        rows,
        caption="Final encoders built in context (no gradient steps).",
    )
    try:
        scaling = load_table(artifact.file("scaling"))
    except Exception:  # noqa: BLE001 - empty table
        scaling = None
    if scaling is not None and len(scaling):
        agg = scaling.groupby(["method", "context_size", "voxel_kind"])["ev"].mean().unstack("method").reset_index()
        cols = list(agg.columns)
        blocks.append(
            Table(
                cols,
                [
                    [(float(v) if isinstance(v, (float, np.floating)) else v) for v in r]
                    for r in agg.itertuples(index=False)
                ],
                caption="Mean explained variance by voxel kind and context size (over draws).",
            )
        )
    return Section("In-context encoder: held-out subject", [table, *blocks])
