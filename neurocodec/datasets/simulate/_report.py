"""Report sections of the simulation stages, drawn from the artifact files only."""

from __future__ import annotations

import numpy as np

from ...pipeline.report import Figure, Section, Table, Text


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def visual_section(artifact) -> Section:
    from ._visual import StimulusResponses

    exp = StimulusResponses.load(artifact)
    plt = _plt()
    fig, axes = plt.subplots(2, 8, figsize=(10, 2.8))
    for c, ax in enumerate(axes.ravel()):
        ids = np.flatnonzero(exp.categories == c % len(exp.category_names))
        ax.imshow(exp.stimuli[ids[c // len(exp.category_names)] if len(ids) > c // len(exp.category_names) else ids[0]])
        ax.set_title(exp.category_names[c % len(exp.category_names)], fontsize=7)
        ax.axis("off")
    figs = [Figure.from_matplotlib(fig, "Example stimuli per category.")]
    fig, ax = plt.subplots(figsize=(4.5, 3))
    for name, sr in exp.subjects.items():
        ax.hist(sr.noise_ceiling, bins=30, histtype="step", label=name)
    ax.set_xlabel("noise ceiling (r, repeat-averaged test betas)")
    ax.set_ylabel("voxels")
    ax.legend(fontsize=7)
    figs.append(Figure.from_matplotlib(fig, "Known noise ceiling per voxel."))
    rows = []
    for name, sr in exp.subjects.items():
        kinds = {k: int((sr.voxel_kind == k).sum()) for k in ("prf", "linear_prf", "category", "global")}
        rows.append(
            [
                name,
                sr.n_voxels,
                kinds["prf"],
                kinds["linear_prf"],
                kinds["category"],
                kinds["global"],
                len(sr.trial_image_ids_train),
                len(sr.trial_image_ids_test),
                f"{float(np.median(sr.noise_ceiling)):.3f}",
            ]
        )
    table = Table(
        [
            "subject",
            "voxels",
            "Gabor pRF",
            "linear pRF",
            "category",
            "global",
            "train trials",
            "test trials",
            "median ceiling",
        ],
        rows,
        caption=f"{exp.n_images} images ({len(exp.train_image_ids)} train, {len(exp.test_image_ids)} "
        f"shared test), {exp.features.shape[1]} true features.",
    )
    return Section("Simulated visual fMRI experiment", [*figs, table])


def rest_section(artifact) -> Section:
    from ._rest import RestingStateCohort

    c = RestingStateCohort.load(artifact.path)
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4))
    for g in (0, 1):
        im = axes[g].imshow(c.covariance[g], vmin=-1, vmax=1, cmap="RdBu_r")
        axes[g].set_title(f"true correlation, group {g}", fontsize=9)
    axes[2].imshow(c.differing_edges, cmap="Greys")
    axes[2].set_title("differing edges", fontsize=9)
    fig.colorbar(im, ax=axes[:2], shrink=0.8)
    by_site = c.subjects.groupby("site").agg(
        n=("subject", "size"),
        group1=("group", "mean"),
        tr=("tr", "first"),
        n_times=("n_times", "first"),
        noise=("noise_sd", "mean"),
    )
    rows = [[s, int(r.n), f"{r.group1:.2f}", r.tr, int(r.n_times), f"{r.noise:.2f}"] for s, r in by_site.iterrows()]
    return Section(
        "Simulated resting-state cohort",
        [
            Figure.from_matplotlib(fig, "Planted group correlation matrices and the edges where they differ."),
            Table(
                ["site", "subjects", "fraction group 1", "TR (s)", "volumes", "noise sd"],
                rows,
                caption=f"{c.n_rois} ROIs, {int(c.differing_edges.sum() // 2)} differing edges.",
            ),
        ],
    )


def eeg_section(artifact) -> Section:
    from ._eeg import SimulatedRecording

    rec = SimulatedRecording.load(artifact.path)
    plt = _plt()
    sf = rec.raw.info["sfreq"]
    stop = int(min(10.0, rec.raw.times[-1]) * sf)
    peaks = rec.motifs[(rec.motifs["weight"] >= 1.0) & (rec.motifs["onset_s"] < stop / sf)]["channel"]
    names = list(dict.fromkeys([*peaks, *rec.raw.ch_names]))[:8]
    picks = sorted(rec.raw.ch_names.index(n) for n in names)
    n_show = len(picks)
    data = rec.raw.get_data(picks=picks, stop=stop)
    t = np.arange(data.shape[1]) / sf
    fig, ax = plt.subplots(figsize=(10, 3.5))
    spacing = 4 * np.median(data.std(1))
    for i, ch in enumerate(data):
        ax.plot(t, ch - i * spacing, lw=0.5, color="k")
    for ev in rec.motifs.drop_duplicates("event").itertuples():
        if ev.onset_s < t[-1]:
            ax.axvspan(ev.onset_s, ev.onset_s + ev.duration_s, alpha=0.2, color="C1")
            ax.text(ev.onset_s, spacing, ev.motif, fontsize=7)
    ax.set_yticks(-np.arange(n_show) * spacing, [rec.raw.ch_names[i] for i in picks])
    ax.set_xlabel("time (s)")
    counts = rec.motifs.drop_duplicates("event")["motif"].value_counts()
    return Section(
        f"Simulated {rec.params['kind']} recording",
        [
            Figure.from_matplotlib(
                fig, "First 10 s on the motifs' peak channels (and the first channels), planted motifs shaded."
            ),
            Table(["motif", "occurrences"], [[k, int(v)] for k, v in counts.items()]),
            Text(f"{len(rec.raw.ch_names)} channels at {sf:g} Hz for {rec.raw.times[-1]:.0f} s."),
        ],
    )
