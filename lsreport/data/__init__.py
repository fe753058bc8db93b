"""Face data: CelebA, any image folder, the Olivetti faces, synthetic faces.

:func:`load_faces` is the pipeline step ``"faces"``: it lists the configured
source, decodes (or draws) every image once, crops and resizes it, splits
the set, and caches the result as ``uint8`` arrays in the artifact store. A
second call with the same settings and the same files decodes nothing and
returns memory-mapped arrays.

Sources (``data.source``; ``"auto"`` means CelebA when a CelebA path is
configured, synthetic faces otherwise):

========== ==================================================================
celeba     :mod:`.celeba` - ``img_align_celeba`` folder or zip, split by identity
folder     :mod:`.folder` - any folder of images (recursive), random split
olivetti   :mod:`.olivetti` - ``olivetti_faces.mat``, split by person
synthetic  :mod:`.synthetic` - procedural cartoon faces with known factors
latents    :mod:`.latents` - no images: z-vectors from a .npy/.npz (decoder images if given)
========== ==================================================================

Examples
--------
>>> from lsreport.config import load_config
>>> from lsreport.artifacts import ArtifactStore
>>> faces = load_faces(load_config("smoke"), ArtifactStore(".lsreport"))  # doctest: +SKIP
>>> faces.split_images("train").shape                                     # doctest: +SKIP
(307, 32, 32, 3)
"""

from __future__ import annotations

import numpy as np

from ..artifacts import ArtifactStore
from ..config import Config, section_hash
from . import celeba, folder, latents, olivetti, synthetic
from .base import (
    PIPELINE_VERSION,
    SPLIT_NAMES,
    BadFileReport,
    BadFileWarning,
    FaceData,
    Prepared,
    assign_split,
    compute_in_workdir,
    crop_box,
    from_artifact,
)
from .synthetic import FACTOR_NAMES, FACTORS, render_faces, sample_factors

__all__ = [
    "FaceData",
    "BadFileReport",
    "BadFileWarning",
    "SPLIT_NAMES",
    "FACTORS",
    "FACTOR_NAMES",
    "STEP",
    "load_faces",
    "faces_key",
    "load_original",
    "crop_box",
    "assign_split",
    "sample_factors",
    "render_faces",
]

#: The artifact step name of face sets.
STEP = "faces"

_SOURCES = {"celeba": celeba, "folder": folder, "olivetti": olivetti, "synthetic": synthetic,
            "latents": latents}


def _prepare(cfg: Config) -> Prepared:
    source = cfg.resolved_data_source()
    try:
        module = _SOURCES[source]
    except KeyError:
        raise ValueError(f"data.source = {source!r} is not known; choose one of "
                         f"auto, {', '.join(_SOURCES)}") from None
    return module.prepare(cfg)


def _key(cfg: Config, prep: Prepared) -> str:
    return section_hash(cfg, prep.sections, prep.source, PIPELINE_VERSION, prep.fingerprint, step="faces")


def faces_key(cfg: Config) -> str:
    """The artifact key of the configured face set.

    A hash of the data settings that matter to the source (e.g. not the
    synthetic settings when CelebA is used), the resolved source, and a
    fingerprint of the source files (sorted names and sizes: cheap, nothing
    is decoded). Adding, removing or replacing a file changes the key.

    Raises
    ------
    FileNotFoundError
        When the configured data cannot be found.
    """
    return _key(cfg, _prepare(cfg))


def load_faces(cfg: Config, store: ArtifactStore, *, progress: bool = True) -> FaceData:
    """Load the configured face set, decoding it only if it is not cached.

    Parameters
    ----------
    cfg : Config
        Uses the ``data`` section (source, path, image_size, crop, split,
        seed, max_images, synthetic).
    store : ArtifactStore
        The cache; the result is the artifact ``faces/<faces_key(cfg)>``.
    progress : bool
        Show a progress bar while decoding or drawing.

    Returns
    -------
    FaceData
        Images memory-mapped from the cache, grouped by split.

    Raises
    ------
    FileNotFoundError
        A configured path does not exist (the message says how to point the
        config at the data).
    ValueError
        ``data.max_images`` exceeds the images available, or no file could
        be read as an image.

    Warns
    -----
    BadFileWarning
        When files were skipped, on the call that decodes them (a cached
        set is silent; ``FaceData.report`` lists the skipped files, and
        ``FaceData.description`` says how many).

    Notes
    -----
    Decoding runs in up to two worker processes for large sets and writes
    into a preallocated memory map inside the cache, so memory stays at a
    few chunks of images whatever the size of the set.
    """
    prep = _prepare(cfg)
    key = _key(cfg, prep)
    art = compute_in_workdir(store, key, lambda work: prep.build(work, progress))
    return from_artifact(art)


def load_original(cfg: Config, index: int = 0) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """One source image before cropping, and the crop box applied to it.

    For CelebA and folders this is the ``index``-th file in id order at its
    own resolution; for Olivetti and synthetic faces the whole image is the
    box. Used by :func:`lsreport.plots.plot_crop_box`.

    Returns
    -------
    image : ndarray of uint8, shape (H, W, 3)
    box : (left, top, right, bottom)
    """
    source = cfg.resolved_data_source()
    return _SOURCES[source].load_original(cfg, index)
