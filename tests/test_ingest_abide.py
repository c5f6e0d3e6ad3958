"""ABIDE ROI time series: the release and PCP .1D layouts, filters, zero-variance policy, bad input, the stage."""

import numpy as np
import pandas as pd
import pytest

from neurocodec.datasets import load_abide_timeseries, read_1d
from neurocodec.datasets.kinds import RoiTimeseries

SITES = ("NYU", "UM_1", "USM")


def _pcp_tree(root, n_per_site=6, n_rois=8, n_times=40, seed=0, atlas="cc200"):
    """A PCP download: rois_<atlas>/<FILE_ID>_rois_<atlas>.1D + Phenotypic_V1_0b_preprocessed1.csv."""
    rng = np.random.default_rng(seed)
    (root / f"rois_{atlas}").mkdir(parents=True)
    rows = []
    for s, site in enumerate(SITES):
        for i in range(n_per_site):
            sub = 50000 + 100 * s + i
            fid = f"{site}_{sub:07d}"
            x = rng.standard_normal((n_times + 5 * i, n_rois)) + rng.standard_normal((n_times + 5 * i, 1))
            header = "\t".join(f"#{k + 1}" for k in range(n_rois))
            np.savetxt(
                root / f"rois_{atlas}" / f"{fid}_rois_{atlas}.1D",
                x,
                header=header,
                comments="",
                delimiter="\t",
                fmt="%.6f",
            )
            rows.append(
                {
                    "SITE_ID": site,
                    "SUB_ID": sub,
                    "FILE_ID": fid,
                    "DX_GROUP": 1 + i % 2,
                    "AGE_AT_SCAN": 8.0 + 3 * i,
                    "SEX": 1 + (i % 3 == 0),
                    "EYE_STATUS_AT_SCAN": 1 + (s == 2),
                    "func_mean_fd": 0.05 * (i + 1),
                    "qc_rater_1": "fail" if i == 5 else "OK",
                    "qc_func_rater_2": "maybe" if i == 4 else "OK",
                }
            )
    rows.append({"SITE_ID": "NYU", "SUB_ID": 59999, "FILE_ID": "no_filename", "DX_GROUP": 1})  # no data: ignored
    pd.DataFrame(rows).to_csv(root / "Phenotypic_V1_0b_preprocessed1.csv", index=False)
    return root


def test_pcp_layout_reads_every_subject_with_phenotypes(tmp_path):
    root = _pcp_tree(tmp_path / "pcp")
    c = load_abide_timeseries(root)
    assert c.n_subjects == 18 and c.n_rois == 8 and list(c.rois["name"][:2]) == ["1", "2"]
    assert c.info["layout"] == "pcp" and c.info["exclusions"] == []
    first = c.subjects.iloc[0]
    assert first["subject"] == "NYU_0050000" and first["site"] == "NYU" and first["group"] == 1
    assert first["diagnosis"] == "ASD" and first["sex"] == "female" and first["eyes"] == "open"
    x, names = read_1d(root / "rois_cc200" / "NYU_0050001_rois_cc200.1D")
    np.testing.assert_array_equal(c.timeseries["NYU_0050001"], x)
    assert names == [str(k + 1) for k in range(8)] and x.shape == (45, 8)
    back = RoiTimeseries.load(c.save(tmp_path / "kind"))
    assert back.subjects["subject"].tolist() == c.subjects["subject"].tolist()
    np.testing.assert_array_equal(back.timeseries["USM_0050205"], c.timeseries["USM_0050205"])
    with pytest.raises(FileNotFoundError, match="'path' must be an ABIDE folder"):
        load_abide_timeseries(root, atlas="aal")


