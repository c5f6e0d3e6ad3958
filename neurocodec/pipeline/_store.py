"""Content-addressed artifact store.

Layout: ``<root>/<stage>/<key>/`` holding the stage's output files and a
``manifest.json`` (key inputs, params, output file hashes, timings, versions).
A stage writes into ``<root>/<stage>/.tmp/<key>-<pid>-<rand>/`` which is
renamed into place, under a per-key file lock, only once complete: a reader
never sees a partial artifact, and a killed run leaves only a temp folder that
the next writer of the same key removes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from filelock import FileLock

from ._errors import bad_value
from ._io import load_array, load_arrays, load_json, load_table, save_json

__all__ = ["Artifact", "ArtifactStore", "FileHasher", "canonical_json", "library_versions", "hash_key"]

MANIFEST = "manifest.json"
_CHUNK = 1 << 20


def canonical_json(obj: Any) -> str:
    """Canonical JSON text: sorted keys, no whitespace, UTF-8 safe (NaN / inf refused: JSON has none)."""
    try:
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError:
        raise bad_value("obj", "JSON data with finite numbers (no NaN or inf)", obj) from None


def hash_key(doc: Any) -> str:
    """sha256 hex digest of the canonical JSON of ``doc``."""
    return hashlib.sha256(canonical_json(doc).encode("utf-8")).hexdigest()


def library_versions(names: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``major.minor`` of each installed distribution (``"absent"`` if not installed)."""
    out = {}
    for name in sorted(set(names)):
        try:
            out[name] = ".".join(version(name).split(".")[:2])
        except PackageNotFoundError:
            out[name] = "absent"
    return out


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


class FileHasher:
    """Content hashes of input files and folders, with a size+mtime shortcut.

    Hashes are remembered in ``<root>/.file_hashes.json`` keyed by absolute
    path; a file whose size and modification time are unchanged reuses its
    stored hash instead of being read again.
    """

    def __init__(self, root: Path | None):
        self.path = Path(root) / ".file_hashes.json" if root is not None else None
        self._memo: dict[str, dict[str, Any]] = {}
        if self.path is not None:
            try:
                self._memo = load_json(self.path)
            except (FileNotFoundError, ValueError):
                pass
        self._dirty = False

    def hash_file(self, path: Path) -> str:
        path = Path(path).resolve()
        st = path.stat()
        rec = self._memo.get(str(path))
        if rec and rec["size"] == st.st_size and rec["mtime_ns"] == st.st_mtime_ns:
            return rec["sha256"]
        digest = sha256_file(path)
        self._memo[str(path)] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest}
        self._dirty = True
        return digest

    def hash_path(self, path: Path) -> str:
        """Hash of a file, or of a folder (relative names + file hashes)."""
        path = Path(path)
        if path.is_file():
            return self.hash_file(path)
        if path.is_dir():
            entries = [
                [str(p.relative_to(path)), self.hash_file(p)]
                for p in sorted(path.rglob("*"))
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
            ]
            return hash_key(entries)
        raise FileNotFoundError(f"No such file or folder: {str(path)!r}")

    def save(self) -> None:
        if not self._dirty or self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".file_hashes.{uuid.uuid4().hex}.tmp")
        save_json(tmp, self._memo)
        os.replace(tmp, self.path)
        self._dirty = False


@dataclass
class Artifact:
    """A completed stage output folder in the store.

    Attributes
    ----------
    stage : str
        Stage name.
    key : str
        Cache key (sha256 hex).
    path : pathlib.Path
        Folder holding the output files.
    manifest : dict
        Content of ``manifest.json``.
    """

    stage: str
    key: str
    path: Path
    manifest: dict[str, Any] = field(repr=False)
    #: the artifact kind a consumer reads from it (set by the engine for stage inputs)
    kind: str | None = None
    #: folder or file of that kind inside :attr:`path`
    kind_path: Path | None = None

    def as_kind(self, kind: str, rel: str) -> Artifact:
        """The artifact as an input of ``kind``, whose root is ``rel`` inside it."""
        return Artifact(self.stage, self.key, self.path, self.manifest, kind=kind, kind_path=self.path / rel)

    def file(self, output: str) -> Path:
        """Path of declared output ``output`` (or of a relative file name)."""
        declared = self.manifest.get("declared_outputs", {})
        rel = declared.get(output, output)
        p = self.path / rel
        if not p.exists():
            raise FileNotFoundError(
                f"The 'output' of artifact {self.stage}/{self.key[:12]} must be one of "
                f"{sorted(declared)}, got {output!r}."
            )
        return p

    def load(self, output: str) -> Any:
        """Load an output by its file type (.npy, .npz, .json, .tsv)."""
        p = self.file(output)
        suffix = p.suffix
        if suffix == ".npy":
            return load_array(p)
        if suffix == ".npz":
            return load_arrays(p)
        if suffix == ".json":
            return load_json(p)
        if suffix == ".tsv":
            return load_table(p)
        raise bad_value("output", "a .npy, .npz, .json or .tsv file", f"<{p.name}>")

    @property
    def params(self) -> dict[str, Any]:
        return self.manifest.get("params", {})

    def upstream(self) -> dict[str, Artifact]:
        """Upstream artifacts of this one (step id -> Artifact), opened from the same store."""
        store_root = self.path.parent.parent
        out = {}
        for step_id, (stage, key) in self.manifest.get("upstream", {}).items():
            d = store_root / stage / key
            try:
                out[step_id] = Artifact(stage, key, d, load_json(d / MANIFEST))
            except (FileNotFoundError, NotADirectoryError, ValueError):
                continue
        return out


class ArtifactStore:
    """The on-disk cache rooted at ``root``."""

    def __init__(self, root: str | Path):
        self.root = Path(root).absolute()

    # -- layout -----------------------------------------------------------
    def artifact_dir(self, stage: str, key: str) -> Path:
        return self.root / stage / key

    def lock(self, stage: str, key: str) -> FileLock:
        lock_dir = self.root / stage / ".locks"
        lock_dir.mkdir(parents=True, exist_ok=True)
        return FileLock(str(lock_dir / f"{key}.lock"))

    def new_tmp_dir(self, stage: str, key: str) -> Path:
        tmp_root = self.root / stage / ".tmp"
        tmp_root.mkdir(parents=True, exist_ok=True)
        path = tmp_root / f"{key}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        path.mkdir()
        return path

    def remove_stale_tmp(self, stage: str, key: str, keep: Path | None = None) -> None:
        """Remove temp folders of ``key`` left by killed runs (caller holds the lock)."""
        tmp_root = self.root / stage / ".tmp"
        if not tmp_root.is_dir():
            return
        for p in tmp_root.glob(f"{key}-*"):
            if keep is None or p != keep:
                shutil.rmtree(p, ignore_errors=True)

    # -- reading ----------------------------------------------------------
    def open(self, stage: str, key: str) -> Artifact | None:
        """The artifact if its folder and manifest exist (no verification)."""
        d = self.artifact_dir(stage, key)
        try:
            manifest = load_json(d / MANIFEST)
        except (FileNotFoundError, NotADirectoryError, ValueError):
            return None
        return Artifact(stage=stage, key=key, path=d, manifest=manifest)

    def verify(self, artifact: Artifact) -> list[str]:
        """Problems with an artifact's files against its manifest (empty if intact)."""
        problems = []
        files = artifact.manifest.get("files")
        if not isinstance(files, dict):
            return ["manifest has no file list"]
        for rel, rec in files.items():
            p = artifact.path / rel
            if not p.is_file():
                problems.append(f"{rel}: missing")
            elif p.stat().st_size != rec["size"]:
                problems.append(f"{rel}: size {p.stat().st_size} != {rec['size']}")
            elif sha256_file(p) != rec["sha256"]:
                problems.append(f"{rel}: content hash changed")
        return problems

    def lookup(self, stage: str, key: str) -> Artifact | None:
        """A verified artifact, or None when absent or corrupted."""
        art = self.open(stage, key)
        if art is None or self.verify(art):
            return None
        return art

    # -- writing ----------------------------------------------------------
    def commit(self, tmp_dir: Path, stage: str, key: str, manifest: dict[str, Any]) -> Artifact:
        """Hash the files of ``tmp_dir``, write the manifest, rename into place.

        The caller holds :meth:`lock` for ``(stage, key)``. An existing folder
        for the key (a corrupted or forced artifact) is replaced.
        """
        files = {}
        for p in sorted(tmp_dir.rglob("*")):
            if p.is_file() and p.name != MANIFEST:
                files[str(p.relative_to(tmp_dir))] = {"sha256": sha256_file(p), "size": p.stat().st_size}
        manifest = dict(manifest, files=files, created=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        save_json(tmp_dir / MANIFEST, manifest)
        final = self.artifact_dir(stage, key)
        if final.exists():
            trash = final.with_name(f".trash-{key}-{uuid.uuid4().hex[:8]}")
            os.rename(final, trash)
            os.rename(tmp_dir, final)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.rename(tmp_dir, final)
        return Artifact(stage=stage, key=key, path=final, manifest=manifest)

    # -- listing / cleaning -----------------------------------------------
    def iter_artifacts(self) -> Iterator[Artifact]:
        if not self.root.is_dir():
            return
        for stage_dir in sorted(p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if stage_dir.name in ("runs", "reports"):
                continue
            for d in sorted(p for p in stage_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
                art = self.open(stage_dir.name, d.name)
                if art is not None:
                    yield art

    def size_bytes(self, artifact: Artifact) -> int:
        return sum(rec["size"] for rec in artifact.manifest.get("files", {}).values())

    def remove(self, stage: str, key: str) -> None:
        with self.lock(stage, key):
            d = self.artifact_dir(stage, key)
            if d.exists():
                trash = d.with_name(f".trash-{key}-{uuid.uuid4().hex[:8]}")
                os.rename(d, trash)
                shutil.rmtree(trash, ignore_errors=True)
            self.remove_stale_tmp(stage, key)

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"
