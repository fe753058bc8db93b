"""Drawing the controlled experiments (:mod:`lsreport.experiments`).

Every function takes a :class:`~lsreport.experiments.SweepResult` (or the
frame of :func:`~lsreport.experiments.compare_to_base`), draws into the
given axes (or the current figure or axes) and returns them. Nothing here
computes a statistic beyond picking rows; nothing shows or saves a figure.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import ScalarFormatter

__all__ = [
    "GROUP_COLORS",
    "DEFAULT_PANELS",
    "plot_summary_panels",
    "plot_effects",
    "plot_spectra",
    "plot_factor_r2",
]

#: One colour per group of variants; the seed runs share the base's grey.
GROUP_COLORS = {
    "base": "#222222",
    "seed": "#8c8c8c",
    "latent size": "#1f77b4",
    "batch norm": "#ff7f0e",
    "data": "#2ca02c",
    "training": "#d62728",
}

#: The summary columns :func:`plot_summary_panels` shows by default.
DEFAULT_PANELS = ("d2_var_ratio", "exkurt_median", "abs_skew_median",
                  "pass_share_sub500", "abs_r_mean", "pca_first_ratio")


#: Distinct colours for the measures of :func:`plot_effects` (Okabe–Ito, colour-blind safe).
_MEASURE_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9")

#: Distinct line colours for the variants of :func:`plot_spectra` (tab20 without greys).
_VARIANT_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                   "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5")


def _ax(ax: Axes | None) -> Axes:
    return plt.gca() if ax is None else ax


def _color(group: str) -> str:
    return GROUP_COLORS.get(group, "#9467bd")


def _row_labels(table: pd.DataFrame) -> list[str]:
    return [n if s == "done" else f"{n} (skipped)" for n, s in zip(table["name"], table["status"])]


def plot_summary_panels(result, columns: Sequence[str] | None = None, *, axes=None,
                        ncols: int = 3) -> np.ndarray:
    """Small multiples: one panel per summary column, one row per variant.

    Parameters
    ----------
    result : SweepResult
        The sweep.
    columns : sequence of str, optional
        Summary columns, one panel each; default :data:`DEFAULT_PANELS`.
    axes : array of Axes, optional
        At least ``len(columns)`` axes; default a grid of ``ncols`` columns
        in the current figure (``plt.gcf().subplots``), sharing the variant
        axis.
    ncols : int, default 3
        Columns of the default grid.

    Returns
    -------
    ndarray of Axes
        The panels, flattened; unused ones are hidden.

    Notes
    -----
    Each variant is a point in its group's colour (:data:`GROUP_COLORS`);
    the grey band is the mean ± one standard deviation of the seed runs
    (groups ``"base"`` and ``"seed"``), the grey line their mean, and the
    dotted line the value of a multivariate normal cloud where one exists
    (:data:`lsreport.experiments.NORMAL_VALUES`). Skipped variants keep
    their row, labelled "(skipped)", without a point.
    """
    from lsreport.experiments import HEADERS, NORMAL_VALUES

    cols = list(DEFAULT_PANELS if columns is None else columns)
    if axes is None:
        nrows = -(-len(cols) // ncols)
        axes = plt.gcf().subplots(nrows, ncols, sharey=True, squeeze=False)
    axes = np.atleast_1d(np.asarray(axes, dtype=object)).ravel()
    if axes.size < len(cols):
        raise ValueError(f"need {len(cols)} axes; got {axes.size}.")
    table = result.table
    y = np.arange(len(table))
    done = (table["status"] == "done").to_numpy()
    spread = result.seed_spread(cols)
    for i, (ax, col) in enumerate(zip(axes, cols)):
        m, sd = spread.loc[col, "mean"], spread.loc[col, "std"]
        if np.isfinite(m):
            if np.isfinite(sd):
                ax.axvspan(m - sd, m + sd, color="0.85", zorder=0, lw=0)
            ax.axvline(m, color="0.55", lw=1, zorder=1)
        if col in NORMAL_VALUES:
            ax.axvline(NORMAL_VALUES[col], color="k", ls=":", lw=1, zorder=1)
        v = pd.to_numeric(table[col], errors="coerce").to_numpy(dtype=float)
        colors = [_color(g) for g in table["group"]]
        ax.scatter(v[done], y[done], c=[c for c, d in zip(colors, done) if d], s=22, zorder=3)
        ax.set_title(textwrap.fill(HEADERS.get(col, col.replace("_", " ")), 24), fontsize="small")
        ax.tick_params(labelsize="x-small")
        ax.set_yticks(y)
        ax.set_yticklabels(_row_labels(table))
        if i % ncols:
            ax.tick_params(labelleft=False)
        ax.set_ylim(len(table) - 0.5, -0.5)
        ax.grid(axis="y", alpha=0.2)
    for ax in axes[len(cols):]:
        ax.set_visible(False)
    _group_legend(axes[0].figure, table["group"])
    return axes


def _group_legend(fig, groups) -> None:
    """One legend of the variant groups present, below the figure's panels."""
    from matplotlib.lines import Line2D

    present = list(dict.fromkeys(groups))
    handles = [Line2D([], [], ls="", marker="o", ms=5, color=_color(g), label=g) for g in present]
    handles += [Line2D([], [], color="0.55", lw=6, alpha=0.4, label="seed runs: mean ± 1 s.d."),
                Line2D([], [], color="k", ls=":", lw=1, label="value of a normal cloud")]
    fig.legend(handles=handles, loc="outside lower center", ncol=4, fontsize="x-small",
               frameon=False)


