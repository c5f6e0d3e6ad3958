"""EEG / sEEG ingest stages: ``load_eeg`` (any MNE format -> preprocessed FIF) and ``epoch_eeg``."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, ValidationInfo, field_validator

from ...pipeline import (
    Input,
    Output,
    Stage,
    StageParams,
    bad_value,
    register_stage,
    runtime_field,
    save_json,
    save_table,
)
from ._common import artifact_files, expand_files, info_section, one_source

_LIBS = ("numpy", "scipy", "mne")


def psd_figure(raw_path):
    """Welch power spectral density per channel type of a FIF recording (report figure)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mne
    import numpy as np

    from ...pipeline.report import Figure

    raw = mne.io.read_raw_fif(raw_path, preload=True, verbose="error")
    fmax = min(100.0, raw.info["sfreq"] / 2)
    psd = raw.compute_psd(fmin=0.5, fmax=fmax, verbose="error")
    data, freqs = psd.get_data(return_freqs=True)
    types = raw.get_channel_types()
    fig, ax = plt.subplots(figsize=(6, 3))
    for kind in sorted(set(types)):
        idx = [i for i, t in enumerate(types) if t == kind]
        db = 10 * np.log10(np.maximum(data[idx], 1e-30))
        ax.plot(freqs, db.T, color="0.7", lw=0.5)
        ax.plot(freqs, db.mean(0), lw=2, label=f"{kind} (mean of {len(idx)})")
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("power (dB re 1 unit²/Hz)")
    ax.legend()
    fig.tight_layout()
    return Figure.from_matplotlib(fig, caption="Power spectral density (Welch) of every channel, after preprocessing.")


class LoadEEGParams(StageParams):
    pattern: str = Field(
        "*.fif", description="Glob selecting recordings in a folder or upstream artifact (concatenated in order)."
    )
    montage: str | None = Field(None, description="MNE standard montage name, e.g. 'standard_1020'.")
    types: list[str] = Field(
        default_factory=list, description="Channel types to keep, e.g. ['eeg'] or ['seeg'] (all when empty)."
    )
    include: list[str] = Field(default_factory=list, description="Channel names to keep (all must exist).")
    channel_pattern: str | None = Field(None, description="Regular expression channel names must match.")
    regions: list[str] = Field(
        default_factory=list, description="Region labels to keep (needs the 'electrodes' input)."
    )
    region_column: str = Field("region", description="Column of the electrodes table holding the region label.")
    l_freq: float | None = Field(None, gt=0, description="High-pass edge (Hz).")
    h_freq: float | None = Field(None, gt=0, description="Low-pass edge (Hz).")

    @field_validator("h_freq")
    @classmethod
    def _band(cls, value, info: ValidationInfo):
        low = info.data.get("l_freq")
        if value is not None and low is not None and value <= low:
            raise ValueError(f"> l_freq = {low} Hz (a band-pass needs low < high)")
        return value

    notch: list[float] = Field(
        default_factory=list, description="Line-noise frequencies to notch out (Hz), e.g. [50, 100]."
    )
    reference: Literal["average", "bipolar", "seeg_bipolar"] | None = Field(None, description="Re-referencing scheme.")
    bipolar_pairs: list[list[str]] = Field(
        default_factory=list, description="[anode, cathode] pairs for reference='bipolar'."
    )

    @field_validator("bipolar_pairs")
    @classmethod
    def _pairs(cls, pairs, info: ValidationInfo):
        if any(len(p) != 2 for p in pairs):
            raise ValueError("[anode, cathode] pairs of two channel names")
        if info.data.get("reference") == "bipolar" and not pairs:
            raise ValueError("at least one [anode, cathode] pair with reference='bipolar'")
        return pairs

    resample: float | None = Field(None, gt=0, description="New sampling frequency (Hz), after filtering.")
    n_jobs: int = runtime_field(1, "Jobs for MNE filtering / resampling.")


def _region_labels(path: Path, column: str) -> dict[str, str]:
    import pandas as pd

    table = pd.read_csv(path, sep="\t")
    for col in ("name", column):
        if col not in table.columns:
            raise bad_value(
                "region_column" if col == column else "electrodes",
                f"a column of {path.name} ({list(table.columns)})",
                col,
            )
    return dict(zip(table["name"].astype(str), table[column].astype(str)))


