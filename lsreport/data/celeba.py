"""CelebA: the aligned images (``img_align_celeba``), from a folder or the zip.

Accepted locations (``data.path`` in the profile or ``$LSREPORT_CELEBA``):

* a folder holding ``img_align_celeba/`` (or ``Img/img_align_celeba/``, or
  ``img_align_celeba.zip``),
* the ``img_align_celeba`` folder itself (any folder of ``*.jpg`` files),
* the official ``img_align_celeba.zip``; members are read from the archive,
  nothing is extracted.

Any resolution works (the release is 178x218; the shared subset 89x109): the
crop is given as fractions of the image size. When ``identity_CelebA.txt`` is
found (beside the images, in the given folder, its parent, or an ``Anno/``
folder there) the split is identity-disjoint; otherwise it is a seeded random
split of the images.

A CPU-sized subset: with ``data.subset_images`` set (the ``default``
profile: 20,000) and a folder holding more images than that, e.g. the full
release of 202,599, whole identities are drawn in a seeded order until the
cap (:func:`identity_subset`), so that ``make book`` on a CPU trains on at
most that many faces; ``full`` sets it to 0 and takes every image. A folder
within the cap is read whole and keeps the key it had without the setting.

References
----------
Liu, Luo, Wang, Tang (2015). Deep Learning Face Attributes in the Wild. ICCV.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import CELEBA_ENV, Config, celeba_path
from .base import (
    IMAGE_EXTENSIONS,
    Listing,
    Prepared,
    assign_split,
    build_from_files,
    crop_box,
    crop_phrase,
    grouped_order,
    limit,
    read_image,
    sizes_phrase,
    split_phrase,
)

__all__ = ["locate", "prepare", "load_original", "read_identities", "identity_subset", "HOW_TO_POINT"]

IDENTITY_FILE = "identity_CelebA.txt"

HOW_TO_POINT = (
    f"point the config at CelebA: set data.path in the profile or the environment variable "
    f"{CELEBA_ENV}=/path/to/celeba (a folder holding img_align_celeba/ or "
    f"img_align_celeba.zip, the img_align_celeba folder itself, or the zip)"
)


@dataclass(frozen=True)
class Location:
    """Where the images are: a folder or a zip, plus the identity file if any."""

    given: Path
    images_dir: Path | None
    zip_path: Path | None
    identity_file: Path | None

    @property
    def display(self) -> str:
        p = self.zip_path or self.images_dir
        return "/".join(p.parts[-2:])


def locate(path: str | os.PathLike) -> Location:
    """Resolve a configured CelebA location (see the module notes).

    Raises
    ------
    FileNotFoundError
        When nothing is configured, the path does not exist, or it holds no
        images; the message says how to point the config at CelebA.
    """
    if not str(path):
        raise FileNotFoundError(f"no CelebA location is configured; {HOW_TO_POINT}")
    given = Path(path).expanduser()
    if not given.exists():
        raise FileNotFoundError(f"CelebA not found: {given} does not exist; {HOW_TO_POINT}")
    images_dir = zip_path = None
    if given.is_file():
        if not zipfile.is_zipfile(given):
            raise FileNotFoundError(f"{given} is a file but not a zip archive; {HOW_TO_POINT}")
        zip_path = given
    else:
        for cand in (given / "img_align_celeba", given / "Img" / "img_align_celeba"):
            if cand.is_dir():
                images_dir = cand
                break
        else:
            for cand in (given / "img_align_celeba.zip", given / "Img" / "img_align_celeba.zip"):
                if cand.is_file():
                    zip_path = cand
                    break
            else:
                images_dir = given
    base = zip_path.parent if zip_path else images_dir
    ident = None
    for folder in (base, base.parent, given, given.parent):
        for cand in (folder / IDENTITY_FILE, folder / "Anno" / IDENTITY_FILE):
            if cand.is_file():
                ident = cand
                break
        if ident:
            break
    return Location(given, images_dir, zip_path, ident)


def _entries(loc: Location) -> list[tuple[str, object, int]]:
    """(id, source, size) of every image, sorted by id."""
    out = []
    if loc.zip_path is not None:
        with zipfile.ZipFile(loc.zip_path) as z:
            for info in z.infolist():
                p = Path(info.filename)
                if info.is_dir() or p.suffix.lower() not in IMAGE_EXTENSIONS \
                        or p.name.startswith("."):
                    continue
                out.append((p.stem, (str(loc.zip_path), info.filename), info.file_size))
    else:
        with os.scandir(loc.images_dir) as it:
            for e in it:
                if e.name.startswith(".") or not e.is_file():
                    continue
                if os.path.splitext(e.name)[1].lower() in IMAGE_EXTENSIONS:
                    out.append((os.path.splitext(e.name)[0], e.path, e.stat().st_size))
    if not out:
        where = loc.zip_path or loc.images_dir
        raise FileNotFoundError(f"no images (*.jpg, *.png, ...) found in {where}; {HOW_TO_POINT}")
    out.sort(key=lambda t: t[0])
    return out


def read_identities(path: str | os.PathLike) -> dict[str, int]:
    """``identity_CelebA.txt`` as {image id (file stem): identity}."""
    df = pd.read_csv(path, sep=r"\s+", header=None, names=["file", "identity"],
                     dtype={"file": str, "identity": np.int64}, engine="c")
    stems = df["file"].str.rsplit(".", n=1).str[0]
    return dict(zip(stems, df["identity"].to_numpy()))


def prepare(cfg: Config) -> Prepared:
    """List the images (no decoding) and say how to build the face set."""
    d = cfg.data
    loc = locate(celeba_path(cfg))
    entries = _entries(loc)
    n = limit(len(entries), d.max_images, loc.display)
    entries = entries[:n]
    ident_size = loc.identity_file.stat().st_size if loc.identity_file else None
    fp = {"files": _fp(entries), "identity_file_size": ident_size}
    n_listed = len(entries)
    if d.subset_images and n_listed > d.subset_images:
        table = read_identities(loc.identity_file) if loc.identity_file is not None else {}
        keep = identity_subset([table.get(e[0], -1) for e in entries], d.subset_images, d.seed)
        entries = [entries[i] for i in keep]
        # only a cap that binds enters the key: a smaller folder keeps its key
        fp["subset"] = {"images": int(d.subset_images), "of": n_listed, "rule": SUBSET_RULE}

    def build(work: Path, progress: bool):
        ids = np.array([e[0] for e in entries])
        if loc.identity_file is not None:
            table = read_identities(loc.identity_file)
            identities = np.array([table.get(i, -1) for i in ids], np.int64)
            # images missing from the file form groups of one
            groups = np.where(identities >= 0, identities, -1 - np.arange(len(ids)))
        else:
            identities = None
            groups = np.arange(len(ids))
        split = assign_split(groups, d.split, d.seed)
        order = grouped_order(split, ids)
        listing = Listing(ids=ids[order], sources=[entries[i][1] for i in order],
                          names=[_name(entries[i][1]) for i in order], split=split[order],
                          identities=None if identities is None else identities[order])

        def describe(n_loaded, sizes, split_loaded, ident_loaded):
            text = (f"{n_loaded:,} aligned CelebA images ({sizes_phrase(sizes)}) from "
                    f"`{loc.display}`, {crop_phrase(sizes, d.crop_fraction, d.crop_center_y, d.image_size)}")
            if "subset" in fp:
                text += (f"; a CPU-sized subset of the {n_listed:,} images there, drawn as whole "
                         f"people (data.subset_images = {d.subset_images:,}; 0 takes all)")
            if ident_loaded is not None:
                n_id = len(np.unique(ident_loaded[ident_loaded >= 0]))
                text += (f"; split by identity ({n_id:,} people, none in two splits) into "
                         f"{split_phrase(split_loaded)}.")
            else:
                text += (f"; no identity file was found, so the split into "
                         f"{split_phrase(split_loaded)} is at random by image.")
            return text

        return build_from_files(
            listing, work, progress, cfg=cfg, source="celeba", exif=False, where=loc.display,
            describe=describe,
            extra_meta={"identity_file": loc.identity_file is not None,
                        "zip": loc.zip_path is not None,
                        "n_available": n_listed, "subset": "subset" in fp})

    return Prepared("celeba", _SECTIONS, fp, build)


#: How :func:`identity_subset` picks; part of the key of a capped set.
SUBSET_RULE = "whole identities in numpy.random.default_rng([seed, 7]).permutation order, while <= cap"


def identity_subset(identities, cap: int, seed: int) -> np.ndarray:
    """Positions of a subset of at most ``cap`` images made of whole identities.

    The identities are visited in a seeded random order and taken whole
    while the running total stays within ``cap`` (one that would overshoot
    is skipped, later smaller ones may still fit), so no person is split
    between the subset and the rest and the identity-disjoint split still
    holds. Images of unknown identity (-1) count as people of one image.

    Parameters
    ----------
    identities : sequence of int
        Identity of each listed image; -1 where unknown.
    cap : int
        Largest number of images.
    seed : int
        ``data.seed``.

    Returns
    -------
    ndarray of int
        Sorted positions into ``identities``.

    Examples
    --------
    >>> identity_subset([1, 1, 2, 2, 2, 3], cap=4, seed=0).tolist()
    [0, 1, 5]
    """
    ids = np.asarray(identities, dtype=np.int64)
    groups = np.where(ids >= 0, ids, -1 - np.arange(len(ids)))
    uniq, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    order = np.random.default_rng([int(seed), 7]).permutation(len(uniq))
    take = np.zeros(len(uniq), bool)
    total = 0
    for g in order:
        if total + counts[g] <= cap:
            take[g] = True
            total += counts[g]
            if total == cap:
                break
    return np.flatnonzero(take[inverse])


_SECTIONS = ("data.image_size", "data.crop_fraction", "data.crop_center_y",
             "data.max_images", "data.split", "data.seed")


def _fp(entries) -> str:
    from .base import fingerprint
    return fingerprint([(_name(src), size) for _, src, size in entries])


def _name(src) -> str:
    return src[1] if isinstance(src, tuple) else os.path.basename(src)


def load_original(cfg: Config, index: int = 0) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The ``index``-th image (in id order) uncropped, and its crop box."""
    entries = _entries(locate(celeba_path(cfg)))
    img = read_image(entries[index][1])
    box = crop_box(img.width, img.height, cfg.data.crop_fraction, cfg.data.crop_center_y)
    return np.asarray(img), box