def plot_effects(comparison: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Each variant's change of a few summaries, in seed standard deviations.

    Parameters
    ----------
    comparison : DataFrame
        From :func:`lsreport.experiments.compare_to_base` (one or more
        columns, long format).
    ax : Axes, optional
        Default: the current axes.

    Returns
    -------
    Axes

    Notes
    -----
    The grey band is the prediction bound: a variant whose change made no
    difference lies inside it with the level's probability. The x axis turns
    symmetric-logarithmic (linear within ±5) when an effect exceeds 30 seed
    sds; markers of an infinite ratio (a spread of zero) are left out.
    """
    ax = _ax(ax)
    names = list(dict.fromkeys(comparison.index))
    cols = list(dict.fromkeys(comparison["column"]))
    step = 0.7 / max(len(cols), 1)
    for j, col in enumerate(cols):
        part = comparison[comparison["column"] == col]
        pos = np.array([names.index(n) for n in part.index]) - 0.35 + step * (j + 0.5)
        x = part["in_seed_sd"].to_numpy(dtype=float)
        ok = np.isfinite(x)
        from lsreport.experiments import HEADERS

        ax.scatter(x[ok], pos[ok], s=20, color=_MEASURE_COLORS[j % len(_MEASURE_COLORS)],
                   marker="osD^v"[j % 5], label=HEADERS.get(col, col.replace("_", " ")), zorder=3)
    bound = comparison["bound"].to_numpy(dtype=float)
    bound = bound[np.isfinite(bound)]
    x = comparison["in_seed_sd"].to_numpy(dtype=float)
    x = np.abs(x[np.isfinite(x)])
    b = float(bound.max()) if bound.size else 0.0
    if b:
        ax.axvspan(-b, b, color="0.88", zorder=0, lw=0, label=f"prediction bound ±{b:.3g}")
    ax.axvline(0, color="0.4", lw=1)
    reach = 1.12 * max(b, float(x.max()) if x.size else 0.0, 2.0)
    ax.set_xlim(-reach, reach)
    if x.size and x.max() > 30:
        ax.set_xscale("symlog", linthresh=5)
        ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.set_yticks(np.arange(len(names)))
    ax.set_yticklabels(names, fontsize="small")
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.set_xlabel("change in seed standard deviations")
    ax.set_ylabel("variant")
    ax.legend(fontsize="x-small", frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.14),
              ncol=3)
    return ax


def plot_spectra(result, *, ax: Axes | None = None, logx: bool | None = None) -> Axes:
    """The PCA spectra of the variants: explained-variance ratio per axis.

    Parameters
    ----------
    result : SweepResult
        The sweep.
    ax : Axes, optional
        Default: the current axes.
    logx : bool, optional
        Logarithmic axis index; default when a variant has more than 64
        dimensions.

    Returns
    -------
    Axes
        Logarithmic variance axis; the base in black, the seed runs in grey,
        every other variant in its own colour.
    """
    ax = _ax(ax)
    groups = dict(zip(result.table["name"], result.table["group"]))
    k = 0
    dmax = 1
    for name, ratio in result.spectra.items():
        r = np.asarray(ratio, dtype=float)
        dmax = max(dmax, r.size)
        g = groups.get(name, "")
        if g == "base":
            style = dict(color=GROUP_COLORS["base"], lw=2.2, zorder=4)
        elif g == "seed":
            style = dict(color=GROUP_COLORS["seed"], lw=1.2, ls="--", zorder=3)
        else:
            style = dict(color=_VARIANT_COLORS[k % len(_VARIANT_COLORS)], lw=1.2, zorder=2,
                         ls=("-", "-.", ":")[(k // len(_VARIANT_COLORS)) % 3])
            k += 1
        ax.plot(np.arange(1, r.size + 1), r, label=name, **style)
    ax.set_yscale("log")
    if logx if logx is not None else dmax > 64:
        ax.set_xscale("log")
    ax.set_xlabel("principal component")
    ax.set_ylabel("explained variance ratio")
    if result.spectra:
        ax.legend(fontsize="x-small", frameon=False, loc="upper right", ncol=2)
    return ax


def plot_factor_r2(result, *, ax: Axes | None = None, annotate: bool = True) -> Axes:
    """Heat map of the cross-validated R² of each known factor from z.

    Parameters
    ----------
    result : SweepResult
        The sweep; its ``factor_r2`` (synthetic variants x factors).
    ax : Axes, optional
        Default: the current axes.
    annotate : bool, default True
        Write the value into each cell.

    Returns
    -------
    Axes
        Colour scale 0–1 (a negative R², worse than the mean, shows as 0 and
        is written as it is).
    """
    ax = _ax(ax)
    r2 = result.factor_r2
    if r2 is None or r2.empty:
        ax.text(0.5, 0.5, "no synthetic variant ran", ha="center", va="center",
                transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    v = r2.to_numpy(dtype=float)
    im = ax.imshow(np.clip(v, 0, 1), vmin=0, vmax=1, cmap="viridis", aspect="auto")
    ax.set_xticks(np.arange(v.shape[1]))
    ax.set_xticklabels([c.replace("_", " ") for c in r2.columns], rotation=60, ha="right",
                       fontsize="x-small")
    ax.set_yticks(np.arange(v.shape[0]))
    ax.set_yticklabels(r2.index, fontsize="small")
    ax.grid(False)
    if annotate:
        for (i, j), x in np.ndenumerate(v):
            ax.text(j, i, f"{x:.2f}", ha="center", va="center", fontsize=6,
                    color="white" if x < 0.55 else "black")
    ax.figure.colorbar(im, ax=ax, label="R² of the factor from z (5-fold CV)", shrink=0.9)
    ax.set_xlabel("factor")
    ax.set_ylabel("variant")
    return ax
