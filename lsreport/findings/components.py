"""What the chapter on the latent components concludes, and why.

:func:`component_findings` turns the cached analysis of the training latents
(:class:`~lsreport.stats.LatentAnalysis`) and the latents themselves into a
:class:`ComponentFindings`: every number the chapter's prose states and every
verdict it draws, each rule a named class constant. The chapter only reads
attributes. Tested on clouds of known shape in
``tests/test_findings_components.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from .. import stats as S
from .. import tables as T

__all__ = ["ComponentFindings", "component_findings"]


def _in_words(value: float, reference: float, tol: float, words: tuple[str, str, str]) -> str:
    return S.compare(value, reference, atol=tol, words=words)


@dataclass(frozen=True, eq=False)
class ComponentFindings:
    """The numbers and verdicts of the chapter on the latent components.

    Build it with :func:`component_findings`. Arrays run over the components
    in order; shares are fractions (0.93, not 93).
    """

    #: A median R² of the Gaussian fits of at least 0.99 reads "bell-shaped":
    #: the series' visual criterion made explicit. A normal component reaches
    #: about 0.999 at a few thousand vectors, a uniform one about 0.9 (its
    #: flat top and cut-off tails leave a tenth of the variance unexplained).
    R2_GOOD: ClassVar[float] = 0.99
    #: The median excess kurtosis reads "as heavy as normal" within two of its
    #: sampling standard deviations under normality (√(24/n)), the usual 95 %
    #: band; beyond it the tails are lighter or heavier than normal.
    TAIL_SE: ClassVar[float] = 2.0
    #: A share of components passing a test on subsamples reads "as expected for
    #: normal components" within 3 percentage points of the share simulated for
    #: exactly normal samples of that size, plus two binomial standard errors
    #: of the pooled share (:attr:`pass_tolerance`): 3 points is a departure
    #: too small to matter, the standard errors keep a small run from reading
    #: sampling noise as a departure.
    PASS_TOL: ClassVar[float] = 0.03
    #: The rule of thumb for "approximately normal": |skewness| below 0.5 and
    #: |excess kurtosis| below 1 (a common convention for "roughly symmetric,
    #: normal-tailed", not a test; a uniform marginal, at −1.2, falls outside).
    SMALL_SKEW: ClassVar[float] = 0.5
    SMALL_KURT: ClassVar[float] = 1.0
    #: That rule must hold for more than half of the components for the verdict
    #: "Gaussian components" (a majority, so that one odd component cannot
    #: decide it either way).
    MAJORITY: ClassVar[float] = 0.5

    analysis: object = field(repr=False)  # the LatentAnalysis the chapter draws from
    n_samples: int
    d: int
    alpha: float
    bin_width: float
    std: np.ndarray
    n_converged: int
    mu_mean_gap: float            # median |fitted μ − sample mean| / σ
    mu_median_gap: float          # median |fitted μ − sample median| / σ
    share_mu_gap_beyond_2se: float
    r_squared: np.ndarray         # converged fits only
    se_skew: float
    se_kurt: float
    skewness: np.ndarray
    excess_kurtosis: np.ndarray
    share_small_effect: float
    kolmogorov_d: np.ndarray      # Lilliefors statistic per component
    full_pass_ad: float
    full_pass_jb: float
    sub_sizes: tuple
    sub_pass_ad: np.ndarray       # per subsample size
    sub_expected_ad: np.ndarray   # simulated share for normal samples, per size
    n_sub_tests: int              # tests pooled in each subsample share (components × repeats)
    histogram_components: tuple
    qq_normal: tuple              # QQData of the two most normal components
    qq_farthest: tuple            # QQData of the two least normal components

    # ------------------------------------------------------------ spread
    @property
    def median_std(self) -> float:
        return float(np.median(self.std))

    @property
    def bins_per_sd(self) -> float:
        """Histogram bins per standard deviation of the median component."""
        return self.median_std / self.bin_width

    @property
    def bins_per_sd_min(self) -> float:
        return float(self.std.min()) / self.bin_width

    @property
    def bins_per_sd_max(self) -> float:
        return float(self.std.max()) / self.bin_width

    @property
    def std_min(self) -> float:
        return float(self.std.min())

    @property
    def std_max(self) -> float:
        return float(self.std.max())

    @property
    def std_ratio(self) -> float:
        return self.std_max / self.std_min

    # ------------------------------------------------------------ fits
    @property
    def median_r2(self) -> float:
        return float(np.median(self.r_squared)) if self.r_squared.size else float("nan")

    @property
    def min_r2(self) -> float:
        return float(self.r_squared.min()) if self.r_squared.size else float("nan")

    @property
    def share_r2_good(self) -> float:
        """Share of converged fits with R² ≥ :attr:`R2_GOOD`."""
        return float(np.mean(self.r_squared >= self.R2_GOOD)) if self.r_squared.size else float("nan")

    @property
    def bell_shaped(self) -> bool:
        """The median R² reaches :attr:`R2_GOOD`."""
        return bool(self.median_r2 >= self.R2_GOOD)

    # ------------------------------------------------------------ effect sizes
    @property
    def median_abs_skew(self) -> float:
        return float(np.median(np.abs(self.skewness)))

    @property
    def median_abs_kurt(self) -> float:
        return float(np.median(np.abs(self.excess_kurtosis)))

    @property
    def median_kurt(self) -> float:
        return float(np.median(self.excess_kurtosis))

    @property
    def skew_in_se(self) -> float:
        return self.median_abs_skew / self.se_skew

    @property
    def kurt_in_se(self) -> float:
        return self.median_abs_kurt / self.se_kurt

    @property
    def share_positive_kurt(self) -> float:
        return float(np.mean(self.excess_kurtosis > 0))

    @property
    def tails(self) -> str:
        """The median component's tails: "lighter than", "as heavy as" or "heavier than" normal ones."""
        return _in_words(self.median_kurt, 0.0, self.TAIL_SE * self.se_kurt,
                         ("lighter than", "as heavy as", "heavier than"))

    @property
    def median_d(self) -> float:
        return float(np.median(self.kolmogorov_d))

    @property
    def max_d(self) -> float:
        return float(self.kolmogorov_d.max())

    # ------------------------------------------------------------ tests
    @property
    def expected_pass(self) -> float:
        """Share of normal components passing a test of level α on all vectors (1 − α)."""
        return 1.0 - self.alpha

    @property
    def sub_size(self) -> int:
        """The smallest subsample size (the "modest experiment")."""
        return int(self.sub_sizes[0])

    @property
    def sub_size_largest(self) -> int:
        return int(self.sub_sizes[-1])

    @property
    def sub_pass(self) -> float:
        return float(self.sub_pass_ad[0])

    @property
    def sub_pass_largest(self) -> float:
        return float(self.sub_pass_ad[-1])

    @property
    def sub_expected(self) -> float:
        return float(self.sub_expected_ad[0])

    @property
    def pass_tolerance(self) -> float:
        """:attr:`PASS_TOL` plus two binomial standard errors of a pooled pass share."""
        p = self.sub_expected
        return self.PASS_TOL + 2 * float(np.sqrt(p * (1 - p) / max(self.n_sub_tests, 1)))

    @property
    def sub_as_expected(self) -> bool:
        """On the smallest subsamples, Anderson–Darling passes within :attr:`pass_tolerance` of the normal share."""
        return bool(abs(self.sub_pass - self.sub_expected) <= self.pass_tolerance)

    @property
    def sub_words(self) -> str:
        """How the smallest subsamples' pass share compares with the normal one."""
        return _in_words(self.sub_pass, self.sub_expected, self.pass_tolerance,
                         ("below", "close to", "above"))

    @property
    def sub_departures(self) -> str:
        """What the tests at a modest sample size find, in words."""
        if self.sub_pass < self.sub_expected - self.pass_tolerance:
            return "find departures from normality in more components than chance would"
        return "find no more departures from normality than chance would"

    @property
    def full_words(self) -> str:
        return _in_words(self.full_pass_ad, self.expected_pass, self.PASS_TOL,
                         ("below", "close to", "above"))

    # ------------------------------------------------------------ verdict
    @property
    def gaussian(self) -> bool:
        """Bell-shaped fits *and* most components inside the rule-of-thumb box."""
        return self.bell_shaped and self.share_small_effect > self.MAJORITY

    @property
    def verdict(self) -> str:
        """"Gaussian components: yes" or "…: no"."""
        return f"Gaussian components: {'yes' if self.gaussian else 'no'}"

    @property
    def bell_words(self) -> str:
        """Whether the series' picture of bell-shaped components is reproduced."""
        return "is reproduced" if self.bell_shaped else "is not reproduced"

    @property
    def series_words(self) -> str:
        return "bear out" if self.gaussian else "do not bear out"

    # ------------------------------------------------------------ QQ
    @property
    def least_normal(self) -> int:
        """The component with the largest Kolmogorov distance."""
        return int(self.qq_farthest[-1].label.strip("z[]"))

    @property
    def least_normal_range(self) -> tuple[float, float]:
        q = self.qq_farthest[-1]
        return float(q.sample.min()), float(q.sample.max())

    @property
    def normal_reach(self) -> float:
        """How far (in s.d.) the extreme plotted quantile of a normal sample of this size lies."""
        return float(self.qq_farthest[-1].theoretical.max())

    # ------------------------------------------------------------ tables
    def fit_table(self, fits, n: int = 8) -> T.Table:
        """The Gaussian fits of the ``n`` widest components, for people."""
        return T.table(fits.top_table(n), {
            "amplitude": ("Amplitude (counts per bin) ± s.e.", T.text),
            "μ (fit)": ("Centre μ ± s.e.", T.text),
            "σ (fit)": ("Width σ ± s.e.", T.text),
            "R²": ("R²", T.dec(4)),
            "mean": ("Sample mean", T.sig(3)),
            "median": ("Sample median", T.sig(3)),
            "(μ − mean) / SE(μ)": ("(μ − mean) in s.e. of μ", T.sig(2)),
        }, index="Component")

    @staticmethod
    def pass_table(good, sub) -> T.Table:
        """Share of components passing each test, on all vectors and on subsamples."""
        df = S.pass_share_table(good, sub)
        cols = {c: (str(c)[:1].upper() + str(c)[1:], T.percent(1)) for c in df.columns}
        return T.table(df, cols, index="Test")


