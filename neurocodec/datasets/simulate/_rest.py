"""Simulated resting-state fMRI cohort: ROI time series from known network covariances.

The ROI layout mimics a bilateral cortical parcellation (Schaefer-like names
``LH_Vis_1`` ..., MNI-like coordinates in mm, Yeo-7-like networks). Every
subject's neural signal is drawn from its group's correlation matrix (a
network factor model), convolved with the canonical HRF at the site's TR (a
filter shared by all ROIs leaves the zero-lag correlation unchanged), then a
site-specific global signal and measurement noise are added. Group 1 differs
from group 0 in a known set of edges; sites differ in TR, length, noise,
global signal and patient fraction, so site is a confound.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...pipeline import bad_value, check
from ._hrf import convolve_hrf, single_blas_thread, spm_hrf

__all__ = ["RestingStateCohort", "simulate_rest_cohort", "DEFAULT_SITES"]

FORMAT = "neurocodec.rest_cohort"
_NETWORKS = {  # name: left-hemisphere centre (MNI mm)
    "Vis": (-22, -85, 5),
    "SomMot": (-40, -22, 52),
    "DorsAttn": (-32, -55, 50),
    "SalVentAttn": (-40, 8, 5),
    "Limbic": (-30, 5, -30),
    "Cont": (-42, 35, 30),
    "Default": (-8, -55, 30),
}
#: Default acquisition sites: TR (s), volumes, noise sd, global-signal weight, fraction of group 1.
DEFAULT_SITES = [
    {"name": "siteA", "tr": 2.0, "n_times": 150, "noise": 0.5, "global_signal": 0.2, "group_fraction": 0.3},
    {"name": "siteB", "tr": 2.5, "n_times": 120, "noise": 0.8, "global_signal": 0.5, "group_fraction": 0.5},
    {"name": "siteC", "tr": 0.8, "n_times": 300, "noise": 0.3, "global_signal": 0.0, "group_fraction": 0.7},
]


@dataclass
class RestingStateCohort:
    """ROI time series of a multi-site cohort with its ground truth.

    Attributes
    ----------
    timeseries : list of ndarray, each (n_times_i, n_rois) float32
    subjects : pandas.DataFrame
        Columns ``subject, site, group`` (0/1), ``tr`` (s), ``n_times``,
        ``noise_sd``, ``global_signal``.
    roi_names : list of str
    roi_coords : ndarray, shape (n_rois, 3)
        MNI-like coordinates in mm.
    network_labels : ndarray, shape (n_rois,), str
    covariance : ndarray, shape (2, n_rois, n_rois)
        True neural correlation matrix of each group (before HRF, global signal and noise).
    differing_edges : ndarray, shape (n_rois, n_rois), bool
        Symmetric mask of the edges where the two groups differ.
    params : dict
    """

    timeseries: list[np.ndarray]
    subjects: Any
    roi_names: list[str]
    roi_coords: np.ndarray
    network_labels: np.ndarray
    covariance: np.ndarray
    differing_edges: np.ndarray
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def n_rois(self) -> int:
        return len(self.roi_names)

    def to_kind(self):
        """The cohort as the ``roi_timeseries`` kind; the planted ground truth (``covariance``,
        ``differing_edges``) goes into its extras, the simulation parameters into its info.
        """
        import pandas as pd

        from ..kinds import RoiTimeseries

        x, y, z = np.asarray(self.roi_coords, dtype=np.float64).T
        rois = pd.DataFrame({"name": self.roi_names, "x": x, "y": y, "z": z, "network": self.network_labels})
        series = dict(zip(self.subjects["subject"].astype(str), self.timeseries))
        return RoiTimeseries(
            series,
            self.subjects,
            rois,
            info={"dataset": "simulated resting-state cohort", "source": FORMAT, "params": self.params},
            extras={"covariance": self.covariance, "differing_edges": self.differing_edges},
        )

    @classmethod
    def from_kind(cls, data) -> RestingStateCohort:
        """Rebuild a simulated cohort from its ``roi_timeseries`` kind (the ground truth must be in its extras)."""
        for key in ("covariance", "differing_edges"):
            if key not in data.extras:
                raise bad_value(
                    "extras",
                    "the simulator's ground truth (covariance, differing_edges)",
                    f"<extras {sorted(data.extras)}>",
                )
        rois = data.rois
        return cls(
            data.series(),
            data.subjects,
            list(rois["name"]),
            rois[["x", "y", "z"]].to_numpy(np.float32),
            rois["network"].to_numpy(str),
            data.extras["covariance"],
            data.extras["differing_edges"].astype(bool),
            data.info.get("params", {}),
        )

    def save(self, folder: str | Path) -> Path:
        """Write the cohort into ``folder`` in the ``roi_timeseries`` kind's format (see :meth:`to_kind`)."""
        return self.to_kind().save(folder)

    @classmethod
    def load(cls, folder) -> RestingStateCohort:
        """Read a folder written by :meth:`save` (a path or an Artifact holding the kind)."""
        from ..kinds import RoiTimeseries

        return cls.from_kind(RoiTimeseries.load(folder))


