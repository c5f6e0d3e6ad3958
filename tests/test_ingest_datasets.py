"""Public-dataset loaders on tiny fake trees (NSD, Sleep-EDF, TUEV/TUAB, BIDS), example configs, Haxby benchmark."""

import json
import subprocess
import sys
from pathlib import Path

import h5py
import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from scipy.io import savemat

from neurocodec.datasets.kinds import StimulusResponses
from neurocodec.datasets import (bids_entities, bids_pipeline_steps, find_bids_files, load_nsd_betas, load_nsd_captions,
                                 load_nsd_images, read_tuev_rec, sleep_edf_pairs, tuab_index, tuev_index)
from neurocodec.pipeline import ArtifactStore, run_pipeline

ROOT = Path(__file__).resolve().parents[1]
N_IMAGES = 20  # per-subject image pool of the fake tree (10000 in NSD)


def _fake_nsd(root, seed=0, n_sessions=2):
    rng = np.random.default_rng(seed)
    exp = root / "nsddata/experiments/nsd"
    exp.mkdir(parents=True)
    order = rng.integers(1, N_IMAGES + 1, size=750 * n_sessions)  # 1-based into subjectim columns
    subjectim = np.stack([rng.permutation(np.arange(1, 101))[:N_IMAGES] for _ in range(8)])  # 1-based 73k ids (100 here)
    shared = subjectim[0, :4]
    for row in subjectim[1:]:  # as in NSD, every subject sees the shared images (at the same positions)
        rest = [i for i in row if i not in shared]
        row[:] = np.concatenate([shared, rest[:N_IMAGES - 4]]) if len(rest) >= N_IMAGES - 4 else row
    savemat(exp / "nsd_expdesign.mat", {"masterordering": order[None], "subjectim": subjectim, "sharedix": shared[None]})
    pd.DataFrame({"nsdId": np.arange(100), "cocoId": 1000 + np.arange(100), "cocoSplit": "train2017"}).to_csv(exp / "nsd_stim_info_merged.csv")
    roi = root / "nsddata/ppdata/subj01/func1pt8mm/roi"
    roi.mkdir(parents=True)
    mask = -np.ones((3, 3, 2), np.int16)
    mask[1, :, :] = 1
    mask[0, 0, 0] = 0
    nib.save(nib.Nifti1Image(mask, np.eye(4)), roi / "nsdgeneral.nii.gz")
    bdir = root / "nsddata_betas/ppdata/subj01/func1pt8mm/betas_fithrf_GLMdenoise_RR"
    bdir.mkdir(parents=True)
    for s in range(1, n_sessions + 1):
        data = rng.integers(-900, 900, size=(3, 3, 2, 750)).astype(np.int16)
        nib.save(nib.Nifti1Image(data, np.eye(4)), bdir / f"betas_session{s:02d}.nii.gz")
    stim = root / "nsddata_stimuli/stimuli/nsd"
    (stim / "annotations").mkdir(parents=True)
    with h5py.File(stim / "nsd_stimuli.hdf5", "w") as f:
        brick = rng.integers(0, 256, (100, 8, 8, 3), dtype=np.uint8)  # textures, pixel (0, 0, R) = the 73k id
        brick[:, 0, 0, 0] = np.arange(100)
        f["imgBrick"] = brick
    for split in ("train2017", "val2017"):
        anns = [{"image_id": 1000 + i, "caption": f"image {i}"} for i in range(100)] if split == "train2017" else []
        (stim / "annotations" / f"captions_{split}.json").write_text(json.dumps({"annotations": anns}))
    return order - 1, subjectim - 1, shared - 1


