"""Plan-time checks of data-dependent constraints (``Stage.check_upstream``): from the upstream step's params when
they tell (a simulator's ``sfreq``), else from the upstream step's cached artifact, before anything runs."""

from __future__ import annotations

import pytest

from neurocodec.pipeline import ConfigError, plan_run, run_pipeline


def _eeg_config(fif, bands):
    return {
        "stages": {
            "raw": {"stage": "load_eeg", "inputs": {"recording": str(fif)}},
            "ep": {"stage": "epoch_eeg", "params": {"window": 2.0}, "inputs": {"raw": "raw"}},
            "con": {
                "stage": "eeg_connectivity",
                "params": {"methods": ["coh"], "bands": bands, "by_label": False},
                "inputs": {"epochs": "ep"},
            },
        }
    }


def test_band_above_nyquist_is_caught_from_the_cached_epochs(tmp_path):
    """A recording file's rate is unknown until it is read; once its epochs are cached, the plan knows it."""
    from neurocodec.datasets.simulate import simulate_eeg

    fif = tmp_path / "rec_raw.fif"
    simulate_eeg(n_chans=3, sfreq=128.0, duration=10.0, motifs=("alpha_burst",), seed=0).raw.save(fif, verbose="error")
    cache = tmp_path / "cache"
    ok = {"alpha": [8.0, 12.0]}
    summary = run_pipeline(_eeg_config(fif, ok), cache=cache, show_progress=False, report=False, until="ep")
    assert summary.ok, [r.error for r in summary.results]
    bad = {"alpha": [8.0, 12.0], "gamma": [40.0, 80.0]}
    plan_run(_eeg_config(fif, bad))  # no cache: the rate is not known yet, nothing to refuse
    with pytest.raises(ConfigError, match=r"The 'stages.con.params.bands' must be fmax <= the Nyquist frequency 64 Hz"):
        plan_run(_eeg_config(fif, bad), cache)
    long = _eeg_config(fif, ok)
    long["stages"]["ep"]["params"]["window"] = 20.0  # the cached load_eeg summary says the recording lasts 10 s
    plan_run(long)
    with pytest.raises(ConfigError, match=r"The 'stages.ep.params.window' must be in \(0, 10\] s"):
        plan_run(long, cache)


def test_upstream_facts_follow_the_chain():
    """simulate_eeg declares its rate and length; epoch_eeg passes the rate on and its window's length."""
    cfg = {
        "stages": {
            "r": {"stage": "simulate_eeg", "params": {"sfreq": 128.0, "duration": 10.0}},
            "e": {"stage": "epoch_eeg", "params": {"window": 1.5}, "inputs": {"raw": "r"}},
            "c": {"stage": "eeg_connectivity", "params": {"bands": {"delta": [1.0, 4.0]}}, "inputs": {"epochs": "e"}},
        }
    }
    with pytest.raises(ConfigError, match=r"The 'stages.c.params.bands' must be fmin >= 2 cycles per epoch"):
        plan_run(cfg)  # 1.5-s epochs hold 1.5 cycles of 1 Hz
    cfg["stages"]["c"]["params"]["bands"] = {"theta": [4.0, 8.0]}
    assert plan_run(cfg).order == ["r", "e", "c"]
