"""fMRI readers and stages: masking, atlases, confounds, single-trial betas, bad inputs, Haxby/Kriegeskorte."""

import gzip
import warnings

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from neurocodec.datasets import extract_signals, load_haxby, load_img, load_kriegeskorte92, single_trial_betas

warnings.filterwarnings("ignore", category=FutureWarning)
AFF = np.diag([3.0, 3.0, 3.0, 1.0])
T_R = 2.0


def _design(seed=0, n_scans=120, shape=(4, 4, 3)):
    """A run with 12 trials whose per-trial amplitudes are planted in every voxel."""
    from nilearn.glm.first_level import make_first_level_design_matrix

    rng = np.random.default_rng(seed)
    onsets = 10 + np.arange(12) * (n_scans * T_R - 30) / 12
    amps = rng.uniform(0.5, 2.0, len(onsets))
    ev = pd.DataFrame({"onset": onsets, "duration": 1.0, "trial_type": np.where(np.arange(12) % 2, "a", "b")})
    frame = np.arange(n_scans) * T_R
    dm = make_first_level_design_matrix(frame, ev.assign(trial_type=[f"t{i}" for i in range(12)]), drift_model=None)
    signal = dm[[f"t{i}" for i in range(12)]].to_numpy() @ amps
    weights = rng.uniform(0.5, 1.5, shape)
    data = 100 + signal[None, None, None, :] * weights[..., None] + 0.05 * rng.standard_normal(shape + (n_scans,))
    return nib.Nifti1Image(data.astype(np.float32), AFF), ev, amps, weights


def _save(img, path):
    nib.save(img, str(path))
    return path


def test_single_trial_betas_recover_amplitudes(tmp_path):
    img, ev, amps, w = _design()
    mask = nib.Nifti1Image(np.ones(img.shape[:3], np.uint8), AFF)
    for method in ("lsa", "lss"):
        betas, trials = single_trial_betas([img, img], [ev, ev], mask, t_r=T_R, method=method, sessions=["1", "2"])
        assert (
            betas.shape == (24, 48)
            and list(trials["run"].unique()) == [0, 1]
            and list(trials["session"].unique()) == ["1", "2"]
        )
        r = np.corrcoef(betas[:12].mean(axis=1), amps)[0, 1]
        assert r > 0.98, (method, r)


def test_extract_signals_mask_atlas_confounds(tmp_path):
    rng = np.random.default_rng(0)
    conf = rng.standard_normal(80)
    data = rng.standard_normal((4, 4, 3, 80)) + 5 * conf
    img = nib.Nifti1Image(data.astype(np.float32), AFF)
    mask = np.zeros((4, 4, 3), np.uint8)
    mask[:2] = 1
    sig, _ = extract_signals(img, nib.Nifti1Image(mask, AFF), standardize="zscore_sample", detrend=False)
    assert sig.shape == (80, 24)
    assert abs(np.corrcoef(sig[:, 0], conf)[0, 1]) > 0.9
    clean, _ = extract_signals(img, nib.Nifti1Image(mask, AFF), confounds=conf[:, None])
    assert abs(np.corrcoef(clean[:, 0], conf)[0, 1]) < 0.05
    labels = np.zeros((4, 4, 3), np.int16)
    labels[:2], labels[2:] = 1, 2
    roi, _ = extract_signals(img, atlas=nib.Nifti1Image(labels, AFF), standardize="none", detrend=False)
    assert roi.shape == (80, 2)
    np.testing.assert_allclose(roi[:, 0], data[:2].reshape(-1, 80).mean(0), rtol=1e-4, atol=1e-4)
    maps = np.stack([labels == 1, labels == 2], axis=-1).astype(np.float32)
    prob, _ = extract_signals(img, atlas=nib.Nifti1Image(maps, AFF))
    assert prob.shape == (80, 2)


