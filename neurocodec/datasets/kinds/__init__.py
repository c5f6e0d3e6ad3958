"""Artifact kinds of the data: versioned on-disk formats with one reader/writer class each."""

from ._cohort import Connectomes, RoiTimeseries

__all__ = ["Connectomes", "RoiTimeseries"]

try:  # the engine's kind registry (issue #18); absent on engines older than it
    from ...pipeline import register_kind
except ImportError:  # pragma: no cover
    register_kind = None

if register_kind is not None:
    register_kind("roi_timeseries", version=RoiTimeseries.VERSION, reader="neurocodec.datasets.kinds:RoiTimeseries",
                  description="A cohort: one (n_times, n_rois) series per subject, subjects table (subject, site, "
                              "group, confounds), ROI table.")
    register_kind("connectomes", version=Connectomes.VERSION, reader="neurocodec.datasets.kinds:Connectomes",
                  description="(n_subjects, n_rois, n_rois) connectivity matrices, subjects and ROI tables, measure.")
