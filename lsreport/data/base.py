"""What every face source shares: the data record, crop and resize, reading
images robustly, the bad-file report, the split and the cached decoding.

A source module (:mod:`.celeba`, :mod:`.folder`, :mod:`.olivetti`,
:mod:`.synthetic`) only lists its images (or draws them); the decoding into a
memory-mapped ``uint8`` array inside the artifact, the split and the record
written to the cache live here, so all sources behave alike.

Images are stored grouped by split (train, then validation, then test), each
group in id order, so :meth:`FaceData.split_images` is a memory-mapped view and
never a copy.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import shutil
import time
import warnings
import zipfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
from PIL import Image, ImageOps

from ..artifacts import Artifact, ArtifactData, ArtifactStore

__all__ = [
    "SPLIT_NAMES",
    "IMAGE_EXTENSIONS",
    "BadFileReport",
    "BadFileWarning",
    "FaceData",
    "crop_box",
    "read_image",
    "crop_resize",
    "assign_split",
]

#: Split codes stored in :attr:`FaceData.split`: index = code.
SPLIT_NAMES = ("train", "validation", "test")

#: File suffixes (lower case) read as images by the file-based sources.
IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm"}
)

#: Bumped whenever decoding or cropping changes the stored pixels, so that old
#: caches are not reused (it enters every faces key).
PIPELINE_VERSION = 1

#: Below this many images decoding stays in this process (no pool start-up).
PARALLEL_MIN_IMAGES = 3000
#: Images per task handed to a worker process.
CHUNK = 512


class BadFileWarning(UserWarning):
    """Some files could not be read and were skipped (see :class:`BadFileReport`)."""


# ------------------------------------------------------------------ records


@dataclass(frozen=True)
class BadFileReport:
    """Which files were read and which were skipped, with the reason.

    Parameters
    ----------
    n_files : int
        Files (or images) considered.
    n_loaded : int
        Images decoded and stored.
    skipped : tuple of (file, reason)
        Every file that could not be used; ``file`` is relative to the data
        folder, ``reason`` the exception type and message.
    """

    n_files: int
    n_loaded: int
    skipped: tuple[tuple[str, str], ...] = ()

    @property
    def n_skipped(self) -> int:
        return len(self.skipped)

    def to_frame(self) -> pd.DataFrame:
        """The skipped files as a table with columns ``file`` and ``reason``."""
        return pd.DataFrame(list(self.skipped), columns=["file", "reason"])

    def to_dict(self) -> dict:
        return {"n_files": self.n_files, "n_loaded": self.n_loaded,
                "skipped": [list(s) for s in self.skipped]}

    @classmethod
    def from_dict(cls, d: dict) -> "BadFileReport":
        return cls(int(d["n_files"]), int(d["n_loaded"]),
                   tuple((str(f), str(r)) for f, r in d.get("skipped", [])))


@dataclass(frozen=True, eq=False)
class FaceData:
    """A set of face images, decoded, cropped and resized, with its split.

    Attributes
    ----------
    images : ndarray of uint8, shape (N, S, S, 3)
        RGB images, memory-mapped read-only from the cache. Rows are grouped
        by split (train, validation, test), each group in id order.
    ids : ndarray of str
        Image ids: the file name without suffix (relative path for nested
        folders), ``"olivetti-0012"`` or ``"synthetic-000001"``.
    split : ndarray of int8
        0 train, 1 validation, 2 test (:data:`SPLIT_NAMES`).
    source : str
        ``"celeba"``, ``"folder"``, ``"olivetti"`` or ``"synthetic"``.
    description : str
        One sentence for the book: what, where from, how many, the crop.
    report : BadFileReport
        Files read and files skipped.
    factors : DataFrame or None
        Synthetic faces only: the standardised factor values, one row per
        image (row i describes ``images[i]``), one column per factor.
    identities : ndarray of int64 or None
        The person shown in each image when known (CelebA with its identity
        file, Olivetti); -1 where unknown.
    key : str
        The artifact key (step ``"faces"``).
    meta : dict
        Everything else stored with the artifact (sizes, timings, settings).
    """

    images: np.ndarray
    ids: np.ndarray
    split: np.ndarray
    source: str
    description: str
    report: BadFileReport
    factors: pd.DataFrame | None
    identities: np.ndarray | None
    key: str
    meta: dict = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def _bounds(self, name: str) -> tuple[int, int]:
        if name not in SPLIT_NAMES:
            raise ValueError(f"unknown split {name!r}; choose one of {', '.join(SPLIT_NAMES)}")
        code = SPLIT_NAMES.index(name)
        lo = int(np.searchsorted(self.split, code, side="left"))
        hi = int(np.searchsorted(self.split, code, side="right"))
        return lo, hi

    def split_indices(self, name: str) -> np.ndarray:
        """Row numbers of one split (``"train"``, ``"validation"``, ``"test"``)."""
        return np.arange(*self._bounds(name))

    def split_images(self, name: str) -> np.ndarray:
        """The images of one split: a memory-mapped view, not a copy."""
        lo, hi = self._bounds(name)
        return self.images[lo:hi]

    def split_sizes(self) -> dict[str, int]:
        """Number of images per split, e.g. ``{"train": 800, ...}``."""
        counts = np.bincount(np.asarray(self.split, dtype=np.int64), minlength=3)
        return {n: int(c) for n, c in zip(SPLIT_NAMES, counts)}


# ------------------------------------------------------------- crop, decode


def crop_box(width: int, height: int, crop_fraction: float,
             crop_center_y: float = 0.5) -> tuple[int, int, int, int]:
    """The square crop of an image, as pixel coordinates.

    The side is ``crop_fraction`` of the width (bounded by the height); the
    square is centred horizontally and its vertical centre lies at
    ``crop_center_y`` of the height, shifted inside the image if needed. Being
    fractions, the same settings select the same face region at any
    resolution.

    Parameters
    ----------
    width, height : int
        Image size in pixels.
    crop_fraction : float
        Side of the square as a fraction of the width, in (0, 1].
    crop_center_y : float
        Vertical centre of the square as a fraction of the height.

    Returns
    -------
    (left, top, right, bottom) : tuple of int
        PIL convention: ``right - left`` is the side; right and bottom are
        exclusive.

    Examples
    --------
    The common CelebA preprocessing, a centred 140x140 crop of 178x218:

    >>> crop_box(178, 218, 0.7865, 0.5)
    (19, 39, 159, 179)
    """
    if width < 1 or height < 1:
        raise ValueError(f"image size {width}x{height} is empty")
    if not 0 < crop_fraction <= 1:
        raise ValueError(f"crop_fraction = {crop_fraction} must lie in (0, 1]")
    side = min(max(1, _round(crop_fraction * width)), height, width)
    left = _round((width - side) / 2)
    top = _round(crop_center_y * height - side / 2)
    top = min(max(top, 0), height - side)
    return left, top, left + side, top + side


def _round(x: float) -> int:
    # half away from zero is resolution independent; Python's round() is not
    return int(math.floor(x + 0.5))


def to_rgb(img: Image.Image) -> Image.Image:
    """Any PIL mode as RGB: gray, palette and CMYK converted, alpha composited on white."""
    if img.mode == "RGB":
        return img
    if img.mode.startswith("I;16"):
        arr = (np.asarray(img, dtype=np.float64) / 257.0).round().astype(np.uint8)
        return Image.fromarray(arr, "L").convert("RGB")
    if img.mode in ("I", "F"):
        arr = np.clip(np.asarray(img, dtype=np.float64), 0, 255).round().astype(np.uint8)
        return Image.fromarray(arr, "L").convert("RGB")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")


def read_image(src: str | os.PathLike | tuple[str, str], *, exif: bool = False) -> Image.Image:
    """Open and fully decode one image as RGB.

    Parameters
    ----------
    src : path or (zip_path, member)
        A file, or a member of a zip archive.
    exif : bool
        Apply the EXIF orientation (photos from cameras and phones).

    Raises
    ------
    Exception
        Whatever PIL raises for unreadable, truncated or non-image data;
        callers record it in the :class:`BadFileReport`.
    """
    if isinstance(src, tuple):
        fh: Any = io.BytesIO(_zip_handle(src[0]).read(src[1]))
    else:
        fh = src
    with Image.open(fh) as img:
        img.load()
        if exif:
            img = ImageOps.exif_transpose(img)
        return to_rgb(img)


_ZIPS: dict[tuple[int, str], zipfile.ZipFile] = {}


def _zip_handle(path: str) -> zipfile.ZipFile:
    # One open archive per process: reading the central directory of the full
    # CelebA zip (202,599 members) costs a fraction of a second. Keyed by pid
    # because a forked worker must not share the parent's file offset.
    key = (os.getpid(), str(path))
    z = _ZIPS.get(key)
    if z is None:
        z = _ZIPS[key] = zipfile.ZipFile(path)
    return z


def crop_resize(img: Image.Image, box: Sequence[int] | None, size: int) -> np.ndarray:
    """Crop ``box`` out of ``img`` and resize it to ``size`` x ``size`` (Lanczos).

    The crop comes first, so no pixel outside the box reaches the result (a
    resize with a ``box`` argument would let the filter reach across the
    edge). Lanczos resampling over the crop is an antialiasing filter: every
    output pixel is a weighted mean of the input pixels it covers, so there
    is no aliasing when shrinking 140 px to 64 px. Returns ``uint8``
    (size, size, 3).
    """
    if box is not None and tuple(box) != (0, 0, img.width, img.height):
        img = img.crop(tuple(int(b) for b in box))
    if img.size != (size, size):
        img = img.resize((size, size), Image.LANCZOS)
    return np.asarray(img, dtype=np.uint8)


# -------------------------------------------------------------------- split


def assign_split(groups: np.ndarray, shares: Sequence[float], seed: int) -> np.ndarray:
    """Split items so that no group (identity) falls into two splits.

    The distinct groups are shuffled with ``seed`` and laid end to end; each
    group goes to the split whose share of the cumulative image count holds
    the group's midpoint. The split sizes are thus balanced by image count,
    off from the target by at most half a group.

    Parameters
    ----------
    groups : array of int or str, shape (N,)
        The group of every item; give every item its own group for a plain
        random split.
    shares : (train, validation, test)
        Shares summing to 1.
    seed : int

    Returns
    -------
    ndarray of int8, shape (N,)
        0 train, 1 validation, 2 test.
    """
    groups = np.asarray(groups)
    n = groups.shape[0]
    if n == 0:
        return np.zeros(0, np.int8)
    uniq, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    order = np.random.default_rng(seed).permutation(len(uniq))
    mid = np.cumsum(counts[order]) - counts[order] / 2.0
    bounds = np.cumsum(np.asarray(shares, dtype=np.float64))[:-1] * n
    code_sorted = np.searchsorted(bounds, mid, side="right").astype(np.int8)
    code = np.empty(len(uniq), np.int8)
    code[order] = code_sorted
    return code[inverse.ravel()]


def grouped_order(split: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Row order that groups items by split, each group in id order."""
    return np.lexsort((np.asarray(ids), np.asarray(split)))


