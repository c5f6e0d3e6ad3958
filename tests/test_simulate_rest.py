"""Simulated resting-state cohort: contract, planted covariance and edges recoverable, site effects, errors."""

import numpy as np
import pytest

from neurocodec.datasets.simulate import DEFAULT_SITES, RestingStateCohort, simulate_rest_cohort


@pytest.fixture(scope="module")
def cohort():
    return simulate_rest_cohort(n_subjects=60, n_rois=40, n_networks=5, n_differing_edges=8, effect_size=0.25, seed=0)


def _fc(cohort):
    iu = np.triu_indices(cohort.n_rois, 1)
    return np.array([np.corrcoef(x.T)[iu] for x in cohort.timeseries]), iu


def test_contract(cohort, tmp_path):
    c = cohort
    assert len(c.timeseries) == 60 and all(x.dtype == np.float32 and x.shape[1] == 40 for x in c.timeseries)
    assert list(c.subjects.columns[:5]) == ["subject", "site", "group", "tr", "n_times"]
    assert set(c.subjects["group"]) == {0, 1}
    for site in DEFAULT_SITES:
        rows = c.subjects[c.subjects["site"] == site["name"]]
        assert (rows["tr"] == site["tr"]).all() and (rows["n_times"] == site["n_times"]).all()
        assert rows["group"].mean() == pytest.approx(site["group_fraction"], abs=0.06)
    assert [x.shape[0] for x in c.timeseries] == list(c.subjects["n_times"])
    assert c.roi_coords.shape == (40, 3) and c.network_labels.shape == (40,) and len(c.roi_names) == 40
    assert (c.roi_coords[:20, 0] < 0).all() and (c.roi_coords[20:, 0] > 0).all()
    assert c.roi_names[0].startswith("LH_") and c.roi_names[-1].startswith("RH_")
    assert c.covariance.shape == (2, 40, 40) and np.allclose(np.diagonal(c.covariance, axis1=1, axis2=2), 1)
    assert (np.linalg.eigvalsh(c.covariance) > 0).all()
    d = c.differing_edges
    assert d.dtype == bool and (d == d.T).all() and d.sum() == 16 and not d.diagonal().any()
    changed = ~np.isclose(c.covariance[0], c.covariance[1])
    assert np.array_equal(changed, d)
    c.save(tmp_path / "rest")
    back = RestingStateCohort.load(tmp_path / "rest")
    assert back.roi_names == c.roi_names and list(back.network_labels) == list(c.network_labels)
    assert back.subjects.equals(c.subjects)
    np.testing.assert_array_equal(back.timeseries[7], c.timeseries[7])
    np.testing.assert_array_equal(back.differing_edges, c.differing_edges)
    np.testing.assert_allclose(back.roi_coords, c.roi_coords, rtol=1e-6)
    with pytest.raises(FileNotFoundError, match="'source' must be a roi_timeseries folder"):
        RestingStateCohort.load(tmp_path)
    from neurocodec.datasets.kinds import RoiTimeseries

    kind = RoiTimeseries.load(tmp_path / "rest")  # the simulator writes the roi_timeseries kind
    assert kind.n_subjects == len(c.subjects) and set(kind.extras) == {"covariance", "differing_edges"}


def test_correlation_recovers_planted_covariance(cohort):
    fc, iu = _fc(cohort)
    for g in (0, 1):
        for site in ("siteA", "siteC"):  # low-noise sites
            m = ((cohort.subjects["group"] == g) & (cohort.subjects["site"] == site)).to_numpy()
            assert np.corrcoef(fc[m].mean(0), cohort.covariance[g][iu])[0, 1] > 0.9
    # Block structure: within-network correlations exceed between-network ones.
    lab = cohort.network_labels
    same = (lab[:, None] == lab[None, :])[iu]
    assert fc.mean(0)[same].mean() > fc.mean(0)[~same].mean() + 0.2


def test_group_difference_finds_differing_edges(cohort):
    fc, iu = _fc(cohort)
    z = np.arctanh(np.clip(fc, -0.999, 0.999))
    sites = cohort.subjects["site"].to_numpy()
    design = np.column_stack([(sites == s).astype(float) for s in np.unique(sites)] + [cohort.subjects["group"]])
    beta, *_ = np.linalg.lstsq(design, z, rcond=None)
    resid = z - design @ beta
    se = np.sqrt((resid**2).sum(0) / (len(z) - design.shape[1]) * np.linalg.inv(design.T @ design)[-1, -1])
    t = np.abs(beta[-1] / se)
    truth = cohort.differing_edges[iu]
    top = np.argsort(-t)[: truth.sum()]
    assert truth[top].mean() >= 0.75


def test_site_effects(cohort):
    fc, _ = _fc(cohort)
    mean_fc = {s: fc[(cohort.subjects["site"] == s).to_numpy()].mean() for s in ("siteA", "siteB", "siteC")}
    # siteB has the strongest global signal: its mean connectivity is inflated.
    assert mean_fc["siteB"] > max(mean_fc["siteA"], mean_fc["siteC"]) + 0.03
    b = simulate_rest_cohort(n_subjects=4, n_rois=10, n_networks=2, n_differing_edges=2, seed=0)
    assert b.subjects["tr"].nunique() == 3


def test_seeded():
    a = simulate_rest_cohort(n_subjects=3, n_rois=8, n_networks=2, n_differing_edges=1, seed=1)
    b = simulate_rest_cohort(n_subjects=3, n_rois=8, n_networks=2, n_differing_edges=1, seed=1)
    np.testing.assert_array_equal(a.timeseries[2], b.timeseries[2])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_subjects=0), "'n_subjects'"),
        (dict(n_rois=2), "'n_rois'"),
        (dict(n_networks=20), "'n_networks'"),
        (dict(n_differing_edges=50), "'n_differing_edges'"),
        (dict(effect_size=0.6), "'effect_size'"),
        (dict(sites=[dict(DEFAULT_SITES[0], tr=0.0)]), "'tr' of site siteA"),
        (dict(sites=[dict(DEFAULT_SITES[0], n_times=5)]), "'n_times' of site siteA"),
        (dict(sites=[{"name": "x", "tr": 2.0}]), "'sites'"),
    ],
)
def test_bad_parameters(kwargs, match):
    base = dict(n_subjects=4, n_rois=20, n_networks=3, n_differing_edges=3)
    base.update(kwargs)
    with pytest.raises(ValueError, match=match):
        simulate_rest_cohort(**base)
