"""Pipeline stages of the simulation suite (cheap to import: numpy and pydantic only)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from ...pipeline import Output, Stage, StageParams, register_stage

__all__ = ["SimulateVisualFMRI", "VisualParams", "SimulateRestFMRI", "RestParams", "SimulateEEG", "EEGParams"]


class VisualParams(StageParams):
    n_subjects: int = Field(4, gt=0, description="Number of simulated subjects.")
    n_voxels: list[int] | None = Field(
        None, description="Voxels per subject (one entry per subject); default 300, 350, 400, ... (50 more each)."
    )
    image_size: int = Field(32, ge=8, description="Stimulus side in pixels.")
    n_train_images: int = Field(400, gt=0, description="Images in the training pool.")
    n_test_images: int = Field(50, gt=0, description="Shared test images seen by every subject.")
    n_repeats: int = Field(3, ge=1, description="Presentations of each test image per subject (NSD: 3).")
    n_repeats_train: int = Field(1, ge=1, description="Presentations of each training image per subject.")
    snr: float = Field(
        1.0, description="Single-trial SNR: std of the true response over images / std of trial noise (> 0)."
    )
    snr_spread: float = Field(0.3, ge=0, description="Log-normal spread (sd of log) of per-voxel SNR around 'snr'.")
    fraction_prf: float = Field(
        0.6, ge=0, le=1, description="Fraction of early-visual pRF voxels (Gabor-energy + linear)."
    )
    fraction_category: float = Field(
        0.25, ge=0, le=1, description="Fraction of category-tuned voxels (rest: global-feature voxels)."
    )
    n_orientations: int = Field(4, ge=1, description="Gabor orientations evenly spaced in [0, pi).")
    spatial_frequencies: list[float] | None = Field(
        None,
        description="Gabor spatial frequencies in cycles per image; default octaves 2, 4, 8, ... below image_size / 3.",
    )
    grid: int | None = Field(None, ge=1, description="Spatial pooling cells per side; default min(8, image_size // 4).")
    noise_correlation: float = Field(
        0.1, ge=0, lt=1, description="Fraction of trial-noise variance shared by all voxels."
    )
    train_fraction: float = Field(1.0, gt=0, le=1, description="Fraction of the training pool each subject sees.")
    linear_fraction: float = Field(
        0.3,
        ge=0,
        le=1,
        description="Share of the early-visual voxels that are linear luminance pRFs ('linear_prf', "
        "Dumoulin & Wandell 2008; phase sensitive) instead of Gabor-energy pRFs ('prf', Kay 2008; phase invariant).",
    )
    linear_exponent: float = Field(
        1.0, gt=0, le=1, description="Compressive exponent of the linear pRFs, applied per luminance cell (1: linear)."
    )
    bold_tr: float | None = Field(
        None,
        gt=0,
        description="If set, also write each subject's BOLD time series at this TR (subjects/sub-XX/bold.npz).",
    )
    bold_snr: float = Field(2.0, gt=0, description="SNR of the BOLD time series (evoked std / noise std), if written.")
    seed: int = Field(0, ge=0, description="Random seed.")


def _write_bold(exp, out_dir, tr, snr, seed):
    """BOLD of each subject's trials (train then test, in presentation order) -> subjects/<sub>/bold.npz."""
    import numpy as np

    from ...pipeline import save_arrays
    from ._bold import simulate_bold

    for k, (name, sr) in enumerate(exp.subjects.items()):
        ids = np.concatenate([sr.trial_image_ids_train, sr.trial_image_ids_test])
        run = simulate_bold(np.vstack([sr.betas_train, sr.betas_test]), tr=tr, snr=snr, seed=[seed, k])
        save_arrays(
            out_dir / "subjects" / name / "bold.npz",
            bold=run.bold,
            onsets=run.onsets,
            trial_image_ids=ids,
            tr=np.float64(tr),
            trial_duration=np.float64(run.trial_duration),
        )