# -------------------------------------------------------------- fingerprint


def fingerprint(entries: Sequence[tuple[str, int]]) -> str:
    """A short hash of (name, size) pairs, sorted: cheap, decodes nothing."""
    h = hashlib.sha256()
    for name, size in sorted(entries):
        h.update(f"{name}\t{size}\n".encode())
    return h.hexdigest()[:16]


# --------------------------------------------------------------- decoding


@dataclass(frozen=True)
class FileTask:
    """One chunk of files to decode (picklable, sent to a worker)."""

    start: int
    sources: tuple            # paths (str) or (zip, member) tuples
    names: tuple              # names for the report
    crop_fraction: float
    crop_center_y: float
    size: int
    exif: bool


def _decode_task(task: FileTask) -> tuple[int, np.ndarray, np.ndarray, list, list]:
    n = len(task.sources)
    out = np.zeros((n, task.size, task.size, 3), np.uint8)
    ok = np.zeros(n, bool)
    bad: list[tuple[str, str]] = []
    sizes: list[str] = []
    for i, (src, name) in enumerate(zip(task.sources, task.names)):
        try:
            # looked up at call time so tests can replace the decoder
            img = read_image(src, exif=task.exif)
            box = crop_box(img.width, img.height, task.crop_fraction, task.crop_center_y)
            out[i] = crop_resize(img, box, task.size)
        except Exception as exc:  # noqa: BLE001 - every failure is reported
            msg = str(exc).strip() or "no message"
            bad.append((name, f"{type(exc).__name__}: {msg}"))
            continue
        ok[i] = True
        sizes.append(f"{img.width}x{img.height}")
    return task.start, out, ok, bad, sizes


