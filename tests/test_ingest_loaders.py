"""Public-dataset loaders: ABIDE FC, UEA EEG (real data + tiny fake trees)."""

import numpy as np
import pandas as pd
import pytest

from neurocodec.datasets import fc_from_upper, get_data_home, load_abide_fc, load_uea, load_uea_info, read_ts


def _fake_fc_tree(tmp_path, n_sub=3, n_rois=5, seed=0):
    rng = np.random.default_rng(seed)
    mats = np.corrcoef(rng.standard_normal((n_sub * n_rois, 40))).reshape(n_sub * n_rois, n_sub * n_rois)
    fcs = np.stack([mats[i * n_rois : (i + 1) * n_rois, i * n_rois : (i + 1) * n_rois] for i in range(n_sub)])
    iu = np.triu_indices(n_rois, 1)
    np.savez(tmp_path / "fc_upper.npz", fc=fcs[:, iu[0], iu[1]].astype(np.float32))
    pd.DataFrame({"site": ["A"] * n_sub, "subject": range(n_sub), "diagnosis": ["ASD", "HC", "HC"][:n_sub]}).to_csv(
        tmp_path / "phenotypes.tsv", sep="\t", index=False
    )
    (tmp_path / "rois.txt").write_text("\n".join(f"roi{i}" for i in range(n_rois)) + "\n")
    return fcs.astype(np.float32)


def test_abide_fc_roundtrip(tmp_path):
    fcs = _fake_fc_tree(tmp_path)
    fc, ph = load_abide_fc(tmp_path)
    np.testing.assert_allclose(fc, fcs, atol=1e-6)
    assert fc.dtype == np.float32 and list(ph["diagnosis"]) == ["ASD", "HC", "HC"]
    assert ph.attrs["rois"][0] == "roi0"


def test_abide_fc_bad_inputs(tmp_path):
    _fake_fc_tree(tmp_path)
    pd.DataFrame({"subject": [1]}).to_csv(tmp_path / "phenotypes.tsv", sep="\t", index=False)
    with pytest.raises(ValueError, match="one row per subject"):
        load_abide_fc(tmp_path)
    with pytest.raises(ValueError, match="n_rois \\* \\(n_rois - 1\\) / 2 columns"):
        fc_from_upper(np.zeros((2, 7)))
    with pytest.raises(FileNotFoundError, match="Download it from"):
        load_abide_fc(tmp_path / "nowhere")


def test_data_home_rule(tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROCODEC_DATA", str(tmp_path))
    assert get_data_home() == tmp_path
    assert get_data_home("/x/y").as_posix() == "/x/y"
    monkeypatch.delenv("NEUROCODEC_DATA")
    assert get_data_home().name == "neurocodec_data"
    (tmp_path / "abide_schaefer200").mkdir()
    _fake_fc_tree(tmp_path / "abide_schaefer200")
    fc, _ = load_abide_fc(data_dir=tmp_path)
    assert fc.shape == (3, 5, 5)


@pytest.mark.realdata
def test_abide_real(shared_data):
    fc, ph = load_abide_fc(shared_data / "abide_schaefer200")
    assert fc.shape == (696, 200, 200) and fc.dtype == np.float32
    assert set(ph["diagnosis"]) == {"ASD", "HC"} and (ph["diagnosis"] == "ASD").sum() == 333
    np.testing.assert_array_equal(fc[:, 3, 7], fc[:, 7, 3])
    assert np.all(np.diagonal(fc, axis1=1, axis2=2) == 1) and np.abs(fc).max() <= 1.0 + 1e-5


def _write_ts(path, X, y):
    lines = [
        "@problemName Tiny",
        "@univariate false",
        f"@dimensions {X.shape[1]}",
        "@equalLength true",
        f"@seriesLength {X.shape[2]}",
        "@classLabel true a b",
        "@data",
    ]
    for trial, label in zip(X, y):
        lines.append(":".join(",".join(f"{v:.6g}" for v in d) for d in trial) + f":{label}")
    path.write_text("\n".join(lines) + "\n")


def test_uea_ts_reader(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4, 3, 10)).astype(np.float32)
    (tmp_path / "Tiny").mkdir()
    _write_ts(tmp_path / "Tiny" / "Tiny_TRAIN.ts", X, ["a", "b", "a", "b"])
    _write_ts(tmp_path / "Tiny" / "Tiny_TEST.ts", X[:2], ["b", "a"])
    Xtr, ytr, Xte, yte = load_uea("Tiny", tmp_path)
    np.testing.assert_allclose(Xtr, X, rtol=1e-5)
    assert list(yte) == ["b", "a"] and Xte.shape == (2, 3, 10)
    bad = tmp_path / "bad.ts"
    bad.write_text("@problemName x\n@data\n1,2,3:4,5:a\n")
    with pytest.raises(ValueError, match="equal-length"):
        read_ts(bad)


@pytest.mark.realdata
@pytest.mark.parametrize(
    "name,shape", [("SelfRegulationSCP1", (6, 896)), ("FingerMovements", (28, 50)), ("EyesOpenShut", (14, 128))]
)
def test_uea_real(shared_data, name, shape):
    Xtr, ytr, Xte, yte = load_uea(name, shared_data / "uea_eeg")
    assert Xtr.shape[1:] == shape and Xte.shape[1:] == shape and len(set(ytr)) == 2
    assert load_uea_info(name, shared_data)["sfreq"] > 0
