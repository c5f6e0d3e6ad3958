"""Pipeline stages of functional connectivity, graph features and phenotype prediction.

Cheap to import: numpy/sklearn/mne work happens inside ``run``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from ...pipeline import Input, Output, Stage, StageParams, parallel_map, register_kind, register_stage, runtime_field

register_kind(
    "connectivity_model",
    version=2,
    reader="neurocodec.features.connectivity:ConnectomeClassifier",
    description="A fitted ConnectomeClassifier (save_pretrained): config.json (type, format version, parameters) "
    "+ arrays.npz (classes, weights, scaling, tangent reference, confound coefficients) + state.json (chosen "
    "feature kind and C, inner scores, confound columns).",
)

_COHORT = ("roi_timeseries",)
_CONNECTOMES = ("connectomes",)


# --------------------------------------------------------------------------- per-subject FC
class ConnectivityParams(StageParams):
    kind: Literal["covariance", "correlation", "partial correlation", "precision"] = Field(
        "correlation", description="Per-subject measure (tangent space is the group stage connectivity_group)."
    )
    cov_estimator: Literal["ledoit_wolf", "oas", "empirical"] = Field(
        "ledoit_wolf", description="Covariance estimator applied to each subject's ROI time series."
    )


def _subject_fc(job):
    """One subject's connectivity (module level so that Dask can ship it)."""
    from ._fc import FunctionalConnectivity

    series, kind, estimator = job
    return FunctionalConnectivity(kind=kind, cov_estimator=estimator, n_jobs=1).fit_transform([series])[0]


@register_stage
class Connectivity(Stage):
    """Per-subject functional connectivity matrices from ROI time series (or given correlation matrices)."""

    name = "connectivity"
    version = 2
    Params = ConnectivityParams
    libraries = ("numpy", "scikit-learn")
    inputs = {
        "source": Input(
            "A cohort of ROI time series, or correlation matrices (kept as they are).", kinds=_COHORT + _CONNECTOMES
        )
    }
    outputs = {
        "connectomes": Output("./", "The whole folder, a connectomes artifact.", kind="connectomes"),
        "fc": Output("connectomes.npy", "(n_subjects, n_rois, n_rois) float32 connectivity matrices."),
        "subjects": Output("subjects.tsv", "subject, site, group and the source's other columns."),
        "info": Output("connectomes.json", "Kind header; info: measure, estimator, source stage."),
    }

    def run(self, params, inputs, out_dir):
        import numpy as np

        from ...datasets.kinds import Connectomes, RoiTimeseries
        from ...pipeline import bad_value

        src = inputs["source"]
        if getattr(src, "kind", "roi_timeseries") == "connectomes":
            given = Connectomes.load(src)
            if params.kind != given.measure:
                raise bad_value("kind", f"{given.measure!r} for a source of {given.measure} matrices", params.kind)
            out = Connectomes(
                given.matrices, given.subjects, given.rois, dict(given.info, source=src.stage), given.extras
            )
        else:
            cohort = RoiTimeseries.load(src)
            jobs = [(x.astype(np.float64), params.kind, params.cov_estimator) for x in cohort.series()]
            fc = np.stack(parallel_map(_subject_fc, jobs, desc="connectivity"))
            out = Connectomes(
                fc,
                cohort.subjects,
                cohort.rois,
                {"measure": params.kind, "estimator": params.cov_estimator, "source": src.stage, "cohort": cohort.info},
                cohort.extras,
            )
        out.save(out_dir)

    report_impl = "._report:connectivity_section"


