"""Simulated data with known ground truth for every modality (all seeded).

- :func:`simulate_visual_experiment` -> :class:`~neurocodec.datasets.kinds.StimulusResponses`: NSD-like image
  viewing fMRI (Gabor-pRF, category and global-feature voxels, repeats, noise ceiling);
- :func:`simulate_bold` -> :class:`SimulatedBold`: event-related BOLD (HRF, TR, drift, AR(1)
  noise) from single-trial betas; :func:`fit_glm_betas` recovers them;
- :func:`simulate_rest_cohort` -> :class:`RestingStateCohort`: multi-site resting-state
  ROI time series with planted group differences in known edges;
- :func:`simulate_eeg` -> :class:`SimulatedRecording`: EEG / sEEG / ECoG ``mne.io.Raw`` with
  planted, annotated motifs (alpha bursts, spindles, spikes, slow waves);
  :func:`simulate_eeg_trials`: labelled motif trials ``(X, y)``;
- :func:`make_stimuli`: the built-in image set (digits, shapes, gratings, textures, photos).

Importing this package only imports numpy; scipy, pandas, scikit-learn,
scikit-image and MNE are imported inside the functions that need them.
"""

from ._bold import SimulatedBold, fit_glm_betas, simulate_bold, trial_design
from ._eeg import MOTIFS, SimulatedRecording, channel_layout, simulate_eeg, simulate_eeg_trials
from ._hrf import spm_hrf
from ._images import CATEGORY_NAMES, gabor_energy, make_stimuli
from ._rest import DEFAULT_SITES, RestingStateCohort, simulate_rest_cohort
from ._visual import luminance_contrast, noiseless_responses, simulate_visual_experiment, stimulus_features

__all__ = [
    "CATEGORY_NAMES",
    "DEFAULT_SITES",
    "MOTIFS",
    "RestingStateCohort",
    "SimulatedBold",
    "SimulatedRecording",
    "channel_layout",
    "fit_glm_betas",
    "gabor_energy",
    "make_stimuli",
    "noiseless_responses",
    "simulate_bold",
    "simulate_eeg",
    "simulate_eeg_trials",
    "simulate_rest_cohort",
    "simulate_visual_experiment",
    "spm_hrf",
    "luminance_contrast",
    "stimulus_features",
    "trial_design",
]
