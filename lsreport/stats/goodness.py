"""Univariate normality of each latent component: tests, effect sizes, QQ data.

With 16,000 to 200,000 latent vectors every normality test rejects even a
deviation too small to matter, so a p-value on the full sample answers the
wrong question. This module therefore reports three things side by side:

* the tests on the full sample (:func:`normality_tests`): Lilliefors,
  Anderson–Darling, Jarque–Bera and the D'Agostino–Pearson omnibus test;
* the same tests on many random subsamples of fixed, modest size
  (:func:`subsample_tests`), summarised as the share of components that pass
  at level ``alpha`` — against the share of simulated normal samples that
  pass (:func:`null_pass_share`; near, not at, ``1 - alpha``);
* effect sizes that do not grow with ``n``: sample skewness, excess kurtosis
  and the Kolmogorov distance ``D`` (the Lilliefors statistic, the largest gap
  between the empirical CDF and the fitted normal CDF).

The four tests are computed here in one vectorised pass over blocks of
components (one sort per component), which is what makes 512 components of
200,000 samples affordable. The formulas are those of statsmodels
(``lilliefors``, ``normal_ad``, ``jarque_bera``, ``omni_normtest``); the
test-suite checks agreement with statsmodels to near machine precision.

References
----------
.. [1] H. W. Lilliefors, "On the Kolmogorov–Smirnov test for normality with
   mean and variance unknown", JASA 62 (1967) 399–402.
.. [2] M. A. Stephens, "Tests based on EDF statistics", in D'Agostino &
   Stephens (eds.), Goodness-of-Fit Techniques, Dekker (1986).
.. [3] R. B. D'Agostino, A. Belanger, R. B. D'Agostino Jr., "A suggestion for
   using powerful and informative tests of normality", The American
   Statistician 44 (1990) 316–321.
.. [4] R. Mönchmeyer, "Autoencoders, latent space and the curse of high
   dimensionality", linux-blog.anracom.com (2023).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from ._validate import check_components, check_latents, check_n_jobs, check_rng, check_sizes, map_blocks

try:  # the vectorised p-value table behind statsmodels' public `lilliefors`
    from statsmodels.stats._lilliefors import get_lilliefors_table as _lf_table
except ImportError:  # pragma: no cover - fall back to the public per-column call
    _lf_table = None

__all__ = [
    "TESTS",
    "TEST_NAMES",
    "GoodnessResult",
    "SubsampleGoodness",
    "QQData",
    "normality_tests",
    "subsample_tests",
    "qq_data",
    "pass_share_table",
    "null_pass_share",
    "effect_size_se",
]

#: Names of the tests, in the order used by the arrays of the results.
TESTS = ("lilliefors", "anderson_darling", "jarque_bera", "omnibus")
#: Names of the tests for tables and legends.
TEST_NAMES = {"lilliefors": "Lilliefors", "anderson_darling": "Anderson–Darling",
              "jarque_bera": "Jarque–Bera", "omnibus": "D'Agostino–Pearson omnibus"}
_COL_BLOCK = 32


def _ad_pvalue(a2: np.ndarray, n: int) -> np.ndarray:
    """Stephens' (1986) p-value for A² with estimated mean and variance.

    Same piecewise formula as ``statsmodels.stats.diagnostic.normal_ad``;
    beyond the table (A*² > 13) the p-value is reported as 0 (< 5e-31), as
    the scalar branch of statsmodels does.
    """
    a = a2 * (1 + 0.75 / n + 2.25 / n**2)
    p = np.empty_like(a)
    c = [a < 0.2, (a >= 0.2) & (a < 0.34), (a >= 0.34) & (a < 0.6), (a >= 0.6) & (a <= 13), a > 13]
    p[c[0]] = 1 - np.exp(-13.436 + 101.14 * a[c[0]] - 223.73 * a[c[0]] ** 2)
    p[c[1]] = 1 - np.exp(-8.318 + 42.796 * a[c[1]] - 59.938 * a[c[1]] ** 2)
    p[c[2]] = np.exp(0.9177 - 4.279 * a[c[2]] - 1.38 * a[c[2]] ** 2)
    p[c[3]] = np.exp(1.2937 - 5.709 * a[c[3]] + 0.0186 * a[c[3]] ** 2)
    p[c[4]] = 0.0
    return p


def _skewtest_z(g1: np.ndarray, n: int) -> np.ndarray:
    # D'Agostino (1970) transformation of the sample skewness, as scipy.stats.skewtest
    y = g1 * np.sqrt(((n + 1) * (n + 3)) / (6.0 * (n - 2)))
    beta2 = 3.0 * (n**2 + 27 * n - 70) * (n + 1) * (n + 3) / ((n - 2.0) * (n + 5) * (n + 7) * (n + 9))
    w2 = -1 + np.sqrt(2 * (beta2 - 1))
    delta = 1 / np.sqrt(0.5 * np.log(w2))
    alpha = np.sqrt(2.0 / (w2 - 1))
    y = np.where(y == 0, 1, y)
    return delta * np.log(y / alpha + np.sqrt((y / alpha) ** 2 + 1))


def _kurtosistest_z(b2: np.ndarray, n: int) -> np.ndarray:
    # Anscombe & Glynn (1983) transformation of the sample kurtosis, as scipy.stats.kurtosistest
    e = 3.0 * (n - 1) / (n + 1)
    varb2 = 24.0 * n * (n - 2) * (n - 3) / ((n + 1) * (n + 1.0) * (n + 3) * (n + 5))
    x = (b2 - e) / np.sqrt(varb2)
    sqrtbeta1 = 6.0 * (n * n - 5 * n + 2) / ((n + 7) * (n + 9)) * np.sqrt((6.0 * (n + 3) * (n + 5)) / (n * (n - 2) * (n - 3)))
    a = 6.0 + 8.0 / sqrtbeta1 * (2.0 / sqrtbeta1 + np.sqrt(1 + 4.0 / sqrtbeta1**2))
    term1 = 1 - 2 / (9.0 * a)
    denom = 1 + x * np.sqrt(2 / (a - 4.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        term2 = np.sign(denom) * np.where(denom == 0.0, np.nan, ((1 - 2.0 / a) / np.abs(denom)) ** (1 / 3.0))
    return (term1 - term2) / np.sqrt(2 / (9.0 * a))


def _block_tests(block: np.ndarray) -> dict[str, np.ndarray]:
    """All statistics for the rows of ``block`` (one row per component)."""
    n = block.shape[1]
    # one sort serves the EDF tests; sorting before the float64 cast keeps
    # float32 latents cheap (the statistics are invariant to the order of rows)
    c = np.sort(block, axis=1).astype(np.float64, copy=False)
    c -= c.mean(axis=1, keepdims=True)
    c2 = c * c
    m2 = c2.mean(axis=1)
    m3 = (c2 * c).mean(axis=1)
    m4 = (c2 * c2).mean(axis=1)
    del c2
    g1 = m3 / m2**1.5
    b2 = m4 / m2**2
    c *= 1.0 / np.sqrt(m2 * n / (n - 1))[:, None]  # w, standardised (ddof=1)
    i = np.arange(1, n + 1, dtype=float)
    cdf = special.ndtr(c)  # Phi(w)
    d_ks = np.maximum((i / n - cdf).max(axis=1), (cdf - (i - 1) / n).max(axis=1))
    del cdf
    # log Phi directly: log(Phi(w)) underflows to -inf beyond about 38 sd, so
    # one far outlier would make A^2 infinite
    log_terms = special.log_ndtr(c)
    log_terms += special.log_ndtr(-c[:, ::-1])  # log(1 - Phi(w_{n+1-i}))
    del c
    a2 = -n - ((2 * i - 1) / n * log_terms).sum(axis=1)
    del log_terms
    jb = n / 6.0 * (g1**2 + (b2 - 3) ** 2 / 4.0)
    k2 = _skewtest_z(g1, n) ** 2 + _kurtosistest_z(b2, n) ** 2
    if _lf_table is not None:
        p_lf = np.atleast_1d(np.asarray(_lf_table("norm").prob(np.atleast_1d(d_ks), n), dtype=float))
        if p_lf.size != d_ks.size:  # scalar branch of TableDist for a single row
            p_lf = np.full(d_ks.size, float(p_lf[0]))
    else:  # pragma: no cover
        from statsmodels.stats.diagnostic import lilliefors

        p_lf = np.array([lilliefors(row)[1] for row in block])
    return {
        "skewness": g1,
        "excess_kurtosis": b2 - 3.0,
        "lilliefors_stat": d_ks,
        "lilliefors_p": p_lf,
        "ad_stat": a2,
        "ad_p": _ad_pvalue(a2, n),
        "jb_stat": jb,
        "jb_p": stats.chi2.sf(jb, 2),
        "omnibus_stat": k2,
        "omnibus_p": stats.chi2.sf(k2, 2),
    }


def _columns_tests(z: np.ndarray, idx: np.ndarray, rows=None, n_jobs: int = 1) -> dict[str, np.ndarray]:
    def one(cols):
        sub = z[:, cols] if rows is None else z[rows[:, None], cols]
        return _block_tests(np.ascontiguousarray(sub.T))

    blocks = [idx[s : s + _COL_BLOCK] for s in range(0, idx.size, _COL_BLOCK)]
    parts = map_blocks(one, blocks, n_jobs)
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


#: Values simulated at most per block of :func:`null_pass_share` (memory).
_NULL_BLOCK_VALUES = 2_000_000


def null_pass_share(
    n: int, *, alpha: float = 0.05, n_sim: int = 2000, rng: np.random.Generator | None = None, seed: int = 0,
) -> np.ndarray:
    """Share of normal samples of size ``n`` that pass each test at ``alpha``, simulated.

    Parameters
    ----------
    n : int
        Sample size (at least 20).
    alpha : float, default 0.05
        Significance level.
    n_sim : int, default 2000
        Simulated normal samples (the share's s.d. is about
        ``sqrt(alpha (1 - alpha) / n_sim)``, 0.005 by default).
    rng : numpy.random.Generator, optional
        Source of the samples; default ``numpy.random.default_rng(seed)``.
    seed : int, default 0
        Seed when ``rng`` is not given.

    Returns
    -------
    ndarray, shape (len(TESTS),)
        One share per test in the order of :data:`TESTS`.

    Notes
    -----
    The share a normal component is expected to pass is ``1 - alpha`` only
    if the test holds its level exactly. At n = 500 Jarque–Bera (chi2(2)
    p-values, slow to converge) passes about 0.936 of normal samples, the
    omnibus test 0.930 and Lilliefors (tabulated, conservative) 0.969;
    this simulation is the honest "expected if normal" at each ``n``.
    """
    n = int(n)
    if n < 20:
        raise ValueError(f"n must be at least 20; got {n}.")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1); got {alpha!r}.")
    rng = np.random.default_rng(seed) if rng is None else check_rng(rng)
    n_sim = int(n_sim)
    if n_sim < 1:
        raise ValueError(f"n_sim must be >= 1; got {n_sim}.")
    keys = ("lilliefors_p", "ad_p", "jb_p", "omnibus_p")
    passed = np.zeros(len(keys))
    per_block = max(1, _NULL_BLOCK_VALUES // n)
    done = 0
    while done < n_sim:
        m = min(per_block, n_sim - done)
        res = _block_tests(rng.standard_normal((m, n)))
        passed += [np.sum(res[k] > alpha) for k in keys]
        done += m
    return passed / n_sim


@dataclass(frozen=True, eq=False)
class GoodnessResult:
    """Normality tests and effect sizes per component on the full sample.

    Attributes
    ----------
    components : ndarray of int
        Component indices.
    n_samples : int
        Sample size of every test.
    skewness, excess_kurtosis : ndarray
        Sample skewness ``g1 = m3 / m2**1.5`` and excess kurtosis
        ``m4 / m2**2 - 3`` (both 0 for a normal distribution).
    lilliefors_stat, lilliefors_p : ndarray
        Kolmogorov distance ``D`` to the fitted normal and its Lilliefors
        p-value (tabulated, clipped to [0.001, 0.99] as in statsmodels).
    ad_stat, ad_p : ndarray
        Anderson–Darling ``A²`` and Stephens' p-value.
    jb_stat, jb_p : ndarray
        Jarque–Bera statistic and chi2(2) p-value.
    omnibus_stat, omnibus_p : ndarray
        D'Agostino–Pearson ``K²`` and chi2(2) p-value.
    """

    components: np.ndarray
    n_samples: int
    skewness: np.ndarray
    excess_kurtosis: np.ndarray
    lilliefors_stat: np.ndarray
    lilliefors_p: np.ndarray
    ad_stat: np.ndarray
    ad_p: np.ndarray
    jb_stat: np.ndarray
    jb_p: np.ndarray
    omnibus_stat: np.ndarray
    omnibus_p: np.ndarray

    def pvalues(self) -> np.ndarray:
        """P-values as an array of shape (len(TESTS), n_components)."""
        return np.stack([self.lilliefors_p, self.ad_p, self.jb_p, self.omnibus_p])

    def share_passing(self, alpha: float = 0.05) -> dict[str, float]:
        """Share of components not rejected at level ``alpha``, per test."""
        return {t: float(np.mean(p > alpha)) for t, p in zip(TESTS, self.pvalues())}

    def share_small_effect(
        self,
        max_abs_skewness: float = 0.5,
        max_abs_excess_kurtosis: float = 1.0,
    ) -> float:
        """Share of components with both effect sizes below the thresholds.

        The defaults (|skewness| < 0.5, |excess kurtosis| < 1) are a common
        rule of thumb for "approximately symmetric and normal-tailed"; they
        are conventions, not a test.
        """
        ok = (np.abs(self.skewness) < max_abs_skewness) & (
            np.abs(self.excess_kurtosis) < max_abs_excess_kurtosis
        )
        return float(ok.mean())

    def to_frame(self):
        """One row per component as a :class:`pandas.DataFrame`."""
        import pandas as pd

        cols = [
            "skewness", "excess_kurtosis", "lilliefors_stat", "lilliefors_p",
            "ad_stat", "ad_p", "jb_stat", "jb_p", "omnibus_stat", "omnibus_p",
        ]
        df = pd.DataFrame({c: getattr(self, c) for c in cols}, index=self.components)
        df.index.name = "component"
        return df


def normality_tests(z, components=None, *, n_jobs: int | None = None) -> GoodnessResult:
    """Univariate normality tests for every latent component on all samples.

    Parameters
    ----------
    z : array_like, shape (n_samples, n_components)
        Latent vectors (at least 20 samples).
    components : sequence of int, optional
        Components to test; all by default.
    n_jobs : int, optional
        Threads working on blocks of components (default 1).

    Returns
    -------
    GoodnessResult
        Statistics, p-values and effect sizes per component.

    Notes
    -----
    The statistics follow statsmodels exactly: Lilliefors (``lilliefors``,
    table p-values), Anderson–Darling (``normal_ad``; p = 0 beyond its table),
    Jarque–Bera (``jarque_bera``) and the omnibus test (``omni_normtest`` =
    ``scipy.stats.normaltest``). They are recomputed here from one sort per
    component so that 512 components × 200,000 samples take seconds.

    With large ``n`` these tests detect departures far too small to matter;
    read the p-values with the effect sizes and with
    :func:`subsample_tests`.

    References
    ----------
    .. [1] H. W. Lilliefors, JASA 62 (1967) 399–402.
    .. [2] M. A. Stephens, in Goodness-of-Fit Techniques, Dekker (1986).
    .. [3] R. B. D'Agostino et al., The American Statistician 44 (1990) 316–321.

    Examples
    --------
    >>> import numpy as np
    >>> z = np.random.default_rng(0).normal(size=(2000, 3))
    >>> r = normality_tests(z)
    >>> r.ad_p.shape
    (3,)
    """
    z = check_latents(z, min_samples=20)
    idx = check_components(components, z.shape[1])
    res = _columns_tests(z, idx, n_jobs=check_n_jobs(n_jobs))
    return GoodnessResult(components=idx, n_samples=z.shape[0], **res)


@dataclass(frozen=True, eq=False)
class SubsampleGoodness:
    """Normality tests repeated on random subsamples of fixed size.

    Attributes
    ----------
    components : ndarray of int
        Component indices.
    sizes : tuple of int
        Subsample sizes.
    n_repeats : int
        Subsamples drawn per size.
    alpha : float
        Significance level.
    tests : tuple of str
        Test names (:data:`TESTS`), first axis of ``pvalues``.
    pvalues : ndarray, shape (n_tests, n_sizes, n_repeats, n_components)
        Every p-value.
    skewness, excess_kurtosis : ndarray, shape (n_sizes, n_repeats, n_components)
        Effect sizes on each subsample.
    null_pass_share : ndarray, shape (n_tests, n_sizes)
        Share of simulated normal samples of each size that pass each test
        (:func:`null_pass_share`): what :attr:`pass_share` should be if every
        marginal were normal.
    """

    components: np.ndarray
    sizes: tuple
    n_repeats: int
    alpha: float
    tests: tuple
    pvalues: np.ndarray
    skewness: np.ndarray
    excess_kurtosis: np.ndarray
    null_pass_share: np.ndarray

    @property
    def pass_rate(self) -> np.ndarray:
        """Share of repeats in which each component passes, shape (tests, sizes, components)."""
        return (self.pvalues > self.alpha).mean(axis=2)

    @property
    def pass_share(self) -> np.ndarray:
        """Share of (component, repeat) tests passing, shape (tests, sizes).

        About :attr:`expected_pass_share` if every marginal is normal.
        """
        return (self.pvalues > self.alpha).mean(axis=(2, 3))

    @property
    def expected_pass_share(self) -> np.ndarray:
        """The pass share expected under normal marginals, shape (tests, sizes).

        Simulated (:attr:`null_pass_share`), not the nominal ``1 - alpha``
        (:attr:`nominal_pass_share`): at n = 500 Jarque–Bera passes only
        about 0.936 of normal samples.
        """
        return self.null_pass_share

    @property
    def nominal_pass_share(self) -> float:
        """``1 - alpha``, the pass share of a test that holds its level exactly."""
        return 1.0 - self.alpha

    def to_frame(self):
        """Pass shares as a :class:`pandas.DataFrame` (rows: test, columns: size)."""
        import pandas as pd

        df = pd.DataFrame(self.pass_share, index=list(self.tests), columns=list(self.sizes))
        df.index.name = "test"
        df.columns.name = "subsample size"
        return df


def subsample_tests(
    z,
    *,
    rng: np.random.Generator,
    sizes=(500, 2000),
    n_repeats: int = 20,
    alpha: float = 0.05,
    components=None,
    n_jobs: int | None = None,
    n_null: int = 2000,
) -> SubsampleGoodness:
    """Run the normality tests on random subsamples of fixed size.

    Parameters
    ----------
    z : array_like, shape (n_samples, n_components)
        Latent vectors.
    rng : numpy.random.Generator
        Source of the subsample indices.
    sizes : sequence of int, default (500, 2000)
        Subsample sizes (each at least 20 and at most ``n_samples``).
    n_repeats : int, default 20
        Subsamples drawn (without replacement) per size.
    alpha : float, default 0.05
        Significance level for the pass shares.
    components : sequence of int, optional
        Components to test; all by default.
    n_jobs : int, optional
        Threads working on blocks of components (default 1).
    n_null : int, default 2000
        Normal samples simulated per size for the expected pass share
        (:func:`null_pass_share`, from a child stream of ``rng``).

    Returns
    -------
    SubsampleGoodness
        All p-values and effect sizes; ``pass_share`` summarises them.

    Notes
    -----
    At a fixed, moderate sample size a test has fixed power, so the share of
    components that pass is a readable measure of "how normal": close to
    the simulated null share (about ``1 - alpha``) for normal marginals,
    falling as departures grow. The same
    rows are used for all components of one subsample.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> r = subsample_tests(rng.normal(size=(5000, 4)), rng=rng, sizes=(200,), n_repeats=5)
    >>> r.pass_share.shape
    (4, 1)
    """
    z = check_latents(z, min_samples=20)
    rng = check_rng(rng)
    idx = check_components(components, z.shape[1])
    sizes = check_sizes(sizes, z.shape[0])
    n_jobs = check_n_jobs(n_jobs)
    if min(sizes) < 20:
        raise ValueError(f"subsample sizes must be at least 20 for these tests; got {sizes}.")
    n_repeats = int(n_repeats)
    if n_repeats < 1:
        raise ValueError(f"n_repeats must be >= 1; got {n_repeats}.")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1); got {alpha!r}.")
    shape = (len(sizes), n_repeats, idx.size)
    pv = np.empty((len(TESTS),) + shape)
    skew = np.empty(shape)
    kurt = np.empty(shape)
    keys = ("lilliefors_p", "ad_p", "jb_p", "omnibus_p")
    for a, size in enumerate(sizes):
        for r in range(n_repeats):
            rows = np.sort(rng.choice(z.shape[0], size=size, replace=False))
            res = _columns_tests(z, idx, rows=rows, n_jobs=n_jobs)
            for t, key in enumerate(keys):
                pv[t, a, r] = res[key]
            skew[a, r] = res["skewness"]
            kurt[a, r] = res["excess_kurtosis"]
    null_rng = rng.spawn(1)[0]  # does not advance rng: the subsamples stay as they were
    null = np.column_stack([null_pass_share(s, alpha=alpha, n_sim=n_null, rng=null_rng) for s in sizes])
    return SubsampleGoodness(
        components=idx, sizes=sizes, n_repeats=n_repeats, alpha=float(alpha),
        tests=TESTS, pvalues=pv, skewness=skew, excess_kurtosis=kurt, null_pass_share=null,
    )


@dataclass(frozen=True, eq=False)
class QQData:
    """Points of a normal QQ plot.

    Attributes
    ----------
    theoretical : ndarray
        Standard normal quantiles.
    sample : ndarray
        Matching sample quantiles (standardised if ``standardized``).
    loc, scale : float
        Sample mean and standard deviation; the reference line is
        ``loc + scale * theoretical`` (the identity if standardised).
    standardized : bool
        Whether ``sample`` was standardised.
    label : str
        What the data are (e.g. ``"z[3]"``).
    """

    theoretical: np.ndarray
    sample: np.ndarray
    loc: float
    scale: float
    standardized: bool
    label: str

    def reference(self, q) -> np.ndarray:
        """The reference line of a normal sample at theoretical quantiles ``q``."""
        q = np.asarray(q, dtype=float)
        return q if self.standardized else self.loc + self.scale * q


def qq_data(x, *, n_points: int = 400, standardize: bool = True, label: str = "") -> QQData:
    """Normal QQ data for one sample, thinned to at most ``n_points`` points.

    Parameters
    ----------
    x : array_like, shape (n,)
        One component (e.g. ``z[:, j]`` or a principal-component score).
    n_points : int, default 400
        Number of points; with ``n <= n_points`` every order statistic is used.
    standardize : bool, default True
        Standardise the sample with its mean and standard deviation.
    label : str, optional
        Stored for plot legends.

    Returns
    -------
    QQData
        Theoretical vs sample quantiles.

    Notes
    -----
    The theoretical quantiles are evenly spaced in normal-quantile units
    between the quantiles of the plotting positions ``0.5/n`` and
    ``1 - 0.5/n`` (Hazen), so both tails stay visible after thinning; the
    sample quantiles are the Hazen quantiles at the same probabilities, which
    for ``n <= n_points`` are exactly the order statistics.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"x must be 1-D (one component); got shape {x.shape}. Use z[:, j].")
    x = check_latents(x[:, None], name="x", min_samples=3)[:, 0]
    n = x.size
    loc = float(x.mean())
    scale = float(x.std(ddof=1))
    if n <= n_points:
        p = (np.arange(1, n + 1) - 0.5) / n
        theo = stats.norm.ppf(p)
        samp = np.sort(x)
    else:
        theo = np.linspace(stats.norm.ppf(0.5 / n), stats.norm.ppf(1 - 0.5 / n), int(n_points))
        samp = np.quantile(x, special.ndtr(theo), method="hazen")
    if standardize:
        samp = (samp - loc) / scale
    return QQData(theoretical=theo, sample=samp, loc=loc, scale=scale,
                  standardized=bool(standardize), label=label)