def _mp_context():
    """``fork`` (instant, no re-import of ``__main__``) unless a threaded
    framework is loaded, whose locks a forked child could inherit held."""
    import multiprocessing as mp
    import sys

    methods = mp.get_all_start_methods()
    threaded = any(m in sys.modules for m in ("tensorflow", "torch", "jax"))
    if "fork" in methods and not threaded:
        return mp.get_context("fork")
    return mp.get_context("forkserver" if "forkserver" in methods else "spawn")


def _workers_for(n: int, workers: int | None) -> int:
    if workers is not None:
        return max(1, workers)
    if n < PARALLEL_MIN_IMAGES:
        return 1
    return max(1, min(2, os.cpu_count() or 1))


def run_chunks(fn: Callable, tasks: list, *, workers: int, progress: bool,
               total: int, desc: str):
    """Yield ``fn(task)`` for each task in order, in worker processes if asked.

    Progress is counted in items (``len(task.sources)`` or ``task.n``). If
    the pool cannot start (some interactive or frozen interpreters) the work
    is done in this process instead.
    """
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit="img", disable=not progress, leave=False)

    def count(t):
        return len(t.sources) if hasattr(t, "sources") else t.n

    try:
        if workers <= 1 or len(tasks) <= 1:
            for t in tasks:
                r = fn(t)
                bar.update(count(t))
                yield r
            return
        pool = None
        try:
            pool = ProcessPoolExecutor(max_workers=workers, mp_context=_mp_context())
            # at most 2 tasks per worker in flight: bounded memory
            pending: list = []
            it = iter(tasks)
            for t in it:
                pending.append((pool.submit(fn, t), count(t)))
                if len(pending) >= 2 * workers:
                    break
            while pending:
                fut, c = pending.pop(0)
                r = fut.result()
                bar.update(c)
                nxt = next(it, None)
                if nxt is not None:
                    pending.append((pool.submit(fn, nxt), count(nxt)))
                yield r
        except (OSError, RuntimeError) as exc:  # BrokenProcessPool is a RuntimeError
            if bar.n:
                raise
            warnings.warn(f"worker processes unavailable ({exc}); working in one process",
                          RuntimeWarning, stacklevel=3)
            for t in tasks:
                r = fn(t)
                bar.update(count(t))
                yield r
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
    finally:
        bar.close()


