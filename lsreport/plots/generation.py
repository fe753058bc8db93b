"""Drawing of generated images, latent radii and quality metrics.

Every function draws into the given (or current) axes and returns them; none
creates a figure, shows or saves one.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np

__all__ = [
    "sampler_colors",
    "tile_images",
    "plot_image_grid",
    "plot_sampler_grids",
    "plot_radius_distributions",
    "plot_metrics",
    "plot_metric_table",
    "plot_path_strip",
    "plot_path_strips",
    "plot_path_radii",
]

_PAD_VALUE = 255  # white gutters between tiles


def _uint8(images) -> np.ndarray:
    from lsreport.quality import to_uint8

    return to_uint8(images)


def tile_images(images, ncols: int | None = None, *, pad: int = 1) -> np.ndarray:
    """Arrange images in a mosaic with white gutters.

    Parameters
    ----------
    images : array_like
        ``(N, H, W, 3)`` uint8 or float in ``[0, 1]`` (or grey ``(N, H, W)``).
    ncols : int, optional
        Tiles per row; default ``ceil(sqrt(N))``.
    pad : int, default 1
        Gutter width in pixels.

    Returns
    -------
    ndarray, uint8, shape (rows * (H + pad) - pad, ncols * (W + pad) - pad, 3)
        Empty cells are white.
    """
    imgs = _uint8(images)
    n, h, w, c = imgs.shape
    if n == 0:
        raise ValueError("no images to tile")
    ncols = int(ncols or np.ceil(np.sqrt(n)))
    nrows = int(np.ceil(n / ncols))
    out = np.full((nrows * (h + pad) - pad, ncols * (w + pad) - pad, c), _PAD_VALUE, np.uint8)
    for i in range(n):
        r, q = divmod(i, ncols)
        out[r * (h + pad) : r * (h + pad) + h, q * (w + pad) : q * (w + pad) + w] = imgs[i]
    return out


def _bare(ax):
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for s in ax.spines.values():
        s.set_visible(False)


def plot_image_grid(images, *, ax=None, ncols: int | None = None, title: str | None = None, pad: int = 1):
    """Show a set of images as one tiled grid in a single axes.

    Parameters
    ----------
    images : array_like
        ``(N, H, W, 3)`` uint8 or float in ``[0, 1]``.
    ax : matplotlib.axes.Axes, optional
        Target axes; default the current axes.
    ncols : int, optional
        Tiles per row; default ``ceil(sqrt(N))``.
    title : str, optional
        Axes title.
    pad : int, default 1
        Gutter width in pixels.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = ax if ax is not None else plt.gca()
    ax.imshow(tile_images(images, ncols, pad=pad), interpolation="nearest")
    _bare(ax)
    if title:
        ax.set_title(title)
    return ax