def test_nsd_fake_tree(tmp_path):
    order, subjectim, shared = _fake_nsd(tmp_path)
    betas, trials, vox = load_nsd_betas(tmp_path, 1, [1, 2], zscore_sessions=False)
    assert betas.shape == (1500, 6) and vox.shape == (6, 3)
    np.testing.assert_array_equal(trials.image_ids, subjectim[0, order])
    raw = np.asarray(nib.load(str(tmp_path / "nsddata_betas/ppdata/subj01/func1pt8mm/betas_fithrf_GLMdenoise_RR/betas_session01.nii.gz")).dataobj)
    np.testing.assert_allclose(betas[5, 0], raw[1, 0, 0, 5] / 300.0, rtol=1e-6)
    assert load_nsd_images(tmp_path, [7, 3])[:, 0, 0, 0].tolist() == [7, 3]
    assert load_nsd_captions(tmp_path, [5]) == [["image 5"]]
    cfg = {"stages": {"nsd": {"stage": "load_nsd", "params": {"subjects": [1], "sessions": [1, 2], "zscore_sessions": False,
                                                                "save_images": True, "image_size": 8, "save_captions": True},
                              "inputs": {"expdesign": str(tmp_path / "nsddata/experiments/nsd/nsd_expdesign.mat")}}}}
    s = run_pipeline(cfg, cache=tmp_path / "cache", show_progress=False, report=False)
    assert s.ok, [r.error for r in s.results]
    exp = StimulusResponses.load(ArtifactStore(s.cache).open("load_nsd", s.results[0].key).path)
    sub = exp.subjects["subj01"]
    shown = trials.image_ids
    names = np.asarray(exp.image_names, dtype=np.int64)  # NSD 73k ids of the artifact's images
    test_ids = [i for i in shared if (shown == i).sum() >= 3]
    assert sorted(names[exp.test_image_ids]) == sorted(test_ids)
    ids, mean_test = sub.mean_betas("test")
    np.testing.assert_allclose(mean_test[0], betas[shown == names[ids[0]]].mean(0), rtol=1e-5)
    assert len(sub.trial_image_ids_train) + len(sub.trial_image_ids_test) == len(shown)  # every trial kept
    assert not np.isin(sub.trial_image_ids_train, exp.test_image_ids).any()
    assert exp.stimuli.shape == (len(names), 8, 8, 3) and exp.captions[0] == f"image {names[0]}"
    np.testing.assert_allclose(exp.stimuli[3, 0, 0, 0], names[3] / 255.0, atol=1e-6)


def test_nsd_bad_inputs(tmp_path):
    with pytest.raises(FileNotFoundError, match="naturalscenesdataset.org"):
        load_nsd_betas(tmp_path, 1, [1])
    _fake_nsd(tmp_path)
    with pytest.raises(ValueError, match="'sessions' must be in 1-40"):
        load_nsd_betas(tmp_path, 1, [41])
    with pytest.raises(FileNotFoundError, match="betas_session03"):
        load_nsd_betas(tmp_path, 1, [3])


def _write_edf(path, signals, sfreq, labels):
    """Minimal EDF (int16) writer: one-second records."""
    n_rec = signals.shape[1] // int(sfreq)
    ns = len(labels)
    pmin, pmax = signals.min(), signals.max()
    dig = np.round((signals - pmin) / (pmax - pmin) * 65535 - 32768).astype("<i2")
    f = lambda v, n: str(v)[:n].ljust(n).encode("ascii")  # noqa: E731
    hdr = f(0, 8) + f("X", 80) + f("X", 80) + f("01.01.89", 8) + f("00.00.00", 8) + f(256 * (ns + 1), 8) + f("", 44)
    hdr += f(n_rec, 8) + f(1, 8) + f(ns, 4)
    for field, n in (("lab", 16), ("", 80), ("uV", 8), (f"{pmin:.3f}", 8), (f"{pmax:.3f}", 8), (-32768, 8), (32767, 8), ("", 80), (int(sfreq), 8), ("", 32)):
        hdr += b"".join(f(l if field == "lab" else field, n) for l in labels)
    recs = dig[:, : n_rec * int(sfreq)].reshape(ns, n_rec, int(sfreq)).transpose(1, 0, 2)
    path.write_bytes(hdr + recs.tobytes())


@pytest.mark.realdata
def test_sleep_edf_pair_with_real_hypnogram(shared_data, tmp_path):
    import mne

    hyp = shared_data / "recordings" / "EDF" / "SC4001EC-Hypnogram.edf"
    ann = mne.read_annotations(hyp)
    seconds = int(ann.onset[-1] + ann.duration[-1]) + 1
    rng = np.random.default_rng(0)
    (tmp_path / "SC4001EC-Hypnogram.edf").symlink_to(hyp)
    _write_edf(tmp_path / "SC4001E0-PSG.edf", rng.standard_normal((2, seconds * 2)) * 20, 2.0, ["EEG Fpz-Cz", "EEG Pz-Oz"])
    assert [p[0].name for p in sleep_edf_pairs(tmp_path)] == ["SC4001E0-PSG.edf"]
    cfg = {"stages": {"s": {"stage": "load_sleep_edf", "params": {"channels": ["EEG Fpz-Cz"]}, "inputs": {"root": str(tmp_path)}}}}
    s = run_pipeline(cfg, cache=tmp_path / "cache", show_progress=False, report=False)
    assert s.ok, [r.error for r in s.results]
    art = ArtifactStore(s.cache).open("load_sleep_edf", s.results[0].key)
    from neurocodec.datasets.kinds import EpochsData

    ep, info = EpochsData.load(art.file("epochs")), art.load("info")
    assert ep.X.shape[1:] == (1, 60) and set(info["counts"]) >= {"W", "N2", "REM"}
    assert ep.label_names == ["W", "N1", "N2", "N3", "REM"] and set(ep.groups["subject"]) == {"00"}
    with pytest.raises(ValueError, match="'channels' of SC4001E0-PSG.edf must be channels"):
        from neurocodec.datasets import load_sleep_edf_record

        load_sleep_edf_record(tmp_path / "SC4001E0-PSG.edf", hyp, channels=["EEG C3"])


