"""Pipeline stages of the simulation suite (cheap to import: numpy and pydantic only)."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field

from ...pipeline import Output, Stage, StageParams, register_stage

__all__ = ["SimulateVisualFMRI", "VisualParams"]


class VisualParams(StageParams):
    n_subjects: int = Field(4, gt=0, description="Number of simulated subjects.")
    n_voxels: Optional[list[int]] = Field(
        None, description="Voxels per subject (one entry per subject); default 300, 350, 400, ... (50 more each).")
    image_size: int = Field(32, ge=8, description="Stimulus side in pixels.")
    n_train_images: int = Field(400, gt=0, description="Images in the training pool.")
    n_test_images: int = Field(50, gt=0, description="Shared test images seen by every subject.")
    n_repeats: int = Field(3, ge=1, description="Presentations of each test image per subject (NSD: 3).")
    n_repeats_train: int = Field(1, ge=1, description="Presentations of each training image per subject.")
    snr: float = Field(1.0, description="Single-trial SNR: std of the true response over images / std of trial noise (> 0).")
    snr_spread: float = Field(0.3, ge=0, description="Log-normal spread (sd of log) of per-voxel SNR around 'snr'.")
    fraction_prf: float = Field(0.6, ge=0, le=1, description="Fraction of Gabor-pRF (early visual) voxels.")
    fraction_category: float = Field(0.25, ge=0, le=1, description="Fraction of category-tuned voxels (rest: global-feature voxels).")
    n_orientations: int = Field(4, ge=1, description="Gabor orientations evenly spaced in [0, pi).")
    spatial_frequencies: Optional[list[float]] = Field(
        None, description="Gabor spatial frequencies in cycles per image; default octaves 2, 4, 8, ... below image_size / 3.")
    grid: Optional[int] = Field(None, ge=1, description="Spatial pooling cells per side; default min(8, image_size // 4).")
    noise_correlation: float = Field(0.1, ge=0, lt=1, description="Fraction of trial-noise variance shared by all voxels.")
    train_fraction: float = Field(1.0, gt=0, le=1, description="Fraction of the training pool each subject sees.")
    seed: int = Field(0, description="Random seed.")


@register_stage
class SimulateVisualFMRI(Stage):
    """Simulated NSD-like visual fMRI experiment (Gabor-pRF / category / global voxels) with ground truth.

    The artifact folder is exactly what :meth:`VisualExperiment.save` writes;
    consumers read it with ``VisualExperiment.load(inputs["experiment"].path)``.
    """

    name = "simulate_visual_fmri"
    version = 1
    Params = VisualParams
    libraries = ("numpy", "scipy", "scikit-image")
    outputs = {
        "metadata": Output("experiment.json", "Category and feature names, subject ids, simulation parameters."),
        "stimuli": Output("stimuli.npy", "(n_images, H, W, 3) float32 RGB stimuli in [0, 1]."),
        "features": Output("features.npy", "(n_images, n_features) float32 true standardised model features."),
        "splits": Output("splits.npz", "categories (n_images,), train_image_ids, test_image_ids (int64)."),
        "images": Output("images.tsv", "image_id, category, category_name, split."),
        "subjects": Output("subjects/", "sub-XX/responses.npz (betas, noiseless, noise ceiling, weights) + voxels.tsv (pRF table)."),
    }

    def run(self, params, inputs, out_dir):
        from ._visual import simulate_visual_experiment

        kw = params.model_dump()
        exp = simulate_visual_experiment(**kw)
        exp.save(out_dir)