@dataclass
class Listing:
    """Files of a file-based source, before decoding, in their final order.

    ``sources[i]`` is a path or ``(zip, member)``; ``names[i]`` is the file
    name shown in the report; ``identities`` are stored when known.
    """

    ids: np.ndarray
    sources: list
    names: list
    split: np.ndarray
    identities: np.ndarray | None = None


def decode_listing(listing: Listing, workdir: Path, *, size: int, crop_fraction: float,
                   crop_center_y: float, exif: bool, progress: bool,
                   workers: int | None = None, desc: str = "decoding faces"):
    """Decode every file of ``listing`` into ``workdir/images.npy``.

    Returns ``(path, ok_mask, skipped, original_sizes)``; bad files leave no
    row in the final array (the array is compacted when any were skipped).
    """
    n = len(listing.sources)
    workdir.mkdir(parents=True, exist_ok=True)
    raw = workdir / "images.raw.npy"
    mm = np.lib.format.open_memmap(raw, mode="w+", dtype=np.uint8, shape=(n, size, size, 3))
    ok = np.zeros(n, bool)
    skipped: list[tuple[str, str]] = []
    sizes: dict[str, int] = {}
    tasks = [FileTask(s, tuple(listing.sources[s:s + CHUNK]), tuple(listing.names[s:s + CHUNK]),
                      crop_fraction, crop_center_y, size, exif)
             for s in range(0, n, CHUNK)]
    w = _workers_for(n, workers)
    for start, arr, good, bad, szs in run_chunks(_decode_task, tasks, workers=w,
                                                 progress=progress, total=n, desc=desc):
        mm[start:start + len(arr)] = arr
        ok[start:start + len(arr)] = good
        skipped.extend(bad)
        for s in szs:
            sizes[s] = sizes.get(s, 0) + 1
    mm.flush()
    final = workdir / "images.npy"
    if ok.all():
        del mm
        os.replace(raw, final)
    else:
        keep = np.flatnonzero(ok)
        out = np.lib.format.open_memmap(final, mode="w+", dtype=np.uint8,
                                        shape=(len(keep), size, size, 3))
        for s in range(0, len(keep), 4096):
            out[s:s + 4096] = mm[keep[s:s + 4096]]
        out.flush()
        del out, mm
        raw.unlink()
    return final, ok, skipped, sizes, w


