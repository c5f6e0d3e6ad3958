"""Simulated data with known ground truth for every modality (all seeded).

- :func:`simulate_visual_experiment` -> :class:`VisualExperiment`: NSD-like image
  viewing fMRI (Gabor-pRF, category and global-feature voxels, repeats, noise ceiling);
- :func:`simulate_rest_cohort` -> :class:`RestingStateCohort`: multi-site resting-state
  ROI time series with planted group differences in known edges;
- :func:`make_stimuli`: the built-in image set (digits, shapes, gratings, textures, photos).

Importing this package only imports numpy; scipy, pandas, scikit-learn,
scikit-image and MNE are imported inside the functions that need them.
"""

from ._images import CATEGORY_NAMES, gabor_energy, make_stimuli
from ._rest import DEFAULT_SITES, RestingStateCohort, simulate_rest_cohort
from ._visual import SubjectResponses, VisualExperiment, simulate_visual_experiment, stimulus_features

__all__ = [
    "CATEGORY_NAMES",
    "DEFAULT_SITES",
    "RestingStateCohort",
    "SubjectResponses",
    "VisualExperiment",
    "gabor_energy",
    "make_stimuli",
    "simulate_rest_cohort",
    "simulate_visual_experiment",
    "stimulus_features",
]
