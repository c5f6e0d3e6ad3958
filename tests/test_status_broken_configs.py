"""``neurocodec status`` on broken configs: non-zero exit and one line naming the YAML key, before anything runs."""

import subprocess
import sys

import pytest

BROKEN = {
    "unknown_stage": ("stages: {a: {stage: simulate_visul_fmri}}", "stages.a.stage"),
    "unknown_option": ("stages: {a: {stage: simulate_eeg, params: {n_chan: 4}}}", "stages.a.params.n_chan"),
    "negative_sfreq": ("stages: {a: {stage: simulate_eeg, params: {sfreq: -5.0}}}", "stages.a.params.sfreq"),
    "bad_method": (
        "stages:\n  r: {stage: simulate_eeg}\n  e: {stage: epoch_eeg, inputs: {raw: r}}\n"
        "  c: {stage: eeg_connectivity, params: {methods: [wPLI]}, inputs: {epochs: e}}",
        "stages.c.params.methods.0",
    ),
    "kind_mismatch": (
        "stages:\n  r: {stage: simulate_rest_fmri}\n  f: {stage: features, inputs: {experiment: r}}",
        "stages.f.inputs.experiment",
    ),
    "step_as_path": (
        "stages:\n  s: {stage: simulate_visual_fmri}\n  u: {stage: load_stimulus_responses, inputs: "
        "{images: s, betas: b.npy, trials: t.tsv}}",
        "stages.u.inputs.images",
    ),
    "file_type": (
        "stages: {u: {stage: load_stimulus_responses, inputs: {images: imgs.npy, betas: rec.set, trials: t.tsv}}}",
        "stages.u.inputs.betas",
    ),
    "missing_file": (
        "stages: {e: {stage: load_eeg, inputs: {recording: /nowhere/rec.edf}}}",
        "stages.e.inputs.recording",
    ),
    "unknown_input": (
        "stages:\n  s: {stage: simulate_visual_fmri}\n  f: {stage: features, inputs: {experimnt: s}}",
        "stages.f.inputs.experimnt",
    ),
    "missing_step": (
        "stages: {f: {stage: fit_encoder, inputs: {experiment: sim, features: feats}}}",
        "stages.f.inputs.experiment",
    ),
    "band_above_nyquist": (
        "stages:\n  r: {stage: simulate_eeg, params: {sfreq: 128.0, duration: 10.0}}\n"
        "  e: {stage: epoch_eeg, params: {window: 2.0}, inputs: {raw: r}}\n"
        "  c: {stage: eeg_connectivity, params: {bands: {gamma: [30.0, 80.0]}}, inputs: {epochs: e}}",
        "stages.c.params.bands",
    ),
    "set_file_where_npz_read": ("stages: {b: {stage: load_bonn, inputs: {root: rec.set}}}", "stages.b.inputs.root"),
    "window_longer_than_data": (
        "stages:\n  r: {stage: simulate_eeg, params: {duration: 5.0, window_s: 1.0}}\n"
        "  e: {stage: epoch_eeg, params: {window: 8.0}, inputs: {raw: r}}",
        "stages.e.params.window",
    ),
    "trials_too_short_for_tokenizer": (
        "stages:\n  r: {stage: simulate_eeg, params: {sfreq: 128.0, duration: 10.0}}\n"
        "  e: {stage: epoch_eeg, params: {window: 0.5}, inputs: {raw: r}}\n"
        "  t: {stage: tfm_tokenize, inputs: {epochs: e}}",
        "stages.t.inputs.epochs",
    ),
    "line_noise_above_nyquist": (
        "stages: {r: {stage: simulate_eeg, params: {sfreq: 64.0, line_freq: 50.0}}}",
        "stages.r.params.line_freq",
    ),
    "overlap_not_below_window": (
        "stages:\n  r: {stage: simulate_eeg}\n  e: {stage: epoch_eeg, params: {window: 2.0, overlap: 2.0}, "
        "inputs: {raw: r}}",
        "stages.e.params.overlap",
    ),
    "two_thresholds": (
        "stages:\n  s: {stage: simulate_rest_fmri}\n  f: {stage: connectivity, inputs: {source: s}}\n"
        "  g: {stage: graph_features, params: {density: 0.2, absolute: 0.3}, inputs: {fc: f}}",
        "stages.g.params.absolute",
    ),
    "site_list_length": (
        "stages: {s: {stage: simulate_rest_fmri, params: {n_sites: 2, site_tr: [2.0, 2.5, 0.8]}}}",
        "stages.s.params.site_tr",
    ),
    "heads_not_dividing_embedding": (
        "stages:\n  r: {stage: simulate_eeg}\n  e: {stage: epoch_eeg, params: {window: 2.0}, inputs: {raw: r}}\n"
        "  t: {stage: tfm_tokenize, params: {emb_size: 64, n_heads: 6}, inputs: {epochs: e}}",
        "stages.t.params.n_heads",
    ),
    "regions_without_electrodes": (
        "stages:\n  r: {stage: simulate_eeg}\n  l: {stage: load_eeg, params: {regions: [hippocampus]}, "
        "inputs: {raw: r}}",
        "stages.l.params.regions",
    ),
    "nan_param": (
        "stages:\n  r: {stage: simulate_eeg}\n  e: {stage: epoch_eeg, params: {tmin: .nan}, inputs: {raw: r}}",
        "stages.e.params.tmin",
    ),
    "cycle": (
        "stages:\n  a: {stage: features, inputs: {experiment: b}}\n  b: {stage: features, inputs: {experiment: a}}",
        "stages",
    ),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_status_rejects_broken_config(name, tmp_path):
    text, key = BROKEN[name]
    cfg = tmp_path / f"{name}.yaml"
    cfg.write_text(text + "\n")
    r = subprocess.run(
        [sys.executable, "-m", "neurocodec.pipeline.cli", "status", str(cfg), "--cache", str(tmp_path / "cache")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode != 0, r.stdout
    lines = [ln for ln in (r.stdout + r.stderr).splitlines() if f"The '{key}'" in ln]
    assert len(lines) == 1, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").glob("*/*/manifest.json"))