@register_stage
class SimulateVisualFMRI(Stage):
    """Simulated NSD-like visual fMRI experiment (Gabor/linear pRF, category, global voxels) with ground truth.

    The artifact folder is a ``stimulus_responses`` artifact (what :meth:`StimulusResponses.save` writes)
    with the simulator's ground truth as extras (true features, noiseless responses, weights, noise ceilings);
    consumers read it with ``StimulusResponses.load(inputs["experiment"])``.
    """

    name = "simulate_visual_fmri"
    version = 2
    Params = VisualParams
    libraries = ("numpy", "scipy", "scikit-image")
    outputs = {
        "responses": Output("./", "The whole folder, a stimulus_responses artifact.", kind="stimulus_responses"),
        "metadata": Output(
            "stimulus_responses.json", "Category and feature names, subject ids, simulation parameters."
        ),
        "stimuli": Output("stimuli.npy", "(n_images, H, W, 3) float32 RGB stimuli in [0, 1]."),
        "features": Output("features.npy", "(n_images, n_features) float32 true standardised model features."),
        "true_features": Output(
            "true_features/",
            "The true features as a stimulus_features artifact (set 'true').",
            kind="stimulus_features",
        ),
        "splits": Output("splits.npz", "categories (n_images,), train_image_ids, test_image_ids (int64)."),
        "images": Output("images.tsv", "image_id, category, category_name, split."),
        "subjects": Output(
            "subjects/",
            "sub-XX/responses.npz (betas, noiseless, noise ceiling, weights) + voxels.tsv "
            "(pRF table) [+ bold.npz: bold, onsets, trial_image_ids, tr, trial_duration when bold_tr is set].",
        ),
    }

    report_impl = "._report:visual_section"

    def run(self, params, inputs, out_dir):
        from ..kinds import StimulusFeatures
        from ._visual import simulate_visual_experiment

        kw = params.model_dump()
        bold_tr, bold_snr = kw.pop("bold_tr"), kw.pop("bold_snr")
        exp = simulate_visual_experiment(**kw)
        exp.save(out_dir)
        StimulusFeatures(
            sets={"true": exp.features},
            extractor="simulation",
            image_names=exp.image_names or [str(i) for i in range(exp.n_images)],
        ).save(out_dir / "true_features")
        if bold_tr is not None:
            _write_bold(exp, out_dir, bold_tr, bold_snr, params.seed)


class RestParams(StageParams):
    n_subjects: int = Field(60, gt=0, description="Subjects in total, spread evenly over the sites.")
    n_rois: int = Field(100, ge=4, description="Regions of interest (bilateral atlas-like layout).")
    n_networks: int = Field(7, ge=1, description="Networks of the block structure (Yeo-7-like names when <= 7).")
    n_sites: int = Field(
        3, gt=0, description="Acquisition sites; per-site settings default to the built-in presets (cycled)."
    )
    site_tr: list[float] | None = Field(None, description="TR in seconds per site (default 2.0, 2.5, 0.8, ...).")
    site_n_times: list[int] | None = Field(
        None, description="Volumes per subject per site (default 150, 120, 300, ...)."
    )
    site_noise: list[float] | None = Field(
        None, description="Measurement-noise sd per site, relative to unit signal (default 0.5, 0.8, 0.3, ...)."
    )
    site_global_signal: list[float] | None = Field(
        None, description="Global-signal weight per site (default 0.2, 0.5, 0.0, ...)."
    )
    site_group_fraction: list[float] | None = Field(
        None, description="Fraction of group-1 subjects per site (default 0.3, 0.5, 0.7, ...)."
    )

    @field_validator("site_tr", "site_n_times", "site_noise", "site_global_signal", "site_group_fraction")
    @classmethod
    def _one_per_site(cls, values, info: ValidationInfo):
        n_sites = info.data.get("n_sites")
        if values is not None and n_sites is not None and len(values) != n_sites:
            raise ValueError(f"a list of n_sites={n_sites} values")
        return values

    n_differing_edges: int = Field(20, ge=0, description="Edges whose correlation differs between the two groups.")
    effect_size: float = Field(0.2, ge=0, le=0.25, description="Correlation change on the differing edges.")
    seed: int = Field(0, ge=0, description="Random seed.")


def _rest_sites(params) -> list[dict]:
    from ._rest import DEFAULT_SITES

    sites = [dict(DEFAULT_SITES[k % len(DEFAULT_SITES)], name=f"site{k + 1}") for k in range(params.n_sites)]
    for key in ("tr", "n_times", "noise", "global_signal", "group_fraction"):
        values = getattr(params, f"site_{key}")
        if values is None:
            continue
        for site, v in zip(sites, values):
            site[key] = v
    return sites


