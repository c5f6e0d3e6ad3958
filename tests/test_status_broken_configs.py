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
