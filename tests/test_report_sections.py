"""Science stages contribute their report sections (figures from cached artifacts)."""

from __future__ import annotations

import yaml

from neurocodec.pipeline import run_pipeline


def test_report_has_psd_fc_and_glass_brain_sections(tmp_path):
    cfg = {
        "name": "sections",
        "stages": {
            "rest": {
                "stage": "simulate_rest_fmri",
                "params": {"n_subjects": 24, "n_rois": 20, "n_sites": 2, "n_differing_edges": 4, "seed": 0},
            },
            "fc": {"stage": "connectivity", "inputs": {"source": "rest"}},
            "group": {"stage": "connectivity_group", "inputs": {"fc": "fc"}},
            "eeg_sim": {"stage": "simulate_eeg", "params": {"n_chans": 4, "sfreq": 200.0, "duration": 20.0, "seed": 0}},
            "eeg": {"stage": "load_eeg", "params": {"l_freq": 1.0, "h_freq": 40.0}, "inputs": {"raw": "eeg_sim"}},
        },
    }
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    summary = run_pipeline(path, cache=tmp_path / "cache", show_progress=False)
    assert summary.ok, [r.error for r in summary.results]
    text = summary.report.read_text()
    for stage in ("simulate_rest_fmri", "connectivity", "connectivity_group", "simulate_eeg", "load_eeg"):
        assert f"data-stage='{stage}'" in text, stage
    assert "section failed" not in text
    assert "glass brain" in text and "Power spectral density" in text
    assert text.count("data:image/png;base64,") >= 4
