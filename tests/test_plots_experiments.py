"""Drawing the sweep: the data on the axes is the result's, into the given axes, no stray figures."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from lsreport import plots
from lsreport.experiments import NORMAL_VALUES, SUMMARY_COLUMNS, SweepResult, compare_to_base
from lsreport.plots import experiments as pe


@pytest.fixture
def sweep():
    names = ["base", "latent 64", "batch norm", "utkface", "synthetic uniform", "untrained", "seed 2"]
    groups = ["base", "latent size", "batch norm", "data", "data", "training", "seed"]
    status = ["done"] * 3 + ["skipped: /x/utkface not found"] + ["done"] * 3
    g = np.random.default_rng(2)
    t = pd.DataFrame({"name": names, "group": groups, "dataset": "celeba", "status": status})
    for c in SUMMARY_COLUMNS:
        t[c] = g.uniform(0.5, 1.5, len(t))
    t.loc[3, list(SUMMARY_COLUMNS)] = np.nan
    spectra = {n: np.sort(g.dirichlet(np.ones(8 if n != "latent 64" else 64)))[::-1]
               for n, s in zip(names, status) if s == "done"}
    r2 = pd.DataFrame(g.uniform(-0.1, 1.0, (2, 5)), index=["base", "synthetic uniform"],
                      columns=[f"factor_{i}" for i in range(5)])
    return SweepResult(t, spectra, r2, {}, {})


def _span(ax):
    """x extent of the first shaded band (a Rectangle or Polygon, by matplotlib version)."""
    p = ax.patches[0]
    if hasattr(p, "get_width"):
        return sorted([p.get_x(), p.get_x() + p.get_width()])
    x = np.asarray(p.get_xy())[:, 0]
    return [x.min(), x.max()]


def test_everything_is_exported():
    for name in pe.__all__:
        assert getattr(plots, name) is getattr(pe, name)


def test_summary_panels_show_each_variant_and_the_seed_band(sweep):
    fig = plt.figure()
    cols = ["d2_var_ratio", "exkurt_median", "psnr", "abs_r_mean"]
    axes = pe.plot_summary_panels(sweep, cols, ncols=3)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert set(sweep.table["group"]) <= set(legend)
    assert len(plt.get_fignums()) == 1 and all(ax.figure is fig for ax in axes)
    assert sum(ax.get_visible() for ax in axes) == len(cols)
    t = sweep.table
    done = t["status"] == "done"
    seeds = t[t["group"].isin(["base", "seed"])]
    for ax, col in zip(axes, cols):
        from lsreport.experiments import HEADERS

        assert ax.get_title().replace("\n", " ") == HEADERS[col]
        xy = ax.collections[0].get_offsets()
        np.testing.assert_allclose(xy[:, 0], t.loc[done, col])
        np.testing.assert_allclose(xy[:, 1], np.flatnonzero(done))
        lo, hi = seeds[col].mean() - seeds[col].std(), seeds[col].mean() + seeds[col].std()
        np.testing.assert_allclose(_span(ax), [lo, hi])
        xs = [line.get_xdata()[0] for line in ax.get_lines()]
        if col in NORMAL_VALUES:
            assert NORMAL_VALUES[col] in xs
    labels = [tl.get_text() for tl in axes[0].get_yticklabels()]
    assert labels[3] == "utkface (skipped)" and labels[0] == "base"


def test_summary_panels_into_given_axes(sweep):
    fig, given = plt.subplots(1, 2)
    out = pe.plot_summary_panels(sweep, ["psnr", "pca_n90"], axes=given)
    assert out[0] is given[0] and len(plt.get_fignums()) == 1
    with pytest.raises(ValueError, match="need 3 axes"):
        pe.plot_summary_panels(sweep, ["psnr", "pca_n90", "abs_r_mean"], axes=given)


def test_effects_plot_shows_the_seed_sds_and_the_bound(sweep):
    c = compare_to_base(sweep.table, ["d2_var_ratio", "exkurt_median"])
    fig, ax = plt.subplots()
    assert pe.plot_effects(c, ax=ax) is ax and len(plt.get_fignums()) == 1
    for coll, col in zip(ax.collections, ["d2_var_ratio", "exkurt_median"]):
        np.testing.assert_allclose(coll.get_offsets()[:, 0], c[c["column"] == col]["in_seed_sd"])
    np.testing.assert_allclose(_span(ax), [-c["bound"].iloc[0], c["bound"].iloc[0]])
    assert [tl.get_text() for tl in ax.get_yticklabels()] == list(dict.fromkeys(c.index))
    assert ax.get_xlabel() and ax.get_ylabel()


def test_spectra_one_line_per_finished_variant(sweep):
    fig, ax = plt.subplots()
    assert pe.plot_spectra(sweep, ax=ax) is ax
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == set(sweep.spectra)
    for name, ratio in sweep.spectra.items():
        np.testing.assert_allclose(lines[name].get_ydata(), ratio)
        np.testing.assert_array_equal(lines[name].get_xdata(), np.arange(1, len(ratio) + 1))
    assert ax.get_yscale() == "log" and ax.get_xscale() == "linear"  # at most 64 dimensions
    fig, ax = plt.subplots()
    assert pe.plot_spectra(sweep, logx=True).get_xscale() == "log"


def test_spectra_use_the_current_axes(sweep):
    fig, ax = plt.subplots()
    assert pe.plot_spectra(sweep) is ax and len(plt.get_fignums()) == 1


def test_factor_heatmap_shows_the_r2(sweep):
    fig, ax = plt.subplots()
    assert pe.plot_factor_r2(sweep, ax=ax) is ax
    r2 = sweep.factor_r2.to_numpy()
    np.testing.assert_allclose(ax.images[0].get_array(), np.clip(r2, 0, 1))
    texts = [t.get_text() for t in ax.texts]
    assert texts == [f"{v:.2f}" for v in r2.ravel()]  # negative values written as they are
    assert [tl.get_text() for tl in ax.get_yticklabels()] == list(sweep.factor_r2.index)
    assert len(plt.get_fignums()) == 1


def test_factor_heatmap_without_synthetic_variants(sweep):
    fig, ax = plt.subplots()
    empty = SweepResult(sweep.table, sweep.spectra, None, {}, {})
    pe.plot_factor_r2(empty, ax=ax)
    assert "no synthetic variant" in ax.texts[0].get_text() and not ax.images
