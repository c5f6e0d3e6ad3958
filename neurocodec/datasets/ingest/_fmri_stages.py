"""fMRI ingest stages: ``load_fmri`` (masked / ROI series; with an atlas the ``roi_timeseries`` kind) and
``fmri_single_trial_betas`` (the ``stimulus_responses`` kind).
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
    parallel_map,
    register_stage,
    save_array,
    save_json,
    save_table,
)
from ._common import expand_files, info_section, one_source, table_files

_LIBS = ("numpy", "nibabel", "nilearn", "scikit-learn")

#: File types of path inputs (checked at plan time): NIfTI images, folders of runs, confound tables.
_IMAGE = (".nii", ".nii.gz")
_RUNS = ("/", ".nii", ".nii.gz")
_TABLES = ("/", ".tsv", ".csv", ".txt")


def mask_figure(artifact):
    """Mean signal (voxel mode) or the mask footprint, drawn with nilearn (report figure)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import nibabel as nib
    import numpy as np
    from nilearn import masking, plotting

    from ...pipeline.report import Figure

    mask = nib.load(artifact.file("mask"))
    fig = plt.figure(figsize=(8, 3))
    n_mask = int(np.count_nonzero(np.asarray(mask.dataobj)))
    signals = artifact.load("signals")
    if signals.shape[1] == n_mask:
        mean_img = masking.unmask(
            np.abs(signals).mean(0), nib.Nifti1Image((np.asarray(mask.dataobj) > 0).astype("int8"), mask.affine)
        )
        plotting.plot_epi(mean_img, figure=fig, display_mode="ortho", title="mean |signal| in the mask")
        caption = f"Mean absolute cleaned signal of the {n_mask} mask voxels."
    else:
        plotting.plot_roi(mask, figure=fig, display_mode="ortho", title="mask / atlas footprint")
        caption = f"Mask / atlas footprint ({n_mask} voxels)."
    return Figure.from_matplotlib(fig, caption=caption)


class LoadFMRIParams(StageParams):
    pattern: str = Field(
        "**/*bold*.nii*", description="Glob selecting the runs when 'bold' is a folder or an artifact."
    )
    t_r: float | None = Field(None, gt=0, description="Repetition time (s); default: the 4th voxel size of the header.")
    standardize: Literal["zscore_sample", "psc", "none"] = Field(
        "zscore_sample", description="Standardisation of each series."
    )
    detrend: bool = Field(True, description="Remove a linear trend per run.")
    high_pass: float | None = Field(None, gt=0, description="High-pass cutoff (Hz), e.g. 0.01.")
    low_pass: float | None = Field(None, gt=0, description="Low-pass cutoff (Hz), e.g. 0.1 for resting state.")
    smoothing_fwhm: float | None = Field(None, gt=0, description="Gaussian smoothing FWHM (mm) before masking.")
    confound_columns: list[str] = Field(
        default_factory=list, description="Confound table columns to regress out (all when empty)."
    )
    confounds_pattern: str = Field(
        "**/*confounds*.tsv", description="Glob for per-run confound tables when 'confounds' is a folder."
    )
    subject: str | None = Field(
        None,
        min_length=1,
        description="Subject id of the roi_timeseries cohort (one subject per step; default: the BIDS sub- "
        "entity of the first run, else 'sub-01').",
    )
    site: str = Field("0", min_length=1, description="Site of the subject in the cohort's subject table.")


def _masked_run(job: dict) -> np.ndarray:
    from ..fmri import extract_signals, load_confounds, load_img

    img = load_img(job["bold"], 4, "bold")
    conf = None
    if job["confounds"] is not None:
        conf = load_confounds(job["confounds"], img.shape[3], job["columns"] or None)
    sig, _ = extract_signals(img, job["mask"], job["atlas"], conf, **job["clean"])
    return sig


