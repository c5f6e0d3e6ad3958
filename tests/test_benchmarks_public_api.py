"""Benchmarks import only NeuroCodec's public API: no module or name with a leading underscore (their own
``benchmarks/_common.py`` helper aside)."""

from __future__ import annotations

import ast
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _private_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "neurocodec":
            names = [a.name for a in node.names]
            if any(p.startswith("_") for p in node.module.split(".")) or any(n.startswith("_") for n in names):
                found.append(f"{path.name}:{node.lineno} from {node.module} import {', '.join(names)}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "neurocodec" and any(p.startswith("_") for p in parts):
                    found.append(f"{path.name}:{node.lineno} import {alias.name}")
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in {
            "import_module",
            "__import__",
        }:
            arg = node.args[0] if node.args else None
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value.startswith("neurocodec"):
                if any(p.startswith("_") for p in arg.value.split(".")):
                    found.append(f"{path.name}:{node.lineno} import_module({arg.value!r})")
    return found


def test_benchmarks_import_only_the_public_api():
    files = sorted(BENCHMARKS.glob("*.py"))
    assert len(files) > 5
    offenders = [hit for path in files for hit in _private_imports(path)]
    assert not offenders, offenders


def test_the_check_sees_private_imports(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from neurocodec.encoders._ridge import make_folds\n"
        "from neurocodec.encoders import _select\n"
        "import neurocodec.pipeline._io\n"
        "from neurocodec.encoders import RidgeCV\n"
    )
    assert len(_private_imports(bad)) == 3
