"""Artifact kinds owned by :mod:`neurocodec.datasets`: the data every science stage reads.

Each kind is a small, versioned on-disk format (``.npy``/``.npz``, TSV, one ``<kind>.json`` header; no
pickle) with one reader/writer class here. Any producer (a simulator, a public-dataset loader, a user's
files) writes it; every consumer reads it with ``Class.load(inputs[name])``. Formats are documented in
``docs/configuration.md`` (``neurocodec docs``) and in each class's module.
"""

from ...pipeline import register_kind
from ._cohort import Connectomes, RoiTimeseries
from ._epochs import EpochsData
from ._features import StimulusFeatures
from ._raw import RawRecording
from ._rdms import RDMs
from ._stimulus import StimulusResponses, SubjectResponses

__all__ = [
    "Connectomes",
    "EpochsData",
    "RDMs",
    "RawRecording",
    "RoiTimeseries",
    "StimulusFeatures",
    "StimulusResponses",
    "SubjectResponses",
]

register_kind(
    "raw",
    version=RawRecording.VERSION,
    reader="neurocodec.datasets.kinds:RawRecording",
    description="One continuous recording: an MNE Raw saved as raw.fif (channels, types, sfreq, montage, "
    "annotations inside the FIF).",
)
register_kind(
    "epochs",
    version=1,
    reader="neurocodec.datasets.kinds:EpochsData",
    description="Trials x channels x times: epochs.npz (X float32, y int64 labels, split), trials.tsv "
    "(subject, session, recording, ... per trial), epochs.json (sfreq, ch_names, ch_types, "
    "label_names, info).",
)
register_kind(
    "roi_timeseries",
    version=1,
    reader="neurocodec.datasets.kinds:RoiTimeseries",
    description="A cohort's ROI time series: timeseries.npz (one (n_times, n_rois) float32 array per subject), "
    "subjects.tsv (subject, site, group, confounds), rois.tsv (name [, x, y, z, network]), "
    "roi_timeseries.json; ground truth in extras.npz.",
)
register_kind(
    "connectomes",
    version=1,
    reader="neurocodec.datasets.kinds:Connectomes",
    description="Per-subject matrices: connectomes.npy (n_subjects, n_rois, n_rois) float32, subjects.tsv, "
    "rois.tsv, connectomes.json (measure, estimator).",
)
register_kind(
    "stimulus_responses",
    version=1,
    reader="neurocodec.datasets.kinds:StimulusResponses",
    description="Stimuli and single-trial responses: stimuli.npy (n_images, H, W, 3) float32 in [0, 1] "
    "(optional), images.tsv (image_id, name, category, category_name, split: train, test, both, unused "
    "[, caption]), "
    "splits.npz, subjects/<sub>/responses.npz (trial_image_ids_*, betas_* (n_trials, n_voxels)) "
    "+ voxels.tsv (voxel table) [+ trials.tsv: split, image_id, run, session, ... per trial], "
    "stimulus_responses.json; simulations add ground truth "
    "(features.npy, noiseless, noise_ceiling, weights).",
)
register_kind(
    "stimulus_features",
    version=1,
    reader="neurocodec.datasets.kinds:StimulusFeatures",
    description="Feature sets of a stimulus set: features.npz (one (n_stimuli, n_features) float32 array per "
    "set, in order), channels.npz (optional per-feature metadata), stimulus_features.json "
    "(extractor, image_names, sets).",
)
register_kind(
    "file_table",
    version=1,
    reader="neurocodec.pipeline:load_table",
    description="files.tsv: one row per matched file (subject, session, task, run, datatype, suffix, "
    "extension, path) + entities.json.",
)
register_kind(
    "rdms",
    version=1,
    reader="neurocodec.datasets.kinds:RDMs",
    description="Representational dissimilarity matrices: rdms.npy (n_rdms, n_stimuli, n_stimuli) float32, "
    "rdms.tsv (name, subject, session, region), rdms.json (dissimilarity).",
)
