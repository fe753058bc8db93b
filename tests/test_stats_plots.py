"""Drawing: into the given axes, no stray figures, the data shown is the result's."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.patches import Ellipse

from lsreport import stats as lst
from lsreport.plots import stats as ps


@pytest.fixture(scope="module")
def res():
    g = np.random.default_rng(11)
    a = np.eye(5) + 0.5 * g.normal(size=(5, 5))
    z = g.normal(size=(4000, 5)) @ a
    return lst.analyse(z, rng=g, subsample_sizes=(200,), subsample_repeats=3, n_pairs=1,
                       kde_points=300, hz_subsample=300, mardia_repeats=1, n_box=400, kde_grid=48)


def _one_axes():
    fig, ax = plt.subplots()
    return fig, ax


def _check(ax, fig, n_figs):
    assert ax.figure is fig
    assert len(plt.get_fignums()) == n_figs
    assert ax.get_xlabel() and ax.get_ylabel()


def test_component_histogram_overlays_the_fit(res):
    fig, ax = _one_axes()
    c = int(res.components.dominant(1)[0])
    out = ps.plot_component_histogram(res.components, c, ax=ax)
    assert out is ax
    _check(ax, fig, 1)
    f = res.components.fit(c)
    heights = [p.get_height() for p in ax.patches]
    np.testing.assert_array_equal(heights, f.histogram.counts)
    line = ax.get_lines()[0]
    np.testing.assert_allclose(line.get_ydata(), f.curve(line.get_xdata()))
    assert "bin width 0.25" in " ".join(t.get_text() for t in ax.get_legend().get_texts())


def test_histogram_grid_creates_a_figure_only_without_axes(res):
    axes = ps.plot_component_histograms(res.components, [0, 1, 2, 3])
    assert len(plt.get_fignums()) == 1 and sum(a.get_visible() for a in axes) == 4
    fig, given = plt.subplots(2, 2)
    out = ps.plot_component_histograms(res.components, [0, 1, 2, 3], axes=given)
    assert len(plt.get_fignums()) == 2 and out[0] is given[0, 0]
    with pytest.raises(ValueError, match="need 4 axes"):
        ps.plot_component_histograms(res.components, [0, 1, 2, 3], axes=given[0])


def test_current_axes_used_when_none_given(res):
    fig, ax = _one_axes()
    assert ps.plot_mahalanobis_qq(res.mahalanobis) is ax
    _check(ax, fig, 1)


def test_qq_plot(res, rng):
    fig, ax = _one_axes()
    qs = [lst.qq_data(rng.normal(size=300), label="a"), lst.qq_data(rng.normal(size=300), label="b")]
    ps.plot_qq(qs, ax=ax)
    _check(ax, fig, 1)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), qs[0].sample)
    assert [t.get_text() for t in ax.get_legend().get_texts()][:2] == ["a", "b"]


def test_heatmap_has_colorbar_and_ordered_matrix(res):
    fig, ax = _one_axes()
    ps.plot_correlation_heatmap(res.correlation, ax=ax)
    _check(ax, fig, 1)
    assert len(fig.axes) == 2  # the colour bar
    np.testing.assert_allclose(ax.get_images()[0].get_array(), res.correlation.ordered())
    assert ax.get_images()[0].get_clim() == (-1, 1)


def test_abs_r_and_pass_shares_and_spectrum(res):
    fig, axs = plt.subplots(1, 3)
    ps.plot_abs_r_distribution(res.correlation, ax=axs[0])
    ps.plot_subsample_pass_shares(res.subsample_goodness, ax=axs[1])
    ps.plot_pca_spectrum(res.pca, ax=axs[2])
    for a in axs:
        _check(a, fig, 1)
    heights = [p.get_height() for p in axs[1].patches]
    np.testing.assert_allclose(heights, res.subsample_goodness.pass_share[:, 0])
    np.testing.assert_allclose(axs[2].get_lines()[0].get_ydata(), res.pca.explained_variance_ratio)


def test_pair_plot_draws_ellipses_with_result_geometry(res):
    fig, ax = _one_axes()
    summary = res.pairs[0]
    ps.plot_pair(summary, ax=ax)
    _check(ax, fig, 1)
    ells = [p for p in ax.patches if isinstance(p, Ellipse)]
    assert len(ells) == len(summary.ellipses)
    for patch, e in zip(ells, summary.ellipses):
        assert patch.width == pytest.approx(e.width) and patch.angle == pytest.approx(e.angle)
    labels = " ".join(t.get_text() for t in ax.get_legend().get_texts())
    assert "k = 2: 86.5% expected" in labels and "KDE contour holding 39.3%" in labels


def test_ellipse_patch():
    e = lst.EllipseResult(center=(1.0, 2.0), width=4.0, height=1.0, angle=30.0, k=2.0,
                          coverage_expected=0.86, coverage_measured=0.85)
    p = ps.ellipse_patch(e, edgecolor="r")
    assert p.center == (1.0, 2.0) and p.width == 4.0 and p.height == 1.0 and p.angle == 30.0
    assert not p.get_fill()


def test_radius_histograms(res):
    fig, ax = _one_axes()
    ps.plot_radius_histograms(res.box, ax=ax)
    _check(ax, fig, 1)
    assert "region" in ax.get_title()


def test_every_exported_plot_returns_axes():
    assert set(ps.__all__) >= {"plot_component_histogram", "plot_qq", "plot_correlation_heatmap",
                               "plot_abs_r_distribution", "plot_pair", "plot_pca_spectrum",
                               "plot_mahalanobis_qq", "plot_radius_histograms", "ellipse_patch"}


def test_fit_r2_histogram_counts_converged_fits(res):
    fig, ax = _one_axes()
    ps.plot_fit_r2(res.components, ax=ax)
    _check(ax, fig, 1)
    assert sum(p.get_height() for p in ax.patches) == res.components.converged.sum()
    assert f"{np.median(res.components.r_squared):.4f}" in " ".join(
        t.get_text() for t in ax.get_legend().get_texts())


def test_effect_sizes_scatter_and_normal_band(res):
    fig, ax = _one_axes()
    ps.plot_effect_sizes(res.goodness, ax=ax)
    ps.plot_effect_sizes(res.pc_goodness, ax=ax, label="PCs", reference=False)
    _check(ax, fig, 1)
    pts = ax.collections[0].get_offsets()
    np.testing.assert_allclose(pts[:, 0], res.goodness.skewness)
    np.testing.assert_allclose(pts[:, 1], res.goodness.excess_kurtosis)
    band = ax.patches[1]  # ±2 s.d. of a normal sample: 4 * sqrt(6/n) wide (closed form, large n)
    assert band.get_width() == pytest.approx(4 * np.sqrt(6 / res.n_samples), rel=0.01)
    assert len(ax.patches) == 2 and len(ax.collections) == 2  # no second reference


def test_linearity_plot_shows_deviation_from_the_normal_relation(res):
    fig, ax = _one_axes()
    ps.plot_linearity(res.linearity, ax=ax)
    _check(ax, fig, 1)
    pts = ax.collections[-1].get_offsets()
    lin = res.linearity
    np.testing.assert_allclose(pts[:, 1], lin.spearman - 6 / np.pi * np.arcsin(lin.pearson / 2))


def test_pair_plot_axis_labels(res):
    fig, ax = _one_axes()
    ps.plot_pair(res.pairs[0], ax=ax, labels=("PC 1", "PC 2"))
    assert ax.get_xlabel() == "PC 1" and ax.get_ylabel() == "PC 2" and ax.get_title().startswith("PC 1 and PC 2")


def test_pairs_grid_one_panel_per_pair(res):
    axes = ps.plot_pairs(list(res.pairs) * 3, ncols=2)
    assert len(plt.get_fignums()) == 1 and axes.size == 4
    assert [a.get_visible() for a in axes] == [True, True, True, False]
    i, j = res.pairs[0].pair
    assert axes[2].get_xlabel() == f"z[{i}]"
    fig, given = plt.subplots(1, 2)
    with pytest.raises(ValueError, match="need 3 axes"):
        ps.plot_pairs(list(res.pairs) * 3, axes=given)


def test_effect_sizes_view_holds_every_point_of_both_sets(res):
    fig, ax = _one_axes()
    ps.plot_effect_sizes(res.goodness, ax=ax)
    ps.plot_effect_sizes(res.pc_goodness, ax=ax, reference=False)
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    for g in (res.goodness, res.pc_goodness):
        assert x0 < g.skewness.min() and g.skewness.max() < x1
        assert y0 < g.excess_kurtosis.min() and g.excess_kurtosis.max() < y1


def test_abs_r_histogram_log_axis_keeps_the_counts(res):
    fig, ax = _one_axes()
    ps.plot_abs_r_distribution(res.correlation, ax=ax, log=True)
    assert ax.get_yscale() == "log"
    assert sum(p.get_height() for p in ax.patches) == res.correlation.offdiagonal().size


def test_pair_grid_fits_the_column_with_one_legend(rng):
    from lsreport.stats import pair_summary

    z = rng.multivariate_normal([0, 0, 0], [[1, 0.8, 0.2], [0.8, 1, 0.1], [0.2, 0.1, 1]], size=2000)
    pairs = [pair_summary(z, p, rng=rng, n_points=300, grid_size=32) for p in [(0, 1), (0, 2), (1, 2)]]
    fig = plt.figure()
    axes = ps.plot_pair_grid(pairs, titles=["strongest", "typical |r|", "random"])
    assert fig.get_size_inches()[0] == 7.0
    assert len(fig.legends) == 1 and all(ax.get_legend() is None for ax in axes)
    assert sum(ax.get_visible() for ax in axes) == 3
    assert axes[1].get_title().startswith("typical |r|: z[0], z[2]")
    plt.close(fig)
