"""Report sections of the BrainDiVE stages (built from their artifact files only)."""

from __future__ import annotations


def _fmt(v):
    return round(float(v), 3) if v is not None else float("nan")


def synthesis_section(artifact):
    """Image grid per target (natural top / unguided / synthesized) and the predicted objective table with seeds."""
    from neurocodec.pipeline import load_json
    from neurocodec.pipeline.report import Figure, Section, Table

    s = load_json(artifact.file("summary"))
    rows = []
    for name, t in s["targets"].items():
        p = t["predicted"]
        rows.append(
            [
                name,
                t["n_voxels"],
                t["direction"],
                _fmt(p["natural_top"]),
                _fmt(p["unguided"]["mean"]),
                _fmt(p["synthesized"]["mean"]),
                _fmt(p["synthesized"]["gain_vs_top"]),
                _fmt(p["synthesized"]["z"]),
                ", ".join(map(str, t["seeds"])),
            ]
        )
    table = Table(
        [
            "target",
            "voxels",
            "direction",
            "natural top (pred.)",
            "unguided (pred.)",
            "synthesized (pred.)",
            "gain vs top",
            "z (natural s.d.)",
            "seeds",
        ],
        rows,
        caption=f"Subject {s['subject']}, generator {s['generator']}: encoder-predicted mean response of the "
        "target (objective) for the natural top images, unguided samples and brain-guided samples "
        f"(same noise seeds; batches of {s['batch_size']}).",
    )
    grid = Figure.from_file(
        artifact.file("grid"),
        caption="Per target, three rows: natural top images (by predicted "
        "response), unguided samples, brain-guided samples (same seeds).",
    )
    return Section("BrainDiVE: synthesized preferred images", [grid, table])


def decode_section(artifact):
    """Stage-1 / final reconstructions of every synthetic ROI pattern, with predicted responses when available."""
    from neurocodec.pipeline import load_json
    from neurocodec.pipeline.report import Figure, Section, Table

    s = load_json(artifact.file("summary"))
    rows = []
    for name, t in s["targets"].items():
        p = t.get("predicted") or {}
        rec = p.get("reconstructed", {})
        rows.append(
            [name, t["n_voxels"], _fmt(p.get("natural_top")), _fmt(rec.get("mean")), _fmt(rec.get("gain_vs_top"))]
        )
    table = Table(
        ["target", "voxels", "natural top (pred.)", "reconstructed (pred.)", "gain vs top"],
        rows,
        caption=f"Subject {s['subject']}: pattern at +{s['k']} s.d. on the target, mean elsewhere; seed "
        f"{s['seed']}. Predicted responses need the optional encoder input.",
    )
    grid = Figure.from_file(
        artifact.file("grid"),
        caption="Per target, two rows: stage-1 (low-level) and final reconstructions of the synthetic pattern.",
    )
    return Section("ROI-optimal reconstructions (Brain-Diffuser)", [grid, table])
