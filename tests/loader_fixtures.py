"""Tiny fake public releases, in the files and names each loader reads, for the kind-contract examples.

* :func:`abide_pcp_release`: the ROI time-series release of ``../shared/data/abide_pcp_cc200`` (``timeseries.npz``
  float16 keyed by FILE_ID, ``phenotypes.tsv`` with the PCP columns, ``CC200.nii.gz``): 13 subjects at 2 sites,
  8 ROIs, one subject with a zero-variance ROI (as 43 real ones have);
* :func:`abide_fc_release`: the FC release of ``../shared/data/abide_schaefer200`` (``fc_upper.npz``,
  ``phenotypes.tsv``, ``rois.txt``): 12 subjects, 8 ROIs;
* :func:`uea_ts_problem`: a UEA problem as the archive ships it (``NAME/NAME_TRAIN.ts``, ``NAME/NAME_TEST.ts``,
  no ``NAME.json``): 3 channels, 2 s at 128 Hz, 8 + 4 trials of two classes;
* :func:`sleep_edf_release`: ``sleep-cassette/`` with two PSG / hypnogram EDF pairs (``SC4001E0-PSG.edf`` +
  ``SC4001EC-Hypnogram.edf``, ``SC4011E0-PSG.edf`` + ``SC4011EH-Hypnogram.edf``): EEG Fpz-Cz, EEG Pz-Oz,
  EOG horizontal at 100 Hz and Resp oro-nasal at 1 Hz in 30-s records, 5 min a night; EDF+ hypnograms in the
  real files' one-record layout;
* :func:`bids_fmri`: a BIDS dataset (``dataset_description.json``, ``participants.tsv``,
  ``sub-07/func/sub-07_task-rest_run-N_bold.nii.gz`` + ``_bold.json`` + ``_events.tsv``) of the
  :func:`fmri_fixtures.atlas_runs` runs, on the grid of its atlas.

Each builder writes its folder once under ``root`` and returns it (seeded).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def abide_pcp_release(root: Path, seed: int = 0) -> Path:
    """Build (once) ``abide_pcp_cc200/`` with 13 subjects (one dropped by its zero-variance ROI) and return it."""
    import nibabel as nib
    import pandas as pd

    folder = Path(root) / "abide_pcp_cc200"
    if folder.is_dir():
        return folder
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    n_rois, rows, series = 8, [], {}
    for i in range(13):
        site = ("NYU", "UM_1")[i % 2]
        sub = 50100 + i
        fid = f"{site}_{sub:07d}"
        asd = i % 4 < 2
        n_times = 76 + 4 * (i % 3)
        x = rng.standard_normal((n_times, n_rois)) + rng.standard_normal((n_times, 1))
        x[:, 1] += (1.5 if asd else 0.0) * x[:, 0]  # one edge stronger in the ASD group
        if i == 12:
            x[:, 5] = 0.0  # an ROI outside this subject's field of view
        series[fid] = (10 * x).astype(np.float16)
        rows.append(
            {
                "SITE_ID": site,
                "SUB_ID": sub,
                "FILE_ID": fid,
                "DX_GROUP": 1 if asd else 2,
                "DSM_IV_TR": 1 if asd else 0,
                "AGE_AT_SCAN": 10.0 + i,
                "SEX": 1 + (i % 3 == 0),
                "HANDEDNESS_CATEGORY": "R",
                "FIQ": 100 + i,
                "EYE_STATUS_AT_SCAN": 1 + (i % 5 == 0),
                "func_mean_fd": 0.05 + 0.01 * i,
                "qc_rater_1": "OK",
                "qc_func_rater_2": "OK",
                "qc_func_rater_3": "maybe" if i == 3 else "OK",
                "n_timepoints": n_times,
                "diagnosis": "ASD" if asd else "HC",
            }
        )
    np.savez(folder / "timeseries.npz", **series)
    pd.DataFrame(rows).to_csv(folder / "phenotypes.tsv", sep="\t", index=False)
    labels = np.zeros((4, 4, 2), np.int16)
    labels.reshape(-1)[:] = np.arange(32) // 4 + 1  # labels 1..8, 4 voxels each
    affine = np.diag([10.0, 10.0, 10.0, 1.0])
    affine[:3, 3] = [-20.0, -20.0, 0.0]
    nib.save(nib.Nifti1Image(labels, affine), folder / "CC200.nii.gz")
    return folder


def abide_fc_release(root: Path, seed: int = 0) -> Path:
    """Build (once) ``abide_schaefer200/`` (upper triangles of 12 correlation matrices, 8 ROIs) and return it."""
    import pandas as pd

    folder = Path(root) / "abide_schaefer200"
    if folder.is_dir():
        return folder
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    n_rois, iu, upper = 8, np.triu_indices(8, 1), []
    diagnosis = ["ASD" if i % 4 < 2 else "HC" for i in range(12)]
    for dx in diagnosis:
        x = rng.standard_normal((60, n_rois)) + rng.standard_normal((60, 1))
        x[:, 1] += (1.5 if dx == "ASD" else 0.0) * x[:, 0]
        upper.append(np.corrcoef(x.T)[iu])
    np.savez(folder / "fc_upper.npz", fc=np.asarray(upper, np.float32))
    pd.DataFrame(
        {
            "site": [("KKI", "NYU")[i % 2] for i in range(12)],
            "subject": [50772 + i for i in range(12)],
            "age": [10.0 + i for i in range(12)],
            "sex": ["male" if i % 3 else "female" for i in range(12)],
            "diagnosis": diagnosis,
        }
    ).to_csv(folder / "phenotypes.tsv", sep="\t", index=False)
    (folder / "rois.txt").write_text("".join(f"7Networks_LH_Vis_{k + 1}\n" for k in range(n_rois)))
    return folder


UEA_NAME = "TinySelfRegulation"
UEA_CLASSES = ("negativity", "positivity")


def _write_ts(path: Path, X: np.ndarray, y) -> None:
    """An equal-length multivariate ``.ts`` file with the archive's header lines."""
    lines = [
        f"@problemName {UEA_NAME}",
        "@timeStamps false",
        "@missing false",
        "@univariate false",
        f"@dimensions {X.shape[1]}",
        "@equalLength true",
        f"@seriesLength {X.shape[2]}",
        f"@classLabel true {' '.join(UEA_CLASSES)}",
        "@data",
    ]
    lines += [":".join(",".join(f"{v:.5g}" for v in ch) for ch in trial) + f":{label}" for trial, label in zip(X, y)]
    path.write_text("\n".join(lines) + "\n")


