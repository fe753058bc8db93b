"""Nearest training images and the cloud's outliers, on data with a known answer."""

from types import SimpleNamespace as NS

import numpy as np

from lsreport.findings import source_images as S
from lsreport.stats import fit_pca


def _faces(rng, n=40):
    imgs = rng.integers(0, 255, size=(n, 8, 8, 3), dtype=np.uint8)
    split = np.array([0] * 30 + [1] * 5 + [2] * 5)
    return NS(images=imgs, split=split)


def test_nearest_training_finds_a_copy(rng):
    f = _faces(rng)
    gen_imgs = np.stack([f.images[7], f.images[35]])  # a training copy, a validation image
    g = NS(images={"normal x1": gen_imgs})
    p = S.nearest_training(g, f, "normal x1", n=2)
    assert p.values[0] == 0.0 and np.array_equal(p.bottom[0], f.images[7])
    assert p.values[1] > 0
    assert p.labels == ("normal x1", "nearest training image")


def test_farthest_training_are_the_largest_d2(rng):
    f = _faces(rng)
    z = rng.normal(size=(40, 3))
    z[12] = [9.0, -9.0, 9.0]  # a clear outlier among the training rows
    lat = NS(split_z=lambda name: z[f.split == 0])
    q = S.farthest_training(lat, f, fit_pca(z[f.split == 0]), n=3)
    assert np.array_equal(q.top[0], f.images[12])
    assert np.all(np.diff(q.values) <= 0)
