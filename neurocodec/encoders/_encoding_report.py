"""Report section of the ``score_encoder`` stage (built from its artifact files only)."""

from __future__ import annotations


def score_section(artifact):
    """Encoder r vs noise ceiling scatter, pRF centre recovery and a per-kind summary table."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from ..pipeline import load_json, load_table
    from ..pipeline.report import Figure, Section, Table

    summary = load_json(artifact.file("summary"))
    files = sorted(artifact.file("scores").glob("*.tsv"))
    if not files:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for f in files:
        t = load_table(f)
        axes[0].scatter(t["ceiling"], t["r"], s=6, alpha=0.5, label=f.stem)
        prf = t[t["kind"] == "prf"]
        axes[1].scatter(prf["x_true"], prf["x_hat"], s=6, alpha=0.5)
    axes[0].plot([0, 1], [0, 1], "k--", lw=1)
    axes[0].set(xlabel="noise ceiling (r)", ylabel="encoder test r", title="Encoder r vs ceiling")
    axes[0].legend(fontsize=7)
    axes[1].plot([0, 1], [0, 1], "k--", lw=1)
    axes[1].set(xlabel="true pRF x", ylabel="estimated pRF x", title="pRF centre from weights")
    fig.tight_layout()
    rows = []
    for sub, kinds in summary.items():
        for kind, v in kinds.items():
            rows.append(
                [
                    sub,
                    kind,
                    v["n"],
                    round(v["mean_r"], 3),
                    round(v["mean_ceiling"], 3),
                    round(v["mean_gap"], 3),
                    round(v.get("median_centre_error", np.nan), 3),
                ]
            )
    table = Table(["subject", "kind", "n voxels", "mean r", "mean ceiling", "mean gap", "pRF centre error"], rows)
    section = Section(
        "Voxelwise encoders", [Figure.from_matplotlib(fig, "Test r against the noise ceiling; pRF centres."), table]
    )
    plt.close(fig)
    return section
