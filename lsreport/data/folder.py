"""Any folder of face images (``data.source = "folder"``, ``data.path``).

The folder is searched recursively; files whose suffix is an image suffix
(:data:`~lsreport.data.base.IMAGE_EXTENSIONS`, any case) are read, hidden
files and folders (name starting with ".") are ignored, other files are not
counted. The id of an image is its path relative to the folder without the
suffix (``"000001"``, ``"people/ann_01"``). EXIF orientation is applied.
Cropping is as for CelebA; already tight crops (``celeba_tight``, UTKFace)
want ``data.crop_fraction = 1.0``. The split is a seeded random split by
image.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..config import Config
from .base import (
    IMAGE_EXTENSIONS,
    Listing,
    Prepared,
    assign_split,
    build_from_files,
    crop_box,
    crop_phrase,
    fingerprint,
    grouped_order,
    limit,
    read_image,
    sizes_phrase,
    split_phrase,
)

__all__ = ["list_images", "prepare", "load_original"]

HOW_TO_POINT = "set data.path in the profile to a folder of face images"


def _root(cfg: Config) -> Path:
    if not cfg.data.path:
        raise FileNotFoundError(f"data.source = 'folder' needs a folder; {HOW_TO_POINT}")
    root = Path(cfg.data.path).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"image folder not found: {root} "
                                f"{'is not a folder' if root.exists() else 'does not exist'}; "
                                f"{HOW_TO_POINT}")
    return root


def list_images(root: str | os.PathLike) -> list[tuple[str, str, int]]:
    """(id, path, size in bytes) of every image file under ``root``, sorted by id."""
    root = Path(root)
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        rel = Path(dirpath).relative_to(root)
        for f in filenames:
            stem, ext = os.path.splitext(f)
            if f.startswith(".") or ext.lower() not in IMAGE_EXTENSIONS:
                continue
            full = os.path.join(dirpath, f)
            out.append(((rel / stem).as_posix(), full, os.path.getsize(full)))
    out.sort(key=lambda t: t[0])
    return out


def prepare(cfg: Config) -> Prepared:
    """List the images (no decoding) and say how to build the face set."""
    d = cfg.data
    root = _root(cfg)
    entries = list_images(root)
    if not entries:
        raise FileNotFoundError(f"no image files ({', '.join(sorted(IMAGE_EXTENSIONS))}) "
                                f"found under {root}; {HOW_TO_POINT}")
    entries = entries[:limit(len(entries), d.max_images, root.name)]
    rel = [os.path.relpath(p, root) for _, p, _ in entries]
    fp = fingerprint([(r, s) for r, (_, _, s) in zip(rel, entries)])

    def build(work: Path, progress: bool):
        ids = np.array([e[0] for e in entries])
        split = assign_split(np.arange(len(ids)), d.split, d.seed)
        order = grouped_order(split, ids)
        listing = Listing(ids=ids[order], sources=[entries[i][1] for i in order],
                          names=[rel[i] for i in order], split=split[order])

        def describe(n_loaded, sizes, split_loaded, _):
            return (f"{n_loaded:,} face images ({sizes_phrase(sizes)}) from the folder "
                    f"`{root.name}`, "
                    f"{crop_phrase(sizes, d.crop_fraction, d.crop_center_y, d.image_size)}; "
                    f"split at random into {split_phrase(split_loaded)}.")

        return build_from_files(listing, work, progress, cfg=cfg, source="folder", exif=True,
                                where=f"folder {root.name}", describe=describe)

    return Prepared("folder", _SECTIONS, fp, build)


_SECTIONS = ("data.image_size", "data.crop_fraction", "data.crop_center_y",
             "data.max_images", "data.split", "data.seed")


def load_original(cfg: Config, index: int = 0) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The ``index``-th image (in id order) uncropped, and its crop box."""
    entries = list_images(_root(cfg))
    img = read_image(entries[index][1], exif=True)
    box = crop_box(img.width, img.height, cfg.data.crop_fraction, cfg.data.crop_center_y)
    return np.asarray(img), box