# --------------------------------------------------------------------------- group / tangent
class GroupParams(StageParams):
    kind: Literal["tangent", "none"] = Field("tangent", description="Tangent-space embedding, or plain vectorisation.")
    reference: Literal["geometric", "log_euclidean"] = Field(
        "geometric", description="Tangent reference (mean of training subjects)."
    )
    mean_precision: Literal["double", "single"] = Field(
        "double",
        description="Precision inside the geometric-mean iterations: 'single' runs the per-subject whitening and "
        "eigendecompositions in float32 (faster on many ROIs; the mean and outputs stay float64).",
    )
    shrinkage: float | None = Field(
        None,
        ge=0,
        lt=1,
        description="Shrinkage toward identity before the tangent step (None: automatic, only where needed).",
    )
    min_eigenvalue: float = Field(
        1e-3, gt=0, lt=1, description="Smallest relative eigenvalue reached by automatic shrinkage."
    )
    test_fraction: float = Field(
        0.2,
        ge=0,
        lt=1,
        description="Fraction of subjects held out (stratified by site and group); the reference never sees them.",
    )
    discard_diagonal: bool = Field(False, description="Drop the diagonal from the vectors.")
    seed: int = Field(0, ge=0, description="Seed of the train/test split.")
    n_jobs: int = runtime_field(0, "Threads for the batched eigendecompositions (0: all cores).")


@register_stage
class ConnectivityGroup(Stage):
    """Group FC features: tangent space at the training subjects' mean, vectorised, with group-difference maps."""

    name = "connectivity_group"
    version = 2
    Params = GroupParams
    libraries = ("numpy", "scipy", "scikit-learn")
    inputs = {
        "fc": Input("Per-subject connectivity matrices (planted edges in their extras are scored).", kinds=_CONNECTOMES)
    }
    outputs = {
        "vectors": Output(
            "vectors.npy",
            "(n_subjects, n_features) float32 vectors in nilearn's order (vectorize).",
            kind="connectome_vectors",
        ),
        "reference": Output("reference.npy", "(n_rois, n_rois) reference matrix (identity-free mean for kind=none)."),
        "subjects": Output("subjects.tsv", "Subjects with a 'split' column (train/test)."),
        "group_difference": Output(
            "group_difference.npy", "(n_rois, n_rois) Welch t of group 1 vs 0 per edge (training subjects)."
        ),
        "info": Output(
            "info.json", "Parameters, shrinkage used, split sizes, edge-recovery AUC when ground truth is given."
        ),
    }

    run_impl = "._group:run_group"

    report_impl = "._report:group_section"


# --------------------------------------------------------------------------- graph features
class GraphParams(StageParams):
    density: float | None = Field(
        0.1,
        gt=0,
        le=1,
        description="Proportional threshold: fraction of edges kept (None: use 'absolute' or the full weighted graph).",
    )
    absolute: float | None = Field(None, description="Absolute threshold on weights (with density=None).")

    @field_validator("absolute")
    @classmethod
    def _one_threshold(cls, value, info: ValidationInfo):
        if value is not None and info.data.get("density") is not None:
            raise ValueError("None when 'density' is set (give one threshold: density: null to use it)")
        return value

    weighted: bool = Field(True, description="Weighted measures (else binarised graph).")
    use_abs: bool = Field(False, description="Use absolute weights (else negative edges are dropped).")
    seed: int = Field(0, ge=0, description="Seed of the Louvain modularity.")


def _subject_graph(job):
    import numpy as np

    from ._graph import graph_features, threshold_graph

    mat, density, absolute, weighted, use_abs, seed = job
    adj = threshold_graph(mat, density=density, absolute=absolute, use_abs=use_abs)
    feats = graph_features(adj, weighted=weighted, seed=seed)
    return {k: np.asarray(v) for k, v in feats.items()}


@register_stage
class GraphFeatures(Stage):
    """Graph features per subject: degree, strength, clustering, 3-cycles, efficiencies, modularity."""

    name = "graph_features"
    version = 2
    Params = GraphParams
    libraries = ("numpy", "scipy", "networkx")
    inputs = {"fc": Input("Per-subject connectivity matrices.", kinds=_CONNECTOMES)}
    outputs = {
        "nodes": Output(
            "node_features.npz",
            kind="graph_features",
            description="degree, strength, clustering, triangles, local_efficiency: (n_subjects, n_rois) each.",
        ),
        "globals": Output("global_features.tsv", "subject, density, global_efficiency, modularity, n_modules."),
    }

    def run(self, params, inputs, out_dir):
        import numpy as np

        from ...datasets.kinds import Connectomes
        from ...pipeline import save_arrays, save_table
        from ._graph import GLOBAL_FEATURES, NODE_FEATURES

        data = Connectomes.load(inputs["fc"])
        fc, subjects = data.matrices.astype(np.float64), data.subjects
        jobs = [(m, params.density, params.absolute, params.weighted, params.use_abs, params.seed) for m in fc]
        feats = parallel_map(_subject_graph, jobs, desc="graph features")
        save_arrays(out_dir / "node_features.npz", **{k: np.stack([f[k] for f in feats]) for k in NODE_FEATURES})
        table = {"subject": subjects["subject"].astype(str).tolist()}
        table.update({k: [float(f[k]) for f in feats] for k in GLOBAL_FEATURES})
        save_table(out_dir / "global_features.tsv", table)


