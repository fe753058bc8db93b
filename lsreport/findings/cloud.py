"""What the chapter on multivariate normality and PCA concludes, and why.

:func:`cloud_findings` turns the cached analysis of the training latents and
the latents into a :class:`CloudFindings`: the principal axes, the spread of
the squared Mahalanobis distances and where it comes from, the omnibus
tests, and where the cloud sits relative to the origin. The central verdict,
"roughly multivariate normal", is read from the variance of d². Tested on
clouds of known shape in ``tests/test_findings_cloud.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from .. import stats as S
from .. import tables as T

__all__ = ["CloudFindings", "cloud_findings"]


@dataclass(frozen=True, eq=False)
class CloudFindings:
    """The numbers and verdicts of the chapter on the whole cloud.

    Build it with :func:`cloud_findings`. Shares are fractions.
    """

    #: The cloud is "spread like a normal cloud" when var(d²) lies within 10 %
    #: of its normal value 2D. The sampling s.d. of var(d²)/2D under normality
    #: is about √(2/n) (1.4 % at n = 10⁴, 3 % at n = 2,000), so a normal cloud
    #: stays inside by three or more s.d.; a multivariate t with ν = 15 at
    #: D = 256 is 24 times outside, a uniform cube at 0.4 below.
    VAR_TOL: ClassVar[float] = 0.10
    #: "About half" of var(d²) comes from co-variation when that share lies
    #: within 5 points of 50 %; otherwise it is the smaller or the larger part.
    HALF_TOL: ClassVar[float] = 0.05
    #: "Close to a ball": the participation ratio (Σλ)²/Σλ² within 20 % of D.
    #: Sampling noise alone lowers it by about D/n (a normal ball at n = 10 D
    #: gives 0.9 D), so 20 % leaves room for that and no more.
    BALL_TOL: ClassVar[float] = 0.20
    #: The origin counts as outside the cloud ("off-centre") when it lies
    #: farther from the centre, in Mahalanobis distance, than 99 % of the
    #: training vectors: then it is not a point a face vector would take.
    OFF_CENTRE_SHARE: ClassVar[float] = 0.99

    analysis: object = field(repr=False)
    n_samples: int
    d: int
    alpha: float
    pc_pair: object = field(repr=False)      # PairSummary of the first two PC scores
    split: object = field(repr=False)        # D2Split
    share_closer_than_origin: float          # share of vectors with d² below the origin's
    cube_bounds: tuple = ()                  # the generation chapter's cube bounds

    # ---------------------------------------------------------------- PCA
    @property
    def pca(self):
        return self.analysis.pca

    @property
    def first_ratio(self) -> float:
        return float(self.pca.explained_variance_ratio[0])

    def n_for(self, fraction: float) -> int:
        return int(self.pca.n_components_for(fraction))

    @property
    def n50(self) -> int:
        return self.n_for(0.5)

    @property
    def n90(self) -> int:
        return self.n_for(0.9)

    @property
    def n99(self) -> int:
        return self.n_for(0.99)

    @property
    def eigen_ratio(self) -> float:
        ev = self.pca.explained_variance
        return float(ev[0] / ev[-1])

    @property
    def participation_ratio(self) -> float:
        """(Σλ)² / Σλ²: D for a ball, 1 for a line."""
        ev = np.asarray(self.pca.explained_variance, float)
        return float(ev.sum() ** 2 / (ev ** 2).sum())

    @property
    def ball(self) -> bool:
        return bool(self.participation_ratio >= (1 - self.BALL_TOL) * self.d)

    @property
    def shape_words(self) -> str:
        return "close to a ball" if self.ball else "an elongated ellipsoid rather than a ball"

    # ---------------------------------------------------- PC goodness
    @property
    def pc_good(self):
        return self.analysis.pc_goodness

    @property
    def n_pc_tested(self) -> int:
        return int(len(self.pc_good.components))

    @property
    def pc_median_abs_skew(self) -> float:
        return float(np.median(np.abs(self.pc_good.skewness)))

    @property
    def pc_median_abs_kurt(self) -> float:
        return float(np.median(np.abs(self.pc_good.excess_kurtosis)))

    @property
    def comp_median_abs_skew(self) -> float:
        return float(np.median(np.abs(self.analysis.goodness.skewness)))

    @property
    def comp_median_abs_kurt(self) -> float:
        return float(np.median(np.abs(self.analysis.goodness.excess_kurtosis)))

    @property
    def comp_median_kurt(self) -> float:
        return float(np.median(self.analysis.goodness.excess_kurtosis))

    @property
    def pc_max_kurt(self) -> float:
        return float(np.max(self.pc_good.excess_kurtosis))

    @property
    def pc_max_kurt_at(self) -> int:
        """PC number (from 1) with the largest excess kurtosis."""
        return int(np.argmax(self.pc_good.excess_kurtosis)) + 1

    @property
    def pc_range_text(self) -> str:
        return f"1–{self.n_pc_tested}"

    # ---------------------------------------------------- PC plane
    @property
    def pc_r(self) -> float:
        return float(self.pc_pair.r)

    @property
    def pc_mid(self):
        """The second ellipse of the PC plane (k = 2 by default)."""
        return self.pc_pair.ellipses[1]

    @property
    def pc_outer(self):
        return self.pc_pair.ellipses[-1]

    # ---------------------------------------------------- Mahalanobis
    @property
    def maha(self):
        return self.analysis.mahalanobis

    @property
    def exact_mean(self) -> float:
        """D(n − 1)/n: mean d² under the sample mean and covariance, for any data."""
        return self.d * (self.n_samples - 1) / self.n_samples

    @property
    def var_ratio(self) -> float:
        return float(self.maha.var_d2 / self.maha.expected_var)

    @property
    def spread_words(self) -> str:
        return S.compare(self.var_ratio, 1.0, rtol=self.VAR_TOL,
                         words=("less spread than", "about as spread as", "more spread than"))

    @property
    def roughly_normal(self) -> bool:
        """var(d²) within :attr:`VAR_TOL` of 2D."""
        return bool(abs(self.var_ratio - 1) <= self.VAR_TOL)

    @property
    def verdict(self) -> str:
        """"roughly multivariate normal: yes" or "…: no"."""
        return f"roughly multivariate normal: {'yes' if self.roughly_normal else 'no'}"

    @property
    def verdict_sentence(self) -> str:
        head = "Yes" if self.roughly_normal else "No"
        return f"{head}: its distances from the centre are {self.spread_words} those of a normal cloud"

    def tail_ratio(self, p: float) -> float:
        probs = list(np.round(self.maha.core_probs, 6))
        return float(self.maha.tail_ratio[probs.index(round(p, 6))])

    @property
    def tail_99(self) -> float:
        return self.tail_ratio(0.99)

    @property
    def tail_999(self) -> float:
        return self.tail_ratio(0.999)

    @property
    def beyond_99(self) -> float:
        probs = list(np.round(self.maha.core_probs, 6))
        return float(1 - self.maha.core_observed[probs.index(0.99)])

    def core_table(self) -> T.Table:
        return T.table(self.maha.core_frame(), {
            "probability": ("χ²(D) probability", T.percent(1)),
            "observed": ("Share of vectors below that quantile", T.percent(2)),
            "tail_ratio": ("Tail ratio (observed / expected beyond)", T.sig(3)),
        })

    # ---------------------------------------------------- split of var(d²)
    @property
    def dependence_words(self) -> str:
        return S.compare(self.split.dependence_share, 0.5, atol=self.HALF_TOL,
                         words=("the smaller part", "about half", "the larger part"))

    @property
    def implied_nu(self) -> float:
        """ν of a multivariate t whose squared scores correlate like the measured ones (1/(ν − 1))."""
        c = self.split.mean_square_correlation
        return float(1 + 1 / c) if c > 0 else float("inf")

    @property
    def implied_kurtosis(self) -> float:
        """Marginal excess kurtosis 6/(ν − 4) of that t (infinite for ν ≤ 4)."""
        nu = self.implied_nu
        return float(6 / (nu - 4)) if nu > 4 else float("inf")

    @property
    def scale_mixture_dominates(self) -> bool:
        """More than half of the excess variance comes from co-variation of the axes."""
        return bool(self.split.dependence_share > 0.5)

    # ---------------------------------------------------- tests
    @property
    def mardia(self):
        return self.analysis.mardia

    @property
    def b1_median(self) -> float:
        return float(np.median(self.mardia.skewness))

    @property
    def b1_expected(self) -> float:
        """Mean of b₁ for a normal sample of the subsample size: D(D + 1)(D + 2)/n."""
        return float(6 * self.mardia.skew_df / self.mardia.n_sub)

    @property
    def b1_p_median(self) -> float:
        return float(np.median(self.mardia.skew_pvalue))

    @property
    def b1_share_rejected(self) -> float:
        return float(self.mardia.share_rejected(self.alpha)["skewness"])

    @property
    def hz(self):
        return self.analysis.henze_zirkler

    @property
    def hz_dims(self) -> int:
        return int(self.analysis.hz_dims)

    @property
    def hz_null_rate(self) -> float:
        return float(getattr(self.hz, "null_rejection_rate", float("nan")))

    @property
    def hz_calibrated(self) -> bool:
        return bool(getattr(self.hz, "calibrated", True))

    @property
    def hz_calibrated_words(self) -> str:
        return "holds its level" if self.hz_calibrated else "does not hold its level"

    @property
    def hz_share_rejected(self) -> float:
        return float(self.hz.share_rejected)

    @property
    def hz_p_median(self) -> float:
        return float(np.median(self.hz.pvalue))

    @property
    def hz_result_text(self) -> str:
        if not self.hz_calibrated:
            return "its p-values are not read, because the test does not hold its level here"
        return (f"{self.hz_share_rejected:.0%} of them reject normality at α = {self.alpha:g} "
                f"(median p = {self.hz_p_median:.2g})")

    # ---------------------------------------------------- geometry
    @property
    def centre(self):
        return self.analysis.centre

    @property
    def box(self):
        return self.analysis.box

    @property
    def data_radius_rms_in_std(self) -> float:
        """Root-mean-square distance of the vectors from their centre, in component s.d."""
        return float(self.centre.rms_radius / self.centre.rms_std)

    @property
    def origin_d(self) -> float:
        return float(self.centre.origin_mahalanobis)

    @property
    def typical_d(self) -> float:
        """Median Mahalanobis distance of the training vectors from their centre."""
        return float(np.sqrt(np.median(self.maha.d2)))

    @property
    def off_centre(self) -> bool:
        """The origin lies farther out than :attr:`OFF_CENTRE_SHARE` of the vectors."""
        return bool(self.share_closer_than_origin >= self.OFF_CENTRE_SHARE)

    @property
    def off_centre_words(self) -> str:
        return ("the origin lies outside the cloud: the cloud is off-centre" if self.off_centre else
                "the origin lies within the cloud's own spread of distances: the cloud is not off-centre "
                "in this sense")

    @property
    def box_radius_expected(self) -> float:
        return float(np.sqrt(self.box.expected_mean_sq_radius_box))

    @property
    def box_inside_count(self) -> int:
        return int(round(self.box.share_box_inside * self.box.n_box))

    @property
    def cube_bounds_text(self) -> str:
        return " and ".join(f"{b:g}" for b in self.cube_bounds)

    @property
    def cubes_smaller(self) -> bool:
        return bool(self.cube_bounds) and max(self.cube_bounds) < self.box.bound

    @property
    def cube_size_words(self) -> str:
        """The generation chapter's cubes against this one: "smaller than" or "not smaller than"."""
        return "smaller than" if self.cubes_smaller else "not smaller than"

    # ---------------------------------------------------- tables
    def pc_table(self, n: int = 10) -> T.Table:
        df = self.pc_good.to_frame().head(n)
        df.index = [f"PC {k + 1}" for k in df.index]
        return T.table(df, {"skewness": ("Skewness", T.dec(3)), "excess_kurtosis": ("Excess kurtosis", T.dec(3)),
                            "lilliefors_stat": ("Kolmogorov D", T.dec(3)),
                            "ad_p": ("Anderson–Darling p", T.pvalue), "jb_p": ("Jarque–Bera p", T.pvalue)},
                       index="Principal component")