def pass_share_table(full: GoodnessResult, sub: SubsampleGoodness | None = None, *, alpha: float | None = None,
                     n_null: int = 400, seed: int = 0):
    """Share of components passing each test, on all vectors and on subsamples.

    Parameters
    ----------
    full : GoodnessResult
        Tests on the full sample (:func:`normality_tests`).
    sub : SubsampleGoodness, optional
        Tests on subsamples (:func:`subsample_tests`); one column per size.
    alpha : float, optional
        Significance level; default ``sub.alpha`` (or 0.05 without ``sub``).
        Must equal ``sub.alpha`` when both are given.

    n_null : int, default 400
        Normal samples of the full size simulated for its expected share
        (the subsample sizes use ``sub.null_pass_share``).
    seed : int, default 0
        Seed of that simulation.

    Returns
    -------
    pandas.DataFrame
        Rows: tests (named as in :data:`TEST_NAMES`); columns: the full
        sample, each subsample size, each followed by ``expected if normal``
        at that size: the share of simulated normal samples of that size
        that pass (:func:`null_pass_share`).
    """
    import pandas as pd

    if alpha is None:
        alpha = sub.alpha if sub is not None else 0.05
    if sub is not None and not np.isclose(alpha, sub.alpha):
        raise ValueError(f"alpha={alpha!r} differs from the subsample tests' alpha={sub.alpha!r}.")
    shares = full.share_passing(alpha)
    df = pd.DataFrame({f"all {full.n_samples:,} vectors": [shares[t] for t in TESTS]},
                      index=[TEST_NAMES[t] for t in TESTS])
    df[f"expected if normal, n = {full.n_samples:,}"] = null_pass_share(
        full.n_samples, alpha=alpha, n_sim=n_null, seed=seed)
    if sub is not None:
        for b, size in enumerate(sub.sizes):
            df[f"subsamples of {size:,}"] = sub.pass_share[:, b]
            df[f"expected if normal, n = {size:,}"] = sub.null_pass_share[:, b]
    df.index.name = "test"
    return df


def effect_size_se(n: int) -> tuple[float, float]:
    """Standard deviations of sample skewness and excess kurtosis of a normal sample.

    Parameters
    ----------
    n : int
        Sample size (at least 4).

    Returns
    -------
    (float, float)
        ``sqrt(6 (n-2) / ((n+1)(n+3)))`` for the skewness ``g1`` and
        ``sqrt(24 n (n-2)(n-3) / ((n+1)^2 (n+3)(n+5)))`` for ``b2 - 3``,
        the exact null moments behind D'Agostino's tests. A measured effect
        many of these units away from 0 is not sampling noise.

    References
    ----------
    .. [1] R. B. D'Agostino, A. Belanger, R. B. D'Agostino Jr., The American
       Statistician 44 (1990) 316–321.
    """
    n = int(n)
    if n < 4:
        raise ValueError(f"n must be at least 4; got {n}.")
    var_g1 = 6.0 * (n - 2) / ((n + 1) * (n + 3))
    var_b2 = 24.0 * n * (n - 2) * (n - 3) / ((n + 1) ** 2 * (n + 3) * (n + 5))
    return float(np.sqrt(var_g1)), float(np.sqrt(var_b2))
