"""``load_stimulus_responses``: a user's own image-viewing experiment -> the ``stimulus_responses`` kind."""

from __future__ import annotations

from pydantic import Field

from ...pipeline import Input, Output, Stage, StageParams, register_stage

_IMAGES = ("/", ".npy")


class UserResponsesParams(StageParams):
    subject: str = Field("sub-01", min_length=1, description="Subject id in the artifact.")
    test_fraction: float = Field(
        0.1,
        gt=0,
        lt=1,
        description="Without a 'split' column in the trials TSV: share of the images drawn (seeded) as the test set.",
    )
    image_size: int | None = Field(None, ge=8, description="Resize every image to this square size (None: keep).")
    seed: int = Field(0, ge=0, description="Seed of the test-image draw.")


@register_stage
class LoadStimulusResponses(Stage):
    """A user's experiment (images + single-trial betas + trials TSV) -> stimulus_responses for any visual stage."""

    name = "load_stimulus_responses"
    version = 1
    Params = UserResponsesParams
    libraries = ("numpy", "nibabel", "h5py")
    inputs = {
        "images": Input(
            "Folder of image files (sorted by name) or a .npy stack (n_images, H, W, 3).",
            source="path",
            suffixes=_IMAGES,
        ),
        "betas": Input(
            "Single-trial betas (n_trials, n_voxels): .npy, .h5/.hdf5 (dataset 'betas') or a 4-D NIfTI.",
            source="path",
            suffixes=(".npy", ".h5", ".hdf5", ".nii", ".nii.gz"),
        ),
        "trials": Input(
            "TSV, one row per beta: image (index or file name) [, split, category].", source="path", suffixes=(".tsv",)
        ),
        "mask": Input("3-D NIfTI mask of NIfTI betas.", source="path", required=False, suffixes=(".nii", ".nii.gz")),
    }
    outputs = {
        "responses": Output("./", "The whole folder, a stimulus_responses artifact.", kind="stimulus_responses"),
        "metadata": Output("stimulus_responses.json", "Subjects, sources."),
    }

    def run(self, params, inputs, out_dir):
        from ..loaders import load_stimulus_responses

        load_stimulus_responses(
            inputs["images"],
            inputs["betas"],
            inputs["trials"],
            mask=inputs.get("mask"),
            subject=params.subject,
            test_fraction=params.test_fraction,
            seed=params.seed,
            image_size=params.image_size,
        ).save(out_dir)


class KriegeskorteParams(StageParams):
    data_dir: str | None = Field(None, description="Data home holding kriegeskorte92/ (else $NEUROCODEC_DATA).")


@register_stage
class LoadKriegeskorte92(Stage):
    """Kriegeskorte et al. 2008: the 92 object images (stimulus_responses, no trials) and the human IT RDMs (rdms)."""

    name = "load_kriegeskorte92"
    version = 1
    Params = KriegeskorteParams
    libraries = ("numpy", "scipy")
    inputs = {
        "root": Input(
            "Folder with Kriegeskorte_Neuron2008_supplementalData.mat and 92_brainRDMs.mat.",
            source="path",
            required=False,
            suffixes=("/",),
        )
    }
    outputs = {
        "stimuli": Output(
            "stimuli/",
            "The 92 images and their categories as stimulus_responses (no subjects).",
            kind="stimulus_responses",
        ),
        "rdms": Output("rdms/", "hIT RDMs, one per subject and session.", kind="rdms"),
    }

    def run(self, params, inputs, out_dir):
        import numpy as np
        import pandas as pd

        from ..kinds import RDMs, StimulusResponses
        from ..loaders import load_kriegeskorte92

        data = load_kriegeskorte92(inputs.get("root"), data_dir=params.data_dir)
        names = sorted(data["categories"]["category"].unique())
        cats = np.array([names.index(c) for c in data["categories"]["category"]], np.int64)
        StimulusResponses(
            stimuli=data["images"],
            categories=cats,
            category_names=names,
            train_image_ids=np.arange(len(cats)),
            test_image_ids=np.zeros(0, np.int64),
            subjects={},
            info={"producer": "load_kriegeskorte92"},
        ).save(out_dir / "stimuli")
        n_sub, n_sess = data["rdms"].shape[:2]
        table = pd.DataFrame(
            {
                "name": data["rdm_names"],
                "subject": [f"s{i + 1}" for i in range(n_sub) for _ in range(n_sess)],
                "session": [j + 1 for _ in range(n_sub) for j in range(n_sess)],
                "region": "hIT",
            }
        )
        RDMs(
            data["rdms"].reshape(n_sub * n_sess, 92, 92),
            table,
            "1 - pearson",
            {"source": "Kriegeskorte et al. 2008, 92_brainRDMs.mat"},
        ).save(out_dir / "rdms")