def cloud_findings(analysis, z, *, cfg=None, rng: np.random.Generator) -> CloudFindings:
    """What the chapter on the whole cloud concludes, from the analysis of ``z``.

    Parameters
    ----------
    analysis : LatentAnalysis
    z : array_like, shape (n, d)
        The training latents the analysis ran on.
    cfg : Config, optional
        The profile (KDE points of the PC plane, the generation chapter's
        cube bounds); defaults when None.
    rng : numpy.random.Generator
        Draws the scatter subset of the PC plane.
    """
    a = analysis
    z = np.asarray(z)
    n_points = cfg.stats.kde_points if cfg is not None else 10_000
    pc_pair = S.pair_summary(a.pca.transform(z, 2), (0, 1), rng=rng, n_points=n_points)
    origin_d2 = float(a.centre.origin_mahalanobis) ** 2
    return CloudFindings(
        analysis=a, n_samples=int(a.n_samples), d=int(a.d), alpha=float(a.alpha), pc_pair=pc_pair,
        split=S.d2_variance_split(z, a.pca),
        share_closer_than_origin=float(np.mean(np.asarray(a.mahalanobis.d2) < origin_d2)),
        cube_bounds=tuple(float(b) for b in cfg.sampling.cube_bounds) if cfg is not None else (),
    )
