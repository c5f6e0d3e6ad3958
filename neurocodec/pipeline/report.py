"""Self-contained HTML run reports built from cached artifacts only.

Each stage contributes its own section by defining a classmethod::

    @classmethod
    def report(cls, artifact) -> Section | None:
        fig = ...  # matplotlib figure drawn from artifact files
        return Section("Connectivity", [Figure.from_matplotlib(fig, "Group-mean FC"), Table([...], [[...]])])

The report code never needs to know about new stages. Images are embedded as
base64 PNG, so the single file opens offline; nothing is recomputed.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import os
import platform
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from ._errors import bad_value
from ._io import load_json
from ._registry import registered_stages
from ._store import ArtifactStore

__all__ = ["Figure", "Table", "Text", "Section", "write_report", "render_report", "find_run_record"]

log = logging.getLogger("neurocodec")

_LIBRARIES = (
    "neurocodec",
    "numpy",
    "scipy",
    "scikit-learn",
    "torch",
    "mne",
    "mne-connectivity",
    "nilearn",
    "nibabel",
    "diffusers",
    "open_clip_torch",
    "pydantic",
    "dask",
    "distributed",
)


@dataclass
class Figure:
    """A PNG image with a caption."""

    png: bytes
    caption: str = ""

    @classmethod
    def from_matplotlib(cls, fig: Any, caption: str = "", dpi: int = 90) -> Figure:
        """Render a matplotlib figure to PNG (and close it)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
        plt.close(fig)
        return cls(buf.getvalue(), caption)

    @classmethod
    def from_file(cls, path: str | Path, caption: str = "") -> Figure:
        return cls(Path(path).read_bytes(), caption)

    def html(self) -> str:
        data = base64.b64encode(self.png).decode("ascii")
        cap = f"<figcaption>{html.escape(self.caption)}</figcaption>" if self.caption else ""
        alt = html.escape(self.caption or "figure")
        return f'<figure><img alt="{alt}" src="data:image/png;base64,{data}">{cap}</figure>'


@dataclass
class Table:
    """A small table."""

    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    caption: str = ""

    def html(self) -> str:
        def cell(v: Any) -> str:
            if isinstance(v, float):
                return f"{v:.4g}"
            return html.escape(str(v))

        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in self.rows)
        cap = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


@dataclass
class Text:
    """A paragraph (plain text, escaped)."""

    text: str

    def html(self) -> str:
        return f"<p>{html.escape(self.text)}</p>"


Block = Figure | Table | Text


@dataclass
class Section:
    """A titled group of blocks contributed by one stage."""

    title: str
    blocks: list[Block] = field(default_factory=list)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7fb}
