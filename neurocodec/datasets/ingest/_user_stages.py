"""``load_stimulus_responses``: a user's own image-viewing experiment -> the ``stimulus_responses`` kind."""

from __future__ import annotations

from typing import Optional

from pydantic import Field

from ...pipeline import Input, Output, Stage, StageParams, register_stage

_IMAGES = ("/", ".npy")


class UserResponsesParams(StageParams):
    subject: str = Field("sub-01", min_length=1, description="Subject id in the artifact.")
    test_fraction: float = Field(0.1, gt=0, lt=1, description="Without a 'split' column in the trials TSV: share of the "
                                                              "images drawn (seeded) as the test set.")
    image_size: Optional[int] = Field(None, ge=8, description="Resize every image to this square size (None: keep).")
    seed: int = Field(0, ge=0, description="Seed of the test-image draw.")


@register_stage
class LoadStimulusResponses(Stage):
    """A user's experiment (images + single-trial betas + trials TSV) -> stimulus_responses for any visual stage."""

    name = "load_stimulus_responses"
    version = 1
    Params = UserResponsesParams
    libraries = ("numpy", "nibabel", "h5py")
    inputs = {
        "images": Input("Folder of image files (sorted by name) or a .npy stack (n_images, H, W, 3).", source="path",
                        suffixes=_IMAGES),
        "betas": Input("Single-trial betas (n_trials, n_voxels): .npy, .h5/.hdf5 (dataset 'betas') or a 4-D NIfTI.",
                       source="path", suffixes=(".npy", ".h5", ".hdf5", ".nii", ".nii.gz")),
        "trials": Input("TSV, one row per beta: image (index or file name) [, split, category].", source="path",
                        suffixes=(".tsv",)),
        "mask": Input("3-D NIfTI mask of NIfTI betas.", source="path", required=False, suffixes=(".nii", ".nii.gz")),
    }
    outputs = {
        "responses": Output("./", "The whole folder, a stimulus_responses artifact.", kind="stimulus_responses"),
        "metadata": Output("stimulus_responses.json", "Subjects, sources."),
    }

    def run(self, params, inputs, out_dir):
        from ..loaders import load_stimulus_responses

        load_stimulus_responses(inputs["images"], inputs["betas"], inputs["trials"], mask=inputs.get("mask"),
                                subject=params.subject, test_fraction=params.test_fraction, seed=params.seed,
                                image_size=params.image_size).save(out_dir)