@register_stage
class LoadEEG(Stage):
    """EEG/sEEG/ECoG recording in any MNE format -> selected, filtered, re-referenced, resampled FIF + summary."""

    name = "load_eeg"
    version = 1
    Params = LoadEEGParams
    libraries = _LIBS

    @classmethod
    def check_upstream(cls, params, upstream) -> None:
        one_source(upstream, ("recording", "raw"))
        if params.regions and "electrodes" not in upstream:
            raise bad_value("regions", "used with the 'electrodes' input", list(params.regions))

    @classmethod
    def output_facts(cls, params, upstream, artifact=None) -> dict:
        from ...pipeline import load_json
        from .._facts import recording_facts

        if artifact is not None and (artifact.path / "summary.json").is_file():
            s = load_json(artifact.path / "summary.json")
            return {"sfreq": s.get("sfreq"), "duration": s.get("duration_s"), "n_chans": s.get("n_chans")}
        facts = recording_facts(upstream["raw"]) if "raw" in upstream else {}
        if params.resample:
            facts["sfreq"] = params.resample
        return facts if "raw" in upstream or params.resample else {}

    inputs = {
        "recording": Input(
            "Recording (EDF/BDF, .vhdr, .fif, .set, .EEG, .lay, ...) or folder of them.", source="path", required=False
        ),
        "raw": Input(
            "A raw recording (e.g. simulate_eeg); alternative to 'recording'.", kinds=("raw",), required=False
        ),
        "electrodes": Input(
            "BIDS-like electrodes TSV with 'name' and a region column.",
            source="path",
            required=False,
            suffixes=(".tsv",),
        ),
    }
    outputs = {
        "raw": Output("raw.fif", "Preprocessed recording (MNE FIF).", kind="raw"),
        "summary": Output(
            "summary.json", "sfreq, n_chans, n_times, duration, channels and types, annotation counts, steps."
        ),
    }

    @classmethod
    def report(cls, artifact):
        section = info_section(
            "Ingested recording",
            artifact,
            "summary",
            ("files", "sfreq_in", "sfreq", "n_chans", "n_times", "duration_s", "ch_types", "bads", "annotations"),
        )
        section.blocks.append(psd_figure(artifact.file("raw")))
        return section

    def run(self, params, inputs, out_dir):
        from ..eeg import preprocess_raw, read_raws

        which = one_source(inputs, ("recording", "raw"))
        if which == "recording":
            files = expand_files(inputs["recording"], params.pattern, name="recording")
        else:
            files = artifact_files(inputs["raw"], params.pattern, name="raw")
        raw = read_raws(files)
        sfreq_in = raw.info["sfreq"]
        labels = _region_labels(inputs["electrodes"], params.region_column) if "electrodes" in inputs else None
        if params.regions and labels is None:
            raise bad_value("regions", "used with the 'electrodes' input", list(params.regions))
        raw = preprocess_raw(
            raw,
            montage=params.montage,
            l_freq=params.l_freq,
            h_freq=params.h_freq,
            notch=list(params.notch) or None,
            resample=params.resample,
            reference=params.reference,
            bipolar_pairs=[list(p) for p in params.bipolar_pairs] or None,
            types=list(params.types) or None,
            include=list(params.include) or None,
            pattern=params.channel_pattern,
            regions=list(params.regions) or None,
            region_labels=labels,
            n_jobs=params.n_jobs,
        )
        raw.save(out_dir / "raw.fif", overwrite=True, verbose="error")
        save_json(
            out_dir / "summary.json",
            {
                "files": [Path(f).name for f in files],
                "sfreq_in": sfreq_in,
                "sfreq": raw.info["sfreq"],
                "n_chans": len(raw.ch_names),
                "n_times": int(raw.n_times),
                "duration_s": float(raw.n_times / raw.info["sfreq"]),
                "ch_names": list(raw.ch_names),
                "ch_types": raw.get_channel_types(),
                "bads": list(raw.info["bads"]),
                "annotations": dict(Counter(raw.annotations.description)),
                "steps": {k: v for k, v in params.model_dump().items() if k != "n_jobs"},
            },
        )


class EpochParams(StageParams):
    tmin: float = Field(-0.2, description="Epoch start relative to each event (s).")
    tmax: float = Field(0.8, description="Epoch end relative to each event (s).")
    event_id: dict[str, int] = Field(
        default_factory=dict, description="Annotation description -> code to keep (all when empty)."
    )
    window: float | None = Field(None, gt=0, description="Fixed-length windows (s) instead of events.")
    overlap: float = Field(0.0, ge=0, description="Overlap of fixed windows (s).")
    label_windows: bool = Field(
        False,
        description="Label each fixed window by the annotation overlapping it most ('background' when none); "
        "else all 'window'.",
    )
    baseline: list[float | None] | None = Field(
        None, min_length=2, max_length=2, description="Baseline interval [start, end] (s; null = edge) or none."
    )

    @field_validator("tmax")
    @classmethod
    def _after_tmin(cls, value, info: ValidationInfo):
        if "tmin" in info.data and value <= info.data["tmin"]:
            raise ValueError(f"> tmin = {info.data['tmin']} s")
        return value

    @field_validator("overlap")
    @classmethod
    def _overlap(cls, value, info: ValidationInfo):
        window = info.data.get("window")
        if window is not None and value >= window:
            raise ValueError(f"< window = {window} s")
        return value

    @field_validator("label_windows")
    @classmethod
    def _needs_window(cls, value, info: ValidationInfo):
        if value and info.data.get("window") is None:
            raise ValueError("used with fixed windows ('window')")
        return value

    reject_by_annotation: bool = Field(True, description="Drop epochs overlapping BAD_* annotations.")