header{background:#1f3b6f;color:#fff;padding:18px 32px}header h1{margin:0;font-size:1.5em}
header p{margin:4px 0 0;opacity:.85}main{padding:16px 32px;max-width:1400px}
section{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.08);margin:16px 0;padding:12px 20px}
h2{font-size:1.15em;margin:.3em 0}h2 small{color:#667;font-weight:normal;font-size:.8em}
figure{display:inline-block;margin:8px 12px 8px 0;vertical-align:top}
figure img{max-width:640px;max-height:520px;border:1px solid #e3e6ee}
figcaption{font-size:.85em;color:#445;max-width:640px}
table{border-collapse:collapse;margin:8px 0;font-size:.85em}caption{text-align:left;color:#445;padding:2px 0}
td,th{border:1px solid #dde;padding:3px 8px;text-align:left}th{background:#eef1f8}
.hit{color:#2a7a2a}.ran{color:#1f3b6f}.failed,.skipped{color:#b22}pre{background:#f1f3f8;padding:8px;overflow:auto;font-size:.8em}
nav a{margin-right:12px}
"""


def _versions() -> list[list[str]]:
    rows = [["python", platform.python_version()]]
    for lib in _LIBRARIES:
        try:
            rows.append([lib, version(lib)])
        except PackageNotFoundError:
            continue
    return rows


def _code_fingerprint(stage_cls: Any) -> str:
    """Changes whenever the code of the stage's package changes (so cached sections are redrawn)."""
    import hashlib
    import sys

    top = sys.modules[stage_cls.__module__.split(".")[0]]
    root = Path(top.__file__).parent if getattr(top, "__file__", None) else None
    h = hashlib.sha256(f"{stage_cls.__module__}.{stage_cls.__qualname__}:{stage_cls.version}".encode())
    if root is not None:
        if root not in _TREE_HASH:
            t = hashlib.sha256()
            for p in sorted(root.rglob("*.py")):
                st = p.stat()
                t.update(f"{p.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}".encode())
            _TREE_HASH[root] = t.hexdigest()
        h.update(_TREE_HASH[root].encode())
    return h.hexdigest()[:16]


_TREE_HASH: dict[Path, str] = {}


def _section_cache(store: ArtifactStore, stage_cls: Any, key: str) -> Path:
    return store.root / "reports" / "sections" / f"{stage_cls.name}-{key}-{_code_fingerprint(stage_cls)}.html"


def _stage_section(stage_cls: Any, artifact: Any) -> Section | None:
    hook = getattr(stage_cls, "report", None)
    if hook is None:
        return None
    try:
        return hook(artifact)
    except Exception as err:  # a broken figure must not hide the rest of the report
        log.warning("report section of %s failed: %s", stage_cls.name, err)
        return Section(
            f"{stage_cls.name} (section failed)",
            [Text(f"{type(err).__name__}: {err}"), Text(traceback.format_exc(limit=3))],
        )


def render_report(record: dict[str, Any]) -> str:
    """HTML text of the report of a run record (``run.json`` content)."""
    import yaml

    store = ArtifactStore(record["cache"])
    stages = registered_stages()
    sections: list[tuple[str, str, str, str]] = []  # step id, stage, title, body html
    for step in record["steps"]:
        if step["status"] not in ("hit", "ran"):
            continue
        cls = stages.get(step["stage"])
        if cls is None or getattr(cls, "report", None) is None:
            continue
        cached = _section_cache(store, cls, step["key"])
        if cached.is_file():  # sections depend on the artifact only: render once per key
            title, body = cached.read_text(encoding="utf-8").split("\n", 1)
            sections.append((step["step_id"], step["stage"], title, body))
            continue
        art = store.open(step["stage"], step["key"])
        if art is None:
            continue
        sec = _stage_section(cls, art)
        if sec is None:
            continue
        body = "\n".join(b.html() for b in sec.blocks)
        if not sec.title.endswith("(section failed)"):
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(sec.title.replace("\n", " ") + "\n" + body, encoding="utf-8")
            os.replace(tmp, cached)
        sections.append((step["step_id"], step["stage"], sec.title, body))

    counts = {s: sum(x["status"] == s for x in record["steps"]) for s in ("ran", "hit", "failed", "skipped")}
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>NeuroCodec report: {html.escape(record['name'])}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>NeuroCodec run: {html.escape(record['name'])}</h1>",
        f"<p>run {html.escape(record['run_id'])} · {len(record['steps'])} steps: {counts['ran']} computed, "
        f"{counts['hit']} reused from cache, {counts['failed']} failed · {record['seconds']:.1f} s</p></header><main>",
    ]
    if sections:
        parts.append(
            "<nav>"
            + "".join(f"<a href='#s-{html.escape(sid)}'>{html.escape(title)}</a>" for sid, _, title, _ in sections)
            + "<a href='#provenance'>Provenance</a></nav>"
        )
    for sid, stage, title, body in sections:
        parts.append(
            f"<section id='s-{html.escape(sid)}' data-stage='{html.escape(stage)}'>"
            f"<h2>{html.escape(title)} <small>step {html.escape(sid)} · stage {html.escape(stage)}</small></h2>"
        )
        parts.append(body)
        parts.append("</section>")

    rows = []
    for s in record["steps"]:
        art = store.open(s["stage"], s["key"]) if s["key"] else None
        run_s = art.manifest.get("timings", {}).get("run_s") if art else None
        rows.append(
            [
                s["step_id"],
                s["stage"],
                s["status"],
                f"{s['seconds']:.2f}",
                f"{run_s:.2f}" if run_s is not None else "",
                s["key"],
            ]
        )
    prov = Table(
        ["step", "stage", "status", "this run (s)", "compute (s)", "cache key"],
        rows,
        caption=f"cache: {record['cache']} · executor: {record.get('executor', 'local')}",
    )
    parts.append("<section id='provenance' data-stage='provenance'><h2>Provenance</h2>")
    parts.append(prov.html())
    parts.append(Table(["package", "version"], _versions(), caption="Library versions").html())
    parts.append(
        "<h3>Configuration</h3><pre>" + html.escape(yaml.safe_dump(record["config"], sort_keys=False)) + "</pre>"
    )
    parts.append(f"<p>Generated {time.strftime('%Y-%m-%d %H:%M:%S')} from cached artifacts.</p></section>")
    parts.append("</main></body></html>")
    return "\n".join(parts)


def write_report(record_path: str | Path, output: str | Path | None = None) -> Path:
    """Write ``report.html`` for a run record (default: next to ``run.json``)."""
    record_path = Path(record_path)
    record = load_json(record_path)
    out = Path(output) if output else record_path.with_name("report.html")
    out.write_text(render_report(record), encoding="utf-8")
    return out


def find_run_record(run: str, cache_root: Path) -> Path:
    """Resolve ``latest``, a run id, a run folder or a ``run.json`` path."""
    p = Path(run)
    if p.is_file():
        return p
    if p.is_dir() and (p / "run.json").is_file():
        return p / "run.json"
    runs = ArtifactStore(cache_root).runs_dir
    records = sorted(runs.glob("*/run.json")) if runs.is_dir() else []
    if run == "latest" and records:
        return records[-1]
    for r in records:
        if r.parent.name == run or r.parent.name.startswith(run):
            return r
    raise bad_value("run", f"'latest', a run id in {runs}, a run folder or a run.json", run)
