"""Drawing the statistics of the latent cloud (results of :mod:`lsreport.stats`).

Every ``plot_*`` function takes a result object, draws into the given axes
(or the current ones, ``plt.gca()``) and returns them. Only
:func:`plot_component_histograms` may create a figure, and only when it is
given no axes. Nothing here computes statistics beyond trivial rescaling,
calls ``plt.show()`` or saves files.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Ellipse
from matplotlib.ticker import MaxNLocator

__all__ = [
    "plot_pair_grid",
    "ellipse_patch",
    "plot_component_histogram",
    "plot_component_histograms",
    "plot_fit_r2",
    "plot_effect_sizes",
    "plot_qq",
    "plot_subsample_pass_shares",
    "plot_correlation_heatmap",
    "plot_abs_r_distribution",
    "plot_linearity",
    "plot_kde_contours",
    "plot_ellipses",
    "plot_pair",
    "plot_pairs",
    "plot_pca_spectrum",
    "plot_mahalanobis_qq",
    "plot_radius_histograms",
]

_ELLIPSE_COLORS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02")


def _ax(ax: Axes | None) -> Axes:
    return plt.gca() if ax is None else ax


def ellipse_patch(result, **kwargs) -> Ellipse:
    """A :class:`matplotlib.patches.Ellipse` for an :class:`~lsreport.stats.EllipseResult`.

    Parameters
    ----------
    result : EllipseResult
        Centre, width, height and angle (degrees) of the ellipse.
    **kwargs
        Passed to :class:`~matplotlib.patches.Ellipse` (default: no fill).

    Returns
    -------
    Ellipse
        Not yet added to any axes (``ax.add_patch(patch)``).
    """
    kwargs.setdefault("fill", False)
    return Ellipse(result.center, result.width, result.height, angle=result.angle, **kwargs)


# --------------------------------------------------------------------------- components


def plot_component_histogram(
    fits,
    component: int,
    *,
    ax: Axes | None = None,
    show_stats: bool = True,
    color: str = "#8da0cb",
    fit_color: str = "#d62728",
) -> Axes:
    """Histogram of one component with its fitted Gaussian.

    Parameters
    ----------
    fits : ComponentFits
        From :func:`lsreport.stats.fit_components` (holds the histograms).
    component : int
        Component index.
    ax : Axes, optional
        Default: the current axes.
    show_stats : bool, default True
        Mark the fitted centre, the sample mean and the median.

    Returns
    -------
    Axes
    """
    ax = _ax(ax)
    f = fits.fit(component)
    h = f.histogram
    ax.bar(h.centers, h.counts, width=h.bin_width, color=color, edgecolor="white",
           linewidth=0.4, label=f"z[{component}], bin width {h.bin_width:g}")
    if f.converged:
        x = np.linspace(h.edges[0], h.edges[-1], 400)
        ax.plot(x, f.curve(x), color=fit_color, lw=1.6,
                label=f"Gaussian fit: μ={f.mu:.3f}, σ={f.sigma:.3f}, R²={f.r_squared:.3f}")
    if show_stats:
        ymax = max(h.counts.max(), f.amplitude if f.converged else 0)
        ax.vlines([f.mean], 0, ymax, colors="k", linestyles="--", lw=1, label=f"mean {f.mean:.3f}")
        ax.vlines([f.median], 0, ymax, colors="0.4", linestyles=":", lw=1.2, label=f"median {f.median:.3f}")
    ax.set_xlabel(f"value of latent component z[{component}]")
    ax.set_ylabel("count per bin")
    ax.legend(fontsize="small", frameon=False, loc="upper left")
    ax.margins(y=0.25)
    return ax


def plot_component_histograms(
    fits,
    components: Sequence[int] | None = None,
    *,
    axes=None,
    ncols: int = 3,
    panel_size: tuple[float, float] = (3.6, 2.6),
):
    """A grid of component histograms with their Gaussian fits.

    Parameters
    ----------
    fits : ComponentFits
        The fits.
    components : sequence of int, optional
        Components to show; default the six widest (``fits.dominant(6)``).
    axes : array of Axes, optional
        At least ``len(components)`` axes. If omitted, a new figure is
        created (the one place in this module that makes a figure).
    ncols : int, default 3
        Columns of the new figure.
    panel_size : (float, float)
        Size of one panel in inches for the new figure.

    Returns
    -------
    ndarray of Axes
        The axes, flattened; unused ones are hidden.
    """
    comps = list(fits.dominant(6) if components is None else components)
    if axes is None:
        nrows = -(-len(comps) // ncols)
        _, axes = plt.subplots(nrows, ncols, figsize=(panel_size[0] * ncols, panel_size[1] * nrows),
                               squeeze=False, layout="constrained")
    axes = np.atleast_1d(np.asarray(axes, dtype=object)).ravel()
    if axes.size < len(comps):
        raise ValueError(f"need {len(comps)} axes; got {axes.size}.")
    for ax, c in zip(axes, comps):
        f = fits.fit(c)
        h = f.histogram
        ax.bar(h.centers, h.counts, width=h.bin_width, color="#8da0cb", edgecolor="white", linewidth=0.3)
        if f.converged:
            x = np.linspace(h.edges[0], h.edges[-1], 300)
            ax.plot(x, f.curve(x), color="#d62728", lw=1.3)
        ax.set_title(f"z[{c}]: μ={f.mu:.2f}, σ={f.sigma:.2f}, R²={f.r_squared:.3f}", fontsize="small")
        ax.set_xlabel("value")
        ax.set_ylabel("count")
        ax.tick_params(labelsize="x-small")
    for ax in axes[len(comps):]:
        ax.set_visible(False)
    return axes


def plot_fit_r2(fits, *, ax: Axes | None = None, bins: int = 40) -> Axes:
    """Histogram of the R² of the Gaussian fits over all components.

    Parameters
    ----------
    fits : ComponentFits
        The fits; components whose fit failed are left out (and counted in
        the legend).
    ax : Axes, optional
        Default: the current axes.
    bins : int, default 40
        Histogram bins.

    Returns
    -------
    Axes
    """
    ax = _ax(ax)
    r2 = fits.r_squared[fits.converged & np.isfinite(fits.r_squared)]
    n_failed = len(fits) - r2.size
    label = f"{r2.size} components" + (f" ({n_failed} fits failed, not shown)" if n_failed else "")
    if r2.size:
        ax.hist(r2, bins=bins, color="#8da0cb", edgecolor="white", linewidth=0.3, label=label)
        med = float(np.median(r2))
        ax.axvline(med, color="k", ls="--", lw=1.2, label=f"median R² = {med:.4f}")
    ax.set_xlabel("R² of the Gaussian fit to the component's histogram")
    ax.set_ylabel("number of components")
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize="small", frameon=False, loc="upper left")
    return ax


def plot_effect_sizes(
    goodness,
    *,
    ax: Axes | None = None,
    label: str | None = None,
    color: str = "#1f77b4",
    reference: bool = True,
) -> Axes:
    """Skewness against excess kurtosis, one point per component.

    Parameters
    ----------
    goodness : GoodnessResult
        From :func:`lsreport.stats.normality_tests`.
    ax : Axes, optional
        Default: the current axes.
    label : str, optional
        Legend label of the points (default "components").
    color : str
        Colour of the points.
    reference : bool, default True
        Mark the normal point (0, 0), the band of ±2 sampling standard
        deviations of both statistics for a normal sample of this size
        (:func:`lsreport.stats.effect_size_se`), and the rule-of-thumb box
        |skewness| < 0.5, |excess kurtosis| < 1. Pass False when drawing a
        second set into the same axes.

    Returns
    -------
    Axes
    """
    from matplotlib.patches import Rectangle

    from lsreport.stats.goodness import effect_size_se

    ax = _ax(ax)
    ses, sek = effect_size_se(goodness.n_samples)
    if reference:
        ax.add_patch(Rectangle((-0.5, -1.0), 1.0, 2.0, fill=False, ls="--", lw=1, ec="0.4",
                               label="|skewness| < 0.5, |excess kurtosis| < 1"))
        ax.add_patch(Rectangle((-2 * ses, -2 * sek), 4 * ses, 4 * sek, fc="#d62728", alpha=0.35, ec="none",
                               label=f"±2 s.d. of a normal sample of n = {goodness.n_samples:,}"))
        ax.plot([0], [0], "+", color="k", ms=10, mew=1.5, label="normal distribution")
    ax.scatter(goodness.skewness, goodness.excess_kurtosis, s=10, color=color, alpha=0.7, linewidths=0,
               label=label or f"{goodness.skewness.size} components")
    # zoom to the data, the normal band and the rule-of-thumb box
    x = np.concatenate([goodness.skewness, [-2 * ses, 2 * ses]])
    y = np.concatenate([goodness.excess_kurtosis, [-2 * sek, 2 * sek]])
    if reference:  # the whole rule-of-thumb box stays inside the axes
        x = np.concatenate([x, [-0.5, 0.5]])
        y = np.concatenate([y, [-1.0, 1.0]])
    lo = np.array([x.min(), y.min()])
    hi = np.array([x.max(), y.max()])
    pad = 0.08 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    if not reference:  # a second set: keep what the first one showed
        lo = np.minimum(lo, [ax.get_xlim()[0], ax.get_ylim()[0]])
        hi = np.maximum(hi, [ax.get_xlim()[1], ax.get_ylim()[1]])
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("skewness")
    ax.set_ylabel("excess kurtosis")
    ax.legend(fontsize="small", frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    return ax


# --------------------------------------------------------------------------- goodness


def plot_qq(qq, *, ax: Axes | None = None, labels: Sequence[str] | None = None,
            n: int | None = None, level: float = 0.95) -> Axes:
    """Normal QQ plot of one or several :class:`~lsreport.stats.QQData`.

    Parameters
    ----------
    qq : QQData or sequence of QQData
        From :func:`lsreport.stats.qq_data`.
    ax : Axes, optional
        Default: the current axes.
    labels : sequence of str, optional
        Legend labels (default: each ``QQData.label``).
    n : int, optional
        Sample size behind the points: draws the pointwise ``level`` band
        in which a normal sample of that size would put its points
        (:func:`lsreport.stats.elliptical.order_statistic_band`; standardised
        QQ data only).
    level : float, default 0.95

    Returns
    -------
    Axes
    """
    ax = _ax(ax)
    items = [qq] if hasattr(qq, "theoretical") else list(qq)
    labels = list(labels) if labels is not None else [q.label or f"sample {k}" for k, q in enumerate(items)]
    lo = min(q.theoretical.min() for q in items)
    hi = max(q.theoretical.max() for q in items)
    for q, lab in zip(items, labels):
        ax.plot(q.theoretical, q.sample, ".", ms=3, alpha=0.8, label=lab)
    line = np.array([lo, hi])
    if n is not None and all(q.standardized for q in items):
        from scipy import stats as sps

        from lsreport.stats.elliptical import order_statistic_band

        t = np.linspace(lo, hi, 200)
        plo, phi = order_statistic_band(sps.norm.cdf(t), n, level)
        ax.fill_between(t, sps.norm.ppf(plo), sps.norm.ppf(phi), color="0.6", alpha=0.35, lw=0,
                        label=f"{level:.0%} band of a normal sample of n = {n:,}".replace("%", " %"))
    if all(q.standardized for q in items):
        ax.plot(line, line, color="k", lw=1, label="normal reference")
        ax.set_ylabel("sample quantile (standardised)")
    else:
        for q in items:
            ax.plot(line, q.reference(line), color="k", lw=0.8)
        ax.set_ylabel("sample quantile")
    ax.set_xlabel("standard normal quantile")
    ax.legend(fontsize="small", frameon=False)
    return ax


def plot_subsample_pass_shares(sub, *, ax: Axes | None = None) -> Axes:
    """Share of components passing each test, per subsample size.

    Parameters
    ----------
    sub : SubsampleGoodness
        From :func:`lsreport.stats.subsample_tests`.
    ax : Axes, optional
        Default: the current axes.

    Returns
    -------
    Axes
    """
    ax = _ax(ax)
    n_t, n_s = sub.pass_share.shape
    width = 0.8 / n_s
    x = np.arange(n_t)
    expected = np.asarray(sub.expected_pass_share, dtype=float).reshape(n_t, n_s)
    for b, size in enumerate(sub.sizes):
        xb = x + (b - (n_s - 1) / 2) * width
        ax.bar(xb, sub.pass_share[:, b], width=width, label=f"n = {size}")
        # the share of simulated normal samples of this size that pass: the
        # level each bar should reach (not exactly 1 - alpha for every test)
        ax.hlines(expected[:, b], xb - width / 2, xb + width / 2, color="k", lw=1.5,
                  label="expected if normal (simulated)" if b == 0 else None)
    ax.set_xticks(x, [t.replace("_", " ") for t in sub.tests])
    ax.set_ylim(0, 1.2)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel(f"share passing at α = {sub.alpha:g}")
    ax.set_xlabel(f"test ({sub.n_repeats} random subsamples per size)")
    ax.legend(fontsize="small", frameon=False, loc="upper center", ncol=n_s + 1)
    return ax


# --------------------------------------------------------------------------- correlation


def plot_correlation_heatmap(
    corr,
    *,
    ax: Axes | None = None,
    ordered: bool = True,
    cmap: str = "RdBu_r",
    colorbar: bool = True,
    max_ticks: int = 32,
) -> Axes:
    """Heatmap of the Pearson correlation matrix, with a colour bar.

    Parameters
    ----------
    corr : CorrelationResult
        From :func:`lsreport.stats.correlations`.
    ax : Axes, optional
        Default: the current axes.
    ordered : bool, default True
        Permute rows and columns by the clustering order.
    cmap : str, default "RdBu_r"
        Diverging colour map, centred at 0 (limits ±1).
    colorbar : bool, default True
        Add a colour bar next to the axes.
    max_ticks : int, default 32
        Label every component up to this size; beyond, no tick labels.

    Returns
    -------
    Axes
    """
    ax = _ax(ax)
    r = corr.ordered() if ordered else corr.r
    idx = corr.order if ordered else np.arange(corr.d)
    im = ax.imshow(r, cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
    if corr.d <= max_ticks:
        ax.set_xticks(np.arange(corr.d), [str(i) for i in idx], fontsize="x-small", rotation=90)
        ax.set_yticks(np.arange(corr.d), [str(i) for i in idx], fontsize="x-small")
    else:
        ax.set_xticks([])
        ax.set_yticks([])
    what = "clustered order" if ordered else "index order"
    ax.set_xlabel(f"component ({what})")
    ax.set_ylabel(f"component ({what})")
    if colorbar:
        ax.figure.colorbar(im, ax=ax, shrink=0.85, label="Pearson r")
    return ax


def plot_abs_r_distribution(
    corr, *, ax: Axes | None = None, bins: int = 60, alpha: float = 0.05, log: bool = False
) -> Axes:
    """Histogram of the off-diagonal ``|r|`` with the noise references.

    Parameters
    ----------
    corr : CorrelationResult
        The correlations.
    ax : Axes, optional
        Default: the current axes.
    bins : int, default 60
        Histogram bins.
    alpha : float, default 0.05
        Level of the marked critical ``|r|``.
    log : bool, default False
        Logarithmic count axis, so that a few strong pairs among many weak
        ones stay visible.

    Returns
    -------
    Axes
    """
    ax = _ax(ax)
    a = np.abs(corr.offdiagonal())
    s = corr.summary(alpha)
    ax.hist(a, bins=bins, range=(0, max(a.max(), s.critical_r) * 1.02), color="#66c2a5", edgecolor="white",
            linewidth=0.3, label=f"{s.n_pairs} pairs, mean |r| = {s.mean:.3f}")
    ax.axvline(s.noise_mean, color="k", ls=":", lw=1.2, label=f"mean |r| if independent ({s.noise_mean:.3f})")
    ax.axvline(s.critical_r, color="#d62728", ls="--", lw=1.2,
               label=f"critical |r| at α={alpha:g} ({s.critical_r:.3f})")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("|Pearson r| between two components")
    ax.set_ylabel("number of pairs")
    ax.legend(fontsize="small", frameon=False)
    return ax


def plot_linearity(lin, *, ax: Axes | None = None) -> Axes:
    """Spearman's coefficient minus its bivariate-normal value, against Pearson's.

    Parameters
    ----------
    lin : LinearityResult
        From :func:`lsreport.stats.linearity_check`.
    ax : Axes, optional
        Default: the current axes.

    Returns
    -------
    Axes
        Points at ``(r, rho_s - (6/pi) arcsin(r/2))``, one per pair, with the
        band of ±2 sampling standard deviations of that difference for an
        independent normal pair (``LinearityResult.deviation_noise_sd``).
    """
    ax = _ax(ax)
    band = 2 * lin.deviation_noise_sd
    ax.axhspan(-band, band, color="0.85", label=f"±2 s.d. for a normal pair (n = {lin.n_sub:,})")
    ax.axhline(0, color="k", lw=0.8)
    ax.scatter(lin.pearson, lin.deviation, s=4, color="#1b9e77", alpha=0.5, linewidths=0, rasterized=True,
               label=f"{lin.pearson.size:,} pairs, max |deviation| = {lin.max_abs_deviation:.3f}")
    ax.set_xlabel("Pearson r of a pair")
    ax.set_ylabel("Spearman ρ − (6/π) arcsin(r/2)")
    ax.legend(fontsize="small", frameon=False, loc="upper left")
    return ax


# --------------------------------------------------------------------------- pairs


def plot_kde_contours(
    grid,
    *,
    ax: Axes | None = None,
    masses: Sequence[float] | None = None,
    colors: Sequence[str] = ("0.05", "0.3", "0.55"),
    legend_labels: bool = True,
) -> Axes:
    """Contours of a gridded density enclosing given probability masses.

    Parameters
    ----------
    grid : KDEGrid
        From :func:`lsreport.stats.kde_2d`.
    ax : Axes, optional
        Default: the current axes.
    masses : sequence of float, optional
        Probability masses; default those of the 1-, 2-, 3-sigma ellipses of
        a bivariate normal (39.3 %, 86.5 %, 98.9 %).
    colors : sequence of str
        Line colours, from the innermost (largest mass first is outermost).
    legend_labels : bool, default True
        Add one legend entry per contour ("KDE: 86.5 % of the density").

    Returns
    -------
    Axes
    """
    from matplotlib.lines import Line2D

    from lsreport.stats.kde import sigma_masses

    ax = _ax(ax)
    m = np.asarray(sigma_masses() if masses is None else masses, dtype=float)
    lv = grid.levels(m)
    ok = np.isfinite(lv)
    order = np.argsort(lv[ok])
    levels, ms = lv[ok][order], m[ok][order]
    keep = np.concatenate([[True], np.diff(levels) > 0])  # contour needs strictly increasing levels
    levels, ms = levels[keep], ms[keep]
    if levels.size:
        cols = [colors[k % len(colors)] for k in range(levels.size)][::-1]  # darkest = innermost
        ax.contour(grid.x, grid.y, grid.density, levels=levels, colors=cols, linewidths=1.3)
        if legend_labels:
            for c, mm in zip(cols, ms):
                ax.add_line(Line2D([], [], color=c, lw=1.3, label=f"KDE contour holding {mm:.1%}"))
    return ax


def plot_ellipses(ellipses, *, ax: Axes | None = None, colors: Sequence[str] = _ELLIPSE_COLORS) -> Axes:
    """Draw confidence ellipses, labelled with k and expected/measured coverage.

    Parameters
    ----------
    ellipses : sequence of EllipseResult
        From :func:`lsreport.stats.confidence_ellipses`.
    ax : Axes, optional
        Default: the current axes.
    colors : sequence of str
        Cycle of edge colours.

    Returns
    -------
    Axes
    """
    ax = _ax(ax)
    for k, e in enumerate(ellipses):
        ax.add_patch(ellipse_patch(
            e, edgecolor=colors[k % len(colors)], lw=1.5, ls="--",
            label=f"k = {e.k:g}: {e.coverage_expected:.1%} expected, {e.coverage_measured:.1%} inside",
        ))
    ax.autoscale_view()
    return ax


def plot_pair(
    summary,
    *,
    ax: Axes | None = None,
    masses: Sequence[float] | None = None,
    show_points: bool = True,
    show_kde: bool = True,
    show_ellipses: bool = True,
    labels: tuple[str, str] | None = None,
) -> Axes:
    """Scatter, KDE probability contours and confidence ellipses of a pair.

    Parameters
    ----------
    summary : PairSummary
        From :func:`lsreport.stats.pair_summary` (or ``LatentAnalysis.pairs``).
    ax : Axes, optional
        Default: the current axes.
    masses : sequence of float, optional
        KDE contour masses (default 1-, 2-, 3-sigma masses).
    show_points, show_kde, show_ellipses : bool
        Layers to draw.
    labels : (str, str), optional
        Names of the two axes; default ``z[i]`` and ``z[j]`` (pass e.g.
        ``("PC 1", "PC 2")`` for principal-component scores).

    Returns
    -------
    Axes
    """
    ax = _ax(ax)
    i, j = summary.pair
    if show_points:
        p = summary.points
        ax.scatter(p[:, 0], p[:, 1], s=3, c="0.5", alpha=0.3, linewidths=0, rasterized=True,
                   label=f"{p.shape[0]:,} latent vectors (random subset)")
    if show_kde:
        plot_kde_contours(summary.kde, ax=ax, masses=masses)
    if show_ellipses:
        plot_ellipses(summary.ellipses, ax=ax)
    g = summary.kde
    ax.set_xlim(g.x[0], g.x[-1])
    ax.set_ylim(g.y[0], g.y[-1])
    xl, yl = labels if labels is not None else (f"z[{i}]", f"z[{j}]")
    ax.set_xlabel(xl)
    ax.set_ylabel(yl)
    ax.set_title(f"{xl} and {yl}: Pearson r = {summary.r:.3f}", fontsize="medium")
    # outside the axes: inside, eight entries would cover the cloud
    ax.legend(fontsize="small", frameon=False, loc="center left", bbox_to_anchor=(1.02, 0.5), markerscale=4)
    return ax


def plot_pairs(
    summaries,
    *,
    axes=None,
    ncols: int = 1,
    panel_size: tuple[float, float] = (7.2, 4.4),
    **kwargs,
):
    """:func:`plot_pair` for several pairs, one panel each.

    Parameters
    ----------
    summaries : sequence of PairSummary
        E.g. ``LatentAnalysis.pairs``.
    axes : array of Axes, optional
        At least ``len(summaries)`` axes. If omitted, a new figure is
        created (like :func:`plot_component_histograms`, the only other
        function here that makes one).
    ncols : int, default 1
        Columns of the new figure (each panel's legend sits to its right).
    panel_size : (float, float)
        Size of one panel in inches for the new figure, legend included.
    **kwargs
        Passed to :func:`plot_pair`.

    Returns
    -------
    ndarray of Axes
        The axes, flattened; unused ones are hidden.
    """
    summaries = list(summaries)
    if not summaries:
        raise ValueError("no pairs to draw.")
    if axes is None:
        ncols = min(ncols, len(summaries))
        nrows = -(-len(summaries) // ncols)
        _, axes = plt.subplots(nrows, ncols, figsize=(panel_size[0] * ncols, panel_size[1] * nrows),
                               squeeze=False, layout="constrained")
    axes = np.atleast_1d(np.asarray(axes, dtype=object)).ravel()
    if axes.size < len(summaries):
        raise ValueError(f"need {len(summaries)} axes; got {axes.size}.")
    for ax, summary in zip(axes, summaries):
        plot_pair(summary, ax=ax, **kwargs)
    for ax in axes[len(summaries):]:
        ax.set_visible(False)
    return axes


def plot_pair_grid(summaries, *, titles: Sequence[str] | None = None, ncols: int = 2,
                   width: float = 7.0, fig=None, masses: Sequence[float] | None = None):
    """Several pairs in a grid that fits the text column, with one shared legend.

    Each panel shows the scatter, the KDE contours and the confidence
    ellipses of one pair; its title names the pair and its Pearson r, and a
    line inside it gives the measured share inside each ellipse. One legend
    below the grid explains the line styles with the shares a normal pair
    would have.

    Parameters
    ----------
    summaries : sequence of PairSummary
    titles : sequence of str, optional
        A prefix per panel, e.g. ``"strongest"``, ``"typical |r|"``, ``"random"``.
    ncols : int, default 2
    width : float, default 7
        Figure width in inches (the book's text column).
    fig : Figure, optional
        Default: the current figure, resized to the grid.
    masses : sequence of float, optional
        KDE contour masses (default those of the 1-, 2-, 3-sigma ellipses).

    Returns
    -------
    ndarray of Axes
    """
    from matplotlib.lines import Line2D

    summaries = list(summaries)
    if not summaries:
        raise ValueError("no pairs to draw.")
    fig = fig or plt.gcf()
    ncols = min(ncols, len(summaries))
    nrows = -(-len(summaries) // ncols)
    panel = width / ncols
    height = panel * 0.9 * nrows + 0.9
    fig.set_size_inches(width, height)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    titles = list(titles) if titles is not None else [""] * len(summaries)
    for ax, sm, tt in zip(axes, summaries, titles):
        i, j = sm.pair
        p = sm.points
        ax.scatter(p[:, 0], p[:, 1], s=2, c="0.45", alpha=0.35, linewidths=0, rasterized=True)
        plot_kde_contours(sm.kde, ax=ax, masses=masses, legend_labels=False)
        for k, e in enumerate(sm.ellipses):
            ax.add_patch(ellipse_patch(e, edgecolor=_ELLIPSE_COLORS[k % len(_ELLIPSE_COLORS)],
                                       lw=1.3, ls="--"))
        g = sm.kde
        ax.set_xlim(g.x[0], g.x[-1])
        ax.set_ylim(g.y[0], g.y[-1])
        ax.grid(False)
        ax.tick_params(labelsize="x-small")
        ax.set_xlabel(f"z[{i}]", fontsize="small")
        ax.set_ylabel(f"z[{j}]", fontsize="small")
        head = f"{tt}: " if tt else ""
        ax.set_title(f"{head}z[{i}], z[{j}], r = {sm.r:.2f}", fontsize="small")
        inside = " · ".join(f"{e.coverage_measured:.0%}" for e in sm.ellipses).replace("%", " %")
        ax.text(0.02, 0.02, f"inside: {inside}", transform=ax.transAxes, fontsize="x-small",
                va="bottom", ha="left", bbox={"facecolor": "white", "alpha": 0.8, "lw": 0, "pad": 1})
    for ax in axes[len(summaries):]:
        ax.set_visible(False)
    e0 = summaries[0].ellipses
    handles = [Line2D([], [], color=_ELLIPSE_COLORS[k % len(_ELLIPSE_COLORS)], ls="--", lw=1.3,
                      label=f"ellipse k = {e.k:g} (normal: {e.coverage_expected:.1%} inside)".replace("%", " %"))
               for k, e in enumerate(e0)]
    ms = masses if masses is not None else [1 - np.exp(-k * k / 2) for k in (1, 2, 3)]
    held = ", ".join(f"{m:.1%}" for m in sorted(ms)).replace("%", " %")
    handles.append(Line2D([], [], color="0.3", lw=1.3,
                          label=f"KDE contours holding {held} (darker = inner)"))
    handles.append(Line2D([], [], ls="", marker="o", ms=3, color="0.55", label="latent vectors"))
    fig.legend(handles=handles, loc="lower center", ncol=2, fontsize="x-small", frameon=False)
    fig.subplots_adjust(left=0.09, right=0.98, top=1 - 0.3 / height, bottom=1.05 / height,
                        hspace=0.42, wspace=0.28)
    return axes


# --------------------------------------------------------------------------- PCA and normality


def plot_pca_spectrum(pca, *, ax: Axes | None = None, n: int | None = None, log: bool = True) -> Axes:
    """Explained variance per principal axis and its cumulative share.

    Parameters
    ----------
    pca : PCAResult
        From :func:`lsreport.stats.fit_pca`.
    ax : Axes, optional
        Default: the current axes. The cumulative curve goes on a twin axis
        in the same figure.
    n : int, optional
        Number of axes to show (default all).
    log : bool, default True
        Logarithmic scale for the variance ratio.

    Returns
    -------
    Axes
        The primary axes (variance ratio).
    """
    ax = _ax(ax)
    n = pca.n_components if n is None else min(int(n), pca.n_components)
    x = np.arange(1, n + 1)
    ax.plot(x, pca.explained_variance_ratio[:n], "o-", ms=2.5, lw=1, color="#1f77b4",
            label="explained variance ratio")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("principal component")
    ax.set_ylabel("explained variance ratio", color="#1f77b4")
    tw = ax.twinx()
    tw.plot(x, pca.cumulative_variance_ratio[:n], "-", lw=1.6, color="#d62728", label="cumulative")
    tw.set_ylim(0, 1.02)
    tw.set_ylabel("cumulative share of variance", color="#d62728")
    n90 = pca.n_components_for(0.9)
    if n90 <= n:
        tw.axhline(0.9, color="#d62728", ls=":", lw=1)
        tw.axvline(n90, color="0.3", ls=":", lw=1, label=f"90 % reached at {n90} axes")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = tw.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize="small", frameon=False, loc="center right")
    return ax


def plot_mahalanobis_qq(maha, *, ax: Axes | None = None, log: bool = True,
                        level: float = 0.95) -> Axes:
    """QQ plot of squared Mahalanobis distances against their normal reference.

    Parameters
    ----------
    maha : MahalanobisResult
        From :func:`lsreport.stats.mahalanobis_chi2`.
    ax : Axes, optional
        Default: the current axes.
    log : bool, default True
        Logarithmic axes, so the bulk and the long upper tail both show.
    level : float, default 0.95
        Pointwise band of a normal cloud of the same size (exact order
        statistics of χ²(D); :func:`lsreport.stats.elliptical.order_statistic_band`).

    Returns
    -------
    Axes
    """
    ax = _ax(ax)
    ref = "χ²" if maha.reference == "chi2" else "exact Beta"
    ax.plot(maha.qq_theoretical, maha.qq_sample, ".", ms=3, color="#1f77b4",
            label=f"data: mean {maha.mean_d2:.1f}, variance {maha.var_d2:.1f}")
    lo = min(maha.qq_theoretical.min(), maha.qq_sample.min())
    hi = max(maha.qq_theoretical.max(), maha.qq_sample.max())
    ax.plot([lo, hi], [lo, hi], color="k", lw=1,
            label=f"normal cloud: mean {maha.expected_mean:.1f}, variance {maha.expected_var:.1f}")
    from scipy import stats as sps

    from lsreport.stats.elliptical import order_statistic_band

    t = np.sort(np.asarray(maha.qq_theoretical, dtype=float))
    plo, phi = order_statistic_band(sps.chi2.cdf(t, maha.d), maha.n_samples, level)
    ax.fill_between(t, sps.chi2.ppf(plo, maha.d), sps.chi2.ppf(phi, maha.d), color="0.6", alpha=0.4,
                    lw=0, label=f"{level:.0%} band of a normal cloud of n = {maha.n_samples:,}".replace("%", " %"))
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel(f"{ref}({maha.d}) quantile")
    ax.set_ylabel("squared Mahalanobis distance d² (sample quantile)")
    ax.legend(fontsize="small", frameon=False, loc="upper left")
    return ax


def plot_radius_histograms(box, *, ax: Axes | None = None, bins: int = 60) -> Axes:
    """Radii ``||z||`` of the latent vectors against uniform points in a box.

    Parameters
    ----------
    box : BoxResult
        From :func:`lsreport.stats.box_comparison`.
    ax : Axes, optional
        Default: the current axes.
    bins : int, default 60
        Bins per histogram.

    Returns
    -------
    Axes
    """
    ax = _ax(ax)
    rd, rb = box.data_radii.radii, box.box_radii.radii
    lo = min(rd.min(), rb.min())
    hi = max(rd.max(), rb.max())
    edges = np.linspace(lo, hi, bins + 1)
    ax.hist(rd, bins=edges, density=True, alpha=0.6, color="#1f77b4", label=f"latent vectors (n={rd.size})")
    ax.hist(rb, bins=edges, density=True, alpha=0.6, color="#ff7f0e",
            label=rf"uniform in $[-{box.bound:.3g}, {box.bound:.3g}]^{{{box.d}}}$ (n={rb.size})")
    ax.axvline(np.sqrt(box.expected_mean_sq_radius_box), color="#ff7f0e", ls="--", lw=1.2,
               label=r"box: $\sqrt{d\,b^2/3}$")
    ax.set_xlabel("radius ‖z‖")
    ax.set_ylabel("density")
    ax.set_title(f"box points inside the data's {box.level:.0%} region: {box.share_box_inside:.2%}",
                 fontsize="medium")
    ax.legend(fontsize="small", frameon=False)
    return ax