# ---------------------------------------------------------- to and from cache


def package(*, images_path: Path, ids, split, identities=None, factors=None,
            factor_names=None, meta: dict) -> ArtifactData:
    """The artifact of one face set; ``images.npy`` is moved in, not copied."""
    arrays = {"ids": np.asarray(ids).astype(str), "split": np.asarray(split, np.int8)}
    if identities is not None:
        arrays["identities"] = np.asarray(identities, np.int64)
    if factors is not None:
        arrays["factors"] = np.asarray(factors, np.float64)
        meta = {**meta, "factor_names": list(factor_names)}

    def move(dest: Path, src: Path = images_path) -> None:
        os.replace(src, dest)

    return ArtifactData(arrays=arrays, meta=meta, files={"images.npy": move})


def from_artifact(art: Artifact) -> FaceData:
    """Open a stored face set (arrays memory-mapped)."""
    names = set(art.array_names)
    meta = dict(art.meta)
    factors = None
    if "factors" in names:
        factors = pd.DataFrame(np.asarray(art.array("factors")), columns=meta["factor_names"])
    identities = np.asarray(art.array("identities")) if "identities" in names else None
    return FaceData(
        images=art.array("images"),
        ids=np.asarray(art.array("ids")),
        split=np.asarray(art.array("split")),
        source=meta["source"],
        description=meta["description"],
        report=BadFileReport.from_dict(meta["report"]),
        factors=factors,
        identities=identities,
        key=art.key,
        meta=meta,
    )


def compute_in_workdir(store: ArtifactStore, key: str,
                       build: Callable[[Path], ArtifactData]) -> Artifact:
    """``store.get_or_compute("faces", key, ...)`` with a scratch folder for the memmap.

    The scratch folder lies beside the artifact (same file system), so the
    finished ``images.npy`` is renamed into the artifact, never copied.
    """
    work: Path | None = None

    def compute() -> ArtifactData:
        nonlocal work
        work = store.workdir("faces", key)
        return build(work)

    try:
        return store.get_or_compute("faces", key, compute)
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)


def warn_skipped(report: BadFileReport, where: str) -> None:
    if report.skipped:
        first = ", ".join(f for f, _ in report.skipped[:3])
        more = "" if report.n_skipped <= 3 else ", ..."
        warnings.warn(
            f"{report.n_skipped} of {report.n_files} files in {where} could not be read and "
            f"were skipped ({first}{more}); FaceData.report lists them with the reasons",
            BadFileWarning, stacklevel=3)


