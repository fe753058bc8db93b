"""One call that runs the whole analysis of a latent cloud.

:func:`analyse` computes, once and in a sensible order (the mean,
covariance and Mahalanobis distances are shared), every result the chapters
on the latent space draw from, and returns them in a :class:`LatentAnalysis`.
It is meant to run in a pipeline step, not in a chapter: at 200,000 x 512 it
takes tens of seconds.

References
----------
.. [1] R. Mönchmeyer, "Autoencoders, latent space and the curse of high
   dimensionality", linux-blog.anracom.com (2023).
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np

from ._validate import check_latents, check_rng, check_shrinkage, pair_columns
from .components import ComponentFits, fit_components
from .correlation import CorrelationResult, LinearityResult, correlations, linearity_check
from .ellipses import confidence_ellipses
from .geometry import BoxResult, CentreResult, box_comparison, cloud_centre
from .goodness import GoodnessResult, SubsampleGoodness, normality_tests, subsample_tests
from .kde import KDEGrid, kde_2d
from .normality import HZResult, MahalanobisResult, MardiaResult, henze_zirkler, mahalanobis_chi2, mardia
from .pca import Moments, PCAResult, fit_pca, moments

__all__ = ["PairSummary", "LatentAnalysis", "pair_summary", "analyse"]


@dataclass(frozen=True, eq=False)
class PairSummary:
    """Everything drawn for one pair of components.

    Attributes
    ----------
    pair : tuple of int
        Components ``(i, j)``.
    r : float
        Pearson correlation on all samples.
    points : ndarray, shape (m, 2)
        A random subset of the pair's values for scatter plots.
    kde : KDEGrid
        FFT kernel density estimate from all samples.
    ellipses : tuple of EllipseResult
        Confidence ellipses (from all samples), one per ``k``.
    """

    pair: tuple
    r: float
    points: np.ndarray
    kde: KDEGrid
    ellipses: tuple


def pair_summary(
    z,
    pair,
    *,
    rng: np.random.Generator,
    ks=(1.0, 2.0, 2.5, 3.0),
    n_points: int = 10_000,
    grid_size: int = 128,
) -> PairSummary:
    """Scatter subset, KDE and confidence ellipses of one component pair.

    Parameters
    ----------
    z : array_like, shape (n, d)
        Latent vectors.
    pair : tuple of int
        Components ``(i, j)``.
    rng : numpy.random.Generator
        Draws the scatter subset.
    ks : sequence of float, default (1, 2, 2.5, 3)
        Mahalanobis radii of the ellipses.
    n_points : int, default 10000
        Points kept for the scatter plot (the KDE and ellipses use all).
    grid_size : int, default 128
        KDE grid points per axis.

    Returns
    -------
    PairSummary
    """
    rng = check_rng(rng)
    xy, (i, j) = pair_columns(z, pair)
    ells = confidence_ellipses(xy, (0, 1), ks=ks)
    ells = tuple(dataclasses.replace(e, pair=(i, j)) for e in ells)
    g = dataclasses.replace(kde_2d(xy, (0, 1), grid_size=grid_size), pair=(i, j))
    n = xy.shape[0]
    rows = np.arange(n) if n <= n_points else np.sort(rng.choice(n, size=int(n_points), replace=False))
    return PairSummary(pair=(i, j), r=ells[0].pearson, points=xy[rows], kde=g, ellipses=ells)


@dataclass(frozen=True, eq=False)
class LatentAnalysis:
    """All statistics of a latent cloud (see :func:`analyse`).

    Attributes
    ----------
    n_samples, d : int
        Shape of the latents.
    moments : Moments
        Mean and covariance.
    components : ComponentFits
        Histograms and Gaussian fits per component.
    goodness : GoodnessResult
        Univariate tests on the full sample.
    subsample_goodness : SubsampleGoodness
        The same tests on subsamples of fixed size.
    correlation : CorrelationResult
        Pearson matrix, ordering, strongest pairs.
    linearity : LinearityResult
        Spearman against Pearson.
    pca : PCAResult
        Covariance spectrum.
    pc_goodness : GoodnessResult
        Univariate tests of the leading principal-component scores
        (``components`` are PC numbers).
    mahalanobis : MahalanobisResult
        Squared Mahalanobis distances against chi2(d).
    mardia : MardiaResult or None
        Mardia's skewness (subsamples) and kurtosis; None if ``n <= d + 1``
        (only possible with ``shrinkage``).
    henze_zirkler : HZResult
        Henze–Zirkler on subsamples of the leading ``hz_dims`` PC scores.
    hz_dims : int
        Dimensions given to the Henze–Zirkler test.
    centre : CentreResult
        Offset of the centre from the origin.
    box : BoxResult
        Uniform box samples against the cloud (includes the data radii).
    pairs : tuple of PairSummary
        The most strongly correlated pairs.
    alpha : float
        Significance level used throughout.
    """

    n_samples: int
    d: int
    moments: Moments
    components: ComponentFits
    goodness: GoodnessResult
    subsample_goodness: SubsampleGoodness
    correlation: CorrelationResult
    linearity: LinearityResult
    pca: PCAResult
    pc_goodness: GoodnessResult
    mahalanobis: MahalanobisResult
    mardia: MardiaResult | None
    henze_zirkler: HZResult
    hz_dims: int
    centre: CentreResult
    box: BoxResult
    pairs: tuple
    alpha: float

    def summary(self) -> dict:
        """Headline numbers for the text, as a flat ``dict`` (name → value)."""
        out: dict = {"n_samples": self.n_samples, "d": self.d, "alpha": self.alpha}
        for t, share in self.goodness.share_passing(self.alpha).items():
            out[f"full_pass_share_{t}"] = share
        sg = self.subsample_goodness
        for a, t in enumerate(sg.tests):
            for b, s in enumerate(sg.sizes):
                out[f"sub{s}_pass_share_{t}"] = float(sg.pass_share[a, b])
                out[f"sub{s}_expected_pass_share_{t}"] = float(sg.expected_pass_share[a, b])
        out["share_small_effect"] = self.goodness.share_small_effect()
        out["median_abs_skewness"] = float(np.median(np.abs(self.goodness.skewness)))
        out["median_abs_excess_kurtosis"] = float(np.median(np.abs(self.goodness.excess_kurtosis)))
        out["median_ks_distance"] = float(np.median(self.goodness.lilliefors_stat))
        out["median_fit_r2"] = float(np.nanmedian(self.components.r_squared))
        s = self.correlation.summary(self.alpha)
        out["abs_r_mean"], out["abs_r_max"], out["abs_r_q99"] = s.mean, s.max, s.q99
        out["abs_r_share_significant"] = s.share_significant
        out["spearman_max_deviation"] = self.linearity.max_abs_deviation
        out["pca_n90"] = self.pca.n_components_for(0.9)
        out["pca_first_ratio"] = float(self.pca.explained_variance_ratio[0])
        m = self.mahalanobis
        out["d2_mean"], out["d2_var"] = m.mean_d2, m.var_d2
        out["d2_expected_mean"], out["d2_expected_var"] = m.expected_mean, m.expected_var
        for p, o, tr in zip(m.core_probs, m.core_observed, m.tail_ratio):
            out[f"core_{p:g}"] = float(o)
            out[f"tail_ratio_{p:g}"] = float(tr)
        md = self.mardia
        if md is not None:
            out["mardia_skew_p_median"] = float(np.median(md.skew_pvalue))
            out["mardia_kurt_p_median"] = float(np.median(md.kurtosis_pvalue))
            out["mardia_full_kurtosis_z"] = md.full_kurtosis_z
        out["hz_share_rejected"] = self.henze_zirkler.share_rejected
        out["hz_null_rejection_rate"] = self.henze_zirkler.null_rejection_rate
        out["hz_calibrated"] = self.henze_zirkler.calibrated
        out["centre_distance_in_std"] = self.centre.distance_in_std
        out["box_share_inside"] = self.box.share_box_inside
        out["data_share_inside"] = self.box.share_data_inside
        return out


def analyse(
    z,
    *,
    rng: np.random.Generator,
    bin_width: float = 0.25,
    subsample_sizes=(500, 2000),
    subsample_repeats: int = 20,
    kde_points: int = 10_000,
    n_pairs: int = 4,
    ellipse_k=(1.0, 2.0, 2.5, 3.0),
    hz_subsample: int = 500,
    hz_dims: int = 20,
    hz_repeats: int = 5,
    mardia_subsample: int | None = None,
    mardia_repeats: int = 3,
    pc_tests: int = 20,
    linearity_subsample: int = 10_000,
    n_box: int = 10_000,
    box_bound: float | None = None,
    kde_grid: int = 128,
    alpha: float = 0.05,
    shrinkage: float | None = None,
    n_jobs: int | None = None,
) -> LatentAnalysis:
    """Run every test of the latent cloud and collect the results.

    Parameters
    ----------
    z : array_like, shape (n, d)
        Latent vectors (float32 is fine and cheaper).
    rng : numpy.random.Generator
        The only source of randomness (subsamples, box points).
    bin_width : float, default 0.25
        Histogram bin width of the component fits.
    subsample_sizes, subsample_repeats
        Sizes and repeats of the univariate subsample tests.
    kde_points : int, default 10000
        Scatter points kept per pair (KDE and ellipses use all points).
    n_pairs : int, default 4
        Number of most-correlated pairs to summarise.
    ellipse_k : sequence of float, default (1, 2, 2.5, 3)
        Mahalanobis radii of the confidence ellipses.
    hz_subsample, hz_dims, hz_repeats
        Henze–Zirkler subsample size, number of leading principal components
        tested (pingouin's p-value loses its calibration as ``d`` grows: at
        n = 500 from about d = 50; the result carries a simulated check at
        the size used, see :func:`~lsreport.stats.normality.hz_calibration`)
        and repeats.
    mardia_subsample : int, optional
        Subsample size of Mardia's skewness; default ``max(2000, 4 d)``
        capped at ``n``.
    mardia_repeats : int, default 3
        Mardia subsamples.
    pc_tests : int, default 20
        Leading principal components whose scores get the univariate tests.
    linearity_subsample : int, default 10000
        Rows for the Spearman/Pearson comparison.
    n_box : int, default 10000
        Uniform points in the box ``[-b, b]^d``.
    box_bound : float, optional
        ``b``; default ``max |z|``.
    kde_grid : int, default 128
        KDE grid points per axis.
    alpha : float, default 0.05
        Significance level.
    shrinkage : float, optional
        Covariance regularisation; required if ``n <= d`` (warns).
    n_jobs : int, optional
        Threads for the per-component work (fits and univariate tests);
        default 1. Linear algebra uses BLAS's own threads either way.

    Returns
    -------
    LatentAnalysis
        All results; ``summary()`` gives the headline numbers.

    Notes
    -----
    The keyword names match :class:`lsreport.config.StatsConfig`, so
    ``analyse(z, rng=rng, **dataclasses.asdict(cfg.stats))`` works.

    References
    ----------
    .. [1] R. Mönchmeyer, "Autoencoders, latent space and the curse of high
       dimensionality", linux-blog.anracom.com (2023).
    """
    z = check_latents(z, min_samples=20)
    rng = check_rng(rng)
    shrinkage = check_shrinkage(shrinkage)
    n, d = z.shape
    mom = moments(z, shrinkage=shrinkage, _checked=True)
    comps = fit_components(z, bin_width=bin_width, n_jobs=n_jobs)
    good = normality_tests(z, n_jobs=n_jobs)
    sizes = tuple(int(s) for s in subsample_sizes if s <= n) or (n,)
    if len(sizes) < len(tuple(subsample_sizes)):
        warnings.warn(
            f"subsample sizes larger than n={n} were dropped; using {sizes}.",
            UserWarning,
            stacklevel=2,
        )
    sub = subsample_tests(z, rng=rng, sizes=sizes, n_repeats=subsample_repeats, alpha=alpha, n_jobs=n_jobs)
    corr = correlations(z, precomputed=mom)
    lin = linearity_check(z, rng=rng, n_sub=linearity_subsample)
    pc = fit_pca(z, precomputed=mom)
    k_pc = min(int(pc_tests), d)
    scores = _scores(z, pc, k_pc)
    pc_good = normality_tests(scores, n_jobs=n_jobs)
    maha = mahalanobis_chi2(z, precomputed=mom)
    m_sub = mardia_subsample if mardia_subsample is not None else max(2000, 4 * d)
    m_sub = min(int(m_sub), n)
    if n > d + 1 and m_sub > d + 1:
        mard = mardia(z, rng=rng, n_sub=m_sub, n_repeats=mardia_repeats,
                      d2=maha.d2 if shrinkage is None else None)
    else:
        warnings.warn(
            f"Mardia's tests need n > d + 1 (n={n}, d={d}); LatentAnalysis.mardia is None.",
            UserWarning,
            stacklevel=2,
        )
        mard = None
    hz_n = min(int(hz_subsample), n)
    k_hz = max(2, min(int(hz_dims), d, hz_n - 1))
    hz = henze_zirkler(scores[:, :k_hz] if k_hz <= k_pc else _scores(z, pc, k_hz), rng=rng,
                       n_sub=hz_n, n_repeats=hz_repeats, alpha=alpha)
    centre = cloud_centre(z, precomputed=mom)
    box = box_comparison(z, rng=rng, bound=box_bound, n_box=n_box, precomputed=mom, data_d2=maha.d2)
    top = corr.strongest_pairs(n_pairs).pairs() if d >= 2 else []
    pairs = tuple(pair_summary(z, p, rng=rng, ks=ellipse_k, n_points=kde_points, grid_size=kde_grid) for p in top)
    return LatentAnalysis(
        n_samples=n, d=d, moments=mom, components=comps, goodness=good,
        subsample_goodness=sub, correlation=corr, linearity=lin, pca=pc,
        pc_goodness=pc_good, mahalanobis=maha, mardia=mard, henze_zirkler=hz,
        hz_dims=k_hz, centre=centre, box=box, pairs=pairs, alpha=float(alpha),
    )


def _scores(z: np.ndarray, pc: PCAResult, k: int) -> np.ndarray:
    out = np.empty((z.shape[0], k))
    comps = pc.components[:k].T
    for start in range(0, z.shape[0], 8192):
        out[start : start + 8192] = ((z[start : start + 8192].astype(np.float64) - pc.mean) / pc.scale) @ comps
    return out