# --------------------------------------------------------------------------- prediction
class PredictParams(StageParams):
    kind: list[Literal["correlation", "tangent", "partial correlation", "covariance", "precision"]] = Field(
        ["correlation"],
        description="Feature kind(s) of the ConnectomeClassifier; with several (or several C), "
        "the inner CV of each training fold picks one.",
    )
    C: list[float] = Field([0.01], description="Inverse l2 penalty(ies) of the logistic regression (> 0).")
    cov_estimator: Literal["ledoit_wolf", "oas", "empirical"] = Field(
        "ledoit_wolf", description="Covariance estimator of ROI time series."
    )
    confounds: list[str] = Field(
        [],
        description="Columns of the subjects table regressed out of the features "
        "inside each training fold (e.g. age, sex, mean_fd, site).",
    )
    inner_cv: int = Field(5, ge=2, description="Inner folds (whole training sites) of the candidate choice.")
    cv: Literal["leave_site_out", "stratified_group_kfold", "stratified_kfold"] = Field(
        "leave_site_out",
        description="Outer validation: one fold per site, folds of whole sites, or stratified folds of subjects.",
    )
    n_splits: int = Field(5, ge=2, description="Folds of stratified_group_kfold / stratified_kfold.")
    min_site_size: int = Field(1, ge=1, description="Leave-site-out: smallest site that is tested.")
    target: str = Field("group", description="Column of the subjects table with the binary label (any two values).")
    seed: int = Field(0, ge=0, description="Random seed of the folds.")
    n_jobs: int = runtime_field(0, "Threads for the eigendecompositions (0: all cores).")


@register_stage
class PredictPhenotype(Stage):
    """Cross-validated ConnectomeClassifier of a binary phenotype (per-site accuracy and AUC), and the final model."""

    name = "predict_phenotype"
    version = 4
    Params = PredictParams
    libraries = ("numpy", "scikit-learn")
    inputs = {"source": Input("ROI time series, or correlation / covariance matrices.", kinds=_COHORT + _CONNECTOMES)}
    outputs = {
        "per_site": Output("per_site.tsv", "site, n_subjects, n_positive, accuracy, balanced_accuracy, auc, note."),
        "predictions": Output("predictions.tsv", "Out-of-fold score and prediction of each tested subject."),
        "metrics": Output(
            "metrics.json",
            "Means over sites (undefined AUCs listed, not averaged), pooled figures, "
            "candidate chosen in each fold, parameters.",
            kind="phenotype_predictions",
        ),
        "model": Output(
            "model/", "ConnectomeClassifier fitted on every subject (save_pretrained).", kind="connectivity_model"
        ),
    }

    run_impl = "._group:run_predict"

    report_impl = "._report:predict_section"


