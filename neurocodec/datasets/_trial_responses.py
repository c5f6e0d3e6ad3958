"""Single-trial betas and their trial table -> the ``stimulus_responses`` kind (one subject).

Each trial's stimulus comes from the events: a ``stim_file`` column names an image (read from a stimuli folder
when one is given; without it the images stay unknown and only their names travel), otherwise the ``trial_type``
is the stimulus (categories as stimuli: one stimulus per trial type, no pixels, e.g. Haxby's blocks). The
``trial_type`` is the category of each stimulus. The train/test split is by run: the trials of ``test_runs``
(default: the last run) are the test trials. The run, session, onset, duration and event columns of every trial
travel in the kind's optional per-subject ``trials.tsv``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..pipeline import bad_value, check, check_array

__all__ = ["responses_from_betas", "check_trial_design", "check_event_columns"]


def _split_runs(trials, test_runs) -> np.ndarray:
    """Boolean mask of the test trials (trials of ``test_runs``; default the last run)."""
    runs = trials["run"].to_numpy()
    known = sorted(set(runs.tolist()))
    test = [known[-1]] if not test_runs else list(test_runs)
    unknown = [r for r in test if r not in known]
    if unknown:
        raise bad_value("test_runs", f"run indices among {known}", list(test_runs))
    is_test = np.isin(runs, test)
    check(bool((~is_test).any()), "test_runs", "leaving at least one training run", list(test))
    return is_test


def _read_stimuli(folder: Path, names: list[str], image_size: int | None) -> np.ndarray:
    """The ``stim_file`` images (n, H, W, 3) uint8, each read from ``folder`` (resized to the first's size)."""
    from PIL import Image

    _missing_images(folder, names)
    imgs = [Image.open(folder / n).convert("RGB") for n in names]
    size = (image_size, image_size) if image_size else imgs[0].size
    return np.stack([np.asarray(im if im.size == size else im.resize(size, Image.BICUBIC)) for im in imgs])


def check_event_columns(events: list) -> None:
    """Every run's events table names its trials' stimuli the same way (as read, before any default is filled).

    Parameters
    ----------
    events : list of path
        One ``events.tsv`` per run. Each must hold ``trial_type`` or ``stim_file``, and a column that one run
        has (``trial_type``, ``stim_file``) every run must have.
    """
    import pandas as pd

    cols = [set(pd.read_csv(e, sep="," if str(e).endswith(".csv") else "\t", nrows=0).columns) for e in events]
    for col in ("trial_type", "stim_file"):
        lacking = [Path(e).name for e, c in zip(events, cols) if col not in c]
        if lacking and len(lacking) < len(events):
            raise bad_value(
                "events",
                f"tables that all have a {col!r} column (some runs have one)",
                f"<{len(lacking)} without it, first {lacking[0]!r}>",
            )
    if not ({"trial_type", "stim_file"} & cols[0]):
        raise bad_value(
            "events",
            "tables with a 'trial_type' or a 'stim_file' column (the stimulus of each trial)",
            f"<{Path(events[0]).name} with neither>",
        )


def check_trial_design(events: list, test_runs: list[int] | None = None, stimuli: str | Path | None = None) -> None:
    """The checks of :func:`responses_from_betas` that need only the events (run them before fitting a GLM).

    Parameters
    ----------
    events : list of pandas.DataFrame
        One events table per run, in run order.
    test_runs, stimuli
        As in :func:`responses_from_betas`.
    """
    import pandas as pd

    trials = pd.concat([t.assign(run=r) for r, t in enumerate(events)], ignore_index=True)
    if stimuli is not None and "stim_file" not in trials.columns:
        raise bad_value("events", "tables with a 'stim_file' column when 'stimuli' is given", "<none has one>")
    _stimulus_of_trials(trials, _split_runs(trials, test_runs))
    if stimuli is not None:
        _missing_images(Path(stimuli), sorted(trials["stim_file"].astype(str).unique()))


def _stimulus_of_trials(trials, is_test):
    """``(image id per trial, image names, trial types or None)`` (checks in the module docstring)."""
    if "trial_type" not in trials.columns and "stim_file" not in trials.columns:
        raise bad_value("events", "tables with a 'trial_type' or a 'stim_file' column", f"<{list(trials.columns)}>")
    kinds = trials["trial_type"].astype(str) if "trial_type" in trials.columns else None
    if "stim_file" in trials.columns:
        files = trials["stim_file"]
        empty = (files.isna() | (files.astype(str).str.strip() == "")).to_numpy()
        if empty.any():
            raise bad_value(
                "events", "a stim_file on every trial", "<empty>", of=f"trial {int(np.flatnonzero(empty)[0])}"
            )
        files = files.astype(str)
        names = sorted(files.unique())
        return np.searchsorted(names, files.to_numpy()).astype(np.int64), names, kinds
    train_types, test_types = set(kinds[~is_test]), set(kinds[is_test])
    unseen = sorted(test_types - train_types)
    if unseen:
        runs = sorted(set(trials.loc[is_test & kinds.isin(unseen).to_numpy(), "run"].tolist()))
        raise bad_value(
            "events",
            "trial types that also occur in a training run (each category is a stimulus of both splits)",
            f"<{unseen[0]!r} only in test run(s) {runs}>",
        )
    names = sorted(kinds.unique())
    return np.searchsorted(names, kinds.to_numpy()).astype(np.int64), names, kinds


def _missing_images(folder: Path, names: list[str]) -> None:
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise bad_value(
            "stimuli",
            f"a folder holding every stim_file image ({len(names)})",
            f"<{len(missing)} missing in {str(folder)!r}, first {missing[0]!r}>",
            exc=FileNotFoundError,
        )


def responses_from_betas(
    betas: np.ndarray,
    trials: Any,
    *,
    subject: str = "sub-01",
    test_runs: list[int] | None = None,
    stimuli: str | Path | None = None,
    voxels: Any = None,
    image_size: int | None = None,
    info: dict | None = None,
):
    """One subject's single-trial betas as :class:`~neurocodec.datasets.kinds.StimulusResponses`.

    Parameters
    ----------
    betas : ndarray, shape (n_trials, n_voxels)
        Single-trial responses (e.g. :func:`~neurocodec.datasets.single_trial_betas`).
    trials : pandas.DataFrame
        One row per beta: ``run``, ``trial_type`` and optionally ``session``, ``onset``, ``duration``,
        ``stim_file`` (the image of each trial) and other event columns.
    subject : str
        Subject id in the artifact.
    test_runs : list of int, optional
        Runs (values of ``trials["run"]``) whose trials are the test trials; default the last run.
    stimuli : path, optional
        Folder holding the ``stim_file`` images (paths relative to it).
    voxels : pandas.DataFrame, optional
        Voxel table (default: ``voxel`` index only).
    image_size : int, optional
        Resize the images to this square size.
    info : dict, optional
        Provenance written into the kind's header.

    Returns
    -------
    StimulusResponses
        Images are the unique ``stim_file`` values (sorted) or, without that column, the unique trial types
        (sorted, one stimulus per category, in both splits). Categories are the sorted trial types.
    """
    import pandas as pd

    from .kinds import StimulusResponses, SubjectResponses

    trials = pd.DataFrame(trials).reset_index(drop=True)
    betas = check_array(betas, "betas", f"(n_trials={len(trials)}, n_voxels)", ndim=2, dtype=np.float32)
    check(len(betas) == len(trials), "betas", f"(n_trials={len(trials)}, n_voxels)", f"<shape {betas.shape}>")
    if "run" not in trials.columns:
        raise bad_value("trials", "a table with a 'run' column", f"<columns {list(trials.columns)}>")
    is_test = _split_runs(trials, test_runs)
    has_files = "stim_file" in trials.columns
    ids, image_names, kinds = _stimulus_of_trials(trials, is_test)
    category_names = sorted(kinds.unique()) if kinds is not None else []
    categories = np.full(len(image_names), -1, np.int64)
    if kinds is not None:
        for img, cat in set(zip(ids.tolist(), kinds.tolist())):
            if categories[img] not in (-1, category_names.index(cat)):
                raise bad_value(
                    "events", "one trial_type per stim_file", f"<{image_names[img]!r} with several>", of="trials"
                )
            categories[img] = category_names.index(cat)
    stack = _read_stimuli(Path(stimuli), image_names, image_size) if (has_files and stimuli is not None) else None
    order = np.concatenate([np.flatnonzero(~is_test), np.flatnonzero(is_test)])
    table = trials.iloc[order].reset_index(drop=True)
    table.insert(0, "image_id", ids[order])
    table.insert(0, "split", np.where(is_test[order], "test", "train"))
    voxels = pd.DataFrame({"voxel": np.arange(betas.shape[1])}) if voxels is None else voxels
    sub = SubjectResponses(ids[~is_test], betas[~is_test], ids[is_test], betas[is_test], voxels=voxels, trials=table)
    return StimulusResponses(
        stimuli=stack,
        categories=categories,
        category_names=category_names,
        train_image_ids=np.unique(ids[~is_test]),
        test_image_ids=np.unique(ids[is_test]),
        subjects={subject: sub},
        image_names=image_names,
        info=dict(info or {}, stimuli="stim_file" if has_files else "trial_type"),
    )
