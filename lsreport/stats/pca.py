"""Covariance of the latent cloud and its eigen-decomposition (PCA).

:func:`moments` computes mean and covariance in chunks (no copy of the data,
float64 accumulation), and is shared by the correlation, normality and
geometry modules. :func:`pca` decomposes the covariance or correlation matrix
and returns a :class:`PCAResult` that can project, reconstruct and whiten.
The Gaussianity of the principal components is tested by passing their scores
to :mod:`lsreport.stats.goodness`.

References
----------
.. [1] I. T. Jolliffe, Principal Component Analysis, 2nd ed., Springer (2002).
.. [2] R. Mönchmeyer, "Autoencoders, latent space and the curse of high
   dimensionality", linux-blog.anracom.com (2023).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import linalg

from ._validate import CHUNK_ROWS, check_full_rank_sample, check_latents, check_shrinkage

__all__ = ["Moments", "moments", "PCAResult", "fit_pca"]


@dataclass(frozen=True, eq=False)
class Moments:
    """Mean and covariance of a sample.

    Attributes
    ----------
    n : int
        Number of samples.
    mean : ndarray, shape (d,)
        Sample mean.
    cov : ndarray, shape (d, d)
        Sample covariance (ddof=1), regularised if ``shrinkage`` is set.
    shrinkage : float or None
        Weight of the identity target in the regularised covariance.
    """

    n: int
    mean: np.ndarray
    cov: np.ndarray
    shrinkage: float | None = None

    @property
    def d(self) -> int:
        """Number of components."""
        return int(self.mean.size)

    @property
    def std(self) -> np.ndarray:
        """Standard deviations (square roots of the covariance diagonal)."""
        return np.sqrt(np.diag(self.cov))

    @cached_property
    def _whitener(self) -> np.ndarray:
        return _whitener(self.cov, self.n, self.shrinkage)

    def whitener(self) -> np.ndarray:
        """Matrix ``W`` with ``(x - mean) @ W`` of identity covariance.

        ``W = L^{-T}`` for the Cholesky factor ``cov = L L^T``, so that the
        squared Mahalanobis distance is ``||(x - mean) @ W||²``.

        Raises
        ------
        ValueError
            If the covariance is singular or numerically close to it.
        """
        return self._whitener  # computed once per Moments


def _whitener(cov: np.ndarray, n: int, shrinkage) -> np.ndarray:
    d = cov.shape[0]
    ev = np.linalg.eigvalsh(cov)
    if ev[0] <= ev[-1] * 1e-12 * d:
        rank = int(np.sum(ev > ev[-1] * 1e-12 * d))
        raise ValueError(
            f"the covariance matrix is singular (numerical rank {rank} < d={d}, "
            f"n={n} samples): some components are linear combinations of others "
            "(e.g. duplicated or collinear latents), so Mahalanobis distances and "
            "whitening are undefined. Remove redundant components, or pass an "
            "explicit shrinkage=alpha to regularise the covariance."
        )
    chol = linalg.cholesky(cov, lower=True)
    return linalg.solve_triangular(chol, np.eye(d), lower=True).T


def moments(z, *, shrinkage: float | None = None, _checked: bool = False) -> Moments:
    """Mean and covariance of the latent vectors, computed in chunks.

    Parameters
    ----------
    z : array_like, shape (n_samples, n_components)
        Latent vectors.
    shrinkage : float, optional
        If set (0 < shrinkage <= 1), return
        ``(1 - shrinkage) * S + shrinkage * (trace(S) / d) * I`` instead of
        the sample covariance ``S``. Needed when ``n_samples <= n_components``;
        it is never applied silently (a warning says so).

    Returns
    -------
    Moments
        ``n``, ``mean``, ``cov`` (ddof=1) and the shrinkage used.

    Notes
    -----
    Rows are processed in chunks of a few thousand and accumulated in float64,
    so 200,000 x 512 float32 latents need no float64 copy.

    Examples
    --------
    >>> import numpy as np
    >>> m = moments(np.random.default_rng(0).normal(size=(5000, 3)))
    >>> m.cov.shape
    (3, 3)
    """
    if not _checked:
        z = check_latents(z)
        shrinkage = check_shrinkage(shrinkage)
    n, d = z.shape
    check_full_rank_sample(n, d, shrinkage)
    mean = z.mean(axis=0, dtype=np.float64)
    acc = np.zeros((d, d))
    for start in range(0, n, CHUNK_ROWS):
        c = z[start : start + CHUNK_ROWS].astype(np.float64) - mean
        acc += c.T @ c
    cov = acc / (n - 1)
    cov = 0.5 * (cov + cov.T)
    if shrinkage is not None:
        mu = np.trace(cov) / d
        cov = (1 - shrinkage) * cov + shrinkage * mu * np.eye(d)
    return Moments(n=n, mean=mean, cov=cov, shrinkage=shrinkage)


@dataclass(frozen=True, eq=False)
class PCAResult:
    """Eigen-decomposition of the covariance (or correlation) matrix.

    Attributes
    ----------
    mean : ndarray, shape (d,)
        Sample mean, subtracted before projecting.
    scale : ndarray, shape (d,)
        Divisor applied after centring: ones for ``matrix="covariance"``, the
        standard deviations for ``matrix="correlation"``.
    components : ndarray, shape (d, d)
        Principal axes as rows (as in scikit-learn), sorted by decreasing
        variance; each row's largest-magnitude loading is positive.
    explained_variance : ndarray, shape (d,)
        Eigenvalues (variance along each axis).
    explained_variance_ratio : ndarray, shape (d,)
        Eigenvalues divided by their sum.
    cumulative_variance_ratio : ndarray, shape (d,)
        Running sum of ``explained_variance_ratio``.
    n_samples : int
        Samples the decomposition was computed from.
    matrix : str
        ``"covariance"`` or ``"correlation"``.
    """

    mean: np.ndarray
    scale: np.ndarray
    components: np.ndarray
    explained_variance: np.ndarray
    explained_variance_ratio: np.ndarray
    cumulative_variance_ratio: np.ndarray
    n_samples: int
    matrix: str

    @property
    def n_components(self) -> int:
        """Dimension of the latent space."""
        return int(self.mean.size)

    def n_components_for(self, fraction: float) -> int:
        """Smallest number of axes explaining at least ``fraction`` of the variance."""
        if not 0 < fraction <= 1:
            raise ValueError(f"fraction must lie in (0, 1]; got {fraction!r}.")
        k = int(np.searchsorted(self.cumulative_variance_ratio, fraction - 1e-12) + 1)
        return min(k, self.n_components)

    def _k(self, n_components) -> int:
        k = self.n_components if n_components is None else int(n_components)
        if not 1 <= k <= self.n_components:
            raise ValueError(f"n_components must lie in 1..{self.n_components}; got {n_components!r}.")
        return k

    def _whiten_scale(self, k: int) -> np.ndarray:
        ev = self.explained_variance[:k]
        if np.any(ev <= ev[0] * 1e-12):
            raise ValueError(
                "cannot whiten: some principal variances are zero (singular "
                "covariance); use fewer components or regularise with shrinkage."
            )
        return np.sqrt(ev)

    def transform(self, x, n_components: int | None = None, *, whiten: bool = False) -> np.ndarray:
        """Principal-component scores of ``x``.

        Parameters
        ----------
        x : array_like, shape (m, d)
            Latent vectors.
        n_components : int, optional
            Keep the first ``n_components`` axes (all by default).
        whiten : bool, default False
            Divide each score by the square root of its eigenvalue, giving
            unit variance per axis.

        Returns
        -------
        ndarray, shape (m, n_components)
        """
        x = np.asarray(x, dtype=float)
        if x.ndim != 2 or x.shape[1] != self.n_components:
            raise ValueError(f"x must have shape (m, {self.n_components}); got {x.shape}.")
        k = self._k(n_components)
        y = ((x - self.mean) / self.scale) @ self.components[:k].T
        return y / self._whiten_scale(k) if whiten else y

    def inverse_transform(self, y, *, whiten: bool = False) -> np.ndarray:
        """Latent vectors from scores ``y`` of the first ``y.shape[1]`` axes."""
        y = np.asarray(y, dtype=float)
        if y.ndim != 2 or not 1 <= y.shape[1] <= self.n_components:
            raise ValueError(f"y must have shape (m, k) with k <= {self.n_components}; got {y.shape}.")
        k = y.shape[1]
        if whiten:
            y = y * self._whiten_scale(k)
        return (y @ self.components[:k]) * self.scale + self.mean


def fit_pca(
    z,
    *,
    matrix: str = "covariance",
    shrinkage: float | None = None,
    precomputed: Moments | None = None,
) -> PCAResult:
    """Principal component analysis by eigen-decomposition.

    Parameters
    ----------
    z : array_like, shape (n_samples, n_components)
        Latent vectors.
    matrix : {"covariance", "correlation"}, default "covariance"
        Decompose the covariance matrix (axes in latent units) or the
        correlation matrix (every component standardised first).
    shrinkage : float, optional
        Regularise the covariance (see :func:`moments`); required when
        ``n_samples <= n_components``.
    precomputed : Moments, optional
        Precomputed :func:`moments` of ``z`` (skips a pass over the data).

    Returns
    -------
    PCAResult
        Spectrum, axes, cumulative explained variance; ``transform``,
        ``inverse_transform`` and whitening.

    Notes
    -----
    The eigenvalues equal scikit-learn's ``PCA.explained_variance_`` (ddof=1).
    A flat spectrum means the cloud is round; a steep one means a few
    directions carry most of the variance, which matters when sampling new
    latent vectors from a box or a sphere.

    Examples
    --------
    >>> import numpy as np
    >>> z = np.random.default_rng(0).normal(size=(4000, 3)) * [3.0, 1.0, 0.5]
    >>> r = fit_pca(z)
    >>> int(np.argmax(np.abs(r.components[0])))
    0
    """
    if matrix not in ("covariance", "correlation"):
        raise ValueError(f"matrix must be 'covariance' or 'correlation'; got {matrix!r}.")
    if precomputed is None:
        precomputed = moments(z, shrinkage=shrinkage)
    cov = precomputed.cov
    if matrix == "correlation":
        scale = np.sqrt(np.diag(cov))
        cov = cov / np.outer(scale, scale)
    else:
        scale = np.ones(cov.shape[0])
    ev, vec = np.linalg.eigh(cov)
    order = np.argsort(ev)[::-1]
    ev = np.clip(ev[order], 0.0, None)
    comps = vec[:, order].T
    signs = np.sign(comps[np.arange(comps.shape[0]), np.argmax(np.abs(comps), axis=1)])
    comps = comps * np.where(signs == 0, 1.0, signs)[:, None]
    ratio = ev / ev.sum()
    return PCAResult(
        mean=precomputed.mean,
        scale=scale,
        components=comps,
        explained_variance=ev,
        explained_variance_ratio=ratio,
        cumulative_variance_ratio=np.cumsum(ratio),
        n_samples=precomputed.n,
        matrix=matrix,
    )
