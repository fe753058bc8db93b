"""What the chapter on correlations and ellipses concludes, and why.

:func:`pair_findings` turns the cached analysis of the training latents and
the latents into a :class:`PairFindings`: the size of the correlations
against noise, whether rank and linear correlation agree, whether the
strongest pairs are elliptic and how their tails compare with normal ones.
Tested on clouds of known shape in ``tests/test_findings_pairs.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from scipy.stats import norm

from .. import stats as S
from .. import tables as T

__all__ = ["PairFindings", "pair_findings", "angular_nonuniformity"]

#: Harmonics of the angle used by :func:`angular_nonuniformity`.
HARMONICS = 4


def angular_nonuniformity(xy, harmonics: int = HARMONICS) -> float:
    """How far the directions of a whitened 2-D sample are from uniform.

    The points are centred and whitened with their own mean and covariance;
    for every elliptically contoured distribution (normal, t, any scale
    mixture) the angle θ of a whitened point is then uniform on the circle,
    whatever the tails. The result is the root of Σₖ |mean(e^{ikθ})|² over
    k = 1 … ``harmonics``: 0 for uniform angles, about √(harmonics / n) from
    sampling noise alone, and large for a curved or clustered pair.

    Written here (a few lines of NumPy) because the libraries' ellipticity
    tests need the full sample's distribution of the statistic; this is an
    effect size, read against :attr:`PairFindings.ELLIPTIC_TOL`.

    Parameters
    ----------
    xy : array_like, shape (n, 2)
    harmonics : int, default 4

    Returns
    -------
    float
    """
    xy = np.asarray(xy, dtype=float)
    c = xy - xy.mean(axis=0)
    w = np.linalg.solve(np.linalg.cholesky(np.cov(c, rowvar=False)), c.T)
    theta = np.arctan2(w[1], w[0])
    k = np.arange(1, int(harmonics) + 1)[:, None]
    m = np.exp(1j * k * theta).mean(axis=1)
    return float(np.sqrt(np.sum(np.abs(m) ** 2)))


def _list(values, fmt: str) -> str:
    return ", ".join(format(v, fmt) for v in values)


@dataclass(frozen=True, eq=False)
class PairFindings:
    """The numbers and verdicts of the chapter on pairs of components.

    Build it with :func:`pair_findings`. Shares are fractions.
    """

    #: The linear check reads "about as closely as for a normal cloud" when the
    #: root-mean-square gap between Spearman's ρ and its bivariate-normal value
    #: lies within 20 % of the gap sampling noise alone gives (ratio 1): 20 %
    #: is about the spread of that ratio over repeated normal samples of a few
    #: thousand points with a few hundred pairs.
    LIN_TOL: ClassVar[float] = 0.2
    #: Share outside the outermost ellipse, over the normal share: within 20 %
    #: of 1 reads "about as heavy as normal tails" (the outermost ellipse leaves
    #: out about 1 % of a normal pair, so 20 % of that is 0.2 points).
    TAIL_TOL: ClassVar[float] = 0.2
    #: The FFT density estimate agrees with the direct sum when their largest
    #: difference is below 1 % of the peak density, less than a contour line's
    #: shift would show at this scale.
    KDE_TOL: ClassVar[float] = 0.01
    #: Grid points per axis of that check: the direct sum costs n × grid², so a
    #: coarse grid is enough.
    KDE_GRID: ClassVar[int] = 40
    #: A pair is "elliptic" when the directions of its whitened points are
    #: uniform to within 0.05 (:func:`angular_nonuniformity`) plus twice the
    #: statistic's sampling level √(harmonics / n). 0.05 means the density of
    #: directions varies by a few per cent around the circle; a curved (banana)
    #: pair gives several tenths, any elliptic law (normal or t) about 0.
    ELLIPTIC_TOL: ClassVar[float] = 0.05

    analysis: object = field(repr=False)
    n_samples: int
    d: int
    alpha: float
    abs_r: object                  # AbsRSummary of all pairs
    top_pair: tuple
    top_r: float
    lin_n_sub: int
    lin_noise_sd: float            # s.d. of ρ − ρ_expected for an independent normal pair
    spearman_noise_sd: float
    lin_max: float
    lin_rms: float
    lin_share_beyond: float        # share of pairs outside ±2 s.d.
    kde_max_rel_diff: float
    coverage: object = field(repr=False)  # DataFrame of stats.coverage_table
    nonuniformity: np.ndarray = field(repr=False)  # per shown pair
    n_points_shown: int = 0
    grid: tuple = field(default=(), repr=False)        # PairSummary of the figure's panels
    grid_titles: tuple = ()

    # ---------------------------------------------------------- correlations
    @property
    def n_pairs(self) -> int:
        return int(self.abs_r.n_pairs)

    @property
    def top_pair_text(self) -> str:
        return f"{self.top_pair[0]} and {self.top_pair[1]}"

    @property
    def mean_in_noise(self) -> float:
        return self.abs_r.mean / self.abs_r.noise_mean

    # ---------------------------------------------------------- linearity
    @property
    def band_expected(self) -> float:
        """Share of a normal statistic beyond ±2 standard deviations."""
        return float(2 * norm.sf(2))

    @property
    def lin_max_in_sd(self) -> float:
        return self.lin_max / self.lin_noise_sd

    @property
    def lin_ratio(self) -> float:
        return self.lin_rms / self.lin_noise_sd

    @property
    def linear(self) -> bool:
        return bool(self.lin_ratio <= 1 + self.LIN_TOL)

    @property
    def linear_words(self) -> str:
        return S.compare(self.lin_ratio, 1.0, rtol=self.LIN_TOL,
                         words=("agree as closely as for a normal cloud",
                                "agree about as closely as for a normal cloud",
                                "disagree by more than sampling noise"))

    # ---------------------------------------------------------- KDE
    @property
    def kde_words(self) -> str:
        return S.compare(self.kde_max_rel_diff, self.KDE_TOL, words=("below", "at", "above"))

    # ---------------------------------------------------------- ellipses
    @property
    def pairs(self) -> tuple:
        return tuple(self.analysis.pairs)

    @property
    def n_shown(self) -> int:
        return len(self.pairs)

    @property
    def ks_text(self) -> str:
        return _list((e.k for e in self.pairs[0].ellipses), "g")

    @property
    def expected_text(self) -> str:
        return _list((e.coverage_expected * 100 for e in self.pairs[0].ellipses), ".1f")

    @property
    def masses_text(self) -> str:
        return _list((m * 100 for m in S.sigma_masses()), ".1f")

    @property
    def max_coverage_gap(self) -> float:
        """Largest |measured − expected| coverage over the ellipses of the table."""
        return float(self.coverage["difference"].abs().max())

    @property
    def n_ellipses(self) -> int:
        return int(len(self.coverage))

    @property
    def _outer(self):
        c = self.coverage
        return c[c["k"] == c["k"].max()]

    @property
    def outer_k(self) -> float:
        return float(self._outer["k"].iloc[0])

    @property
    def outer_left_out(self) -> float:
        return float(1 - self._outer["measured"].mean())

    @property
    def outer_left_out_normal(self) -> float:
        return float(1 - self._outer["expected"].iloc[0])

    @property
    def tail_factor(self) -> float:
        o = self._outer
        return float(((1 - o["measured"]) / (1 - o["expected"])).mean())

    @property
    def tails(self) -> str:
        return S.compare(self.tail_factor, 1.0, rtol=self.TAIL_TOL,
                         words=("lighter than", "about as heavy as", "heavier than"))

    @property
    def pair_components(self) -> int:
        return len({c for p in self.pairs for c in p.pair})

    @property
    def elliptic_tolerance(self) -> float:
        return self.ELLIPTIC_TOL + 2 * float(np.sqrt(HARMONICS / self.n_samples))

    @property
    def max_nonuniformity(self) -> float:
        return float(np.max(self.nonuniformity)) if self.nonuniformity.size else float("nan")

    @property
    def elliptic(self) -> bool:
        """Every shown pair's whitened directions are uniform within :attr:`elliptic_tolerance`."""
        return bool(self.max_nonuniformity <= self.elliptic_tolerance)

    @property
    def verdict(self) -> str:
        """"elliptic" or "not elliptic" (the strongest pairs)."""
        return "elliptic" if self.elliptic else "not elliptic"

    # ---------------------------------------------------------- tables
    def strongest_table(self, n: int = 10) -> T.Table:
        df = self.analysis.correlation.strongest_pairs(n).to_frame()
        cols = list(df.columns)
        return T.table(df, {cols[0]: ("Component", T.integer), cols[1]: ("Component", T.integer),
                            cols[2]: ("Pearson r", T.dec(3))})

    def coverage_table(self) -> T.Table:
        return T.table(self.coverage, {"pair": ("Components", str), "pearson_r": ("Pearson r", T.dec(3)),
                            "k": ("k", T.sig(2)), "expected": ("Expected", T.percent(2)),
                            "measured": ("Measured", T.percent(2)),
                            "difference": ("Difference (points)", lambda x: T.dec(2)(100 * x))})


