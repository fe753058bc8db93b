"""Multivariate normality of the latent cloud.

Univariate normal marginals do not make a multivariate normal. This module
tests the joint claim in three ways:

* squared Mahalanobis distances against chi2(d) (:func:`mahalanobis_chi2`):
  QQ data, their mean and variance against ``d`` and ``2 d``, and the share of
  the cloud inside the chi2 quantiles ("normal core") together with the
  excess or deficit in the tails;
* Mardia's multivariate skewness and kurtosis (:func:`mardia`), written here
  because no well-maintained Python library provides them;
* the Henze–Zirkler test (:func:`henze_zirkler`) from pingouin, on
  subsamples, with a simulated check that it holds its level at the size
  and dimension used (:func:`hz_calibration`).

References
----------
.. [1] K. V. Mardia, "Measures of multivariate skewness and kurtosis with
   applications", Biometrika 57 (1970) 519–530.
.. [2] K. V. Mardia, "Applications of some measures of multivariate skewness
   and kurtosis in testing normality and robustness studies", Sankhyā B 36
   (1974) 115–128.
.. [3] N. Henze, B. Zirkler, "A class of invariant consistent tests for
   multivariate normality", Communications in Statistics – Theory and
   Methods 19 (1990) 3595–3617.
.. [4] R. Gnanadesikan, J. R. Kettenring, "Robust estimates, residuals, and
   outlier detection with multiresponse data", Biometrics 28 (1972) 81–124.
.. [5] R. Mönchmeyer, "Autoencoders, latent space and the curse of high
   dimensionality", linux-blog.anracom.com (2023).
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy import stats

from ._validate import (
    CHUNK_ROWS,
    check_latents,
    check_probabilities,
    check_rng,
    check_shrinkage,
)
from .pca import Moments, PCAResult, moments

__all__ = [
    "MahalanobisResult",
    "MardiaResult",
    "HZResult",
    "HZCalibration",
    "hz_calibration",
    "mahalanobis_sq",
    "mahalanobis_chi2",
    "mardia",
    "mardia_statistics",
    "henze_zirkler",
    "hz_null_relative_sd",
    "D2Split",
    "d2_variance_split",
]

_CORE_PROBS = (0.5, 0.9, 0.99, 0.999)


def _moments_for(z, shrinkage, precomputed: Moments | None) -> tuple[np.ndarray, Moments]:
    z = check_latents(z)
    if precomputed is None:
        precomputed = moments(z, shrinkage=check_shrinkage(shrinkage), _checked=True)
    elif precomputed.d != z.shape[1]:
        raise ValueError(f"precomputed moments have d={precomputed.d}; z has {z.shape[1]} components.")
    return z, precomputed


def _d2(x: np.ndarray, mean: np.ndarray, w: np.ndarray) -> np.ndarray:
    # The whitening product runs in the precision of the data: for float32
    # latents a float32 GEMM adds rounding of the same order as the data's
    # own (about 1e-7 relative), at half the cost. Mean and W stay float64.
    dt = np.float32 if x.dtype == np.float32 else np.float64
    wd = w.astype(dt)
    out = np.empty(x.shape[0])
    for start in range(0, x.shape[0], CHUNK_ROWS):
        c = (x[start : start + CHUNK_ROWS] - mean).astype(dt)
        y = c @ wd
        out[start : start + CHUNK_ROWS] = np.einsum("ij,ij->i", y, y, dtype=np.float64)
    return out


def mahalanobis_sq(
    x,
    z=None,
    *,
    shrinkage: float | None = None,
    precomputed: Moments | None = None,
) -> np.ndarray:
    """Squared Mahalanobis distances of points to the latent cloud.

    Parameters
    ----------
    x : array_like, shape (m, d)
        Points to measure (e.g. the latents themselves, or new samples).
    z : array_like, shape (n, d), optional
        The reference cloud; ``x`` itself if omitted. Ignored when
        ``precomputed`` is given.
    shrinkage : float, optional
        Regularise the covariance (see :func:`lsreport.stats.pca.moments`).
    precomputed : Moments, optional
        Mean and covariance of the cloud, if already computed.

    Returns
    -------
    ndarray, shape (m,)
        ``(x - mean)^T cov^{-1} (x - mean)`` (sample covariance, ddof=1).

    Notes
    -----
    Computed in chunks with the inverse Cholesky factor, never forming an
    ``m x m`` or ``n x n`` matrix.
    """
    x = check_latents(x, name="x", min_samples=1, check_constant=False)
    if precomputed is None:
        _, precomputed = _moments_for(x if z is None else z, shrinkage, None)
    if precomputed.d != x.shape[1]:
        raise ValueError(f"x has {x.shape[1]} components; the cloud has {precomputed.d}.")
    return _d2(x, precomputed.mean, precomputed.whitener())


@dataclass(frozen=True, eq=False)
class MahalanobisResult:
    """Squared Mahalanobis distances of the cloud against their normal reference.

    Attributes
    ----------
    d2 : ndarray, shape (n,)
        Squared distances of every latent vector (sample mean and covariance).
    d : int
        Dimension (degrees of freedom of the chi2 reference).
    n_samples : int
        Number of vectors.
    reference : str
        ``"chi2"`` (chi2(d)) or ``"beta"`` (the exact finite-sample law).
    mean_d2, var_d2 : float
        Mean and variance of ``d2``.
    expected_mean, expected_var : float
        Their values under normality (chi2: ``d`` and ``2 d``).
    qq_theoretical, qq_sample : ndarray
        Reference quantiles and sample quantiles of ``d2`` (thinned).
    core_probs : ndarray
        Probabilities ``p`` of the reference quantiles ``q_p``.
    core_observed : ndarray
        Share of the cloud with ``d2 <= q_p`` (``p`` expected).
    tail_ratio : ndarray
        Observed over expected share beyond ``q_p``,
        ``(1 - observed) / (1 - p)``: 1 for a normal cloud, above 1 for heavy
        tails.
    """

    d2: np.ndarray
    d: int
    n_samples: int
    reference: str
    mean_d2: float
    var_d2: float
    expected_mean: float
    expected_var: float
    qq_theoretical: np.ndarray
    qq_sample: np.ndarray
    core_probs: np.ndarray
    core_observed: np.ndarray
    tail_ratio: np.ndarray

    def core_frame(self):
        """The normal-core table as a :class:`pandas.DataFrame`."""
        import pandas as pd

        return pd.DataFrame({
            "probability": self.core_probs,
            "observed": self.core_observed,
            "tail_ratio": self.tail_ratio,
        })


def _ref_dist(reference: str, n: int, d: int):
    if reference == "chi2":
        return stats.chi2(d)
    if reference == "beta":
        if n <= d + 1:
            raise ValueError("the beta reference needs n > d + 1 samples.")
        return stats.beta(d / 2.0, (n - d - 1) / 2.0, scale=(n - 1) ** 2 / n)
    raise ValueError(f"reference must be 'chi2' or 'beta'; got {reference!r}.")


def mahalanobis_chi2(
    z,
    *,
    reference: str = "chi2",
    core_probs=_CORE_PROBS,
    n_points: int = 400,
    shrinkage: float | None = None,
    precomputed: Moments | None = None,
) -> MahalanobisResult:
    """Compare the squared Mahalanobis distances of the cloud with chi2(d).

    Parameters
    ----------
    z : array_like, shape (n, d)
        Latent vectors.
    reference : {"chi2", "beta"}, default "chi2"
        chi2(d), the large-``n`` law; or the exact law of in-sample distances
        under normality, ``(n-1)**2/n * Beta(d/2, (n-d-1)/2)``
        (Gnanadesikan & Kettenring 1972), which matters when ``n`` is not
        much larger than ``d``.
    core_probs : sequence of float, default (0.5, 0.9, 0.99, 0.999)
        Probabilities of the reference quantiles for the core/tail table.
    n_points : int, default 400
        Points of the QQ data (evenly spaced in probability, plus the extreme
        tails).
    shrinkage : float, optional
        Regularise the covariance (warns; the reference law then no longer
        holds exactly).
    precomputed : Moments, optional
        Mean and covariance of ``z``.

    Returns
    -------
    MahalanobisResult
        Distances, moments against ``d`` and ``2 d``, QQ data and the
        normal-core table.

    Notes
    -----
    For a d-variate normal, ``d2`` follows chi2(d): mean ``d``, variance
    ``2 d``. Heavy tails show as a variance above ``2 d`` and tail ratios
    above 1; a cloud that is "hollow" or bounded shows the opposite. In
    high dimension almost no point lies near the centre: the bulk sits at
    ``d2 ≈ d``, i.e. at distance ``≈ sqrt(d)`` standard deviations.

    References
    ----------
    .. [1] R. Gnanadesikan, J. R. Kettenring, Biometrics 28 (1972) 81–124.

    Examples
    --------
    >>> import numpy as np
    >>> r = mahalanobis_chi2(np.random.default_rng(0).normal(size=(20000, 8)))
    >>> abs(r.mean_d2 - 8) < 0.01
    True
    """
    z, mom = _moments_for(z, shrinkage, precomputed)
    n, d = z.shape
    ref = _ref_dist(reference, n, d)
    d2 = _d2(z, mom.mean, mom.whitener())
    probs = check_probabilities(core_probs, "core_probs")
    observed = np.array([np.mean(d2 <= ref.ppf(p)) for p in probs])
    m = min(int(n_points), n)
    p_qq = (np.arange(1, m + 1) - 0.5) / m
    if n > m:  # keep the extreme order statistics so outliers stay visible
        p_qq = np.concatenate([[0.5 / n], p_qq, [1 - 0.5 / n]])
    return MahalanobisResult(
        d2=d2,
        d=d,
        n_samples=n,
        reference=reference,
        mean_d2=float(d2.mean()),
        var_d2=float(d2.var(ddof=1)),
        expected_mean=float(ref.mean()),
        expected_var=float(ref.var()),
        qq_theoretical=ref.ppf(p_qq),
        qq_sample=np.quantile(d2, p_qq, method="hazen"),
        core_probs=probs,
        core_observed=observed,
        tail_ratio=(1 - observed) / (1 - probs),
    )


@dataclass(frozen=True, eq=False)
class MardiaResult:
    """Mardia's multivariate skewness and kurtosis tests.

    Arrays have one entry per subsample.

    Attributes
    ----------
    d : int
        Dimension.
    n_sub : int
        Subsample size of the skewness test (and the subsample kurtosis).
    skewness : ndarray
        ``b1 = (1/n²) Σ_ij g_ij³``, ``g_ij = (x_i - m)^T S^{-1} (x_j - m)``.
    skew_statistic : ndarray
        ``k n b1 / 6`` with Mardia's (1974) small-sample factor ``k``.
    skew_df : float
        ``d (d + 1) (d + 2) / 6``.
    skew_pvalue : ndarray
        chi2(skew_df) upper-tail p-value.
    kurtosis : ndarray
        ``b2 = (1/n) Σ_i g_ii²`` on each subsample.
    kurtosis_expected : float
        Exact mean of ``b2`` under normality for ``n_sub``,
        ``d (d + 2) (n - 1) / (n + 1)`` (→ ``d (d + 2)``).
    kurtosis_z, kurtosis_pvalue : ndarray
        Standardised ``b2`` (exact mean and variance) and two-sided p-value.
    n_samples : int
        Size of the full sample.
    full_kurtosis, full_kurtosis_expected, full_kurtosis_z, full_kurtosis_pvalue : float
        The kurtosis test on all ``n_samples`` vectors (cheap: it needs only
        the ``n`` Mahalanobis distances).
    """

    d: int
    n_sub: int
    skewness: np.ndarray
    skew_statistic: np.ndarray
    skew_df: float
    skew_pvalue: np.ndarray
    kurtosis: np.ndarray
    kurtosis_expected: float
    kurtosis_z: np.ndarray
    kurtosis_pvalue: np.ndarray
    n_samples: int
    full_kurtosis: float
    full_kurtosis_expected: float
    full_kurtosis_z: float
    full_kurtosis_pvalue: float

    def share_rejected(self, alpha: float = 0.05) -> dict[str, float]:
        """Share of subsamples rejecting normality at ``alpha``, per test."""
        return {
            "skewness": float(np.mean(self.skew_pvalue < alpha)),
            "kurtosis": float(np.mean(self.kurtosis_pvalue < alpha)),
        }


def _kurtosis_test(b2: float, n: int, d: int) -> tuple[float, float, float]:
    # exact moments of b2 under normality (Mardia 1974); the asymptotic
    # N(d(d+2), 8d(d+2)/n) is badly off when d is not small against n
    e = d * (d + 2) * (n - 1) / (n + 1)
    v = 8.0 * d * (d + 2) * (n - 3) * (n - d - 1) * (n - d + 1) / ((n + 1) ** 2 * (n + 3) * (n + 5))
    zval = (b2 - e) / np.sqrt(v)
    return e, float(zval), float(2 * stats.norm.sf(abs(zval)))


def mardia_statistics(x, *, block: int = 1024) -> tuple[float, float, float, float, float, float]:
    """Mardia's b1 and b2 of one sample, with their tests.

    Parameters
    ----------
    x : array_like, shape (n, d)
        The sample (``n > d + 1``). The skewness needs all ``n²`` products
        ``g_ij``; they are formed in blocks of ``block`` rows, so memory stays
        ``O(block * n)`` but time grows as ``n² d`` — use a subsample of a few
        thousand rows (see :func:`mardia`).

    Returns
    -------
    b1, skew_statistic, skew_pvalue, b2, kurtosis_z, kurtosis_pvalue : float

    Notes
    -----
    ``S`` is the biased covariance (divisor ``n``), as in Mardia (1970). The
    skewness statistic is ``k n b1 / 6`` with
    ``k = (d+1)(n+1)(n+3) / (n ((n+1)(d+1) - 6))``, Mardia's (1974)
    correction that matches the exact mean of ``b1``; without it the test is
    far too conservative when ``d`` is in the hundreds. The kurtosis is
    standardised with its exact mean ``d(d+2)(n-1)/(n+1)`` and variance
    ``8d(d+2)(n-3)(n-d-1)(n-d+1) / ((n+1)²(n+3)(n+5))``.

    References
    ----------
    .. [1] K. V. Mardia, Biometrika 57 (1970) 519–530.
    .. [2] K. V. Mardia, Sankhyā B 36 (1974) 115–128.
    """
    x = np.asarray(check_latents(x, name="x", min_samples=3), dtype=np.float64)
    n, d = x.shape
    if n <= d + 1:
        raise ValueError(f"Mardia's tests need more samples than dimensions + 1; got n={n}, d={d}.")
    c = x - x.mean(axis=0)
    s_biased = c.T @ c / n
    try:
        chol = np.linalg.cholesky(s_biased)
    except np.linalg.LinAlgError:
        raise ValueError(
            "the sample covariance is singular (collinear components); Mardia's "
            "statistics are undefined. Remove redundant components."
        ) from None
    y = np.linalg.solve(chol, c.T).T  # g_ij = y_i . y_j
    total = 0.0
    for a in range(0, n, block):
        ya = y[a : a + block]
        g = ya @ y[a:].T  # upper block-triangle only; the rest by symmetry
        g *= g * g
        bsz = ya.shape[0]
        # the diagonal block holds every (i, j) pair of this block once; pairs
        # with a later block stand for themselves and their mirror image
        total += g[:, :bsz].sum() + 2.0 * g[:, bsz:].sum()
    b1 = total / n**2
    df = d * (d + 1) * (d + 2) / 6.0
    k = (d + 1) * (n + 1) * (n + 3) / (n * ((n + 1) * (d + 1) - 6))
    stat = k * n * b1 / 6.0
    d2 = np.einsum("ij,ij->i", y, y)
    b2 = float(np.mean(d2**2))
    _, kz, kp = _kurtosis_test(b2, n, d)
    return float(b1), float(stat), float(stats.chi2.sf(stat, df)), b2, kz, kp


def mardia(
    z,
    *,
    rng: np.random.Generator,
    n_sub: int = 2000,
    n_repeats: int = 3,
    d2=None,
) -> MardiaResult:
    """Mardia's multivariate skewness and kurtosis tests on subsamples.

    Parameters
    ----------
    z : array_like, shape (n, d)
        Latent vectors.
    rng : numpy.random.Generator
        Draws the subsamples.
    n_sub : int, default 2000
        Subsample size (must exceed ``d + 1``). The skewness costs
        ``O(n_sub² d)`` time; 2000 x 512 takes about a second.
    n_repeats : int, default 3
        Number of subsamples (1 if ``n <= n_sub``: then the whole sample).
    d2 : array_like, shape (n,), optional
        Squared Mahalanobis distances of all of ``z`` (ddof=1 covariance, as
        in :attr:`MahalanobisResult.d2`), to reuse for the full-sample
        kurtosis; computed if omitted.

    Returns
    -------
    MardiaResult
        Skewness and kurtosis with p-values per subsample, plus the
        kurtosis test on the whole sample.

    Notes
    -----
    Mardia's tests are written here because no well-maintained Python
    library offers them (pingouin has Henze–Zirkler only). The skewness
    statistic needs the ``n x n`` matrix of ``g_ij``: it is evaluated on
    subsamples of at most ``n_sub`` rows, in blocks, never as one ``n x n``
    array. See :func:`mardia_statistics` for the small-sample corrections,
    which keep the tests calibrated at ``d = 512``.

    References
    ----------
    .. [1] K. V. Mardia, "Measures of multivariate skewness and kurtosis with
       applications", Biometrika 57 (1970) 519–530.
    .. [2] K. V. Mardia, Sankhyā B 36 (1974) 115–128.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> r = mardia(rng.normal(size=(3000, 4)), rng=rng, n_sub=500, n_repeats=2)
    >>> r.skew_df
    20.0
    """
    z = check_latents(z)
    rng = check_rng(rng)
    n, d = z.shape
    n_sub = int(n_sub)
    if n_sub <= d + 1:
        raise ValueError(
            f"n_sub={n_sub} must exceed d + 1 = {d + 1}: Mardia's statistics need a "
            "non-singular subsample covariance. Increase n_sub (e.g. 4 * d)."
        )
    if n <= d + 1:
        raise ValueError(f"z has n={n} samples for d={d}; Mardia's tests need n > d + 1.")
    reps = 1 if n <= n_sub else int(n_repeats)
    if reps < 1:
        raise ValueError(f"n_repeats must be >= 1; got {n_repeats}.")
    m = min(n_sub, n)
    res = []
    for _ in range(reps):
        rows = np.arange(n) if m == n else np.sort(rng.choice(n, size=m, replace=False))
        res.append(mardia_statistics(z[rows]))
    res = np.array(res, dtype=float)
    if d2 is None:
        d2 = mahalanobis_sq(z)
    d2 = np.asarray(d2, dtype=float)
    if d2.shape != (n,):
        raise ValueError(f"d2 must have shape ({n},); got {d2.shape}.")
    b2_full = float(np.mean((d2 * n / (n - 1)) ** 2))  # ddof=1 -> biased covariance
    e_full, z_full, p_full = _kurtosis_test(b2_full, n, d)
    e_sub, _, _ = _kurtosis_test(0.0, m, d)
    return MardiaResult(
        d=d,
        n_sub=m,
        skewness=res[:, 0],
        skew_statistic=res[:, 1],
        skew_df=d * (d + 1) * (d + 2) / 6.0,
        skew_pvalue=res[:, 2],
        kurtosis=res[:, 3],
        kurtosis_expected=float(e_sub),
        kurtosis_z=res[:, 4],
        kurtosis_pvalue=res[:, 5],
        n_samples=n,
        full_kurtosis=b2_full,
        full_kurtosis_expected=float(e_full),
        full_kurtosis_z=z_full,
        full_kurtosis_pvalue=p_full,
    )


@dataclass(frozen=True)
class HZCalibration:
    """The Henze–Zirkler test on simulated normal samples of one size and dimension.

    Attributes
    ----------
    n, d : int
        Sample size and dimension simulated.
    alpha : float
        Significance level.
    n_sim : int
        Number of simulated normal samples.
    rejection_rate : float
        Share of them the test rejects at ``alpha`` (``alpha`` for a test that
        holds its level).
    pvalue_max : float
        Largest p-value seen (about 1 for a calibrated test; stuck near 0.5
        once the statistic no longer varies).
    binom_pvalue : float
        Two-sided binomial test of the rejection count against ``alpha``.
    """

    #: A calibration whose rejection count is this unlikely under the level
    #: ``alpha`` (two-sided binomial test) marks the test as miscalibrated;
    #: 0.01 keeps false alarms for a well calibrated test at 1 %.
    BINOM_LEVEL: ClassVar[float] = 0.01

    n: int
    d: int
    alpha: float
    n_sim: int
    rejection_rate: float
    pvalue_max: float
    binom_pvalue: float

    @property
    def calibrated(self) -> bool:
        """Whether the simulated rejection rate is consistent with ``alpha``."""
        return bool(self.binom_pvalue >= self.BINOM_LEVEL)


def hz_calibration(n: int, d: int, *, rng: np.random.Generator, alpha: float = 0.05,
                   n_sim: int = 300) -> HZCalibration:
    """Rejection rate of the Henze–Zirkler test on simulated normal data at ``(n, d)``.

    Parameters
    ----------
    n : int
        Sample size (> d).
    d : int
        Dimension (>= 2).
    rng : numpy.random.Generator
        Draws the normal samples.
    alpha : float, default 0.05
        Significance level.
    n_sim : int, default 300
        Simulated samples (the rate's s.d. is ``sqrt(alpha (1 - alpha) / n_sim)``,
        0.013 by default).

    Returns
    -------
    HZCalibration

    Notes
    -----
    pingouin's p-value comes from a log-normal approximation of the null law
    with Henze & Zirkler's asymptotic moments, which is good for small ``d``
    only. On normal data with n = 500 the test rejects about 2 % of samples
    at alpha = 0.05 for d = 50 (p never above about 0.75), none at d = 80,
    and from d ≈ 150 p ≈ 0.5 whatever the data. Whether a test at the
    ``(n, d)`` in use holds its level is therefore checked here by
    simulation, not inferred from the null moments.
    """
    import pingouin

    rng = check_rng(rng)
    n, d, n_sim = int(n), int(d), int(n_sim)
    if d < 2 or n <= d:
        raise ValueError(f"need d >= 2 and n > d; got n={n}, d={d}.")
    if n_sim < 1:
        raise ValueError(f"n_sim must be >= 1; got {n_sim}.")
    p = np.array([float(pingouin.multivariate_normality(rng.standard_normal((n, d)), alpha=alpha).pval)
                  for _ in range(n_sim)])
    k = int(np.sum(p < alpha))
    return HZCalibration(n=n, d=d, alpha=float(alpha), n_sim=n_sim, rejection_rate=k / n_sim,
                         pvalue_max=float(p.max()),
                         binom_pvalue=float(stats.binomtest(k, n_sim, alpha).pvalue))


@functools.lru_cache(maxsize=64)
def _calibration(n: int, d: int, alpha: float, n_sim: int) -> HZCalibration:
    # the calibration is a property of the test at (n, d), not of the data:
    # a seed fixed by (n, d, n_sim) makes it reproducible and lets a process
    # (e.g. the sweep, many clouds of one shape) compute it once
    return hz_calibration(n, d, rng=np.random.default_rng([n, d, n_sim, 7]), alpha=alpha, n_sim=n_sim)


@dataclass(frozen=True, eq=False)
class HZResult:
    """Henze–Zirkler tests on subsamples, with the test's calibration at that size.

    Attributes
    ----------
    statistic, pvalue : ndarray
        One entry per subsample (pingouin's values).
    n_sub : int
        Subsample size.
    d : int
        Dimension.
    alpha : float
        Significance level.
    calibration : HZCalibration or None
        The test on simulated normal samples of the same ``(n_sub, d)``
        (None if not run).
    """

    statistic: np.ndarray
    pvalue: np.ndarray
    n_sub: int
    d: int
    alpha: float
    calibration: HZCalibration | None = None

    @property
    def calibrated(self) -> bool:
        """The test holds its level at this ``(n_sub, d)`` (True when not checked)."""
        return self.calibration is None or self.calibration.calibrated

    @property
    def degenerate(self) -> bool:
        """``not calibrated`` (kept for older callers)."""
        return not self.calibrated

    @property
    def null_rejection_rate(self) -> float:
        """Rejection rate on simulated normal data (NaN if not checked)."""
        return float("nan") if self.calibration is None else self.calibration.rejection_rate

    @property
    def share_rejected(self) -> float:
        """Share of subsamples rejecting normality at ``alpha`` (NaN if miscalibrated)."""
        if not self.calibrated:
            return float("nan")
        return float(np.mean(self.pvalue < self.alpha))


def hz_null_relative_sd(n: int, d: int) -> float:
    """Relative spread (s.d. / mean) of the Henze–Zirkler statistic under normality.

    Parameters
    ----------
    n : int
        Sample size.
    d : int
        Dimension.

    Returns
    -------
    float
        ``sqrt(var) / mean`` of the null distribution, from the moments that
        Henze & Zirkler give and pingouin uses for its log-normal p-value.
        It shrinks quickly with ``d``, but it is not what decides whether the
        test can be used: the log-normal p-value is already miscalibrated at
        d = 50 (n = 500), long before the spread reaches rounding level. Use
        :func:`hz_calibration` for that.

    References
    ----------
    .. [1] N. Henze, B. Zirkler, Comm. Statist. Theory Methods 19 (1990)
       3595–3617.
    """
    if int(n) < 2 or int(d) < 1:
        raise ValueError(f"need n >= 2 and d >= 1; got n={n!r}, d={d!r}.")
    return _hz_null_rel_sd(int(n), int(d))


def _hz_null_rel_sd(n: int, p: int) -> float:
    # relative null s.d. of the HZ statistic, from the moments pingouin uses
    b = 1 / np.sqrt(2) * ((2 * p + 1) / 4) ** (1 / (p + 4)) * n ** (1 / (p + 4))
    wb = (1 + b**2) * (1 + 3 * b**2)
    a = 1 + 2 * b**2
    mu = 1 - a ** (-p / 2) * (1 + p * b**2 / a + (p * (p + 2) * b**4) / (2 * a**2))
    si2 = (
        2 * (1 + 4 * b**2) ** (-p / 2)
        + 2 * a ** (-p) * (1 + (2 * p * b**4) / a**2 + (3 * p * (p + 2) * b**8) / (4 * a**4))
        - 4 * wb ** (-p / 2) * (1 + (3 * p * b**4) / (2 * wb) + (p * (p + 2) * b**8) / (2 * wb**2))
    )
    return float(np.sqrt(max(si2, 0.0)) / mu)


def henze_zirkler(
    z,
    *,
    rng: np.random.Generator,
    n_sub: int = 500,
    n_repeats: int = 5,
    alpha: float = 0.05,
    n_calibration: int = 300,
) -> HZResult:
    """Henze–Zirkler multivariate normality test on random subsamples.

    Parameters
    ----------
    z : array_like, shape (n, d)
        Latent vectors (``d >= 2``).
    rng : numpy.random.Generator
        Draws the subsamples. The calibration uses its own seed, fixed by
        ``(n_sub, d, n_calibration)``, and is computed once per process.
    n_sub : int, default 500
        Subsample size (must exceed ``d``; the test forms ``n_sub x n_sub``
        matrices).
    n_repeats : int, default 5
        Number of subsamples.
    alpha : float, default 0.05
        Significance level.
    n_calibration : int, default 300
        Normal samples of size ``n_sub`` and dimension ``d`` simulated to
        check that the test holds its level (:func:`hz_calibration`); 0
        skips the check.

    Returns
    -------
    HZResult
        Statistics and p-values per subsample, and the calibration.

    Notes
    -----
    Uses :func:`pingouin.multivariate_normality`, whose log-normal p-value
    loses its calibration as ``d`` grows (at n = 500: rejection rate 0.02
    at d = 50, 0 at d = 80, p ≈ 0.5 whatever the data from d ≈ 150). The
    test is therefore run once more on simulated normal data of the same
    size; if its rejection rate is not consistent with ``alpha`` a warning
    says so and :attr:`HZResult.share_rejected` is NaN — test the leading
    principal components instead (e.g.
    ``henze_zirkler(pca_result.transform(z, 20), ...)``).

    References
    ----------
    .. [1] N. Henze, B. Zirkler, "A class of invariant consistent tests for
       multivariate normality", Comm. Statist. Theory Methods 19 (1990)
       3595–3617.
    """
    import pingouin

    z = check_latents(z)
    rng = check_rng(rng)
    n, d = z.shape
    if d < 2:
        raise ValueError("the Henze–Zirkler test needs at least two components.")
    m = min(int(n_sub), n)
    if m <= d:
        raise ValueError(
            f"n_sub={m} must exceed the dimension d={d}: with fewer samples the "
            "covariance is singular and pingouin reports rejection regardless of "
            "the data. Increase n_sub or test fewer (e.g. principal) components."
        )
    stat, pval = [], []
    for _ in range(1 if m == n else int(n_repeats)):
        rows = np.arange(n) if m == n else np.sort(rng.choice(n, size=m, replace=False))
        res = pingouin.multivariate_normality(np.asarray(z[rows], dtype=np.float64), alpha=alpha)
        stat.append(float(res.hz))
        pval.append(float(res.pval))
    cal = _calibration(m, d, float(alpha), int(n_calibration)) if n_calibration else None
    if cal is not None and not cal.calibrated:
        warnings.warn(
            f"Henze–Zirkler test is miscalibrated for d={d}, n_sub={m}: on simulated "
            f"normal data it rejects {cal.rejection_rate:.1%} at alpha={alpha:g} "
            f"(largest p {cal.pvalue_max:.2f}); share_rejected is NaN. Test leading "
            "principal components instead.",
            RuntimeWarning,
            stacklevel=2,
        )
    return HZResult(statistic=np.array(stat), pvalue=np.array(pval), n_sub=m, d=d,
                    alpha=float(alpha), calibration=cal)


@dataclass(frozen=True)
class D2Split:
    """Where the variance of the squared Mahalanobis distances comes from.

    With whitened principal-component scores ``w_k`` (unit variance,
    uncorrelated), ``d² = Σ_k w_k²`` and
    ``var(d²) = Σ_k var(w_k²) + Σ_{k≠l} cov(w_k², w_l²)``.

    Attributes
    ----------
    d : int
        Dimension.
    var_d2 : float
        Variance of ``d²`` (ddof=1).
    var_marginal : float
        ``Σ_k var(w_k²)``: the variance ``d²`` would have if the axes were
        independent with their measured marginal distributions (``2 d`` if
        they are also normal; each axis adds ``2 + excess kurtosis``).
    var_dependence : float
        ``Σ_{k≠l} cov(w_k², w_l²) = var_d2 - var_marginal``: the part due to
        squared scores that move together (0 for a normal cloud, whose axes
        are independent).
    mean_square_correlation : float
        ``var_dependence / Σ_{k≠l} sd(w_k²) sd(w_l²)``, the (s.d.-weighted)
        mean correlation between the squared scores of two axes.
    """

    d: int
    var_d2: float
    var_marginal: float
    var_dependence: float
    mean_square_correlation: float

    @property
    def expected_normal(self) -> float:
        """``2 d``, the variance of ``d²`` in a normal cloud."""
        return 2.0 * self.d

    @property
    def dependence_share(self) -> float:
        """``var_dependence / var_d2``."""
        return self.var_dependence / self.var_d2


def d2_variance_split(z, pca: PCAResult) -> D2Split:
    """Split the variance of ``d²`` into single-axis and co-variation parts.

    Parameters
    ----------
    z : array_like, shape (n, d)
        Latent vectors (the sample ``pca`` was fitted to).
    pca : PCAResult
        Its principal components (:func:`lsreport.stats.fit_pca`).

    Returns
    -------
    D2Split
        The variance of ``d²``, the part its axes explain one by one, and the
        part that comes from squared scores moving together.

    Notes
    -----
    Heavy tails of ``d²`` can have two causes. Heavy-tailed but independent
    axes add their excess kurtoses to ``var_marginal``. A *scale mixture* —
    every vector is ``m + s g`` with ``g`` normal and a random scale ``s``,
    as in a multivariate t distribution — keeps every projection elliptic
    and its marginals only mildly heavy-tailed, but makes all squared scores
    grow and shrink together: then ``var_dependence`` dominates. For a
    multivariate t with ``nu`` degrees of freedom the correlation of two
    squared scores is ``1 / (nu - 1)``.

    Examples
    --------
    >>> import numpy as np
    >>> from lsreport.stats import fit_pca
    >>> z = np.random.default_rng(0).normal(size=(20000, 4))
    >>> s = d2_variance_split(z, fit_pca(z))
    >>> abs(s.var_marginal / s.expected_normal - 1) < 0.1
    True
    """
    z = check_latents(z)
    n, d = z.shape
    if pca.n_components != d:
        raise ValueError(f"pca has {pca.n_components} components; z has {d}.")
    s1 = np.zeros(d)  # Σ w², Σ w⁴ per axis
    s2 = np.zeros(d)
    d2 = np.empty(n)
    for start in range(0, n, CHUNK_ROWS):
        w2 = pca.transform(z[start : start + CHUNK_ROWS], whiten=True) ** 2
        s1 += w2.sum(axis=0)
        s2 += (w2 * w2).sum(axis=0)
        d2[start : start + CHUNK_ROWS] = w2.sum(axis=1)
    var_k = (s2 - s1**2 / n) / (n - 1)
    var_d2 = float(d2.var(ddof=1))
    var_marginal = float(var_k.sum())
    sd = np.sqrt(var_k)
    cross = float(sd.sum() ** 2 - var_k.sum())
    dep = var_d2 - var_marginal
    return D2Split(d=d, var_d2=var_d2, var_marginal=var_marginal, var_dependence=dep,
                   mean_square_correlation=dep / cross if cross > 0 else float("nan"))