# --------------------------------------------------------------------------- EEG
class EEGConnParams(StageParams):
    methods: list[Literal["coh", "imcoh", "plv", "pli", "wpli", "wpli2_debiased", "aec"]] = Field(
        ["coh", "imcoh", "plv", "pli", "wpli", "wpli2_debiased", "aec"],
        min_length=1,
        description="Measures: coh, imcoh, plv, pli, wpli, wpli2_debiased, aec.",
    )
    bands: dict[str, list[float]] = Field(
        {"theta": [4.0, 8.0], "alpha": [8.0, 13.0], "beta": [13.0, 30.0]},
        description="Frequency bands {name: [fmin, fmax]} in Hz.",
    )

    @field_validator("bands")
    @classmethod
    def _band_edges(cls, bands):
        if not bands:
            raise ValueError("a non-empty {name: [fmin, fmax]} mapping")
        for name, edges in bands.items():
            if len(edges) != 2 or not 0 < edges[0] < edges[1]:
                raise ValueError(f"[fmin, fmax] with 0 < fmin < fmax for every band (band {name!r}: {edges})")
        return bands

    mode: Literal["multitaper", "fourier", "cwt_morlet"] = Field("multitaper", description="Spectral estimator.")
    by_label: bool = Field(True, description="One set of matrices per epoch label (else all epochs pooled).")
    aec_orthogonalize: bool = Field(False, description="Pairwise-orthogonalised envelopes for AEC.")


def _read_epochs(art):
    """``(X float64, sfreq, ch_names, labels str or None)`` of an epochs artifact."""
    import numpy as np

    from ...datasets.kinds import EpochsData

    ep = EpochsData.load(art)
    labels = None
    if ep.y is not None:
        names = ep.label_names if ep.label_names is not None else sorted(set(map(str, ep.y)))
        labels = np.asarray(names, dtype=str)[np.asarray(ep.y)]
    return np.asarray(ep.X, dtype=np.float64), float(ep.sfreq), list(ep.ch_names), labels


def _eeg_group(job):
    from ._eeg import eeg_connectivity

    data, sfreq, bands, methods, mode, orth = job
    return eeg_connectivity(data, sfreq, bands=bands, methods=methods, mode=mode, aec_orthogonalize=orth)


@register_stage
class EEGConnectivity(Stage):
    """Band-wise EEG/sEEG connectivity (coherence, imaginary coherence, PLV, PLI, wPLI, dwPLI², AEC) from epochs."""

    name = "eeg_connectivity"
    version = 2
    Params = EEGConnParams

    @classmethod
    def check_upstream(cls, params, upstream) -> None:
        from ...datasets._facts import epochs_facts
        from ...pipeline import check

        facts = epochs_facts(upstream["epochs"])
        sfreq, n_times = facts.get("sfreq"), facts.get("n_times")
        for name, (lo, hi) in params.bands.items():
            if sfreq:
                check(
                    hi <= sfreq / 2,
                    "bands",
                    f"fmax <= the Nyquist frequency {sfreq / 2:g} Hz of the epochs (band {name!r})",
                    [lo, hi],
                )
            if sfreq and n_times:
                check(
                    n_times / sfreq >= 2.0 / lo,
                    "bands",
                    f"fmin >= 2 cycles per epoch ({2 * sfreq / n_times:.3g} "
                    f"Hz for {n_times / sfreq:g}-s epochs; band {name!r})",
                    [lo, hi],
                )

    libraries = ("numpy", "scipy", "mne", "mne-connectivity")
    inputs = {"epochs": Input("Epochs (kind epochs: X, labels, sfreq, channels).", kinds=("epochs",))}
    outputs = {
        "connectivity": Output(
            "connectivity.npz", "One array per method: (n_groups, n_bands, n_chans, n_chans).", kind="eeg_connectivity"
        ),
        "info": Output(
            "info.json",
            "groups (labels), n_epochs per group, bands (names, in array order), band_edges, methods, ch_names, sfreq.",
        ),
    }

    def run(self, params, inputs, out_dir):
        import numpy as np

        from ...pipeline import bad_value, save_arrays, save_json
        from ._eeg import EEG_METHODS

        for m in params.methods:
            if m not in EEG_METHODS:
                raise bad_value("methods", f"a subset of {EEG_METHODS}", m)
        X, sfreq, ch_names, labels = _read_epochs(inputs["epochs"])
        if not params.by_label or labels is None:
            labels = np.full(len(X), "all")
        groups = sorted(set(labels.tolist()))
        jobs = [
            (X[labels == g], sfreq, params.bands, params.methods, params.mode, params.aec_orthogonalize) for g in groups
        ]
        res = parallel_map(_eeg_group, jobs, desc="eeg connectivity")
        save_arrays(
            out_dir / "connectivity.npz",
            **{m: np.stack([r[m] for r in res]).astype(np.float32) for m in params.methods},
        )
        # order-carrying metadata as lists (JSON objects are written with sorted keys)
        save_json(
            out_dir / "info.json",
            {
                "groups": groups,
                "n_epochs": [int(np.sum(labels == g)) for g in groups],
                "bands": list(params.bands),
                "band_edges": list(params.bands.values()),
                "methods": list(params.methods),
                "ch_names": ch_names,
                "sfreq": sfreq,
            },
        )

    report_impl = "._report:eeg_section"


