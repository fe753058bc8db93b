"""The Olivetti (ORL) faces: 40 people x 10 gray 64x64 images.

``data.path`` is the MATLAB file ``olivetti_faces.mat`` (array ``faces``,
uint8, shape (4096, 400), image i is ``faces[:, i].reshape(64, 64).T``) or
a folder holding it. Images ``10 p`` to ``10 p + 9`` show person ``p``. The
gray images are repeated into three channels and resized to
``data.image_size`` (no crop: the faces already fill the frame); the split is
by person, so nobody appears in two splits.

References
----------
Samaria, Harter (1994). Parameterisation of a stochastic model for human face
identification. IEEE Workshop on Applications of Computer Vision. (AT&T
Laboratories Cambridge.)
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from ..config import Config
from .base import (
    BadFileReport,
    Prepared,
    assign_split,
    fingerprint,
    grouped_order,
    limit,
    package,
    split_phrase,
)

__all__ = ["read_olivetti", "prepare", "load_original", "PEOPLE", "PER_PERSON"]

PEOPLE = 40
PER_PERSON = 10
FILE = "olivetti_faces.mat"
HOW_TO_POINT = f"set data.path in the profile to the file {FILE} (or the folder holding it)"


def _path(cfg: Config) -> Path:
    if not cfg.data.path:
        raise FileNotFoundError(f"data.source = 'olivetti' needs the data file; {HOW_TO_POINT}")
    p = Path(cfg.data.path).expanduser()
    if p.is_dir():
        p = p / FILE
    if not p.is_file():
        raise FileNotFoundError(f"Olivetti faces not found: {p} does not exist; {HOW_TO_POINT}")
    return p


def read_olivetti(path: str | os.PathLike) -> np.ndarray:
    """The 400 gray images as uint8 (400, 64, 64), upright, in file order."""
    from scipy.io import loadmat

    try:
        faces = loadmat(str(path))["faces"]
    except KeyError:
        raise ValueError(f"{path} holds no array 'faces'") from None
    if faces.shape != (64 * 64, PEOPLE * PER_PERSON):
        raise ValueError(f"{path}: 'faces' has shape {faces.shape}, expected (4096, 400)")
    # column-major (MATLAB) images: reshape then transpose to stand upright
    return np.ascontiguousarray(faces.T.reshape(-1, 64, 64).transpose(0, 2, 1)).astype(np.uint8)


def _rgb(gray: np.ndarray, size: int) -> np.ndarray:
    if gray.shape[-1] != size:
        gray = np.stack([np.asarray(Image.fromarray(g).resize((size, size), Image.LANCZOS))
                         for g in gray])
    return np.repeat(gray[..., None], 3, axis=-1)


def prepare(cfg: Config) -> Prepared:
    """Locate the file and say how to build the face set."""
    d = cfg.data
    path = _path(cfg)
    n = limit(PEOPLE * PER_PERSON, d.max_images, FILE)
    fp = fingerprint([(path.name, path.stat().st_size)])

    def build(work: Path, progress: bool):
        gray = read_olivetti(path)[:n]
        person = np.arange(n) // PER_PERSON
        ids = np.array([f"olivetti-{i:04d}" for i in range(n)])
        split = assign_split(person, d.split, d.seed)
        order = grouped_order(split, ids)
        work.mkdir(parents=True, exist_ok=True)
        images_path = work / "images.npy"
        mm = np.lib.format.open_memmap(images_path, mode="w+", dtype=np.uint8,
                                       shape=(n, d.image_size, d.image_size, 3))
        mm[:] = _rgb(gray[order], d.image_size)
        mm.flush()
        del mm
        report = BadFileReport(n, n, ())
        size = "" if d.image_size == 64 else f", resized to {d.image_size}×{d.image_size} px"
        n_people = len(np.unique(person))
        description = (f"{n:,} Olivetti (ORL) face images of {n_people} people (64×64 px gray, "
                       f"repeated into three channels{size}) from `{path.name}`; split by person "
                       f"into {split_phrase(split)}.")
        meta = {"source": "olivetti", "description": description, "report": report.to_dict(),
                "image_size": d.image_size, "original_sizes": {"64x64": n}, "where": path.name,
                "split_sizes": dict(zip(("train", "validation", "test"),
                                        np.bincount(split, minlength=3).tolist()))}
        return package(images_path=images_path, ids=ids[order], split=split[order],
                       identities=person[order], meta=meta)

    return Prepared("olivetti", _SECTIONS, fp, build)


_SECTIONS = ("data.image_size", "data.max_images", "data.split", "data.seed")


def load_original(cfg: Config, index: int = 0) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The ``index``-th image as RGB at 64x64 and its (whole-image) box."""
    gray = read_olivetti(_path(cfg))[index]
    return np.repeat(gray[..., None], 3, axis=-1), (0, 0, 64, 64)