@register_stage
class LoadFMRI(Stage):
    """fMRI runs (NIfTI) -> cleaned voxel (mask) or ROI (label / probabilistic atlas) time series.

    With an ``atlas`` the artifact is also a one-subject ``roi_timeseries`` cohort (runs concatenated, ROI names
    from ``labels`` when given, ROI centres in mm), so ``load_fmri -> connectivity`` works; without one a
    consumer of that kind is refused at plan time.
    """

    name = "load_fmri"
    version = 2
    Params = LoadFMRIParams
    libraries = _LIBS
    inputs = {
        "bold": Input(
            "4-D NIfTI run, or folder of runs (see 'pattern').", source="path", required=False, suffixes=_RUNS
        ),
        "source": Input(
            "A bids_inputs file table: its runs matching 'pattern', of one subject (alternative to 'bold').",
            kinds=("file_table",),
            required=False,
        ),
        "mask": Input("3-D brain mask on the runs' grid.", source="path", required=False, suffixes=_IMAGE),
        "atlas": Input(
            "3-D label image or 4-D probabilistic atlas on the runs' grid.",
            source="path",
            required=False,
            suffixes=_IMAGE,
        ),
        "labels": Input(
            "ROI names of the atlas: TSV with index and name columns (BIDS dseg.tsv) or one name a line.",
            source="path",
            required=False,
            suffixes=(".tsv", ".txt", ".csv"),
        ),
        "confounds": Input(
            "Confound TSV (one run) or folder of per-run TSVs.", source="path", required=False, suffixes=_TABLES
        ),
    }
    outputs = {
        "cohort": Output(
            "./",
            "With an atlas: a one-subject roi_timeseries cohort (timeseries.npz, subjects.tsv with tr, rois.tsv with "
            "name, label, x, y, z).",
            kind="roi_timeseries",
            requires=("atlas",),
        ),
        "signals": Output("signals.npy", "(n_times_total, n_features) float32 cleaned series, runs concatenated."),
        "runs": Output("runs.tsv", "run, file, start, n_times: where each run lies in 'signals'."),
        "info": Output("info.json", "t_r, mode (voxels | labels | maps), n_features, cleaning options."),
        "mask": Output("mask.nii.gz", "The voxel mask (voxel mode) or the atlas footprint (ROI mode)."),
    }

    @classmethod
    def report(cls, artifact):
        section = info_section(
            "fMRI signals", artifact, "info", ("mode", "t_r", "n_runs", "n_features", "clean", "confounds")
        )
        section.blocks.append(mask_figure(artifact))
        return section

    def run(self, params, inputs, out_dir):
        import nibabel as nib

        from ..fmri import load_img, load_mask

        which = one_source(inputs, ("bold", "source"))
        runs = (
            expand_files(inputs["bold"], params.pattern, name="bold")
            if which == "bold"
            else table_files(inputs["source"], params.pattern, name="source")
        )
        first = load_img(runs[0], 4, "bold")
        t_r = params.t_r or float(first.header.get_zooms()[3])
        if not t_r > 0:
            raise bad_value("t_r", "> 0 (set it: the header has no repetition time)", t_r)
        confs: list = [None] * len(runs)
        if "confounds" in inputs:
            confs = expand_files(inputs["confounds"], params.confounds_pattern, name="confounds")
            if len(confs) != len(runs):
                raise bad_value("confounds", f"one table per run ({len(runs)})", f"<{len(confs)} tables>")
        mask = str(inputs["mask"]) if "mask" in inputs else None
        atlas = str(inputs["atlas"]) if "atlas" in inputs else None
        clean = dict(
            t_r=t_r,
            standardize=None if params.standardize == "none" else params.standardize,
            detrend=params.detrend,
            high_pass=params.high_pass,
            low_pass=params.low_pass,
            smoothing_fwhm=params.smoothing_fwhm,
        )
        jobs = [
            dict(
                bold=str(r),
                mask=mask,
                atlas=atlas,
                confounds=None if c is None else str(c),
                columns=list(params.confound_columns),
                clean=clean,
            )
            for r, c in zip(runs, confs)
        ]
        if "labels" in inputs and atlas is None:
            raise bad_value("labels", "given with an 'atlas' input", str(inputs["labels"]))
        if atlas is not None:  # before any run is read: one clear error when the atlas is off the runs' grid
            from .._validation import check_same_grid
            from ..fmri import atlas_regions

            check_same_grid(load_img(atlas, None, "atlas"), first, "atlas", f"the runs ({Path(runs[0]).name})")
            regions = atlas_regions(atlas, inputs.get("labels"))
        sigs = parallel_map(_masked_run, jobs)
        widths = {s.shape[1] for s in sigs}
        if len(widths) != 1:
            raise bad_value("bold", "runs giving the same number of features", f"<{sorted(widths)}>")
        signals = np.concatenate(sigs, axis=0).astype(np.float32)
        save_array(out_dir / "signals.npy", signals)
        if atlas is not None:
            from ..fmri import bids_subject
            from ..kinds import RoiTimeseries

            if signals.shape[1] != len(regions):
                raise bad_value("atlas", f"regions inside the mask ({len(regions)})", f"<{signals.shape[1]} signals>")
            subject = params.subject or bids_subject(runs[0])
            table = [{"subject": subject, "site": params.site, "tr": t_r, "n_runs": len(runs), "n_times": len(signals)}]
            info = {"source": "load_fmri", "atlas": Path(atlas).name, "runs": [Path(r).name for r in runs]}
            RoiTimeseries({subject: signals}, table, regions, info).save(out_dir)
        starts = np.cumsum([0] + [len(s) for s in sigs[:-1]])
        save_table(
            out_dir / "runs.tsv",
            {
                "run": list(range(len(runs))),
                "file": [Path(r).name for r in runs],
                "start": starts.tolist(),
                "n_times": [len(s) for s in sigs],
            },
        )
        if atlas is not None:
            a = load_img(atlas, None, "atlas")
            data = np.asarray(a.dataobj)
            foot = (data != 0) if data.ndim == 3 else (data != 0).any(axis=3)
            nib.save(nib.Nifti1Image(foot.astype(np.uint8), a.affine), out_dir / "mask.nii.gz")
            mode = "maps" if data.ndim == 4 and data.shape[3] > 1 else "labels"
        elif mask is not None:
            nib.save(load_mask(mask, first), out_dir / "mask.nii.gz")
            mode = "voxels"
        else:
            from nilearn.masking import compute_background_mask

            nib.save(compute_background_mask(first), out_dir / "mask.nii.gz")
            mode = "voxels"
        save_json(
            out_dir / "info.json",
            {
                "t_r": t_r,
                "mode": mode,
                "n_features": int(widths.pop()),
                "n_runs": len(runs),
                "clean": {k: v for k, v in clean.items()},
                "confounds": "confounds" in inputs,
            },
        )