@register_stage
class SimulateRestFMRI(Stage):
    """Simulated multi-site resting-state ROI time series with planted group differences in known edges.

    The artifact folder is a ``roi_timeseries`` artifact (:class:`~neurocodec.datasets.kinds.RoiTimeseries`)
    whose extras hold the planted ground truth (``covariance``, ``differing_edges``); read it with
    ``RoiTimeseries.load(inputs[...])`` or ``RestingStateCohort.load(...)``.
    """

    name = "simulate_rest_fmri"
    version = 2
    Params = RestParams
    outputs = {
        "cohort": Output("./", "The whole folder, a roi_timeseries artifact.", kind="roi_timeseries"),
        "timeseries": Output(
            "timeseries.npz", "One (n_times_i, n_rois) float32 array per subject, keyed by subject id."
        ),
        "subjects": Output("subjects.tsv", "subject, site, group (0/1), tr, n_times, noise_sd, global_signal."),
        "rois": Output("rois.tsv", "name, x, y, z (MNI-like mm), network."),
        "ground_truth": Output(
            "extras.npz", "covariance (2, n_rois, n_rois) per group, differing_edges (n_rois, n_rois) bool."
        ),
        "metadata": Output(
            "roi_timeseries.json", "Kind header; info.params: the simulation parameters (sites included)."
        ),
    }

    report_impl = "._report:rest_section"

    def run(self, params, inputs, out_dir):
        from ._rest import simulate_rest_cohort

        cohort = simulate_rest_cohort(
            n_subjects=params.n_subjects,
            n_rois=params.n_rois,
            n_networks=params.n_networks,
            sites=_rest_sites(params),
            n_differing_edges=params.n_differing_edges,
            effect_size=params.effect_size,
            seed=params.seed,
        )
        cohort.save(out_dir)


class EEGParams(StageParams):
    kind: Literal["eeg", "seeg", "ecog"] = Field(
        "eeg", description="Channel type: scalp EEG, sEEG shafts (LA1..LA8, ...) or an ECoG grid."
    )
    n_chans: int = Field(32, gt=0, description="Channels (<= 86 for EEG; sEEG: shafts of contacts_per_shaft contacts).")
    sfreq: float = Field(256.0, ge=64, description="Sampling frequency in Hz (>= 64).")
    duration: float = Field(60.0, gt=0, description="Recording length in seconds (> 0).")
    motifs: list[str] = Field(
        ["alpha_burst", "spindle", "spike", "slow_wave"],
        description="Motif types to plant: alpha_burst, spindle, spike, slow_wave.",
    )
    events_per_minute: float = Field(4.0, ge=0, description="Occurrences of each motif type per minute.")
    aperiodic_exponent: float = Field(1.5, ge=0, description="Exponent of the 1/f^beta background spectrum.")
    line_freq: float = Field(50.0, ge=0, description="Mains frequency in Hz (0: no line noise).")

    @field_validator("line_freq")
    @classmethod
    def _below_nyquist(cls, value, info: ValidationInfo):
        sfreq = info.data.get("sfreq")
        if value > 0 and sfreq is not None and value >= sfreq / 2:
            raise ValueError(f"< the Nyquist frequency sfreq / 2 = {sfreq / 2:g} Hz (or 0: no line noise)")
        return value

    line_noise: float = Field(0.3, ge=0, description="Line-noise amplitude relative to the background sd.")
    sensor_noise: float = Field(0.1, ge=0, description="White sensor-noise sd relative to the background sd.")
    min_gap: float = Field(0.5, ge=0, description="Minimum seconds between motif occurrences.")
    contacts_per_shaft: int = Field(8, gt=0, description="sEEG contacts per shaft.")
    window_s: float = Field(2.0, gt=0, description="Window length of the labelled epochs written to epoch_labels.tsv.")

    @field_validator("window_s")
    @classmethod
    def _within_recording(cls, value, info: ValidationInfo):
        duration = info.data.get("duration")
        if duration is not None and value > duration:
            raise ValueError(f"<= duration = {duration:g} s")
        return value

    seed: int = Field(0, ge=0, description="Random seed.")


@register_stage
class SimulateEEG(Stage):
    """Simulated EEG / sEEG / ECoG recording (1/f background, line noise) with planted, annotated motifs.

    Read the artifact folder with ``SimulatedRecording.load(inputs[...].path)``.
    """

    name = "simulate_eeg"

    @classmethod
    def output_facts(cls, params, upstream, artifact=None) -> dict:
        return {"sfreq": params.sfreq, "duration": params.duration, "n_chans": params.n_chans}

    version = 1
    Params = EEGParams
    libraries = ("numpy", "mne")
    outputs = {
        "raw": Output(
            "raw.fif", kind="raw", description="mne Raw (channel types, montage, one annotation per motif occurrence)."
        ),
        "motifs": Output(
            "motifs.tsv", "event, motif, onset_s, duration_s, channel, weight (ground truth per channel)."
        ),
        "metadata": Output("recording.json", "Simulation parameters."),
        "epoch_labels": Output("epoch_labels.tsv", "epoch, start_s, stop_s, label (dominant motif or background)."),
    }

    report_impl = "._report:eeg_section"

    def run(self, params, inputs, out_dir):
        from ...pipeline import save_table
        from ._eeg import simulate_eeg

        kw = params.model_dump()
        window_s = kw.pop("window_s")
        rec = simulate_eeg(**kw)
        rec.save(out_dir)
        save_table(out_dir / "epoch_labels.tsv", rec.epoch_labels(window_s))
