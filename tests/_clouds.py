"""Synthetic latent clouds whose shape is known, and their analyses (cached per session).

Used by the known-truth tests of :mod:`lsreport.findings`: a multivariate
normal cloud, a multivariate t (ν = 5), a cloud with one curved ("banana")
pair and a uniform cube. Small n and D keep :func:`lsreport.stats.analyse`
at about a second per cloud.
"""

from __future__ import annotations

import functools

import numpy as np

N, D = 4000, 6

#: analyse() settings for small clouds (the keyword names of StatsConfig).
SMALL = dict(subsample_sizes=(200,), subsample_repeats=20, kde_points=500, n_pairs=2,
             hz_subsample=100, hz_dims=4, hz_repeats=2, mardia_subsample=1000, mardia_repeats=2,
             linearity_subsample=2000, n_box=2000, kde_grid=32)


def _cov(d: int, rng) -> np.ndarray:
    a = rng.normal(size=(d, d))
    c = a @ a.T / d + np.eye(d)
    s = np.sqrt(np.diag(c))
    return c / np.outer(s, s) * 0.8 ** 2  # correlated, every s.d. 0.8


@functools.lru_cache(maxsize=None)
def cloud(kind: str, n: int = N, d: int = D, seed: int = 0) -> np.ndarray:
    """``n`` vectors of a cloud of known shape, centred away from the origin."""
    rng = np.random.default_rng([seed, len(kind)])
    centre = np.full(d, 1.5)
    if kind == "mvn":
        return rng.multivariate_normal(centre, _cov(d, rng), size=n)
    if kind == "t5":  # scale mixture: elliptic, heavy-tailed; covariance = shape * ν/(ν-2)
        g = rng.multivariate_normal(np.zeros(d), _cov(d, rng), size=n)
        w = rng.chisquare(5, size=(n, 1)) / 5
        return centre + g / np.sqrt(w) * np.sqrt(3 / 5)
    if kind == "banana":  # normal, except components 0 and 1: y = x + (x² − 1), curved
        z = rng.normal(size=(n, d)) * 0.8
        x = z[:, 0] / 0.8
        z[:, 1] = 0.8 * (x + 0.9 * (x ** 2 - 1) + 0.3 * rng.normal(size=n))
        return centre + z
    if kind == "cube":
        return centre + rng.uniform(-1.4, 1.4, size=(n, d))
    raise ValueError(kind)


@functools.lru_cache(maxsize=None)
def analysis(kind: str, n: int = N, d: int = D, seed: int = 0):
    from lsreport.stats import analyse

    return analyse(cloud(kind, n, d, seed), rng=np.random.default_rng(seed), bin_width=0.25, **SMALL)