class BetasParams(StageParams):
    method: Literal["lss", "lsa"] = Field(
        "lss", description="Least-squares-separate (Mumford 2012) or least-squares-all."
    )
    pattern: str = Field("**/*bold*.nii*", description="Glob selecting the runs when 'bold' is a folder.")
    events_pattern: str = Field(
        "**/*events.tsv", description="Glob selecting per-run event tables when 'events' is a folder."
    )
    t_r: float | None = Field(None, gt=0, description="Repetition time (s); default from the header.")
    hrf_model: str = Field("glover", description="nilearn HRF model (glover, spm, glover + derivative, ...).")
    drift_model: Literal["cosine", "polynomial"] | None = Field("cosine", description="Drift regressors.")
    high_pass: float = Field(0.01, gt=0, description="Cosine drift cutoff (Hz).")
    noise_model: Literal["ols", "ar1"] = Field("ols", description="GLM noise model.")
    standardize_betas: bool = Field(False, description="z-score each voxel's betas within each run.")
    sessions: list[str] = Field(
        default_factory=list, description="Session label per run (kept in trials.tsv); default: BIDS ses- entity or 0."
    )
    subject: str | None = Field(
        None, min_length=1, description="Subject id in stimulus_responses (default: BIDS sub- entity, else sub-01)."
    )
    test_runs: list[int] = Field(
        default_factory=list,
        description="Runs (0-based, in file order) whose trials are the test trials of stimulus_responses; "
        "default: the last run.",
    )
    image_size: int | None = Field(None, ge=8, description="Resize the stim_file images to this square size.")


def _session_of(path: Path) -> str:
    for part in path.name.split("_"):
        if part.startswith("ses-"):
            return part[4:]
    return "0"


def _pair_events(runs: list[Path], events_path: Path | None, pattern: str) -> list[Path]:
    if events_path is None:
        out = []
        for r in runs:
            stem = r.name.split(".nii")[0]
            stem = stem[: -len("_bold")] if stem.endswith("_bold") else stem
            cand = [r.parent / f"{stem}_events.tsv"] + sorted(r.parent.glob("*events.tsv"))
            found = next((c for c in cand if c.is_file()), None)
            if found is None:
                raise bad_value(
                    "events", "an events.tsv beside each run", f"<none for {r.name}>", exc=FileNotFoundError
                )
            out.append(found)
        return out
    events = expand_files(events_path, pattern, name="events")
    if len(events) != len(runs):
        raise bad_value("events", f"one table per run ({len(runs)})", f"<{len(events)} tables>")
    return events


