"""Linear correlations between latent components.

:func:`correlations` returns the Pearson matrix with an ordering from
hierarchical clustering on ``1 - |r|`` (blocks of mutually correlated
components become visible in a heatmap), the strongest pairs and a summary
of the off-diagonal ``|r|`` against the noise floor of independent
components. :func:`linearity_check` tests the "linear" part of the claim:
under bivariate normality Spearman's rank correlation is a fixed function of
Pearson's, ``rho_s = (6 / pi) * arcsin(r / 2)``; non-linear dependence breaks
that relation.

References
----------
.. [1] K. Pearson, "Mathematical contributions to the theory of evolution.
   III. Regression, heredity, and panmixia", Phil. Trans. R. Soc. A 187
   (1896) 253–318.
.. [2] M. G. Kendall, A. Stuart, The Advanced Theory of Statistics, vol. 2,
   ch. 31 (rank correlation of a bivariate normal: ``6/pi arcsin(r/2)``).
.. [3] R. Mönchmeyer, "Autoencoders, latent space and the curse of high
   dimensionality", linux-blog.anracom.com (2023).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy import stats
from scipy.cluster import hierarchy
from scipy.spatial.distance import squareform

from ._validate import check_latents, check_rng
from .pca import Moments, moments

__all__ = [
    "PairTable",
    "AbsRSummary",
    "CorrelationResult",
    "LinearityResult",
    "correlations",
    "correlation_from_covariance",
    "linearity_check",
]


def correlation_from_covariance(cov) -> np.ndarray:
    """Pearson correlation matrix from a covariance matrix (unit diagonal)."""
    cov = np.asarray(cov, dtype=float)
    s = np.sqrt(np.diag(cov))
    if np.any(s == 0):
        raise ValueError("covariance has zero variances; correlations are undefined.")
    r = cov / np.outer(s, s)
    r = np.clip(0.5 * (r + r.T), -1.0, 1.0)
    np.fill_diagonal(r, 1.0)
    return r


@dataclass(frozen=True, eq=False)
class PairTable:
    """Component pairs with their correlation.

    Attributes
    ----------
    i, j : ndarray of int
        Component indices (``i < j``).
    r : ndarray
        Pearson correlation of each pair, sorted by ``|r|`` descending.
    """

    i: np.ndarray
    j: np.ndarray
    r: np.ndarray

    def __len__(self) -> int:
        return int(self.r.size)

    def pairs(self) -> list[tuple[int, int]]:
        """The pairs as a list of ``(i, j)`` tuples."""
        return list(zip(self.i.tolist(), self.j.tolist()))

    def to_frame(self):
        """The table as a :class:`pandas.DataFrame` with columns i, j, r, indexed by rank (1 = strongest)."""
        import pandas as pd

        return pd.DataFrame({"i": self.i, "j": self.j, "r": self.r},
                            index=pd.RangeIndex(1, len(self) + 1, name="rank"))


@dataclass(frozen=True)
class AbsRSummary:
    """Distribution of the off-diagonal ``|r|``.

    Attributes
    ----------
    n_pairs : int
        Number of distinct pairs ``d (d - 1) / 2``.
    mean, median, q90, q99, max : float
        Statistics of ``|r|``.
    share_above_01, share_above_03, share_above_05 : float
        Share of pairs with ``|r|`` above 0.1, 0.3 and 0.5 (:attr:`CUTOFFS`).
    noise_mean : float
        Expected ``|r|`` of two independent normal components with this many
        samples, ``sqrt(2 / (pi (n - 1)))`` (large-``n`` approximation).
    critical_r : float
        ``|r|`` beyond which a single pair is significant at 5 % (t-test).
    share_significant : float
        Share of pairs beyond ``critical_r`` (about 5 % if all independent).
    """

    #: The |r| cut-offs of the three ``share_above_*`` fields, in order.
    CUTOFFS: ClassVar[tuple] = (0.1, 0.3, 0.5)

    n_pairs: int
    mean: float
    median: float
    q90: float
    q99: float
    max: float
    share_above_01: float
    share_above_03: float
    share_above_05: float
    noise_mean: float
    critical_r: float
    share_significant: float


@dataclass(frozen=True, eq=False)
class CorrelationResult:
    """Pearson correlation matrix of the latent components with an ordering.

    Attributes
    ----------
    r : ndarray, shape (d, d)
        Pearson correlation matrix.
    order : ndarray of int, shape (d,)
        Leaf order of an average-linkage clustering on ``1 - |r|``.
    linkage : ndarray
        The SciPy linkage matrix behind ``order``.
    n_samples : int
        Number of samples behind ``r``.
    """

    r: np.ndarray
    order: np.ndarray
    linkage: np.ndarray
    n_samples: int

    @property
    def d(self) -> int:
        """Number of components."""
        return int(self.r.shape[0])

    def ordered(self) -> np.ndarray:
        """The matrix with rows and columns permuted by ``order``."""
        return self.r[np.ix_(self.order, self.order)]

    def offdiagonal(self) -> np.ndarray:
        """Upper-triangle correlations (each pair once)."""
        iu = np.triu_indices(self.d, k=1)
        return self.r[iu]

    def strongest_pairs(self, n: int = 10) -> PairTable:
        """The ``n`` pairs with the largest ``|r|``, strongest first."""
        iu, ju = np.triu_indices(self.d, k=1)
        vals = self.r[iu, ju]
        n = min(int(n), vals.size)
        top = np.argpartition(-np.abs(vals), n - 1)[:n] if n < vals.size else np.arange(vals.size)
        top = top[np.lexsort((ju[top], iu[top], -np.abs(vals[top])))]
        return PairTable(i=iu[top], j=ju[top], r=vals[top])

    def summary(self, alpha: float = 0.05) -> AbsRSummary:
        """Summary of the off-diagonal ``|r|`` (see :class:`AbsRSummary`)."""
        a = np.abs(self.offdiagonal())
        n = self.n_samples
        t = stats.t.ppf(1 - alpha / 2, n - 2)
        r_crit = float(t / np.sqrt(n - 2 + t**2))
        q = np.quantile(a, [0.5, 0.9, 0.99])
        return AbsRSummary(
            n_pairs=int(a.size),
            mean=float(a.mean()),
            median=float(q[0]),
            q90=float(q[1]),
            q99=float(q[2]),
            max=float(a.max()),
            share_above_01=float(np.mean(a > AbsRSummary.CUTOFFS[0])),
            share_above_03=float(np.mean(a > AbsRSummary.CUTOFFS[1])),
            share_above_05=float(np.mean(a > AbsRSummary.CUTOFFS[2])),
            noise_mean=float(np.sqrt(2.0 / (np.pi * (n - 1)))),
            critical_r=r_crit,
            share_significant=float(np.mean(a > r_crit)),
        )


def correlations(
    z,
    *,
    method: str = "average",
    precomputed: Moments | None = None,
) -> CorrelationResult:
    """Pearson correlations of the latent components, ordered by clustering.

    Parameters
    ----------
    z : array_like, shape (n_samples, n_components)
        Latent vectors (at least two components).
    method : str, default "average"
        Linkage method of :func:`scipy.cluster.hierarchy.linkage` on the
        distance ``1 - |r|``.
    precomputed : Moments, optional
        :func:`lsreport.stats.pca.moments` of ``z`` if already computed.

    Returns
    -------
    CorrelationResult
        Matrix, ordering and linkage; ``strongest_pairs()`` and ``summary()``
        give the tables for the text.

    Notes
    -----
    The distance ``1 - |r|`` groups components that move together *or*
    against each other. SciPy's optimal leaf ordering is not used: it takes
    minutes at ``d = 512``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(3000, 1))
    >>> z = np.hstack([x, rng.normal(size=(3000, 1)), -x + 0.1 * rng.normal(size=(3000, 1))])
    >>> correlations(z).strongest_pairs(1).pairs()
    [(0, 2)]
    """
    if precomputed is None:
        z = check_latents(z)
        precomputed = moments(z, _checked=True) if z.shape[0] > z.shape[1] else None
        if precomputed is None:  # correlations need no inverse: n <= d is fine here
            cov = np.cov(np.asarray(z, dtype=np.float64), rowvar=False)
            n = z.shape[0]
        else:
            cov, n = precomputed.cov, precomputed.n
    else:
        cov, n = precomputed.cov, precomputed.n
    if cov.shape[0] < 2:
        raise ValueError("correlations need at least two components.")
    r = correlation_from_covariance(cov)
    dist = 1.0 - np.abs(r)
    np.fill_diagonal(dist, 0.0)
    link = hierarchy.linkage(squareform(np.clip(dist, 0, None), checks=False), method=method)
    order = hierarchy.leaves_list(link)
    return CorrelationResult(r=r, order=order, linkage=link, n_samples=int(n))


@dataclass(frozen=True, eq=False)
class LinearityResult:
    """Spearman against Pearson on one subsample, pair by pair.

    Attributes
    ----------
    pearson, spearman : ndarray, shape (n_pairs,)
        Upper-triangle correlations on the subsample.
    spearman_expected : ndarray
        ``(6 / pi) * arcsin(pearson / 2)``, Spearman's value for a bivariate
        normal with that Pearson correlation.
    n_sub : int
        Subsample size.
    """

    pearson: np.ndarray
    spearman: np.ndarray
    spearman_expected: np.ndarray
    n_sub: int

    @property
    def deviation(self) -> np.ndarray:
        """``spearman - spearman_expected`` per pair."""
        return self.spearman - self.spearman_expected

    @property
    def max_abs_deviation(self) -> float:
        """Largest ``|deviation|`` over pairs."""
        return float(np.max(np.abs(self.deviation)))

    @property
    def rms_deviation(self) -> float:
        """Root-mean-square deviation over pairs."""
        return float(np.sqrt(np.mean(self.deviation**2)))

    @property
    def noise_sd(self) -> float:
        """Sampling s.d. of a Spearman coefficient under independence, ``1 / sqrt(n - 1)``.

        Exact: under independence ``var(r_s) = 1 / (n - 1)`` (the ranks are a
        random permutation). The factor 1.06 often quoted belongs to the
        Fisher-transformed coefficient near 0 (Fieller et al. 1957), not to
        ``r_s`` itself.
        """
        return float(1.0 / np.sqrt(self.n_sub - 1))

    @property
    def deviation_noise_sd(self) -> float:
        """Sampling s.d. of ``deviation`` for an independent normal pair, ``sqrt((1 - 9/pi²) / (n - 1))``.

        Spearman's and Pearson's coefficients of one sample are strongly
        correlated (asymptotically ``3/pi`` for a normal pair), so their
        difference scatters far less than either: about 0.3 of
        :attr:`noise_sd`. This is the scale against which ``deviation`` must
        be read. For correlated normal pairs the spread is smaller still (it
        vanishes as ``|r| -> 1``), so a band of ``±2`` of these is, if
        anything, too wide.
        """
        return float(np.sqrt((1.0 - 9.0 / np.pi**2) / (self.n_sub - 1)))


def linearity_check(z, *, rng: np.random.Generator, n_sub: int = 10_000) -> LinearityResult:
    """Compare Spearman and Pearson correlations against the normal relation.

    Parameters
    ----------
    z : array_like, shape (n_samples, n_components)
        Latent vectors.
    rng : numpy.random.Generator
        Draws the subsample.
    n_sub : int, default 10000
        Rows used (all if ``n_samples <= n_sub``); ranking 200,000 rows of 512
        components would dominate the run time.

    Returns
    -------
    LinearityResult
        Pearson, Spearman and the Spearman value a bivariate normal would have.

    Notes
    -----
    For a bivariate normal with correlation ``r`` the population Spearman
    coefficient is ``(6 / pi) arcsin(r / 2)`` (Kendall & Stuart). Deviations
    well beyond ``deviation_noise_sd`` mean monotone but non-linear dependence or
    non-normal joint distributions, i.e. Pearson's ``r`` does not tell the
    whole story for that pair.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> res = linearity_check(rng.normal(size=(4000, 4)), rng=rng)
    >>> res.max_abs_deviation < 0.1
    True
    """
    z = check_latents(z)
    rng = check_rng(rng)
    n = z.shape[0]
    if n > n_sub:
        z = z[np.sort(rng.choice(n, size=int(n_sub), replace=False))]
    x = np.asarray(z, dtype=np.float64)
    iu = np.triu_indices(x.shape[1], k=1)
    pear = np.corrcoef(x, rowvar=False)[iu]
    ranks = stats.rankdata(x, axis=0)
    spear = np.corrcoef(ranks, rowvar=False)[iu]
    return LinearityResult(
        pearson=pear,
        spearman=spear,
        spearman_expected=6.0 / np.pi * np.arcsin(pear / 2.0),
        n_sub=int(x.shape[0]),
    )