def split_phrase(split: np.ndarray) -> str:
    c = np.bincount(np.asarray(split, np.int64), minlength=3)
    return (f"{c[0]:,} training, {c[1]:,} validation and {c[2]:,} test images")


def sizes_phrase(sizes: dict[str, int]) -> str:
    if not sizes:
        return ""
    if len(sizes) == 1:
        return next(iter(sizes)).replace("x", "×") + " px"
    common = max(sizes, key=sizes.get)
    return f"mostly {common.replace('x', '×')} px ({len(sizes)} sizes)"


def crop_phrase(sizes: dict[str, int], crop_fraction: float, crop_center_y: float,
                image_size: int) -> str:
    if crop_fraction >= 1 and len(sizes) == 1 and _square(sizes):
        return f"resized to {image_size}×{image_size} px"
    side = ""
    if len(sizes) == 1:
        w, h = (int(v) for v in next(iter(sizes)).split("x"))
        l, t, r, b = crop_box(w, h, crop_fraction, crop_center_y)
        side = f" of {r - l}×{b - t} px"
    return (f"cropped to a square{side} ({crop_fraction:.2%} of the width, centred at "
            f"{crop_center_y:.0%} of the height) and resized to {image_size}×{image_size} px")


def _square(sizes: dict[str, int]) -> bool:
    w, h = next(iter(sizes)).split("x")
    return w == h


@dataclass
class Prepared:
    """A source, listed but not decoded: its fingerprint and how to build it.

    ``fingerprint`` enters the artifact key (cheap: names and sizes);
    ``build(workdir, progress)`` decodes or draws the images.
    """

    source: str
    sections: tuple
    fingerprint: Any
    build: Callable[[Path, bool], ArtifactData]


def build_from_files(listing: Listing, work: Path, progress: bool, *, cfg, source: str,
                     exif: bool, where: str,
                     describe: Callable[[int, dict, np.ndarray, np.ndarray | None], str],
                     extra_meta: dict | None = None) -> ArtifactData:
    """Decode a listing and package it with its report and description.

    ``describe(n_loaded, original_sizes, split, identities)`` returns the
    sentence for the book, given the loaded images only.
    """
    d = cfg.data
    t0 = time.perf_counter()
    path, ok, skipped, sizes, workers = decode_listing(
        listing, work, size=d.image_size, crop_fraction=d.crop_fraction,
        crop_center_y=d.crop_center_y, exif=exif, progress=progress,
        desc=f"decoding {source} faces")
    seconds = time.perf_counter() - t0
    n_loaded = int(ok.sum())
    report = BadFileReport(len(listing.sources), n_loaded, tuple(skipped))
    if n_loaded == 0:
        reasons = "; ".join(f"{f}: {r}" for f, r in skipped[:3])
        raise ValueError(f"none of the {len(listing.sources)} files in {where} could be read "
                         f"as an image (e.g. {reasons})")
    warn_skipped(report, where)
    split = listing.split[ok]
    identities = None if listing.identities is None else listing.identities[ok]
    description = describe(n_loaded, sizes, split, identities)
    if report.skipped:
        description += (f" {report.n_skipped:,} of {report.n_files:,} files could not be read "
                        f"and were left out.")
    meta = {"source": source, "description": description, "report": report.to_dict(),
            "image_size": d.image_size, "crop_fraction": d.crop_fraction,
            "crop_center_y": d.crop_center_y, "original_sizes": sizes, "where": where,
            "decode_seconds": round(seconds, 3), "workers": workers,
            "split_sizes": dict(zip(SPLIT_NAMES, np.bincount(split, minlength=3).tolist())),
            **(extra_meta or {})}
    return package(images_path=path, ids=listing.ids[ok], split=split,
                   identities=identities, meta=meta)


def limit(n_available: int, max_images: int, where: str) -> int:
    """How many items to take: all, or ``max_images`` (error if more than exist)."""
    if max_images and max_images > n_available:
        raise ValueError(f"data.max_images = {max_images:,} but only {n_available:,} images "
                         f"exist in {where}; lower data.max_images (0 means all)")
    return max_images or n_available