# --------------------------------------------------------------------------- dynamic FC
class DynamicParams(StageParams):
    window_s: float = Field(60.0, gt=0, description="Window length in seconds (converted with each subject's TR).")
    step: int = Field(1, ge=1, description="Window shift in samples.")
    taper: Literal["rectangular", "hamming", "hann", "tukey", "gaussian"] = Field(
        "gaussian", description="Window taper."
    )
    sigma: float = Field(3.0, gt=0, description="Gaussian taper width in samples.")
    n_states: int = Field(4, ge=2, description="FC states (k-means clusters).")
    n_init: int = Field(5, ge=1, description="k-means restarts.")
    seed: int = Field(0, ge=0, description="k-means seed.")


def _subject_windows(job):
    from ._dynamic import sliding_window_fc

    series, length, step, taper, sigma = job
    return sliding_window_fc(series, length, step, taper, sigma)[0]


@register_stage
class DynamicConnectivity(Stage):
    """Sliding-window (tapered) dynamic FC, k-means FC states, dwell times and transitions."""

    name = "dynamic_connectivity"
    version = 2
    Params = DynamicParams
    libraries = ("numpy", "scipy", "scikit-learn")
    inputs = {"cohort": Input("ROI time series (subjects table 'tr' column in seconds, else TR = 1 s).", kinds=_COHORT)}
    outputs = {
        "states": Output(
            "states.npy",
            kind="fc_states",
            description="(n_states, n_rois, n_rois) state correlation patterns, by occupancy.",
        ),
        "labels": Output("labels.npz", "State label of each window, one array per subject."),
        "dynamics": Output("dynamics.tsv", "subject, state, fraction, mean_dwell_s."),
        "transitions": Output("transitions.npy", "(n_subjects, n_states, n_states) transition probabilities."),
    }

    report_impl = "._report:dynamic_section"

    def run(self, params, inputs, out_dir):
        import numpy as np

        from ...datasets.kinds import RoiTimeseries
        from ...pipeline import save_array, save_arrays, save_table
        from ._dynamic import FCStates, state_dynamics

        cohort = RoiTimeseries.load(inputs["cohort"])
        subjects, series = cohort.subjects, [x.astype(np.float64) for x in cohort.series()]
        trs = subjects["tr"].to_numpy(float) if "tr" in subjects else np.ones(len(series))
        lengths = [max(3, int(round(params.window_s / tr))) for tr in trs]
        jobs = [(x, n, params.step, params.taper, params.sigma) for x, n in zip(series, lengths)]
        windows = parallel_map(_subject_windows, jobs, desc="sliding windows")
        states = FCStates(params.n_states, n_init=params.n_init, random_state=params.seed).fit(windows)
        labels = states.predict(windows)
        rows, trans = [], []
        for sid, lab, tr in zip(subjects["subject"].astype(str), labels, trs):
            d = state_dynamics(lab, params.n_states, params.step * tr)
            trans.append(d["transitions"])
            rows += [
                {"subject": sid, "state": s, "fraction": d["fraction"][s], "mean_dwell_s": d["mean_dwell_s"][s]}
                for s in range(params.n_states)
            ]
        save_array(out_dir / "states.npy", states.centroids_.astype(np.float32))
        save_arrays(out_dir / "labels.npz", **{sid: lab for sid, lab in zip(subjects["subject"].astype(str), labels)})
        save_table(out_dir / "dynamics.tsv", rows)
        save_array(out_dir / "transitions.npy", np.stack(trans))
