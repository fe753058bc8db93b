"""Elliptical but heavy-tailed, or not elliptical? Tests a reader asks for.

A cloud whose ``d²`` spreads far more than a normal cloud's can still be
*elliptical* — every vector ``m + s·A g`` with ``g`` standard normal and a
random scale ``s`` (a scale mixture, e.g. a multivariate t). Three tools
tell the readings apart:

- :func:`kurtosis_ratio` and :func:`implied_t_dof`: Mardia's kurtosis
  ``b₂`` over its normal value ``D(D+2)``, a dimension-free measure, and
  the degrees of freedom ``ν`` of the multivariate t with that kurtosis.
  (``var(d²)/2D`` is not dimension-free: it grows like ``D`` for any scale
  mixture.)
- :func:`t_outside_ellipse`: the share of a t law outside a k-sigma ellipse
  of one pair of components, to set beside the measured share.
- :func:`kendall_vs_pearson`: for every elliptical law Kendall's τ equals
  ``(2/π)·arcsin r`` [Lindskog et al. 2003]; a deviation beyond sampling
  noise says "not elliptical", whatever the tails.
- :func:`d2_excess_by_component`: where along the principal-component
  spectrum the excess of ``var(d²)`` over ``2D`` sits, split into each
  axis' own kurtosis and its squared scores moving with the others'.

References
----------
Lindskog, F., McNeil, A. and Schmock, U. (2003). Kendall's tau for elliptical
distributions. In *Credit Risk*, 149–156. Physica-Verlag.
Mardia, K. V. (1970). Measures of multivariate skewness and kurtosis with
applications. *Biometrika* 57, 519–530.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from ._validate import check_latents

__all__ = [
    "kurtosis_ratio",
    "kurtosis_ratio_from_var",
    "implied_t_dof",
    "t_outside_ellipse",
    "kendall_vs_pearson",
    "pick_pairs",
    "D2Excess",
    "d2_excess_by_component",
    "order_statistic_band",
]


def kurtosis_ratio(d2, d: int) -> float:
    """Mardia's ``b₂ = mean(d⁴)`` over its normal value ``D(D+2)``.

    Parameters
    ----------
    d2 : array_like
        Squared Mahalanobis distances (under the sample covariance).
    d : int
        Dimension.

    Returns
    -------
    float
        1 for a normal cloud; ``(ν-2)/(ν-4)`` for a multivariate t with ν
        degrees of freedom; the same value in every dimension for a given
        scale mixture.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(100_000, 3))
    >>> d2 = np.einsum("ij,ij->i", x, x)
    >>> abs(kurtosis_ratio(d2, 3) - 1) < 0.02
    True
    """
    d2 = np.asarray(d2, dtype=np.float64)
    return float(np.mean(d2**2) / (d * (d + 2)))


def kurtosis_ratio_from_var(var_ratio, d):
    """The kurtosis ratio from ``var(d²)/2D``, with ``mean(d²) = D``.

    ``b₂ = var(d²) + D²``, so ``b₂ / D(D+2) = (2·ratio + D) / (D + 2)``.
    Works elementwise on arrays (a sweep table's columns).

    >>> float(kurtosis_ratio_from_var(1.0, 256))
    1.0
    """
    var_ratio = np.asarray(var_ratio, dtype=np.float64)
    d = np.asarray(d, dtype=np.float64)
    out = (2.0 * var_ratio + d) / (d + 2.0)
    return float(out) if out.ndim == 0 else out


def implied_t_dof(kappa):
    """Degrees of freedom ν of the multivariate t with kurtosis ratio ``kappa``.

    Inverts ``kappa = (ν-2)/(ν-4)``: ``ν = (4 kappa - 2)/(kappa - 1)``;
    infinite (normal) for ``kappa <= 1``. Elementwise on arrays.

    >>> round(float(implied_t_dof(1.2)), 1), float(implied_t_dof(0.98))
    (14.0, inf)
    """
    k = np.asarray(kappa, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        nu = np.where(k > 1, (4 * k - 2) / (k - 1), np.inf)
    nu = np.where(np.isnan(k), np.nan, nu)
    return float(nu) if nu.ndim == 0 else nu


def t_outside_ellipse(k, nu, dim: int = 2) -> float:
    """Share of a multivariate t outside the k-sigma ellipse(soid) of its covariance.

    Parameters
    ----------
    k : float
        Radius in standard deviations (Mahalanobis distance under the
        covariance, not the t's scale matrix).
    nu : float
        Degrees of freedom (> 2); ``inf`` gives the normal share
        ``exp(-k²/2)`` in two dimensions.
    dim : int, default 2
        Dimension of the projection (2 for a pair of components: every
        projection of a multivariate t is a t with the same ν).

    Notes
    -----
    With covariance ``Σ`` the scale matrix is ``Σ (ν-2)/ν`` and
    ``d²_scale / dim ~ F(dim, ν)``, so the share is
    ``P(F(dim, ν) > k² ν / (dim (ν-2)))``.

    >>> round(t_outside_ellipse(3, np.inf), 4), round(t_outside_ellipse(3, 15), 4)
    (0.0111, 0.0193)
    """
    if not np.isfinite(nu):
        return float(sps.chi2.sf(k * k, dim))
    if nu <= 2:
        raise ValueError("a multivariate t needs nu > 2 for a covariance")
    return float(sps.f.sf(k * k * nu / (dim * (nu - 2)), dim, nu))


def pick_pairs(r, *, rng: np.random.Generator, n: int = 4, typical=(0.1, 0.5)) -> dict:
    """Pairs of components to show: the strongest, typical and random ones.

    Parameters
    ----------
    r : array_like, shape (d, d)
        Correlation matrix.
    rng : numpy.random.Generator
    n : int, default 4
        Pairs per group.
    typical : (float, float)
        The |r| range of a "typical" pair.

    Returns
    -------
    dict
        ``{"strongest": [...], "typical": [...], "random": [...]}``, each a
        list of ``(i, j)`` with ``i < j``; the typical and random pairs
        avoid the strongest ones. Fewer when there are not enough.
    """
    r = np.asarray(r, dtype=np.float64)
    i, j = np.triu_indices(r.shape[0], 1)
    a = np.abs(r[i, j])
    order = np.argsort(-a, kind="stable")
    strongest = order[:n]
    rest = order[n:]
    band = rest[(a[rest] >= typical[0]) & (a[rest] <= typical[1])]
    typ = rng.choice(band, size=min(n, band.size), replace=False) if band.size else band
    left = np.setdiff1d(rest, typ)
    rnd = rng.choice(left, size=min(n, left.size), replace=False) if left.size else left

    def pairs(idx):
        return [(int(i[t]), int(j[t])) for t in idx]

    return {"strongest": pairs(strongest), "typical": pairs(typ), "random": pairs(rnd)}


def kendall_vs_pearson(z, pairs, *, rng: np.random.Generator, n_null: int = 20,
                       max_points: int | None = 5000, nu: float = np.inf) -> pd.DataFrame:
    """Kendall's τ against the elliptical prediction ``(2/π)·arcsin r``, pair by pair.

    Parameters
    ----------
    z : array_like, shape (n, d)
    pairs : sequence of (int, int)
    rng : numpy.random.Generator
        Draws the subsample and the normal null samples.
    n_null : int, default 20
        Bivariate normal samples of the same size and correlation per pair;
        the standard deviation of their deviation is the noise yardstick.
    max_points : int or None, default 5000
        Subsample size (Kendall's τ costs ``n log n``; the null uses the same
        size, so the comparison stays fair).
    nu : float, default inf
        Degrees of freedom of the null samples: bivariate t (elliptical, with
        the same correlation) instead of normal. Pass the cloud's implied ν:
        Pearson's r scatters more under heavy tails, so a normal null is too
        narrow for a t-like cloud.

    Returns
    -------
    DataFrame
        One row per pair: ``i``, ``j``, ``pearson_r``, ``kendall_tau``,
        ``tau_elliptical`` (``(2/π) arcsin r``), ``deviation``
        (τ minus that), ``null_sd`` (s.d. of the deviation for normal data)
        and ``in_null_sd`` (deviation / null_sd).

    Notes
    -----
    The identity τ = (2/π) arcsin ρ holds for every elliptical law with
    correlation ρ (Lindskog et al. 2003), heavy-tailed or not; the sample
    Pearson r is less efficient under heavy tails, so the null from normal
    data is too narrow for a t-like cloud; ``nu`` gives the null of the
    matching t. Read ``in_null_sd`` above about 3 as "not elliptical".
    """
    z = check_latents(z)
    n = z.shape[0]
    if max_points is not None and n > max_points:
        z = z[rng.choice(n, size=max_points, replace=False)]
        n = max_points
    rows = []
    for i, j in pairs:
        x, y = z[:, i], z[:, j]
        r = float(np.corrcoef(x, y)[0, 1])
        tau = float(sps.kendalltau(x, y).statistic)
        pred = 2 / np.pi * np.arcsin(r)
        cov = [[1.0, r], [r, 1.0]]
        devs = []
        for _ in range(n_null):
            s = rng.multivariate_normal([0.0, 0.0], cov, size=n)
            if np.isfinite(nu):
                s = s / np.sqrt(rng.chisquare(nu, size=(n, 1)) / nu)
            rs = np.corrcoef(s[:, 0], s[:, 1])[0, 1]
            devs.append(sps.kendalltau(s[:, 0], s[:, 1]).statistic - 2 / np.pi * np.arcsin(rs))
        sd = float(np.std(devs, ddof=1))
        rows.append({"i": int(i), "j": int(j), "pearson_r": r, "kendall_tau": tau,
                     "tau_elliptical": pred, "deviation": tau - pred, "null_sd": sd,
                     "in_null_sd": (tau - pred) / sd if sd > 0 else np.nan})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class D2Excess:
    """The excess of ``var(d²)`` over ``2D``, axis by axis along the PCA spectrum.

    With whitened principal-component scores ``w_k``,
    ``var(d²) - 2D = Σ_k own_k + Σ_k shared_k`` where ``own_k = var(w_k²) - 2``
    (the axis' own excess kurtosis) and ``shared_k = Σ_{j≠k} cov(w_j², w_k²)``
    (its squared score moving with the others'). For a scale mixture with
    kurtosis ratio κ every axis has ``own = 3(κ-1)`` and
    ``shared = (D-1)(κ-1)``: the excess spreads evenly over the spectrum.

    Attributes
    ----------
    d : int
    var_d2 : float
        Variance of ``d²`` (ddof=1), ``= 2D + own.sum() + shared.sum()``.
    own, shared : ndarray, shape (d,)
        Per principal axis, in spectrum order (largest variance first).
    kappa : float
        Kurtosis ratio ``b₂ / D(D+2)`` of the whole cloud.
    """

    d: int
    var_d2: float
    own: np.ndarray
    shared: np.ndarray
    kappa: float

    @property
    def excess(self) -> float:
        """``var(d²) - 2D``."""
        return self.var_d2 - 2.0 * self.d

    @property
    def total(self) -> np.ndarray:
        """``own + shared`` per axis; sums to :attr:`excess`."""
        return self.own + self.shared

    @property
    def own_share(self) -> float:
        """Share of the excess from the axes' own kurtosis (``3/(D+2)`` for a scale mixture)."""
        return float(self.own.sum() / self.excess)

    @property
    def elliptical_own_share(self) -> float:
        """``3 / (D + 2)``: the own share of any scale mixture."""
        return 3.0 / (self.d + 2)

    def by_block(self, edges=(0.1, 0.25, 0.5, 1.0)) -> pd.DataFrame:
        """The excess in consecutive blocks of the spectrum.

        Parameters
        ----------
        edges : sequence of float
            Upper ends of the blocks as fractions of the axes (last = 1).

        Returns
        -------
        DataFrame
            ``first``, ``last`` (1-based axis numbers), ``share_of_axes``,
            ``share_of_excess`` and ``own_share`` (own part of the block's
            excess).
        """
        rows, lo = [], 0
        for e in edges:
            hi = max(lo + 1, int(round(e * self.d)))
            if lo >= self.d:
                break
            hi = min(hi, self.d)
            t = self.total[lo:hi].sum()
            rows.append({"first": lo + 1, "last": hi, "share_of_axes": (hi - lo) / self.d,
                         "share_of_excess": float(t / self.excess),
                         "own_share": float(self.own[lo:hi].sum() / t) if t else np.nan})
            lo = hi
        return pd.DataFrame(rows)


def d2_excess_by_component(z, pca) -> D2Excess:
    """Split the excess of ``var(d²)`` over ``2D`` by principal axis.

    Parameters
    ----------
    z : array_like, shape (n, d)
        The latents ``pca`` was fitted to.
    pca : PCAResult
        :func:`lsreport.stats.fit_pca` of ``z`` with every component.

    Returns
    -------
    D2Excess

    Notes
    -----
    Written here (not taken from a library) because it needs the full
    covariance matrix of the squared whitened scores, which no library
    exposes; it refines :func:`lsreport.stats.normality.d2_variance_split`,
    whose two totals equal ``2D + own.sum()`` and ``shared.sum()``.

    Examples
    --------
    >>> import numpy as np
    >>> from lsreport.stats import fit_pca
    >>> z = np.random.default_rng(1).laplace(size=(50_000, 3)) * [3.0, 2.0, 1.0]
    >>> e = d2_excess_by_component(z, fit_pca(z))
    >>> bool(np.allclose(e.own, 3, atol=0.5)), bool(np.allclose(e.shared, 0, atol=0.3))
    (True, True)
    """
    z = check_latents(z)
    n, d = z.shape
    if pca.n_components != d:
        raise ValueError(f"pca has {pca.n_components} components; z has {d}.")
    w2 = pca.transform(z, whiten=True) ** 2
    c = np.cov(w2, rowvar=False, ddof=1).reshape(d, d)
    own = np.diag(c) - 2.0
    shared = c.sum(axis=1) - np.diag(c)
    d2 = w2.sum(axis=1)
    return D2Excess(d=d, var_d2=float(d2.var(ddof=1)), own=own, shared=shared,
                    kappa=kurtosis_ratio(d2, d))


def order_statistic_band(p, n: int, level: float = 0.95):
    """Pointwise band of the order statistics of ``n`` draws, as probabilities.

    The k-th smallest of ``n`` uniform draws follows Beta(k, n + 1 - k), so
    a QQ plot's point at plotting position ``p`` (k ≈ p n) lies, for data
    from the reference law, between the reference quantiles of the two
    returned probabilities with probability ``level``. Map them through the
    reference's ``ppf`` (the normal for a QQ plot of components, χ²(D) for
    squared Mahalanobis distances): the exact version of a simulated
    envelope.

    Parameters
    ----------
    p : array_like
        Plotting positions in (0, 1).
    n : int
        Sample size.
    level : float, default 0.95

    Returns
    -------
    lo, hi : ndarray

    Examples
    --------
    >>> lo, hi = order_statistic_band([0.5], 10_000)
    >>> bool(lo[0] < 0.5 < hi[0]), round(float(hi[0] - lo[0]), 3)
    (True, 0.02)
    """
    p = np.asarray(p, dtype=np.float64)
    k = np.clip(np.round(p * n + 0.5), 1, n)
    a = (1 - level) / 2
    return sps.beta.ppf(a, k, n + 1 - k), sps.beta.ppf(1 - a, k, n + 1 - k)
