"""``load_nsd``: the Natural Scenes Dataset release -> the ``stimulus_responses`` kind.

NSD is not hashed as a whole: the stage's path input is the small ``nsd_expdesign.mat`` and the release
(immutable) is read beside it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydantic import Field

from ...pipeline import Input, Output, Stage, StageParams, bad_value, register_stage
from ._common import info_section
from ._public_stages import _data_dir_field


class NsdParams(StageParams):
    subjects: list[int] = Field(
        [1],
        min_length=1,
        description="NSD subjects (1-8); several share one image set (their union), e.g. for MindBridge.",
    )
    sessions: list[int] = Field(
        default_factory=list, description="Sessions to load (1-based); all of each subject's when empty."
    )
    space: str = Field("func1pt8mm", description="Beta space (func1pt8mm or func1mm).")
    roi: str = Field("nsdgeneral", description="ROI file name under ppdata/subjNN/<space>/roi/.")
    roi_labels: list[int] = Field(default_factory=list, description="ROI label values to keep (> 0 when empty).")
    zscore_sessions: bool = Field(True, description="z-score each voxel within each session.")
    test_subjects: list[int] = Field(
        default_factory=list,
        description="Subjects whose loaded sessions define the test set (shared images with all repeats); "
        "[1, 2, 5, 7] with 37 sessions gives the 982-image set. Empty: this subject.",
    )
    save_images: bool = Field(
        True,
        description="Write the stimuli (from nsd_stimuli.hdf5); without them only "
        "response-side stages (no features / decoders) can follow.",
    )
    image_size: int = Field(
        224, gt=0, le=425, description="Side of the written stimuli (resized from 425 with PIL; uint8 on disk)."
    )
    save_captions: bool = Field(False, description="Also write the COCO captions of every image.")
    data_dir: str | None = _data_dir_field()


@register_stage
class LoadNSD(Stage):
    """Natural Scenes Dataset subject -> stimulus_responses: single-trial ROI betas, the COCO images and captions.

    Every trial is kept (repeats included); the shared images seen 3 times by the test subjects form the test
    split, the subject's other images the training split. Images are indexed 0..n-1 in the artifact; their
    NSD 73k ids (0-based) are the image names.
    """

    name = "load_nsd"
    version = 2
    Params = NsdParams
    libraries = ("numpy", "nibabel", "scipy", "h5py")
    inputs = {
        "expdesign": Input(
            "nsddata/experiments/nsd/nsd_expdesign.mat of the release (the release root is 3 levels up).",
            source="path",
            required=False,
            suffixes=(".mat",),
        )
    }
    outputs = {
        "responses": Output("./", "The whole folder, a stimulus_responses artifact.", kind="stimulus_responses"),
        "metadata": Output("stimulus_responses.json", "Subjects, sessions, ROI, test-set definition."),
        "images": Output("images.tsv", "image_id, name (NSD 73k id), split [, caption]."),
        "subjects": Output(
            "subjects/",
            "subjNN/responses.npz (single-trial betas, trial image ids) + voxels.tsv "
            "(voxel, i, j, k in the beta space, roi).",
        ),
    }

    @classmethod
    def report(cls, artifact):
        return info_section("NSD betas", artifact, "metadata", ("subjects", "info"))

    def run(self, params, inputs, out_dir):
        import pandas as pd

        from ..kinds import StimulusResponses, SubjectResponses
        from ..loaders import NSD_SESSIONS, load_nsd_betas, load_nsd_design, nsd_shared_test_ids
        from ..loaders._nsd import nsd_root

        root = Path(inputs["expdesign"]).parents[3] if "expdesign" in inputs else nsd_root(None, params.data_dir)
        for subject in params.subjects:
            if subject not in NSD_SESSIONS:
                raise bad_value("subjects", "NSD subjects 1-8", subject)
        design = load_nsd_design(root)
        loaded, n_sess = {}, 0
        for subject in params.subjects:
            sessions = list(params.sessions) or list(range(1, NSD_SESSIONS[subject] + 1))
            loaded[subject] = load_nsd_betas(
                root,
                subject,
                sessions,
                space=params.space,
                roi=params.roi,
                roi_labels=list(params.roi_labels),
                zscore_sessions=params.zscore_sessions,
            )
            n_sess = max(n_sess, max(sessions))
        per_subject = {s: min(n_sess, NSD_SESSIONS[s]) for s in (params.test_subjects or params.subjects)}
        nsd_ids = np.unique(np.concatenate([trials.image_ids for _, trials, _ in loaded.values()]))
        test73k = np.intersect1d(nsd_shared_test_ids(design, per_subject), nsd_ids)
        if len(test73k) == 0:
            raise bad_value(
                "test_subjects", "subjects whose loaded sessions show shared images 3 times", list(per_subject)
            )
        subjects = {}
        for subject, (betas, trials, voxels) in loaded.items():
            local = np.searchsorted(nsd_ids, trials.image_ids)
            is_test = np.isin(trials.image_ids, test73k)
            vox = pd.DataFrame(
                {
                    "voxel": np.arange(len(voxels)),
                    "i": voxels[:, 0],
                    "j": voxels[:, 1],
                    "k": voxels[:, 2],
                    "roi": params.roi,
                }
            )
            subjects[f"subj{subject:02d}"] = SubjectResponses(
                local[~is_test], betas[~is_test], local[is_test], betas[is_test], voxels=vox
            )
        stimuli = None
        if params.save_images:
            from PIL import Image

            from ..loaders import load_nsd_images

            imgs = load_nsd_images(root, nsd_ids)
            if params.image_size != imgs.shape[1]:
                imgs = np.stack(
                    [np.asarray(Image.fromarray(im).resize((params.image_size,) * 2, Image.BICUBIC)) for im in imgs]
                )
            stimuli = imgs
        captions = None
        if params.save_captions:
            from ..loaders import load_nsd_captions

            captions = [" | ".join(c) for c in load_nsd_captions(root, nsd_ids)]
        StimulusResponses(
            stimuli=stimuli,
            categories=np.full(len(nsd_ids), -1, np.int64),
            category_names=[],
            train_image_ids=np.flatnonzero(~np.isin(nsd_ids, test73k)),
            test_image_ids=np.searchsorted(nsd_ids, test73k),
            subjects=subjects,
            image_names=[str(i) for i in nsd_ids],
            captions=captions,
            info={
                "producer": "load_nsd",
                "subjects": list(params.subjects),
                "sessions": list(params.sessions) or "all",
                "roi": params.roi,
                "space": params.space,
                "test_subjects": per_subject,
                "zscore_sessions": params.zscore_sessions,
            },
        ).save(out_dir)