def test_sleep_edf_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="physionet.org"):
        sleep_edf_pairs(tmp_path)
    (tmp_path / "SC4002E0-PSG.edf").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="Hypnogram.edf for every PSG"):
        sleep_edf_pairs(tmp_path)


def test_tuh_layouts(tmp_path):
    ev = tmp_path / "tuev/edf/train/aaaaaaar"
    ev.mkdir(parents=True)
    (ev / "aaaaaaar_00000001.edf").write_bytes(b"")
    (ev / "aaaaaaar_00000001.rec").write_text("0,10.0,11.0,6\n3,12.0,13.0,1\n")
    idx = tuev_index(tmp_path / "tuev")
    assert list(idx["split"]) == ["train"]
    rec = read_tuev_rec(idx["rec"][0])
    assert list(rec["label"]) == ["bckg", "spsw"]
    (ev / "bad.rec").write_text("0,1,2,9\n")
    with pytest.raises(ValueError, match="label codes"):
        read_tuev_rec(ev / "bad.rec")
    ab = tmp_path / "tuab/edf/eval/abnormal/01_tcp_ar"
    ab.mkdir(parents=True)
    (ab / "aaaaabdo_s001_t000.edf").write_bytes(b"")
    assert tuab_index(tmp_path / "tuab")["label"].tolist() == ["abnormal"]
    with pytest.raises(FileNotFoundError, match="isip.piconepress.com"):
        tuab_index(tmp_path / "nothing")


def _fake_bids(root):
    (root / "dataset_description.json").write_text(json.dumps({"Name": "x", "BIDSVersion": "1.8.0"}))
    img = nib.Nifti1Image(np.random.default_rng(0).standard_normal((3, 3, 2, 20)).astype(np.float32), np.eye(4))
    for sub in ("01", "02"):
        for run in ("1", "2"):
            func = root / f"sub-{sub}" / "ses-a" / "func"
            func.mkdir(parents=True, exist_ok=True)
            nib.save(img, func / f"sub-{sub}_ses-a_task-rest_run-{run}_bold.nii.gz")


def test_bids_discovery_and_steps(tmp_path):
    _fake_bids(tmp_path)
    ent = bids_entities(tmp_path)
    assert ent["subject"] == ["01", "02"] and ent["run"] == ["1", "2"] and ent["task"] == ["rest"] and ent["datatype"] == ["func"]
    files = find_bids_files(tmp_path, subjects=["02"], suffixes=["bold"])
    assert len(files) == 2 and set(files["run"]) == {"1", "2"}
    with pytest.raises(ValueError, match="'subjects' must be values present in the dataset"):
        find_bids_files(tmp_path, subjects=["99"])
    with pytest.raises(ValueError, match="'entities' must be a selection matching files"):
        find_bids_files(tmp_path, suffixes=["eeg"])
    steps = bids_pipeline_steps(find_bids_files(tmp_path, suffixes=["bold"]), "load_fmri", "bold", params={"t_r": 2.0}, folder=True)
    assert sorted(steps) == ["load_fmri_sub-01", "load_fmri_sub-02"]
    s = run_pipeline({"stages": steps}, cache=tmp_path / "cache", show_progress=False, report=False)
    assert s.ok, [r.error for r in s.results]
    s = run_pipeline({"stages": {"b": {"stage": "bids_inputs", "params": {"subjects": ["01"]}, "inputs": {"root": str(tmp_path)}}}},
                     cache=tmp_path / "cache", show_progress=False, report=False)
    assert s.ok and len(ArtifactStore(s.cache).open("bids_inputs", s.results[0].key).load("files")) == 2


@pytest.mark.parametrize("name", ["nsd", "abide", "sleep_edf"])
def test_dataset_configs_status_without_data(name, tmp_path, monkeypatch):
    from neurocodec.pipeline import pipeline_status

    monkeypatch.setenv("HOME", str(tmp_path))
    rows = pipeline_status(ROOT / "configs" / f"{name}.yaml", cache=tmp_path / "cache")
    assert rows and all((r["missing"] and "must be an existing file or folder" in r["missing"][0]) or r["blocked_by"]
                        for r in rows)


@pytest.mark.realdata
def test_haxby_benchmark_quick(shared_data):
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "haxby.py"), "--quick"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert {"accuracy", "accuracy_brain", "n_voxels_vt", "n_runs"} <= set(res) and 0 <= res["accuracy"] <= 1
