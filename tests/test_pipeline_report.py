"""The HTML run report: sections from stage hooks, provenance, self-contained."""

from __future__ import annotations

import re

import yaml

from neurocodec.pipeline import run_pipeline
from neurocodec.pipeline.cli import main


def test_report_has_stage_sections_and_provenance(tmp_path):
    cfg = {
        "name": "toy-report",
        "stages": {"a": {"stage": "toy_make"}, "s": {"stage": "toy_scale", "inputs": {"source": "a"}}},
    }
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    summary = run_pipeline(path, cache=tmp_path / "cache", show_progress=False)
    assert summary.report is not None and summary.report.name == "report.html"
    text = summary.report.read_text()
    assert "data-stage='toy_make'" in text and "Toy values" in text
    assert re.search(r'src="data:image/png;base64,[A-Za-z0-9+/=]{100,}"', text)
    assert "id='provenance'" in text and summary.results[0].key in text
    assert "http://" not in text and "https://" not in text  # opens offline
    # regenerate from the cache only, through the CLI
    out = tmp_path / "again.html"
    assert main(["report", "latest", "--cache", str(tmp_path / "cache"), "-o", str(out)]) == 0
    assert "Toy values" in out.read_text()