def test_filters_are_applied_and_recorded_in_order(tmp_path):
    root = _pcp_tree(tmp_path / "pcp")
    c = load_abide_timeseries(
        root,
        qc_columns=["qc_rater_1", "qc_func_rater_2"],
        qc_accept=["OK", "maybe"],
        max_mean_fd=0.2,
        sites=["NYU", "USM"],
        eyes="open",
    )
    assert set(c.subjects["site"]) == {"NYU"} and (c.subjects["mean_fd"] <= 0.2).all()
    assert [e["reason"].split(":")[0].split(" ")[0] for e in c.info["exclusions"]] == ["site", "QC", "mean", "eyes"]
    assert [e["n_subjects"] for e in c.info["exclusions"]] == [6, 2, 2, 4] and c.n_subjects == 4
    young = load_abide_timeseries(root, age_range=[8, 14], sex="male", min_timepoints=45)
    assert young.subjects["age"].between(8, 14).all() and (young.subjects["sex"] == "male").all()
    assert (young.subjects["n_times"] >= 45).all()
    picked = load_abide_timeseries(root, subjects=["50001", "USM_0050203"])
    assert picked.subjects["subject"].tolist() == ["NYU_0050001", "USM_0050203"]
    with pytest.raises(ValueError, match="'sites' must be SITE_IDs of this release"):
        load_abide_timeseries(root, sites=["MARS"])
    with pytest.raises(ValueError, match="'filters' must be leaving at least one subject"):
        load_abide_timeseries(root, age_range=[60, 70])


def _with_zero_variance(root):
    f = root / "rois_cc200" / "UM_1_0050102_rois_cc200.1D"
    x, _ = read_1d(f)
    x[:, [2, 5]] = 0.0  # two ROIs outside this subject's field of view
    np.savetxt(f, x, delimiter="\t", fmt="%.6f")
    return root


def test_zero_variance_policy(tmp_path):
    root = _with_zero_variance(_pcp_tree(tmp_path / "pcp"))
    drop_sub = load_abide_timeseries(root, zero_variance="drop_subject")
    assert drop_sub.n_subjects == 17 and "UM_1_0050102" not in drop_sub.timeseries
    assert drop_sub.info["zero_variance"]["dropped_subjects"] == ["UM_1_0050102"]
    drop_roi = load_abide_timeseries(root, zero_variance="drop_roi")
    assert drop_roi.n_subjects == 18 and drop_roi.n_rois == 6
    assert drop_roi.info["zero_variance"]["dropped_rois"] == ["3", "6"]
    assert all(x.shape[1] == 6 and np.all(x.std(0) > 0) for x in drop_roi.series())
    with pytest.raises(ValueError, match="'zero_variance' must be 'drop_subject' or 'drop_roi'.*UM_1_0050102"):
        load_abide_timeseries(root, zero_variance="error")


def test_missing_phenotype_row_and_bad_files(tmp_path):
    root = _pcp_tree(tmp_path / "pcp")
    ph = pd.read_csv(root / "Phenotypic_V1_0b_preprocessed1.csv")
    ph[ph["FILE_ID"] != "UM_1_0050103"].to_csv(root / "Phenotypic_V1_0b_preprocessed1.csv", index=False)
    with pytest.raises(ValueError, match="'phenotypes' must be a row of .* for every subject.*UM_1_0050103"):
        load_abide_timeseries(root)
    (root / "rois_cc200" / "UM_1_0050103_rois_cc200.1D").unlink()
    (root / "rois_cc200" / "NYU_0050000_rois_cc200.1D").write_text("#1\t#2\n1.0\tnan\n")
    with pytest.raises(ValueError, match="NYU_0050000"):
        load_abide_timeseries(root)