def uea_ts_problem(root: Path, seed: int = 0) -> Path:
    """Build (once) ``uea_eeg/TinySelfRegulation/`` (.ts train / test files) and return ``uea_eeg/``.

    The positivity trials carry a slow positive drift on channel 0 (the SCP task's contrast).
    """
    folder = Path(root) / "uea_eeg"
    if folder.is_dir():
        return folder
    (folder / UEA_NAME).mkdir(parents=True)
    rng = np.random.default_rng(seed)
    t = np.arange(256) / 128.0
    for split, n in (("TRAIN", 8), ("TEST", 4)):
        y = [UEA_CLASSES[i % 2] for i in range(n)]
        X = rng.standard_normal((n, 3, 256)) + np.sin(2 * np.pi * 10 * t)
        X[1::2, 0] += 2.0 * t
        _write_ts(folder / UEA_NAME / f"{UEA_NAME}_{split}.ts", X, y)
    return folder


def _field(value, width: int) -> bytes:
    return str(value)[:width].ljust(width).encode("ascii")


def _edf_header(n_records: int, duration: float, signals: list[dict], edf_plus: bool) -> bytes:
    """The 256-byte main header and the 256-byte-per-signal headers of an EDF (EDF+C when ``edf_plus``)."""
    ns = len(signals)
    head = _field(0, 8) + _field("X M 01-JAN-1989 X X", 80) + _field("Startdate 01-JAN-1989 X X X", 80)
    head += _field("01.01.89", 8) + _field("22.00.00", 8) + _field(256 * (ns + 1), 8)
    head += _field("EDF+C" if edf_plus else "", 44) + _field(n_records, 8) + _field(f"{duration:g}", 8) + _field(ns, 4)
    for key, width in (
        ("label", 16),
        ("transducer", 80),
        ("unit", 8),
        ("pmin", 8),
        ("pmax", 8),
        ("dmin", 8),
        ("dmax", 8),
        ("prefilter", 80),
        ("n", 8),
        ("reserved", 32),
    ):
        head += b"".join(_field(s.get(key, ""), width) for s in signals)
    return head