def plot_sampler_grids(
    images_by_name: Mapping[str, object], *, axes=None, n_images: int = 16, ncols: int = 4,
    grid_cols: int | None = None,
):
    """Small multiples: one image grid per sampler, all with the same layout.

    Parameters
    ----------
    images_by_name : mapping
        ``{sampler label: images}``; the first ``n_images`` of each are shown.
    axes : sequence of Axes, optional
        One axes per entry; default new axes in the current figure.
    n_images : int, default 16
        Images per sampler.
    ncols : int, default 4
        Tiles per row within each grid.
    grid_cols : int, optional
        Grids per row when ``axes`` is not given; default all in one row.

    Returns
    -------
    ndarray of matplotlib.axes.Axes
    """
    names = list(images_by_name)
    if axes is None:
        cols = min(int(grid_cols or len(names)), len(names))
        rows = -(-len(names) // cols)
        axes = plt.gcf().subplots(rows, cols, squeeze=False).ravel()
    axes = np.asarray(axes, dtype=object).ravel()
    if axes.size < len(names):
        raise ValueError(f"{len(names)} samplers but only {axes.size} axes")
    for ax, name in zip(axes, names):
        imgs = _uint8(images_by_name[name])[:n_images]
        if imgs.shape[0] < n_images:
            # pad with white tiles so that every grid has the same shape
            blank = np.full((n_images - imgs.shape[0], *imgs.shape[1:]), _PAD_VALUE, np.uint8)
            imgs = np.concatenate([imgs, blank])
        plot_image_grid(imgs, ax=ax, ncols=ncols, title=name)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    return axes


def _chi_pdf(r, dim):
    from scipy.stats import chi

    return chi.pdf(r, dim)


#: Colour families of the sampler kinds (first word of a set's label), light to dark.
_SAMPLER_PALETTES = {
    "cube": ("#fdae61", "#d7191c", "#a50f15"),
    "intervals": ("#a6611a", "#dfc27d"),
    "diagonal": ("#7b3294", "#c2a5cf"),
    "normal": ("#2166ac", "#67a9cf", "#08306b"),
    "ellipse": ("#1a9850", "#91cf60"),
    "gmm": ("#01665e", "#35978f"),
    "t": ("#e7298a", "#c994c7"),
    "reconstructions": ("#000000",),
}


def sampler_colors(labels) -> dict:
    """A fixed colour per image-set label, the same in every figure.

    Sets of one sampler kind (the label's first word: cube, normal, …) share
    a colour family; unknown kinds take the tab10 colours in turn.
    """
    out, used, spare = {}, {}, 0
    for lbl in labels:
        kind = str(lbl).split()[0].lower().rstrip(",")
        pal = _SAMPLER_PALETTES.get(kind)
        if pal is None:
            out[lbl] = plt.get_cmap("tab10")(spare % 10)
            spare += 1
            continue
        k = used.get(kind, 0)
        out[lbl] = pal[k % len(pal)]
        used[kind] = k + 1
    return out


def plot_radius_distributions(
    radii_by_name: Mapping[str, np.ndarray],
    reference_radii,
    *,
    ax=None,
    dim: int | None = None,
    bins: int = 60,
    logx: bool | None = None,
):
    """Mahalanobis radii of sampled z-vectors against those of the real latents.

    Parameters
    ----------
    radii_by_name : mapping
        ``{sampler label: radii}`` (e.g. ``LatentStats.mahalanobis(samples)``).
    reference_radii : array_like
        Radii of the real latents (shaded).
    ax : matplotlib.axes.Axes, optional
        Target axes; default the current axes.
    dim : int, optional
        Latent dimension: adds the chi distribution with ``dim`` degrees of
        freedom, the radius law of the fitted normal distribution (dashed).
    bins : int, default 60
        Number of bins shared by all histograms.
    logx : bool, optional
        Logarithmic radius axis, with densities of ``log10(radius)`` so that
        narrow and wide distributions stay comparable; default when the radii
        span more than a factor of 4.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = ax if ax is not None else plt.gca()
    ref = np.asarray(reference_radii, dtype=float)
    allr = np.concatenate([ref, *(np.asarray(r, float) for r in radii_by_name.values())])
    allr = allr[np.isfinite(allr) & (allr > 0)]
    lo, hi = allr.min(), allr.max()
    if logx is None:
        logx = hi / lo > 4
    if logx:
        edges = np.geomspace(lo / 1.03, hi * 1.03, bins + 1)
        width = np.diff(np.log10(edges))  # densities of log10(radius)
    else:
        margin = 0.03 * (hi - lo)
        edges = np.linspace(max(lo - margin, 0.0), hi + margin, bins + 1)
        width = np.diff(edges)

    def density(r):
        r = np.asarray(r, float)
        counts, _ = np.histogram(r, bins=edges)
        return counts / (max(r.size, 1) * width)

    ax.stairs(density(ref), edges, fill=True, color="0.8", label="real latents")
    colors = sampler_colors(radii_by_name)
    for name, r in radii_by_name.items():
        ax.stairs(density(r), edges, lw=1.6, label=name, color=colors[name])
    if dim is not None:
        x = np.geomspace(edges[0], edges[-1], 400) if logx else np.linspace(edges[0], edges[-1], 400)
        # chi pdf of r, or of log10 r: p(log10 r) = p(r) r ln 10
        y = _chi_pdf(x, dim) * (x * np.log(10) if logx else 1.0)
        ax.plot(x, y, "k--", lw=1, label=f"chi, {dim} dof (fitted normal)")
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel("Mahalanobis radius (whitened distance from the centre)")
    ax.set_ylabel("density per decade of radius" if logx else "density")
    ax.legend(frameon=False, fontsize="x-small", loc="upper right")
    return ax


def _metric_label(metric: str) -> str:
    from lsreport.quality import METRICS

    label, better = METRICS.get(metric, (metric, ""))
    return f"{label} ({better} is better)" if better in ("higher", "lower") else f"{label} ({better})"


def _one_metric(df, metric):
    metrics = list(dict.fromkeys(df["metric"]))
    if metric is None:
        if len(metrics) != 1:
            raise ValueError(f"the table holds several metrics {metrics}; choose one with metric=...")
        metric = metrics[0]
    sub = df[df["metric"] == metric]
    if sub.empty:
        raise ValueError(f"metric {metric!r} not in the table; available: {metrics}")
    return metric, sub


def plot_metrics(df, *, metric: str | None = None, ax=None, reference: str = "real (test)"):
    """Horizontal bars of one metric per image set with their confidence intervals.

    Parameters
    ----------
    df : pandas.DataFrame
        Tidy table of :func:`lsreport.quality.quality_table` (columns
        ``image_set, metric, value, ci_low, ci_high, n``).
    metric : str, optional
        Which metric; may be omitted when ``df`` holds only one.
    ax : matplotlib.axes.Axes, optional
        Target axes; default the current axes.
    reference : str, default "real (test)"
        Image set drawn in grey as the benchmark.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = ax if ax is not None else plt.gca()
    metric, sub = _one_metric(df, metric)
    y = np.arange(len(sub))[::-1]
    v = sub["value"].to_numpy(float)
    err = np.vstack([v - sub["ci_low"].to_numpy(float), sub["ci_high"].to_numpy(float) - v])
    err = np.clip(np.nan_to_num(err), 0, None)
    fixed = sampler_colors([s for s in sub["image_set"] if s != reference])
    colors = ["0.6" if s == reference else fixed[s] for s in sub["image_set"]]
    ax.barh(y, v, xerr=err, color=colors, error_kw={"ecolor": "k", "capsize": 3, "lw": 1})
    ax.set_yticks(y, [f"{s} (n={n})" for s, n in zip(sub["image_set"], sub["n"])])
    ax.set_xlabel(_metric_label(metric))
    if metric in ("detection_rate", "copy_rate"):
        ax.set_xlim(0, 1)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    return ax


def plot_metric_table(df, *, ax=None, digits: int = 3):
    """All metrics of all sets as an annotated table, coloured by rank per column.

    Each column is coloured from best (dark green) to worst (light) image set
    according to the direction of the metric (see
    :data:`lsreport.quality.METRICS`); cells show ``value [ci_low, ci_high]``.

    Parameters
    ----------
    df : pandas.DataFrame
        Tidy table of :func:`lsreport.quality.quality_table`.
    ax : matplotlib.axes.Axes, optional
        Target axes; default the current axes.
    digits : int, default 3
        Significant digits in the cells.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from lsreport.quality import METRICS

    ax = ax if ax is not None else plt.gca()
    sets = list(dict.fromkeys(df["image_set"]))
    metrics = [m for m in METRICS if m in set(df["metric"])] + [
        m for m in dict.fromkeys(df["metric"]) if m not in METRICS
    ]
    tab = df.set_index(["image_set", "metric"])
    score = np.full((len(sets), len(metrics)), np.nan)
    for j, m in enumerate(metrics):
        vals = np.array([tab["value"].get((s, m), np.nan) for s in sets], float)
        better = METRICS.get(m, ("", "lower"))[1]
        key = -vals if better == "higher" else np.abs(vals - 1) if better == "closer to 1" else vals
        ok = np.isfinite(key)
        if ok.sum() > 1:
            ranks = np.argsort(np.argsort(key[ok]))
            score[ok, j] = 1 - ranks / (ok.sum() - 1)
        elif ok.any():
            score[ok, j] = 1.0
    ax.imshow(score, cmap="Greens", vmin=-0.3, vmax=1.3, aspect="auto")
    for i, s in enumerate(sets):
        for j, m in enumerate(metrics):
            if (s, m) not in tab.index:
                continue
            r = tab.loc[(s, m)]
            txt = f"{r.value:.{digits}g}\n[{r.ci_low:.{digits}g}, {r.ci_high:.{digits}g}]"
            dark = np.isfinite(score[i, j]) and score[i, j] > 0.6
            ax.text(j, i, txt, ha="center", va="center", fontsize="x-small", color="w" if dark else "k")
    ax.set_xticks(range(len(metrics)), [METRICS.get(m, (m,))[0].replace(", ", ",\n") for m in metrics],
                  fontsize="small", rotation=30, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(len(sets)), sets)
    ax.tick_params(length=0)
    for s in ax.spines.values():
        s.set_visible(False)
    ax.set_xlabel("metric (cells: value [95 % CI]; darker = better among the sets)")
    return ax


def plot_path_strip(images, params, *, ax=None, label: str | None = None, param_name: str = "t",
                    pad: int = 1, detected=None):
    """Images decoded along a latent path as one strip, labelled by the path parameter.

    Parameters
    ----------
    images : array_like
        ``(n_steps, H, W, 3)`` uint8 or float in ``[0, 1]``.
    params : array_like, shape (n_steps,)
        Path parameter of each image (e.g. ``LatentPath.params``).
    ax : matplotlib.axes.Axes, optional
        Target axes; default the current axes.
    label : str, optional
        Axes title (e.g. ``LatentPath.label``).
    param_name : str, default "t"
        Name of the parameter on the x axis.
    pad : int, default 1
        Gutter width in pixels.
    detected : array_like of bool, optional
        Images in which a face detector found a face get a green frame.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from matplotlib.patches import Rectangle

    ax = ax if ax is not None else plt.gca()
    imgs = _uint8(images)
    params = np.asarray(params, float)
    if params.shape != (imgs.shape[0],):
        raise ValueError(f"{imgs.shape[0]} images but {params.size} parameter values")
    h, w = imgs.shape[1:3]
    ax.imshow(tile_images(imgs, imgs.shape[0], pad=pad), interpolation="nearest")
    if detected is not None:
        detected = np.asarray(detected, bool)
        if detected.shape != (imgs.shape[0],):
            raise ValueError(f"{imgs.shape[0]} images but {detected.size} detection flags")
        for i in np.nonzero(detected)[0]:
            ax.add_patch(Rectangle((i * (w + pad) - 0.5, -0.5), w, h, fill=False, ec="#1a9850", lw=2.5))
    ax.set_xticks(np.arange(imgs.shape[0]) * (w + pad) + (w - 1) / 2, [f"{p:.3g}" for p in params])
    ax.set_yticks([])
    ax.grid(False)
    ax.tick_params(axis="x", length=0)
    for s in ax.spines.values():
        s.set_visible(False)
    ax.set_xlabel(param_name)
    if label:
        ax.set_title(label)
    return ax


def plot_path_strips(walk, *, axes=None, param_name: str | None = None):
    """One strip of decoded images per path of a :class:`~lsreport.generate.PathWalk`.

    Images in which dlib finds a face get a green frame.

    Parameters
    ----------
    walk : PathWalk
    axes : sequence of Axes, optional
        One axes per path; default a column of new axes in the current figure.
    param_name : str, optional
        Label of the x axes; default ``"t (standard deviations)"`` for paths
        whose parameter runs below 0, else ``"t"``.

    Returns
    -------
    ndarray of matplotlib.axes.Axes
    """
    n = len(walk.paths)
    if axes is None:
        axes = plt.gcf().subplots(n, 1, squeeze=False).ravel()
    axes = np.asarray(axes, dtype=object).ravel()
    if axes.size < n:
        raise ValueError(f"{n} paths but only {axes.size} axes")
    detected = walk.detected or (None,) * n
    for ax, path, imgs, det in zip(axes, walk.paths, walk.images, detected):
        name = param_name or ("t (standard deviations)" if path.params.min() < 0 else "t")
        plot_path_strip(imgs, path.params, ax=ax, label=path.label, param_name=name, detected=det)
        ax.title.set_fontsize("medium")
    return axes


def plot_path_radii(walk, *, ax=None, param_name: str | None = None):
    """Mahalanobis radius along each path against the shell of the real latents.

    Parameters
    ----------
    walk : PathWalk
    ax : matplotlib.axes.Axes, optional
        Target axes; default the current axes.
    param_name : str, optional
        Label of the x axis; default as in :func:`plot_path_strips`.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = ax if ax is not None else plt.gca()
    lo, hi = walk.shell
    q0, q1 = walk.band
    ax.axhspan(lo, hi, color="0.85", lw=0,
               label=f"real latents, {q0:.0%}-{q1:.0%} quantiles of the radius")
    ax.axhline(float(np.median(walk.reference_radii)), color="0.5", lw=1, ls="--", label="real latents, median")
    detected = walk.detected or (None,) * len(walk.paths)
    for path, r, det in zip(walk.paths, walk.radii, detected):
        line, = ax.plot(path.params, r, marker="o", ms=3, lw=1.4, label=path.label)
        if det is not None and np.any(det):
            ax.plot(path.params[det], r[det], "o", ms=8, mfc="none", mec=line.get_color(), mew=1.2)
    if walk.detected is not None:
        ax.plot([], [], "o", ms=8, mfc="none", mec="k", mew=1.2, label="dlib finds a face")
    pmin = min(float(p.params.min()) for p in walk.paths)
    ax.set_xlabel(param_name or ("t (standard deviations)" if pmin < 0 else "t"))
    ax.set_ylabel("Mahalanobis radius")
    ax.set_ylim(0, None)
    ax.legend(frameon=False, fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax
