"""The artifact cache: the only module that knows the disk layout.

Layout: ``<root>/<step>/<key>/`` holds the files of one result plus
``manifest.json`` (file sizes and SHA-256 checksums, the metadata). A result
is written into a temporary folder beside its final place and renamed into
place only when complete, so a crash never leaves a half-written artifact
under a valid name. On load the checksums are verified; a corrupt or
truncated artifact is reported, removed and recomputed, never used.

Resumable steps (training) get a persistent work folder
(:meth:`ArtifactStore.workdir`) for their checkpoints; it is theirs to manage.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
import uuid
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import numpy as np

__all__ = ["ArtifactStore", "Artifact", "ArtifactData", "ArtifactMissingError",
           "CorruptArtifactWarning", "atomic_folder"]

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"


class ArtifactMissingError(LookupError):
    """A read-only store was asked for a result that is not cached."""


class CorruptArtifactWarning(UserWarning):
    """An artifact failed its checksum and is being recomputed."""


@dataclass
class ArtifactData:
    """What a compute function returns: arrays, JSON metadata, extra files.

    ``files`` maps a file name inside the artifact to a callable that writes
    that file given its destination path (e.g. a Keras ``model.save``).
    """

    arrays: Mapping[str, np.ndarray] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)
    files: Mapping[str, Callable[[Path], None]] = field(default_factory=dict)


@dataclass
class Artifact:
    """A stored result: its folder, metadata and arrays (memory-mapped)."""

    step: str
    key: str
    path: Path
    meta: dict
    files: dict

    def array(self, name: str, mmap: bool = True) -> np.ndarray:
        """Load one array; memory-mapped read-only by default."""
        f = self.path / f"{name}.npy"
        if not f.exists():
            raise KeyError(f"artifact {self.step}/{self.key} has no array {name!r}; "
                           f"it has: {', '.join(self.array_names) or 'none'}")
        return np.load(f, mmap_mode="r" if mmap else None, allow_pickle=False)

    @property
    def array_names(self) -> list[str]:
        return sorted(n[:-4] for n in self.files if n.endswith(".npy"))

    def file(self, name: str) -> Path:
        if name not in self.files:
            raise KeyError(f"artifact {self.step}/{self.key} has no file {name!r}")
        return self.path / name


def _sha256(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while True:
            b = fh.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


@contextmanager
def atomic_folder(final: str | os.PathLike, *, fsync: bool = False) -> Iterator[Path]:
    """Write a folder so that it appears under its final name only when complete.

    Yields a temporary folder beside ``final`` (named ``.tmp-<name>-<random>``,
    so readers that skip dot-folders never see it). When the ``with`` block
    ends without an exception the folder replaces ``final`` (an existing one
    is removed first) by one ``os.replace``; on any exception it is deleted.
    :meth:`ArtifactStore.save` and the training checkpoints both write this way.

    Parameters
    ----------
    final : path
        Where the finished folder goes; its parent is created.
    fsync : bool, default False
        Flush every file to disk before the rename (checkpoints: a power cut
        must not leave a renamed folder with empty files).

    Examples
    --------
    >>> with atomic_folder(tmp_path / "result") as d:      # doctest: +SKIP
    ...     (d / "x.txt").write_text("done")
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".tmp-{final.name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
        if fsync:
            for f in tmp.rglob("*"):
                if f.is_file():
                    with open(f, "rb") as fh:
                        os.fsync(fh.fileno())
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


class ArtifactStore:
    """A folder of cached pipeline results.

    Parameters
    ----------
    root : path
        The cache folder (``.lsreport`` by default; ignored by git).
    read_only : bool
        When true, :meth:`get_or_compute` never computes: a missing result
        raises :class:`ArtifactMissingError` (the book uses this, so a
        chapter can never start a training run).

    Examples
    --------
    >>> store = ArtifactStore(tmp_path)                         # doctest: +SKIP
    >>> art = store.get_or_compute("demo", "k1",
    ...     lambda: ArtifactData(arrays={"x": np.arange(3)}))  # doctest: +SKIP
    >>> art.array("x")[:]                                       # doctest: +SKIP
    array([0, 1, 2])
    """

    def __init__(self, root: str | os.PathLike, *, read_only: bool = False):
        self.root = Path(root)
        self.read_only = read_only
        self._verified: dict[Path, float] = {}

    # ------------------------------------------------------------- paths
    def path(self, step: str, key: str) -> Path:
        """The final folder of an artifact (it may not exist)."""
        if not step or "/" in step or not key or "/" in key:
            raise ValueError(f"bad artifact name {step!r}/{key!r}")
        return self.root / step / key

    def workdir(self, step: str, key: str) -> Path:
        """A persistent scratch folder for a resumable step (created)."""
        if self.read_only:
            raise ArtifactMissingError(f"{step}/{key}: a read-only store has no work folders")
        p = self.root / step / f".work-{key}"
        p.mkdir(parents=True, exist_ok=True)
        return p

    # ------------------------------------------------------------ checks
    def _manifest(self, step: str, key: str) -> dict | None:
        m = self.path(step, key) / MANIFEST
        if not m.exists():
            return None
        try:
            return json.loads(m.read_text())
        except (OSError, json.JSONDecodeError):
            return None

    def verify(self, step: str, key: str) -> bool:
        """True when the artifact exists and every file matches its checksum."""
        d = self.path(step, key)
        man = self._manifest(step, key)
        if man is None:
            return False
        stamp = (d / MANIFEST).stat().st_mtime
        if self._verified.get(d) == stamp:
            return True
        for name, info in man.get("files", {}).items():
            f = d / name
            if not f.exists() or f.stat().st_size != info["size"] or _sha256(f) != info["sha256"]:
                return False
        self._verified[d] = stamp
        return True

    def exists(self, step: str, key: str) -> bool:
        """True when a complete, uncorrupted artifact is stored."""
        return self.verify(step, key)

    # ------------------------------------------------------------ writes
    def save(self, step: str, key: str, data: ArtifactData) -> Artifact:
        """Write an artifact atomically (temporary folder, then rename)."""
        with atomic_folder(self.path(step, key)) as tmp:
            for name, arr in data.arrays.items():
                np.save(tmp / f"{name}.npy", np.asarray(arr), allow_pickle=False)
            for name, writer in data.files.items():
                writer(tmp / name)
            files = {}
            for f in sorted(tmp.rglob("*")):
                if f.is_file():
                    rel = f.relative_to(tmp).as_posix()
                    files[rel] = {"size": f.stat().st_size, "sha256": _sha256(f)}
            manifest = {"step": step, "key": key, "created": time.time(),
                        "meta": _jsonable(dict(data.meta)), "files": files}
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
        return self.load(step, key)

    def load(self, step: str, key: str) -> Artifact:
        """Open a stored artifact; raises ``FileNotFoundError`` if absent or corrupt."""
        if not self.verify(step, key):
            raise FileNotFoundError(
                f"no valid artifact {step}/{key} under {self.root}; run the pipeline "
                f"(`lsreport run`) to create it")
        man = self._manifest(step, key)
        return Artifact(step, key, self.path(step, key), man["meta"], man["files"])

    def get_or_compute(self, step: str, key: str,
                       compute: Callable[[], ArtifactData]) -> Artifact:
        """Load the artifact, or compute, store and load it.

        A folder that exists but fails its checksums is reported with a
        :class:`CorruptArtifactWarning`, removed and recomputed.
        """
        if self.verify(step, key):
            return self.load(step, key)
        if self.read_only:
            raise ArtifactMissingError(f"{step}/{key} is not in {self.root}")
        d = self.path(step, key)
        if d.exists():
            warnings.warn(f"artifact {step}/{key} is incomplete or corrupt; recomputing",
                          CorruptArtifactWarning, stacklevel=2)
            shutil.rmtree(d)
        log.info("computing %s/%s", step, key)
        return self.save(step, key, compute())

    def remove(self, step: str, key: str) -> None:
        """Delete an artifact and its work folder."""
        shutil.rmtree(self.path(step, key), ignore_errors=True)
        shutil.rmtree(self.root / step / f".work-{key}", ignore_errors=True)

    def entries(self) -> list[dict]:
        """Every stored artifact: step, key, size in bytes, valid flag, created."""
        out = []
        if not self.root.exists():
            return out
        for step_dir in sorted(p for p in self.root.iterdir() if p.is_dir()):
            for d in sorted(p for p in step_dir.iterdir() if p.is_dir()):
                if d.name.startswith("."):
                    continue
                man = self._manifest(step_dir.name, d.name) or {}
                size = sum(f.stat().st_size for f in d.rglob("*") if f.is_file())
                out.append({"step": step_dir.name, "key": d.name, "bytes": size,
                            "valid": self.verify(step_dir.name, d.name),
                            "created": man.get("created")})
        return out


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    return obj
