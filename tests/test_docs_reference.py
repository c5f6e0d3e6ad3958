"""The configuration reference documents every option of every stage and is up to date."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from neurocodec.pipeline import registered_stages

ROOT = Path(__file__).resolve().parent.parent


def _reference_without_test_plugins() -> str:
    env = dict(os.environ, NEUROCODEC_PLUGINS="")
    out = subprocess.run(
        [sys.executable, "-m", "neurocodec.pipeline.cli", "docs"], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout


def test_every_option_is_in_the_reference():
    text = _reference_without_test_plugins()
    for name, cls in registered_stages().items():
        if not cls.__module__.startswith("neurocodec."):
            continue
        assert f"## `{name}`" in text, name
        section = text.split(f"## `{name}`", 1)[1].split("\n## ", 1)[0]
        for field_name, field in cls.Params.model_fields.items():
            assert field.description, f"{name}.{field_name} has no description"
            assert f"| `{field_name}` |" in section, f"{name}.{field_name} missing from the reference"


def test_committed_reference_is_current():
    committed = (ROOT / "docs" / "configuration.md").read_text()
    assert committed == _reference_without_test_plugins(), (
        "docs/configuration.md is stale: regenerate with `neurocodec docs -o docs/configuration.md`"
    )