def test_bad_fmri_inputs(tmp_path):
    img, ev, _, _ = _design(n_scans=40)
    good = _save(img, tmp_path / "bold.nii.gz")
    raw = gzip.decompress(good.read_bytes())
    (tmp_path / "trunc.nii").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="'bold' must be a readable NIfTI file"):
        load_img(tmp_path / "trunc.nii", 4, "bold")
    (tmp_path / "text.nii").write_text("not an image")
    with pytest.raises(ValueError, match="readable NIfTI"):
        load_img(tmp_path / "text.nii")
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(ValueError, match="ending in .nii"):
        load_img(tmp_path / "x.txt")
    vol = _save(nib.Nifti1Image(np.ones((4, 4, 3), np.float32), AFF), tmp_path / "vol.nii.gz")
    with pytest.raises(ValueError, match="'bold' must be a 4-D image, got <3-D image"):
        extract_signals(vol)
    with pytest.raises(ValueError, match="'mask' must be on the grid .* got <shape \\(5, 4, 3\\)>"):
        extract_signals(good, nib.Nifti1Image(np.ones((5, 4, 3), np.uint8), AFF))
    with pytest.raises(ValueError, match="same affine"):
        extract_signals(good, nib.Nifti1Image(np.ones((4, 4, 3), np.uint8), np.diag([2.0, 2, 2, 1])))
    with pytest.raises(ValueError, match="'mask' must be a mask with at least one non-zero voxel"):
        extract_signals(good, nib.Nifti1Image(np.zeros((4, 4, 3), np.uint8), AFF))
    bad = img.get_fdata().copy()
    bad[1, 1, 1, 3] = np.nan
    with pytest.raises(ValueError, match="'bold' must be finite"):
        extract_signals(nib.Nifti1Image(bad, AFF))
    mask = nib.Nifti1Image(np.ones((4, 4, 3), np.uint8), AFF)
    late = ev.assign(onset=ev["onset"] + 1000)
    with pytest.raises(ValueError, match="'events' must be onsets inside the run"):
        single_trial_betas([img], [late], mask, t_r=T_R)


def test_load_fmri_and_betas_stages(tmp_path):
    from neurocodec.pipeline import ArtifactStore, run_pipeline

    img, ev, amps, _ = _design(n_scans=100)
    for r in (1, 2):
        _save(img, tmp_path / f"sub-01_task-x_run-{r}_bold.nii.gz")
        ev.to_csv(tmp_path / f"sub-01_task-x_run-{r}_events.tsv", sep="\t", index=False)
    _save(nib.Nifti1Image(np.ones((4, 4, 3), np.uint8), AFF), tmp_path / "mask.nii.gz")
    cfg = {
        "stages": {
            "f": {
                "stage": "load_fmri",
                "params": {"t_r": T_R, "high_pass": 0.01},
                "inputs": {"bold": str(tmp_path), "mask": str(tmp_path / "mask.nii.gz")},
            },
            "b": {
                "stage": "fmri_single_trial_betas",
                "params": {"method": "lsa", "t_r": T_R},
                "inputs": {"bold": str(tmp_path), "mask": str(tmp_path / "mask.nii.gz")},
            },
        }
    }
    summary = run_pipeline(cfg, cache=tmp_path / "cache", show_progress=False, report=False)
    assert summary.ok, [r.error for r in summary.results]
    store, keys = ArtifactStore(summary.cache), {r.step_id: r.key for r in summary.results}
    f = store.open("load_fmri", keys["f"])
    assert f.load("signals").shape == (200, 48) and list(f.load("runs")["n_times"]) == [100, 100]
    b = store.open("fmri_single_trial_betas", keys["b"])
    assert b.load("betas").shape == (24, 48) and len(b.load("trials")) == 24
    from neurocodec.pipeline import get_stage

    section = get_stage("load_fmri").report(f)  # report: summary table + mean-signal image (nilearn)
    assert section.blocks[-1].png.startswith(b"\x89PNG")


@pytest.mark.realdata
def test_haxby_real(shared_data):
    data = load_haxby(shared_data / "haxby2001", 1)
    assert len(data.runs) == 12 and set(data.conditions) >= {"face", "house"} and data.t_r == 2.5
    img = load_img(data.runs[0], 4, "bold")
    assert img.shape[3] == 121
    sig, _ = extract_signals(img, data.masks["brain"], t_r=data.t_r, high_pass=0.01)
    assert sig.shape == (121, 129) and np.isfinite(sig).all()
    betas, trials = single_trial_betas(data.runs[:2], data.events[:2], data.masks["brain"], t_r=data.t_r, method="lsa")
    assert betas.shape == (16, 129) and set(trials["trial_type"]) == set(data.conditions)


@pytest.mark.realdata
def test_kriegeskorte_real(shared_data):
    k = load_kriegeskorte92(shared_data / "kriegeskorte92")
    assert k["images"].shape == (92, 175, 175, 3) and k["rdms"].shape == (4, 2, 92, 92)
    assert k["categories"]["face"].sum() > 0 and np.allclose(np.diagonal(k["rdms"], axis1=2, axis2=3), 0)


def test_missing_public_data_says_where(tmp_path):
    with pytest.raises(FileNotFoundError, match="Download it from .*openfmri|ds000105"):
        load_haxby(tmp_path)
    with pytest.raises(FileNotFoundError, match="rsatoolbox"):
        load_kriegeskorte92(tmp_path)