def _grid(analysis, z, rng, n_points: int):
    """Two strongest pairs, one of typical |r| (0.1 to 0.5) and one random pair, for the figure."""
    from ..stats.elliptical import pick_pairs

    picked = pick_pairs(analysis.correlation.r, rng=rng, n=2)
    chosen = [(p, "strongest") for p in picked["strongest"][:2]]
    chosen += [(p, "typical |r|") for p in picked["typical"][:1]]
    chosen += [(p, "random pair") for p in picked["random"][:1]]
    known = {tuple(p.pair): p for p in analysis.pairs}
    sums = tuple(known.get(tuple(p)) or S.pair_summary(z, p, rng=rng, n_points=n_points) for p, _ in chosen)
    return sums, tuple(t for _, t in chosen)


def pair_findings(analysis, z, *, rng: np.random.Generator | None = None) -> PairFindings:
    """What the chapter on pairs concludes, from the analysis of ``z``.

    Parameters
    ----------
    analysis : LatentAnalysis
    z : array_like, shape (n, d)
        The training latents the analysis ran on (for the density check
        and the directions of the shown pairs).
    rng : numpy.random.Generator, optional
        Picks the typical and the random pair of the figure's grid (no grid
        without it).
    """
    a = analysis
    z = np.asarray(z)
    lin = a.linearity
    pairs = tuple(a.pairs)
    top = pairs[0] if pairs else None
    kde = S.compare_kde(z, top.pair, grid_size=PairFindings.KDE_GRID) if top else None
    return PairFindings(
        analysis=a, n_samples=int(a.n_samples), d=int(a.d), alpha=float(a.alpha),
        abs_r=a.correlation.summary(a.alpha),
        top_pair=tuple(int(c) for c in top.pair) if top else (), top_r=float(top.r) if top else float("nan"),
        lin_n_sub=int(lin.n_sub), lin_noise_sd=float(lin.deviation_noise_sd), spearman_noise_sd=float(lin.noise_sd),
        lin_max=float(lin.max_abs_deviation), lin_rms=float(lin.rms_deviation),
        lin_share_beyond=float(np.mean(np.abs(lin.deviation) > 2 * lin.deviation_noise_sd)),
        kde_max_rel_diff=float(kde.max_rel_diff) if kde else float("nan"),
        coverage=S.coverage_table(pairs),
        nonuniformity=np.array([angular_nonuniformity(z[:, list(p.pair)]) for p in pairs]),
        n_points_shown=int(len(top.points)) if top else 0,
        **(dict(zip(("grid", "grid_titles"), _grid(a, z, rng, len(top.points) if top else 1000)))
           if rng is not None and a.d >= 4 else {}),
    )