def test_fewer_time_points_than_rois_is_kept_and_counted(tmp_path):
    """Documented handling: shrinkage estimators keep such covariances SPD; the empirical one is refused."""
    from neurocodec.features.connectivity import ConnectomeClassifier

    root = _pcp_tree(tmp_path / "pcp", n_rois=30, n_times=20)
    c = load_abide_timeseries(root)
    assert c.info["n_subjects_fewer_times_than_rois"] == int((c.subjects["n_times"] < 30).sum()) > 0
    y = c.subjects["diagnosis"].to_numpy()
    ConnectomeClassifier(kind="tangent").fit(c.series(), y)  # Ledoit-Wolf: SPD
    with pytest.raises(ValueError, match="symmetric positive definite"):
        ConnectomeClassifier(kind="tangent", cov_estimator="empirical").fit(c.series(), y)


def test_load_abide_stage_kinds_and_pipeline(tmp_path):
    from neurocodec.datasets.ingest._public_stages import AbideParams, LoadAbide
    from neurocodec.pipeline import ArtifactStore, run_pipeline

    assert LoadAbide.produced_kinds(AbideParams()) == ("roi_timeseries",)
    assert LoadAbide.produced_kinds(AbideParams(data="matrices")) == ("connectomes",)
    root = _with_zero_variance(_pcp_tree(tmp_path / "pcp"))
    cfg = {
        "stages": {
            "abide": {"stage": "load_abide", "inputs": {"root": str(root)}, "params": {"zero_variance": "drop_roi"}},
            "loso": {
                "stage": "predict_phenotype",
                "inputs": {"source": "abide"},
                "params": {"target": "diagnosis", "confounds": ["age", "sex", "mean_fd"]},
            },
        }
    }
    summary = run_pipeline(cfg, cache=tmp_path / "cache", show_progress=False, report=False)
    assert summary.ok, [r.error for r in summary.results]
    keys = {r.step_id: r.key for r in summary.results}
    store = ArtifactStore(tmp_path / "cache")
    cohort = RoiTimeseries.load(store.open("load_abide", keys["abide"]).path)
    assert cohort.info["zero_variance"]["policy"] == "drop_roi" and cohort.n_rois == 6
    metrics = store.open("predict_phenotype", keys["loso"]).load("metrics")
    assert metrics["n_sites"] == 3 and metrics["classes"] == ["ASD", "HC"]


@pytest.mark.realdata
def test_release_layout_and_1d_reader_agree_on_real_subjects(shared_data, tmp_path):
    release = shared_data / "abide_pcp_cc200"
    c = load_abide_timeseries(release, sites=["CALTECH", "SBL"])
    assert c.info["layout"] == "release" and c.n_rois == 200 and {"x", "y", "z"} <= set(c.rois.columns)
    # write three real subjects in the PCP download layout and read them back
    ids = ["Caltech_0051461", "SBL_0051556", "SBL_0051557"]
    ph = pd.read_csv(release / "phenotypes.tsv", sep="\t")
    (tmp_path / "rois_cc200").mkdir()
    with np.load(release / "timeseries.npz") as z:
        for fid in ids:
            np.savetxt(
                tmp_path / "rois_cc200" / f"{fid}_rois_cc200.1D",
                z[fid].astype(np.float64),
                header="\t".join(f"#{k + 1}" for k in range(200)),
                comments="",
                delimiter="\t",
                fmt="%.6g",
            )
    ph[ph["FILE_ID"].isin(ids)].to_csv(tmp_path / "Phenotypic_V1_0b_preprocessed1.csv", index=False)
    pcp = load_abide_timeseries(tmp_path, zero_variance="error")
    assert pcp.subjects["subject"].tolist() == sorted(ids, key=ids.index)
    for fid in ids:
        np.testing.assert_allclose(pcp.timeseries[fid], c.timeseries[fid], rtol=1e-5)
    assert (pcp.subjects["group"] == (pcp.subjects["DX_GROUP"] == 1)).all()


@pytest.mark.realdata
def test_release_zero_variance_subjects(shared_data):
    full = load_abide_timeseries(shared_data / "abide_pcp_cc200")
    assert full.n_subjects == 868 and full.info["zero_variance"]["n_subjects_with_zero_variance_rois"] == 43
    assert full.subjects["site"].nunique() == 17
