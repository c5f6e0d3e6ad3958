"""Public EEG datasets as ``epochs`` (kind): ``load_bonn``."""

from __future__ import annotations

from pydantic import Field

from ...pipeline import Input, Output, Stage, StageParams, register_stage, save_json
from ._common import info_section


class BonnParams(StageParams):
    sets: list[str] = Field(
        default_factory=lambda: ["A", "B", "C", "D", "E"],
        description="Sets to load (A, B healthy scalp; C, D interictal; E ictal), in label order.",
    )
    n_windows: int = Field(
        4, ge=1, le=20, description="Equal non-overlapping windows cut from each 23.6-s segment (4: 5.9 s each)."
    )
    max_segments: int | None = Field(
        None, ge=1, description="Keep the first segments of each set only (smoke runs; all when none)."
    )
    data_dir: str | None = Field(
        None,
        description="Folder holding bonn.npz when the 'root' input is not given "
        "(then $NEUROCODEC_DATA/bonn_eeg, ~/neurocodec_data/bonn_eeg).",
    )


@register_stage
class LoadBonn(Stage):
    """Bonn epilepsy EEG (Andrzejak et al. 2001): single-channel segments cut into windows, grouped by segment."""

    name = "load_bonn"
    version = 1
    Params = BonnParams
    inputs = {
        "root": Input(
            "Folder with bonn.npz (keys A..E, (100, 4097) float32) [and files.json].",
            source="path",
            required=False,
            suffixes=("/",),
        )
    }
    outputs = {
        "epochs": Output(
            "epochs/",
            "Windows (n, 1, 4097 // n_windows) in volts at 173.61 Hz; y the set; groups with segment.",
            kind="epochs",
        ),
        "info": Output("info.json", "sets, n_windows, window_s, counts per set."),
    }

    @classmethod
    def report(cls, artifact):
        return info_section(
            "Bonn EEG windows", artifact, "info", ("sets", "n_trials", "n_windows", "window_s", "counts")
        )

    def run(self, params, inputs, out_dir):
        from ..loaders import load_bonn

        ep = load_bonn(
            inputs.get("root", params.data_dir),
            sets=tuple(params.sets),
            n_windows=params.n_windows,
            max_segments=params.max_segments,
        )
        ep.save(out_dir / "epochs")
        labels = ep.labels()
        save_json(
            out_dir / "info.json",
            {
                "sets": list(params.sets),
                "n_trials": ep.n_trials,
                "n_windows": params.n_windows,
                "window_s": ep.info["window_s"],
                "sfreq": ep.sfreq,
                "counts": {s: int((labels == s).sum()) for s in params.sets},
            },
        )