def _layout(rng, n_rois, n_networks):
    """ROI names, coordinates (mm) and network labels of a bilateral atlas-like layout."""
    if n_networks <= len(_NETWORKS):
        names = list(_NETWORKS)[:n_networks]
        centres = np.array([_NETWORKS[n] for n in names], float)
    else:
        names = [f"Net{k + 1}" for k in range(n_networks)]
        u = rng.normal(size=(n_networks, 3))
        u[:, 0] = -np.abs(u[:, 0])
        centres = u / np.linalg.norm(u, axis=1, keepdims=True) * np.array([55.0, 75.0, 50.0])
    n_left = (n_rois + 1) // 2
    net_left = np.sort(np.arange(n_left) % n_networks)
    coords_left = centres[net_left] + rng.normal(0, 10, (n_left, 3))
    coords_left[:, 0] = -np.abs(coords_left[:, 0]) - 2
    n_right = n_rois - n_left
    coords_right = coords_left[:n_right] * np.array([-1, 1, 1]) + rng.normal(0, 3, (n_right, 3))
    labels = np.concatenate([net_left, net_left[:n_right]])
    coords = np.vstack([coords_left, coords_right])
    roi_names, counter = [], {}
    for i, lab in enumerate(labels):
        hemi = "LH" if i < n_left else "RH"
        counter[(hemi, lab)] = counter.get((hemi, lab), 0) + 1
        roi_names.append(f"{hemi}_{names[lab]}_{counter[(hemi, lab)]}")
    return roi_names, coords, labels, names


def _group_covariances(rng, labels, n_networks, n_edges, effect):
    """Factor-model correlation matrix of group 0 and a sparse, symmetric change for group 1."""
    n = len(labels)
    a = rng.normal(0, 0.35, (n_networks, n_networks))
    net = a @ a.T + np.eye(n_networks) * 0.5
    d = np.sqrt(np.diag(net))
    net = net / np.outer(d, d)  # network-level correlation (PD, unit diagonal)
    load = rng.uniform(0.6, 0.85, n)
    lam = np.zeros((n, n_networks))
    lam[np.arange(n), labels] = load
    base = lam @ net @ lam.T
    np.fill_diagonal(base, 1.0)  # uniqueness 1 - load**2 >= 0.28 keeps it positive definite
    # Differing edges form a matching (no ROI in two edges): the change has spectral norm 'effect'.
    order = rng.permutation(n)
    pairs = order[: 2 * n_edges].reshape(n_edges, 2)
    delta = np.zeros((n, n))
    signs = rng.choice([-1.0, 1.0], n_edges)
    # Keep changed correlations inside (-0.95, 0.95).
    vals = np.clip(base[pairs[:, 0], pairs[:, 1]] + signs * effect, -0.95, 0.95) - base[pairs[:, 0], pairs[:, 1]]
    delta[pairs[:, 0], pairs[:, 1]] = vals
    delta[pairs[:, 1], pairs[:, 0]] = vals
    other = base + delta
    if np.linalg.eigvalsh(other).min() <= 1e-6:  # pragma: no cover - guarded by the effect-size check
        raise bad_value("effect_size", "small enough to keep group 1's correlation positive definite", effect)
    diff = np.zeros((n, n), bool)
    diff[pairs[:, 0], pairs[:, 1]] = diff[pairs[:, 1], pairs[:, 0]] = True
    return np.stack([base, other]), diff