@register_stage
class EpochEEG(Stage):
    """Raw recording -> epochs (kind) from annotations/events or fixed windows, plus an event table."""

    name = "epoch_eeg"
    version = 2
    Params = EpochParams
    libraries = _LIBS

    @classmethod
    def check_upstream(cls, params, upstream) -> None:
        from .._facts import recording_facts

        duration = recording_facts(upstream["raw"]).get("duration")
        if params.window is not None and duration:
            if params.window > duration:
                raise bad_value("window", f"in (0, {duration:g}] s (the recording length)", params.window)

    @classmethod
    def output_facts(cls, params, upstream, artifact=None) -> dict:
        from .._facts import recording_facts

        facts = recording_facts(upstream["raw"])
        sfreq = facts.get("sfreq")
        if not sfreq:
            return {}
        seconds = params.window if params.window is not None else params.tmax - params.tmin
        n_times = int(round(seconds * sfreq)) + (0 if params.window is not None else 1)
        return {"sfreq": sfreq, "n_times": n_times, "n_chans": facts.get("n_chans")}

    inputs = {"raw": Input("A raw recording (load_eeg or a simulation).", kinds=("raw",))}
    outputs = {
        "epochs": Output(
            "epochs/",
            "X (n_epochs, n_chans, n_times) float32 volts, y index into label_names (the event names), groups "
            "(recording, epoch), sfreq, channels.",
            kind="epochs",
        ),
        "events": Output("events.tsv", "sample, onset_s, code, label per kept epoch."),
        "info": Output("info.json", "sfreq, tmin, ch_names, ch_types, event_id, n_epochs, n_dropped."),
    }

    @classmethod
    def report(cls, artifact):
        return info_section(
            "Epochs", artifact, "info", ("sfreq", "tmin", "n_times", "n_epochs", "n_dropped", "event_id")
        )

    def run(self, params, inputs, out_dir):
        from .._windows import window_labels
        from ..eeg import make_epochs
        from ..kinds import EpochsData, RawRecording

        raw = RawRecording.load(inputs["raw"])
        baseline = None if params.baseline is None else tuple(params.baseline)  # [start, end]: Params check it
        epochs = make_epochs(
            raw,
            tmin=params.tmin,
            tmax=params.tmax,
            event_id=dict(params.event_id) or None,
            window=params.window,
            overlap=params.overlap,
            baseline=baseline,
            reject_by_annotation=params.reject_by_annotation,
        )
        if len(epochs) == 0:
            raise bad_value("epochs", "at least one epoch inside the recording", "<all dropped>")
        X = epochs.get_data(copy=True).astype(np.float32)
        codes = epochs.events[:, 2].astype(np.int64)
        names = {v: k for k, v in epochs.event_id.items()}
        labels = np.array([names.get(int(c), str(c)) for c in codes])
        samples = epochs.events[:, 0] - raw.first_samp
        sfreq = float(raw.info["sfreq"])
        if params.label_windows:
            ann = raw.annotations
            labels = window_labels(
                samples / sfreq, params.window, ann.onset - raw.first_samp / sfreq, ann.duration, ann.description
            )
        label_names, y = np.unique(labels, return_inverse=True)
        rec = Path(raw.filenames[0]).stem if raw.filenames and raw.filenames[0] else "recording"
        EpochsData(
            X,
            epochs.info["sfreq"],
            list(epochs.ch_names),
            epochs.get_channel_types(),
            y.astype(np.int64),
            label_names.tolist(),
            {"recording": [rec] * len(X), "epoch": np.arange(len(X))},
            None,
            {"source": "epoch_eeg", "dataset": rec, "unit": "V", "tmin": float(epochs.tmin)},
        ).save(out_dir / "epochs")
        save_table(
            out_dir / "events.tsv", {"sample": samples, "onset_s": samples / sfreq, "code": codes, "labels": labels}
        )
        save_json(
            out_dir / "info.json",
            {
                "sfreq": epochs.info["sfreq"],
                "tmin": float(epochs.tmin),
                "n_times": int(X.shape[2]),
                "ch_names": list(epochs.ch_names),
                "ch_types": epochs.get_channel_types(),
                "event_id": dict(epochs.event_id),
                "n_epochs": int(len(X)),
                "label_names": label_names.tolist(),
                "n_dropped": int(sum(1 for d in epochs.drop_log if d)),
            },
        )
