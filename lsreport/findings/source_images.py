"""Source-image figures a careful reader asks for: nearest training faces, the outliers of the cloud.

The chapters show these images in cells marked ``#| classes: source-image``
(a publish build replaces them with a note, since CelebA may not be
redistributed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FacePairs", "nearest_training", "farthest_training"]


@dataclass(frozen=True, eq=False)
class FacePairs:
    """Two aligned rows of images and a number per column.

    Attributes
    ----------
    top, bottom : ndarray, shape (n, S, S, 3)
    values : ndarray, shape (n,)
        Pixel distance (RMS over pixels and channels, 0–1 scale) or d².
    labels : (str, str)
        Row labels.
    """

    top: np.ndarray
    bottom: np.ndarray
    values: np.ndarray
    labels: tuple

    @property
    def median_text(self) -> str:
        return f"{float(np.median(self.values)):.3f}"


def _train_rows(faces) -> np.ndarray:
    return np.flatnonzero(np.asarray(faces.split) == 0)


def nearest_training(generation, faces, label: str, n: int = 8) -> FacePairs:
    """The first ``n`` decoded samples of one set beside their nearest training images.

    Nearest in pixel space (Euclidean, :func:`lsreport.quality.nearest_neighbour_distances`);
    the values are RMS pixel differences on a 0–1 scale.
    """
    from ..quality import nearest_neighbour_distances

    gen = np.asarray(generation.images[label][:n])
    rows = _train_rows(faces)
    train = faces.images[rows]
    dist, idx = nearest_neighbour_distances(gen, train)
    pix = float(np.prod(gen.shape[1:]))
    return FacePairs(gen, np.asarray(train[idx]), dist / np.sqrt(pix),
                     (label, "nearest training image"))


def farthest_training(latents, faces, pca, n: int = 8) -> FacePairs:
    """The training faces with the largest squared Mahalanobis distance, beside faces at the median.

    Parameters
    ----------
    latents : Latents
        ``book.load("latents")``.
    faces : FaceData
    pca : PCAResult
        The analysis' PCA of the training latents (whitens z).
    n : int

    Returns
    -------
    FacePairs
        ``top``: the training images with the largest d², largest first;
        ``bottom``: training images at the median d² for comparison;
        ``values``: the d² of the top row.
    """
    z = latents.split_z("train")
    rows = _train_rows(faces)
    if len(z) != rows.size:
        raise ValueError(f"{len(z)} training latents but {rows.size} training images")
    d2 = (pca.transform(z, whiten=True) ** 2).sum(axis=1)
    order = np.argsort(d2)
    far = order[::-1][:n]
    mid = order[len(order) // 2 - n // 2:][:n]
    return FacePairs(np.asarray(faces.images[rows[far]]), np.asarray(faces.images[rows[mid]]),
                     d2[far], ("largest d²", "median d²"))