def _write_psg(path: Path, data: dict[str, tuple[np.ndarray, float]], record_s: float = 30.0) -> None:
    """Plain EDF of named signals ``{label: (samples in uV, sfreq)}``, int16 samples in ``record_s`` records."""
    n_records = int(len(next(iter(data.values()))[0]) / next(iter(data.values()))[1] // record_s)
    signals, blocks = [], []
    for label, (x, sfreq) in data.items():
        n = int(round(sfreq * record_s))
        lim = float(np.ceil(np.abs(x).max()))
        dig = np.clip(np.round(x[: n * n_records] / lim * 2047), -2048, 2047).astype("<i2")
        signals.append({"label": label, "unit": "uV", "pmin": -lim, "pmax": lim, "dmin": -2048, "dmax": 2047, "n": n})
        blocks.append(dig.reshape(n_records, n))
    body = b"".join(b"".join(b[r].tobytes() for b in blocks) for r in range(n_records))
    path.write_bytes(_edf_header(n_records, record_s, signals, edf_plus=False) + body)


def _write_hypnogram(path: Path, stages: list[tuple[float, float, str]]) -> None:
    """EDF+ annotation file in the Sleep-EDF layout: one record of duration 0 holding every stage TAL."""
    tal = b"+0\x14\x14\x00" + b"".join(
        f"+{onset:g}\x15{duration:g}\x14{text}\x14\x00".encode("ascii") for onset, duration, text in stages
    )
    n = (len(tal) + 1) // 2
    tal = tal.ljust(2 * n, b"\x00")
    sig = {"label": "EDF Annotations", "pmin": 0, "pmax": 1, "dmin": -32768, "dmax": 32767, "n": n}
    path.write_bytes(_edf_header(1, 0, [sig], edf_plus=True) + tal)


#: Each night: (stage, seconds); 5 min, two 30-s epochs or more of W and N2 (the test's two-class protocol).
NIGHT = [("W", 60), ("1", 30), ("2", 60), ("3", 30), ("4", 30), ("R", 60), ("W", 30)]


def sleep_edf_release(root: Path, seed: int = 0) -> Path:
    """Build (once) ``sleep-cassette/`` with subjects 00 and 01, night 1, and return it.

    Stage-dependent EEG: alpha (10 Hz) in wake and REM, spindles (13 Hz) in N2, slow waves (1 Hz) in N3.
    """
    folder = Path(root) / "sleep-cassette"
    if folder.is_dir():
        return folder
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    rhythm = {"W": 10.0, "1": 6.0, "2": 13.0, "3": 1.0, "4": 1.0, "R": 10.0}
    for psg, hyp in (("SC4001E0", "SC4001EC"), ("SC4011E0", "SC4011EH")):
        eeg, stages, onset = [], [], 0
        for stage, seconds in NIGHT:
            t = np.arange(seconds * 100) / 100.0
            eeg.append(20 * np.sin(2 * np.pi * rhythm[stage] * t))
            stages.append((onset, seconds, f"Sleep stage {stage}"))
            onset += seconds
        stages.append((onset, 30, "Sleep stage ?"))  # the real files end with an unscored stretch
        eeg = np.concatenate(eeg)
        n = len(eeg) + 3000
        eeg = np.concatenate([eeg, np.zeros(3000)])
        data = {
            "EEG Fpz-Cz": (eeg + 5 * rng.standard_normal(n), 100.0),
            "EEG Pz-Oz": (0.5 * eeg + 5 * rng.standard_normal(n), 100.0),
            "EOG horizontal": (30 * rng.standard_normal(n), 100.0),
            "Resp oro-nasal": (100 * np.sin(2 * np.pi * 0.25 * np.arange(n // 100)), 1.0),
        }
        _write_psg(folder / f"{psg}-PSG.edf", data)
        _write_hypnogram(folder / f"{hyp}-Hypnogram.edf", stages)
    return folder


def bids_fmri(root: Path) -> Path:
    """Build (once) ``bids_rest/``, a BIDS dataset of the two :func:`fmri_fixtures.atlas_runs` runs, and return it."""
    import shutil

    import pandas as pd
    from fmri_fixtures import atlas_runs

    folder = Path(root) / "bids_rest"
    if folder.is_dir():
        return folder
    runs = sorted(atlas_runs(root)["bold"].glob("sub-07_task-rest_run-*_bold.nii.gz"))
    func = folder / "sub-07" / "func"
    func.mkdir(parents=True)
    (folder / "dataset_description.json").write_text(json.dumps({"Name": "tiny rest", "BIDSVersion": "1.8.0"}))
    pd.DataFrame({"participant_id": ["sub-07"], "age": [30]}).to_csv(folder / "participants.tsv", sep="\t", index=False)
    for run in runs:
        stem = run.name[: -len("_bold.nii.gz")]
        shutil.copy(run, func / run.name)
        (func / f"{stem}_bold.json").write_text(json.dumps({"RepetitionTime": 2.0, "TaskName": "rest"}))
        pd.DataFrame({"onset": [0.0], "duration": [100.0], "trial_type": ["rest"]}).to_csv(
            func / f"{stem}_events.tsv", sep="\t", index=False
        )
    return folder
