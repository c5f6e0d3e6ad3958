"""Public-dataset stages: ``load_abide``, ``load_uea_eeg``, ``load_haxby``, ``load_sleep_edf`` (NSD: ``_nsd_stages``).

Each takes an optional ``root`` path input (the dataset folder; ``status`` and
``--dry-run`` report it missing) and otherwise finds the data with the
``data_dir`` parameter -> ``$NEUROCODEC_DATA`` -> ``~/neurocodec_data`` rule
at run time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field

from ...pipeline import (
    Input,
    Output,
    Stage,
    StageParams,
    bad_value,
    register_stage,
    save_json,
    save_table,
)
from ._common import info_section


def _data_dir_field():
    return Field(
        None,
        description="Dataset folder or data home when the 'root' input is not given (then $NEUROCODEC_DATA, "
        "~/neurocodec_data).",
    )


class AbideParams(StageParams):
    data: Literal["timeseries", "matrices"] = Field(
        "timeseries",
        description="ROI time series (PCP release or download layout -> roi_timeseries) or an FC "
        "release of correlation matrices (fc_upper.npz, e.g. Schaefer-200 -> connectomes).",
    )
    atlas: Literal["cc200", "cc400", "aal", "ho", "tt", "ez", "dosenbach160"] = Field(
        "cc200", description="PCP atlas of the time series (data: timeseries)."
    )
    sites: list[str] | None = Field(None, description="Keep only these sites (SITE_ID; None: all).")
    subjects: list[str] | None = Field(
        None, description="Keep only these subjects (FILE_ID / SUB_ID; matrices: the 'subject' column; None: all)."
    )
    qc_columns: list[str] = Field(
        [],
        description="QC rating columns that must be in qc_accept, e.g. "
        "[qc_rater_1, qc_func_rater_2, qc_func_rater_3] (empty: no QC filter).",
    )
    qc_accept: list[str] = Field(["OK"], description="Accepted QC ratings (PCP raters write OK, maybe, fail).")
    max_mean_fd: float | None = Field(
        None, gt=0, description="Keep subjects with mean framewise displacement (func_mean_fd, mm) at most this."
    )
    min_timepoints: int = Field(10, ge=3, description="Keep subjects with at least this many time points.")
    eyes: Literal["open", "closed"] | None = Field(None, description="Keep subjects scanned with eyes open / closed.")
    age_range: list[float] | None = Field(
        None, min_length=2, max_length=2, description="[low, high] ages kept (years)."
    )
    sex: Literal["male", "female"] | None = Field(None, description="Keep one sex only.")
    zero_variance: Literal["drop_subject", "drop_roi", "error"] = Field(
        "drop_subject",
        description="ROIs with zero variance in a subject (outside its field of view): drop those "
        "subjects, drop those ROIs cohort-wide, or fail. Recorded in the artifact's info.",
    )
    data_dir: str | None = _data_dir_field()


@register_stage
class LoadAbide(Stage):
    """ABIDE ROI time series (PCP, any atlas; filters, zero-variance policy) or an FC release of matrices."""

    name = "load_abide"
    version = 2
    Params = AbideParams
    libraries = ("numpy", "pandas", "nibabel")
    inputs = {
        "root": Input(
            "Release folder (timeseries.npz + phenotypes.tsv, or PCP rois_<atlas>/*.1D + "
            "Phenotypic_V1_0b_preprocessed1.csv; data: matrices: fc_upper.npz + phenotypes.tsv).",
            source="path",
            required=False,
            suffixes=("/",),
        )
    }
    outputs = {
        "cohort": Output("./", "data: timeseries: the whole folder, a roi_timeseries artifact.", kind="roi_timeseries"),
        "connectomes": Output(
            "./", "data: matrices: the whole folder, a connectomes artifact (correlation).", kind="connectomes"
        ),
        "subjects": Output(
            "subjects.tsv",
            "One row per subject: subject, site, group (1 ASD, 0 control), diagnosis, "
            "age, sex, eyes, mean_fd, n_times + the phenotype file's columns.",
        ),
        "rois": Output("rois.tsv", "name (atlas label) and x, y, z (MNI mm) when the atlas image is present."),
    }

    @classmethod
    def produced_kinds(cls, params=None):
        if params is None:
            return ("roi_timeseries", "connectomes")
        return ("roi_timeseries",) if params.data == "timeseries" else ("connectomes",)

    @classmethod
    def report(cls, artifact):
        from ...pipeline.report import Section, Table, Text

        meta = next(
            (
                artifact.path / f"{k}.json"
                for k in ("roi_timeseries", "connectomes")
                if (artifact.path / f"{k}.json").is_file()
            ),
            None,
        )
        if meta is None:
            return None
        from ...pipeline import load_json

        head = load_json(meta)
        info = head.get("info", {})
        rows = [[e["reason"], e["n_subjects"]] for e in info.get("exclusions", [])]
        zv = info.get("zero_variance", {})
        text = (
            f"{head['n_subjects']} subjects x {head['n_rois']} ROIs ({head['kind']}, {info.get('atlas', '')}); "
            f"zero-variance policy {zv.get('policy', 'n/a')}: {zv.get('n_subjects_with_zero_variance_rois', 0)} "
            f"subjects affected, {len(zv.get('dropped_subjects', []))} dropped, "
            f"{len(zv.get('dropped_rois', []))} ROIs dropped."
        )
        return Section(
            "ABIDE", [Text(text), Table(["exclusion", "subjects"], rows, caption="In order of application.")]
        )

    def run(self, params, inputs, out_dir):
        if params.data == "matrices":
            import pandas as pd

            from ..kinds import Connectomes
            from ..loaders import load_abide_fc

            fc, ph = load_abide_fc(inputs.get("root"), data_dir=params.data_dir)
            rois_names = ph.attrs.get("rois")
            keep = np.ones(len(ph), bool)
            if params.sites is not None:
                known = set(ph["site"].astype(str))
                unknown = sorted(set(params.sites) - known)
                if unknown:
                    raise bad_value("sites", f"sites of this release {sorted(known)}", unknown)
                keep &= ph["site"].astype(str).isin(params.sites).to_numpy()
            if params.subjects is not None:
                keep &= ph["subject"].astype(str).isin(params.subjects).to_numpy()
            if not keep.any():
                raise bad_value("subjects", "filters leaving at least one subject", params.subjects)
            fc, ph = fc[keep], ph[keep].reset_index(drop=True)
            ph.attrs["rois"] = rois_names
            if "group" not in ph and "diagnosis" in ph:
                ph["group"] = (ph["diagnosis"].astype(str).str.upper() == "ASD").astype(int)
            rois = pd.DataFrame({"name": ph.attrs.get("rois") or [str(k + 1) for k in range(fc.shape[1])]})
            counts = ph["diagnosis"].value_counts().to_dict() if "diagnosis" in ph else {}
            Connectomes(
                fc,
                ph,
                rois,
                {
                    "measure": "correlation",
                    "estimator": "release (Pearson)",
                    "dataset": "ABIDE FC release",
                    "diagnosis_counts": counts,
                },
            ).save(out_dir)
            return
        from ..loaders import load_abide_timeseries

        root = inputs.get("root")
        if root is None and params.data_dir is not None:
            root = Path(params.data_dir)
            root = root if (root / "phenotypes.tsv").is_file() else root / f"abide_pcp_{params.atlas}"
        cohort = load_abide_timeseries(
            root,
            atlas=params.atlas,
            sites=params.sites,
            subjects=params.subjects,
            qc_columns=params.qc_columns or None,
            qc_accept=params.qc_accept,
            max_mean_fd=params.max_mean_fd,
            min_timepoints=params.min_timepoints,
            eyes=params.eyes,
            age_range=params.age_range,
            sex=params.sex,
            zero_variance=params.zero_variance,
        )
        cohort.save(out_dir)


class UeaParams(StageParams):
    name: str = Field(description="UEA problem, e.g. 'SelfRegulationSCP1', 'FingerMovements', 'EyesOpenShut'.")
    sfreq: float | None = Field(
        None, gt=0, description="Sampling rate (Hz) when the problem has no NAME.json giving it."
    )
    data_dir: str | None = _data_dir_field()


@register_stage
class LoadUeaEEG(Stage):
    """UEA multivariate EEG problem (.npz or .ts) -> epochs (kind) with its official train/test split."""

    name = "load_uea_eeg"
    version = 2
    Params = UeaParams
    inputs = {
        "root": Input(
            "Folder holding the problems (NAME/NAME.npz or NAME_TRAIN.ts).",
            source="path",
            required=False,
            suffixes=("/",),
        )
    }
    outputs = {
        "epochs": Output(
            "epochs/",
            "Trials (train then test; split), labels, sfreq, channels (EEG000.. when unknown).",
            kind="epochs",
        ),
        "info": Output("info.json", "name, sfreq, channels (when known), shapes, classes."),
    }

    @classmethod
    def report(cls, artifact):
        return info_section(
            "UEA EEG problem", artifact, "info", ("name", "sfreq", "n_chans", "n_times", "n_train", "n_test", "classes")
        )

    def run(self, params, inputs, out_dir):
        from ..kinds import EpochsData
        from ..loaders import load_uea, load_uea_info

        where = inputs.get("root", params.data_dir)
        X_train, y_train, X_test, y_test = load_uea(params.name, where)
        info = load_uea_info(params.name, where)
        info.pop("description", None)
        sfreq = info.get("sfreq") or params.sfreq
        if sfreq is None:
            raise bad_value("sfreq", f"given (the problem has no {params.name}.json with its rate)", None)
        if info.get("sfreq") and params.sfreq and abs(float(info["sfreq"]) - params.sfreq) > 1e-6:
            raise bad_value("sfreq", f"{info['sfreq']} Hz (the rate in {params.name}.json) or unset", params.sfreq)
        n_chans = X_train.shape[1]
        channels = info.get("channels") or [f"EEG{i:03d}" for i in range(n_chans)]
        if len(channels) != n_chans:
            channels = [f"EEG{i:03d}" for i in range(n_chans)]
        labels = np.concatenate([y_train, y_test]).astype(str)
        names, y = np.unique(labels, return_inverse=True)
        split = np.array(["train"] * len(X_train) + ["test"] * len(X_test))
        # trials are not identified by subject in the archive: one group per trial
        groups = {"subject": ["0"] * len(labels), "recording": [f"{s}{i}" for s, i in zip(split, range(len(labels)))]}
        EpochsData(
            np.concatenate([X_train, X_test]),
            float(sfreq),
            channels,
            None,
            y.astype(np.int64),
            names.tolist(),
            groups,
            split,
            {"source": "load_uea_eeg", "dataset": params.name},
        ).save(out_dir / "epochs")
        info.update(
            sfreq=float(sfreq),
            n_chans=n_chans,
            n_times=X_train.shape[2],
            n_train=len(X_train),
            n_test=len(X_test),
            classes=names.tolist(),
        )
        save_json(out_dir / "info.json", info)


class HaxbyParams(StageParams):
    subject: int = Field(1, ge=1, le=6, description="Subject number.")
    mask: str = Field("vt", description="Mask name under sub00N/masks/<resolution>/ (vt, brain, gray, ...).")
    resolution: str = Field("25mm", description="Mask sub-folder.")
    method: Literal["lsa", "lss"] = Field(
        "lsa", description="Block betas: least-squares-all (one GLM per run) or least-squares-separate."
    )
    high_pass: float = Field(
        0.0078125, gt=0, description="Cosine drift cutoff (Hz) of the GLM; default 1/128 Hz (SPM convention)."
    )
    standardize_betas: bool = Field(True, description="z-score each voxel's block betas within each run.")
    test_runs: list[int] = Field(
        default_factory=list,
        description="Runs (0-based) whose blocks are the kind's test trials (default: the last run); "
        "decode_categories cross-validates over all runs either way.",
    )
    data_dir: str | None = _data_dir_field()


@register_stage
class LoadHaxby(Stage):
    """Haxby 2001 (OpenfMRI layout) -> block betas of one subject as stimulus_responses (categories, runs).

    One GLM per run with one regressor per block of all eight categories (Glover HRF, cosine drift, OLS);
    each category is one stimulus (no images); the run of each block is in the per-subject trials table.
    """

    name = "load_haxby"
    version = 2
    Params = HaxbyParams
    libraries = ("numpy", "pandas", "nibabel", "nilearn")
    inputs = {"root": Input("Haxby folder (holding sub00N/, models/).", source="path", required=False, suffixes=("/",))}
    outputs = {
        "responses": Output(
            "./",
            "The whole folder, a stimulus_responses artifact: block betas (n_blocks, n_voxels), the category "
            "and run of each block.",
            kind="stimulus_responses",
        ),
        "info": Output("info.json", "subject, mask, n_voxels, t_r, conditions, blocks per category, GLM options."),
    }

    @classmethod
    def report(cls, artifact):
        return info_section(
            "Haxby block betas", artifact, "info", ("subject", "mask", "n_voxels", "n_runs", "t_r", "counts")
        )

    def run(self, params, inputs, out_dir):
        from ..loaders import haxby_responses, load_haxby

        data = load_haxby(inputs.get("root"), params.subject, resolution=params.resolution, data_dir=params.data_dir)
        exp = haxby_responses(
            data,
            params.mask,
            method=params.method,
            high_pass=params.high_pass,
            standardize_betas=params.standardize_betas,
            test_runs=list(params.test_runs),
        )
        exp.save(out_dir)
        trials = exp.subjects[data.subject].trials
        labels, counts = np.unique(trials["trial_type"].astype(str), return_counts=True)
        save_json(
            out_dir / "info.json",
            {
                "subject": data.subject,
                "mask": params.mask,
                "n_voxels": exp.subjects[data.subject].n_voxels,
                "n_runs": len(data.runs),
                "t_r": data.t_r,
                "conditions": data.conditions,
                "counts": dict(zip(labels.tolist(), counts.tolist())),
                "method": params.method,
                "high_pass": params.high_pass,
            },
        )


class SleepParams(StageParams):
    records: list[str] = Field(
        default_factory=list, description="Record prefixes to load (e.g. SC4001E); all when empty."
    )
    max_records: int | None = Field(None, gt=0, description="Load at most this many records (in name order).")
    channels: list[str] = Field(default_factory=lambda: ["EEG Fpz-Cz", "EEG Pz-Oz"], description="PSG channels.")
    epoch_s: float = Field(30.0, gt=0, description="Epoch length (s).")
    crop_wake_min: float | None = Field(30.0, ge=0, description="Minutes of wake kept around sleep (none: keep all).")
    data_dir: str | None = _data_dir_field()


@register_stage
class LoadSleepEDF(Stage):
    """Sleep-EDF PSG + hypnogram pairs -> 30-s epochs (kind) labelled W/N1/N2/N3/REM, grouped by subject and night."""

    name = "load_sleep_edf"
    version = 2
    Params = SleepParams
    libraries = ("numpy", "mne")
    inputs = {
        "root": Input(
            "Sleep-EDF folder (e.g. sleep-cassette/) with *-PSG.edf and *-Hypnogram.edf.",
            source="path",
            required=False,
            suffixes=("/",),
        )
    }
    outputs = {
        "epochs": Output(
            "epochs/",
            "X (n_epochs, n_chans, n_times) float32 volts, y the stage (label_names W..REM), groups: subject, "
            "session (night), recording.",
            kind="epochs",
        ),
        "records": Output("records.tsv", "record, psg, hypnogram, n_epochs."),
        "info": Output("info.json", "sfreq, channels, stage codes, counts per stage."),
    }

    @classmethod
    def report(cls, artifact):
        return info_section("Sleep-EDF epochs", artifact, "info", ("sfreq", "channels", "counts"))

    def run(self, params, inputs, out_dir):
        from .._validation import check_sfreq_match
        from ..kinds import EpochsData
        from ..loaders import sleep_edf_pairs
        from ..loaders._sleep_edf import STAGE_CODES, load_sleep_edf_record

        pairs = sleep_edf_pairs(inputs.get("root"), data_dir=params.data_dir)
        if params.records:
            pairs = [p for p in pairs if p[0].name[:7] in set(params.records)]
            if not pairs:
                raise bad_value("records", "prefixes of PSG files in the folder", list(params.records))
        pairs = pairs[: params.max_records] if params.max_records else pairs
        Xs, ys, groups, rows, sfreqs = [], [], [], [], {}
        for i, (psg, hyp) in enumerate(pairs):
            X, y, sfreq = load_sleep_edf_record(
                psg, hyp, channels=list(params.channels), epoch_s=params.epoch_s, crop_wake_min=params.crop_wake_min
            )
            sfreqs[psg.name] = sfreq
            Xs.append(X), ys.append(y)
            name = psg.name.split("-")[0]  # SC4ssN..: subject ss, night N
            groups += [
                {"subject": name[3:5] if len(name) >= 6 else name, "session": name[5:6] or "0", "recording": name}
            ] * len(y)
            rows.append({"record": i, "psg": psg.name, "hypnogram": hyp.name, "n_epochs": len(y)})
        sfreq = check_sfreq_match(sfreqs)
        y = np.concatenate(ys).astype(np.int64)
        inv = {v: k for k, v in STAGE_CODES.items()}
        label_names = [inv[c] for c in range(len(STAGE_CODES))]
        EpochsData(
            np.concatenate(Xs),
            sfreq,
            list(params.channels),
            None,
            y,
            label_names,
            groups,
            None,
            {"source": "load_sleep_edf", "unit": "V", "epoch_s": params.epoch_s},
        ).save(out_dir / "epochs")
        save_table(out_dir / "records.tsv", rows)
        save_json(
            out_dir / "info.json",
            {
                "sfreq": sfreq,
                "channels": list(params.channels),
                "stage_codes": STAGE_CODES,
                "counts": {inv[int(c)]: int((y == c).sum()) for c in np.unique(y)},
            },
        )


class BidsParams(StageParams):
    subjects: list[str] = Field(default_factory=list, description="Subject labels (without 'sub-'); all when empty.")
    sessions: list[str] = Field(default_factory=list, description="Session labels; all when empty.")
    tasks: list[str] = Field(default_factory=list, description="Task labels; all when empty.")
    runs: list[str] = Field(default_factory=list, description="Run labels; all when empty.")
    datatypes: list[str] = Field(
        default_factory=list, description="BIDS datatypes (func, eeg, ieeg, anat, ...); all when empty."
    )
    suffixes: list[str] = Field(
        default_factory=list, description="File suffixes (bold, eeg, ieeg, events, ...); all when empty."
    )
    extensions: list[str] = Field(
        default_factory=list, description="Extensions ('.nii.gz', '.edf', '.vhdr', ...); all when empty."
    )


@register_stage
class BidsInputs(Stage):
    """BIDS dataset (raw or derivatives) -> table of matched files per subject/session/task/run + entity inventory."""

    name = "bids_inputs"
    version = 1
    Params = BidsParams
    libraries = ("numpy", "mne-bids")
    inputs = {"root": Input("BIDS dataset or derivatives folder.", source="path", suffixes=("/",))}
    outputs = {
        "files": Output(
            "files.tsv",
            kind="file_table",
            description="subject, session, task, run, datatype, suffix, extension, path per matched file.",
        ),
        "entities": Output("entities.json", "All subjects, sessions, tasks, runs, datatypes found."),
    }

    @classmethod
    def report(cls, artifact):
        return info_section("BIDS inputs", artifact, "entities", ("subject", "session", "task", "run", "datatype"))

    def run(self, params, inputs, out_dir):
        from ..bids import bids_entities, find_bids_files

        kw = {k: list(v) or None for k, v in params.model_dump().items()}
        files = find_bids_files(inputs["root"], **kw)
        save_table(out_dir / "files.tsv", files)
        save_json(out_dir / "entities.json", bids_entities(inputs["root"]))