@single_blas_thread
def simulate_rest_cohort(
    n_subjects=60, n_rois=100, n_networks=7, sites=None, n_differing_edges=20, effect_size=0.2, seed=0
) -> RestingStateCohort:
    """Simulate a multi-site resting-state fMRI cohort with planted group differences.

    Parameters
    ----------
    n_subjects : int
        Subjects in total (> 0), spread evenly over the sites.
    n_rois : int
        Regions of interest (>= 4).
    n_networks : int
        Networks of the block (community) structure, in [1, n_rois / 2].
    sites : list of dict or int, optional
        Site specifications with keys ``name, tr`` (s, > 0), ``n_times``
        (> 10), ``noise`` (measurement-noise sd relative to unit-variance
        signal, >= 0), ``global_signal`` (weight of a shared global signal, >=
        0) and ``group_fraction`` (fraction of group-1 subjects, in [0, 1]). An
        int takes the first entries of :data:`DEFAULT_SITES` (cycled with
        changed names). Default: the three :data:`DEFAULT_SITES`.
    n_differing_edges : int
        Edges whose correlation differs between groups (>= 0, <= n_rois / 2).
    effect_size : float
        Change of correlation on those edges (in [0, 0.25]: the bound keeps
        the group-1 matrix positive definite).
    seed : int or None
        Random seed.

    Returns
    -------
    RestingStateCohort
    """
    import pandas as pd

    for name, value in (("n_subjects", n_subjects), ("n_rois", n_rois), ("n_networks", n_networks)):
        check(
            isinstance(value, (int, np.integer)) and not isinstance(value, bool), name, "an int", value, exc=TypeError
        )
    check(n_subjects > 0, "n_subjects", "> 0", n_subjects)
    check(n_rois >= 4, "n_rois", ">= 4", n_rois)
    check(1 <= n_networks <= n_rois // 2, "n_networks", f"in [1, n_rois / 2 = {n_rois // 2}]", n_networks)
    check(
        0 <= n_differing_edges <= n_rois // 2,
        "n_differing_edges",
        f"in [0, n_rois / 2 = {n_rois // 2}]",
        n_differing_edges,
    )
    check(0 <= effect_size <= 0.25, "effect_size", "in [0, 0.25]", effect_size)
    if sites is None:
        sites = DEFAULT_SITES
    elif isinstance(sites, (int, np.integer)):
        check(sites > 0, "sites", "> 0 (number of sites) or a list of site dicts", sites)
        sites = [dict(DEFAULT_SITES[k % 3], name=f"site{k + 1}") for k in range(sites)]
    sites = [dict(s) for s in sites]
    for s in sites:
        missing = {"name", "tr", "n_times", "noise", "global_signal", "group_fraction"} - set(s)
        check(
            not missing,
            "sites",
            "dicts with keys name, tr, n_times, noise, global_signal, group_fraction",
            f"<a site missing {sorted(missing)}>",
        )
        check(s["tr"] > 0, "tr", "> 0", s["tr"], of=f"site {s['name']}")
        check(s["n_times"] > 10, "n_times", "> 10", s["n_times"], of=f"site {s['name']}")
        check(s["noise"] >= 0, "noise", ">= 0", s["noise"], of=f"site {s['name']}")
        check(s["global_signal"] >= 0, "global_signal", ">= 0", s["global_signal"], of=f"site {s['name']}")
        check(0 <= s["group_fraction"] <= 1, "group_fraction", "in [0, 1]", s["group_fraction"], of=f"site {s['name']}")

    rng = np.random.default_rng(seed)
    roi_names, coords, labels, net_names = _layout(rng, n_rois, n_networks)
    cov, diff = _group_covariances(rng, labels, n_networks, n_differing_edges, effect_size)
    chol = np.linalg.cholesky(cov)
    site_of = np.arange(n_subjects) % len(sites)
    rows, series = [], []
    for i in range(n_subjects):
        s = sites[site_of[i]]
        n_site = int((site_of == site_of[i]).sum())
        rank = int((site_of[:i] == site_of[i]).sum())
        group = int(rank < round(s["group_fraction"] * n_site))
        hrf = spm_hrf(s["tr"])
        burn = len(hrf)
        n_t = int(s["n_times"])
        z = rng.standard_normal((n_t + burn, n_rois)) @ chol[group].T
        g = rng.standard_normal((n_t + burn, 1))
        neural = convolve_hrf(np.hstack([z, g]), hrf)[burn:]
        neural /= neural.std(0, keepdims=True)
        gs = s["global_signal"] * rng.uniform(0.7, 1.3)
        noise_sd = s["noise"] * rng.uniform(0.8, 1.2)
        x = neural[:, :n_rois] + gs * neural[:, n_rois:] + noise_sd * rng.standard_normal((n_t, n_rois))
        series.append(x.astype(np.float32))
        rows.append(
            {
                "subject": f"sub-{i + 1:03d}",
                "site": s["name"],
                "group": group,
                "tr": float(s["tr"]),
                "n_times": n_t,
                "noise_sd": noise_sd,
                "global_signal": gs,
            }
        )
    # Shuffle group labels within sites would break nothing; keep the deterministic order for readability.
    params = dict(
        n_subjects=n_subjects,
        n_rois=n_rois,
        n_networks=n_networks,
        network_names=net_names,
        sites=sites,
        n_differing_edges=n_differing_edges,
        effect_size=float(effect_size),
        seed=seed,
    )
    return RestingStateCohort(
        series,
        pd.DataFrame(rows),
        roi_names,
        coords.astype(np.float32),
        np.asarray(net_names)[labels],
        cov,
        diff,
        params,
    )
