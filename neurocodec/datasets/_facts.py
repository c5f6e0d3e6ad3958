"""Plan-time facts about EEG artifacts (sampling rate, lengths) for the stages' ``check_upstream`` hooks.

Read from the upstream stage's declared facts, or from the header of its cached artifact; cheap (JSON only).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["epochs_facts", "recording_facts"]


def _root(upstream: Any) -> Path | None:
    art = getattr(upstream, "artifact", None)
    if art is None:
        return None
    return Path(getattr(art, "kind_path", None) or art.path)


def epochs_facts(upstream: Any) -> dict[str, Any]:
    """``sfreq``, ``n_times``, ``n_chans`` of an epochs input, as far as known before running."""
    from ..pipeline import load_json

    root = _root(upstream)
    if root is not None and (root / "epochs.json").is_file():
        head = load_json(root / "epochs.json")
        return {k: head[k] for k in ("sfreq", "n_times", "n_chans") if k in head}
    return dict(getattr(upstream, "facts", None) or {})


def recording_facts(upstream: Any) -> dict[str, Any]:
    """``sfreq``, ``duration``, ``n_chans`` of a raw-recording input, as far as known before running."""
    return dict(getattr(upstream, "facts", None) or {})
