"""Report sections of the tokenizer stages (built from artifact files only)."""

from __future__ import annotations

import numpy as np

from ...pipeline import load_arrays, load_json, load_table


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def tokenize_section(artifact):
    from ...pipeline.report import Figure, Section, Table, Text

    stats = load_json(artifact.file("stats"))
    prof = load_arrays(artifact.file("profiles"))
    plt = _plt()
    blocks = []
    k = min(32, len(prof["codes"]))
    if k:
        fig, ax = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [3, 1]})
        p = prof["profiles"][:k, :50]
        ax[0].imshow(np.log1p(p).T, aspect="auto", origin="lower", cmap="magma",
                     extent=[-0.5, k - 0.5, prof["freqs"][0], prof["freqs"][min(49, len(prof["freqs"]) - 1)]])
        ax[0].set_xticks(range(k), [str(c) for c in prof["codes"][:k]], rotation=90, fontsize=6)
        ax[0].set_xlabel("token (most frequent first)")
        ax[0].set_ylabel("Hz")
        ax[1].bar(range(k), prof["counts"][:k], color="#1f3b6f")
        ax[1].set_xlabel("rank")
        ax[1].set_ylabel("count")
        blocks.append(Figure.from_matplotlib(fig, "Mean spectrum (log, 0-49 Hz) of the frames of each common token, "
                                                  "and counts."))
    usage = stats["usage_all"]
    rows = [["trials x channels x frames", f"{stats['n_trials']} x {stats['n_chans']} x {stats['n_frames']}"],
            ["active codes / codebook", f"{usage['active_codes']} / {usage['n_codes']}"],
            ["perplexity (all tokens)", usage["perplexity"]]]
    hist = stats.get("history") or {}
    if hist.get("loss"):
        rows.append(["final tokenizer loss (recon + vq)", hist["loss"][-1]])
    if "label_mi_bits" in stats:
        rows.append(["MI(token; trial label) bits (training trials)", stats["label_mi_bits"]])
        rows.append(["MI with shuffled trial labels (chance) bits", stats["label_mi_chance_bits"]])
    blocks.append(Table(["quantity", "value"], rows))
    if not hist.get("loss"):
        blocks.append(Text("Tokenizer reused from a pretrained step (no training here)."))
    return Section("TFM-Tokenizer tokens", blocks)


def history_section(artifact, title):
    from ...pipeline.report import Figure, Section, Text

    hist = load_json(artifact.file("history"))
    if not hist or not hist.get("loss"):
        return Section(title, [Text("No training epochs.")])
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot(hist["loss"], label="train loss")
    other = "accuracy" if "accuracy" in hist else "val_score"
    if hist.get(other):
        ax2 = ax.twinx()
        ax2.plot(hist[other], color="#c44", label=other)
        ax2.set_ylabel(other)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    cap = f"Training curve ({other} in red)"
    if hist.get("best_epoch") is not None:
        cap += f"; best validation epoch {hist['best_epoch']}"
    return Section(title, [Figure.from_matplotlib(fig, cap + ".")])


def evaluate_section(artifact):
    from ...pipeline.report import Section, Table

    m = load_json(artifact.file("metrics"))
    blocks = [Table(["metric", "value"], [[k, m[k]] for k in ("balanced_accuracy", "kappa", "weighted_f1", "auroc", "n_test")],
                    caption="Test split")]
    tok = load_table(artifact.file("tokens"))
    if len(tok):
        blocks.append(Table(list(tok.columns), tok.values.tolist(), caption="Class-discriminative tokens (training "
                                                                            "trials)"))
    return Section("TFM-Encoder evaluation", blocks)


def cross_validate_section(artifact):
    from ...pipeline.report import Section, Table

    m = load_json(artifact.file("metrics"))
    rows = []
    for name, p in m["protocols"].items():
        rows.append([name, " / ".join(p["classes"])] + [f"{p[k]['mean']:.3f} ± {p[k]['sd']:.3f}" for k in
                                                         ("balanced_accuracy", "kappa", "weighted_f1", "auroc")]
                    + [p.get("n_collapsed", 0), round(p["wall_s"], 1)])
    cap = (f"{m['n_folds']}-fold cross-validation (stratified, whole {m['group']}s on one side; mean ± sd over folds)"
           + ("; tokenizer pretrained elsewhere, frozen" if m.get("pretrained_tokenizer") else
              "; tokenizer trained per fold on its training trials"))
    return Section("TFM cross-validation", [Table(["protocol", "classes", "balanced accuracy", "kappa", "weighted F1",
                                                   "AUROC", "collapsed fits", "encoder wall s"], rows, caption=cap)])