def component_findings(analysis, z) -> ComponentFindings:
    """What the chapter on the components concludes, from the analysis of ``z``.

    Parameters
    ----------
    analysis : LatentAnalysis
        :func:`lsreport.stats.analyse` of ``z`` (the cached analysis step).
    z : array_like, shape (n, d)
        The training latents the analysis ran on (for the QQ plots).

    Returns
    -------
    ComponentFindings
    """
    a = analysis
    fits, good, sub = a.components, a.goodness, a.subsample_goodness
    ok = np.asarray(fits.converged, bool)
    se_skew, se_kurt = S.effect_size_se(a.n_samples)
    gap = np.abs(fits.mu - fits.mean)
    ad = sub.tests.index("anderson_darling")
    expected = getattr(sub, "null_pass_share", None)
    expected_ad = (np.asarray(expected)[ad] if expected is not None
                   else np.full(len(sub.sizes), 1 - sub.alpha))
    order = good.components[np.argsort(good.lilliefors_stat)]  # most normal first
    z = np.asarray(z)
    qq = lambda j: S.qq_data(z[:, j], label=f"z[{j}]")  # noqa: E731
    widest = fits.dominant(6)
    narrowest = fits.dominant(int(ok.sum()))[6:][-3:]
    return ComponentFindings(
        analysis=a, n_samples=int(a.n_samples), d=int(a.d), alpha=float(a.alpha), bin_width=float(fits.bin_width),
        std=np.asarray(fits.std, float), n_converged=int(ok.sum()),
        mu_mean_gap=float(np.nanmedian(gap / fits.sigma)),
        mu_median_gap=float(np.nanmedian(np.abs(fits.mu - fits.median) / fits.sigma)),
        share_mu_gap_beyond_2se=float(np.mean(gap[ok] > 2 * fits.mu_se[ok])) if ok.any() else float("nan"),
        r_squared=np.asarray(fits.r_squared, float)[ok], se_skew=float(se_skew), se_kurt=float(se_kurt),
        skewness=np.asarray(good.skewness, float), excess_kurtosis=np.asarray(good.excess_kurtosis, float),
        share_small_effect=float(good.share_small_effect(ComponentFindings.SMALL_SKEW, ComponentFindings.SMALL_KURT)),
        kolmogorov_d=np.asarray(good.lilliefors_stat, float),
        full_pass_ad=float(good.share_passing(a.alpha)["anderson_darling"]),
        full_pass_jb=float(good.share_passing(a.alpha)["jarque_bera"]),
        sub_sizes=tuple(int(s) for s in sub.sizes), sub_pass_ad=np.asarray(sub.pass_share[ad], float),
        sub_expected_ad=np.asarray(expected_ad, float), n_sub_tests=int(len(sub.components) * sub.n_repeats),
        histogram_components=tuple(int(c) for c in (*widest, *narrowest)),
        qq_normal=tuple(qq(j) for j in order[:2]), qq_farthest=tuple(qq(j) for j in order[-2:]),
    )