@register_stage
class FMRISingleTrialBetas(Stage):
    """Event-related fMRI -> single-trial betas (nilearn GLM, LSS or LSA) as stimulus_responses, runs kept.

    Each trial's stimulus is its events' ``stim_file`` (an image of the ``stimuli`` folder when given) or, without
    that column, its ``trial_type`` (categories as stimuli, no pixels); ``trial_type`` is the category. The trials
    of ``test_runs`` (default the last run) are the test split; run, session and the event columns of every trial
    are in the kind's per-subject trials.tsv.
    """

    name = "fmri_single_trial_betas"
    version = 2
    Params = BetasParams
    libraries = _LIBS
    inputs = {
        "bold": Input("4-D NIfTI run or folder of runs.", source="path", suffixes=_RUNS),
        "mask": Input("3-D mask on the runs' grid.", source="path", suffixes=_IMAGE),
        "events": Input(
            "events.tsv or folder of them (default: beside each run).",
            source="path",
            required=False,
            suffixes=("/", ".tsv", ".csv"),
        ),
        "confounds": Input(
            "Confound TSV or folder of per-run TSVs (all columns added to the design).",
            source="path",
            required=False,
            suffixes=_TABLES,
        ),
        "stimuli": Input(
            "Folder of the images named by the events' stim_file column (paths relative to it).",
            source="path",
            required=False,
            suffixes=("/",),
        ),
    }
    outputs = {
        "responses": Output(
            "./",
            "The whole folder, a stimulus_responses artifact (one subject; trials.tsv per subject).",
            kind="stimulus_responses",
        ),
        "betas": Output("betas.npy", "(n_trials, n_voxels) float32 single-trial betas."),
        "trials": Output(
            "trials.tsv", "run, session, onset, duration, trial_type (+ event columns), one row per beta."
        ),
        "mask": Output("mask.nii.gz", "The voxel mask (maps betas back to images)."),
        "info": Output("info.json", "method, t_r, n_trials, n_voxels, GLM options."),
    }

    @classmethod
    def report(cls, artifact):
        return info_section(
            "Single-trial betas",
            artifact,
            "info",
            ("method", "t_r", "n_runs", "n_trials", "n_voxels", "hrf_model", "noise_model"),
        )

    def run(self, params, inputs, out_dir):
        import nibabel as nib

        from .._trial_responses import check_event_columns, check_trial_design, responses_from_betas
        from ..fmri import (
            bids_subject,
            load_confounds,
            load_events,
            load_img,
            load_mask,
            mask_voxels,
            single_trial_betas,
        )

        runs = expand_files(inputs["bold"], params.pattern, name="bold")
        events = _pair_events(runs, inputs.get("events"), params.events_pattern)
        check_event_columns(events)
        tables = [load_events(e) for e in events]
        # the design (split, stimuli, images on disk) is checked before any GLM is fitted
        check_trial_design(tables, list(params.test_runs), inputs.get("stimuli"))
        first = load_img(runs[0], 4, "bold")
        t_r = params.t_r or float(first.header.get_zooms()[3])
        confs = None
        if "confounds" in inputs:
            files = expand_files(inputs["confounds"], "**/*confounds*.tsv", name="confounds")
            if len(files) != len(runs):
                raise bad_value("confounds", f"one table per run ({len(runs)})", f"<{len(files)} tables>")
            confs = [load_confounds(f, load_img(r, 4).shape[3]) for f, r in zip(files, runs)]
        sessions = list(params.sessions) or [_session_of(r) for r in runs]
        if len(sessions) != len(runs):
            raise bad_value("sessions", f"one label per run ({len(runs)})", sessions)
        betas, trials = single_trial_betas(
            [str(r) for r in runs],
            tables,
            str(inputs["mask"]),
            t_r=t_r,
            method=params.method,
            hrf_model=params.hrf_model,
            drift_model=params.drift_model,
            high_pass=params.high_pass,
            noise_model=params.noise_model,
            confounds=confs,
            sessions=sessions,
            standardize_betas=params.standardize_betas,
        )
        mask_img = load_mask(str(inputs["mask"]), first)
        responses_from_betas(
            betas,
            trials,
            subject=params.subject or bids_subject(runs[0]),
            test_runs=list(params.test_runs),
            voxels=mask_voxels(mask_img),
            info={"producer": "fmri_single_trial_betas", "method": params.method, "runs": [r.name for r in runs]},
            stimuli=inputs.get("stimuli"),
            image_size=params.image_size,
        ).save(out_dir)
        save_array(out_dir / "betas.npy", betas)
        save_table(out_dir / "trials.tsv", trials)
        nib.save(mask_img, out_dir / "mask.nii.gz")
        save_json(
            out_dir / "info.json",
            {
                "method": params.method,
                "t_r": t_r,
                "n_trials": int(betas.shape[0]),
                "n_voxels": int(betas.shape[1]),
                "n_runs": len(runs),
                "hrf_model": params.hrf_model,
                "noise_model": params.noise_model,
            },
        )
