"""Drawing the face data: image grids, the crop, the split, synthetic factors.

Every function draws into the given axes (or the current ones) and returns
them; only :func:`plot_factor_distributions` makes a figure, and only when
it is given no axes.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.patches import Rectangle

__all__ = ["plot_face_grid", "plot_crop_box", "plot_split_sizes", "plot_factor_distributions", "plot_face_sets"]


def _montage(images: np.ndarray, ncols: int, pad: int) -> np.ndarray:
    imgs = np.asarray(images)
    if imgs.ndim == 3:                      # gray (N, H, W)
        imgs = np.repeat(imgs[..., None], 3, axis=-1)
    if imgs.dtype != np.uint8:              # floats in [0, 1]
        imgs = np.clip(np.round(imgs * 255.0), 0, 255).astype(np.uint8)
    n, h, w, c = imgs.shape
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    out = np.full((nrows * (h + pad) + pad, ncols * (w + pad) + pad, c), 255, np.uint8)
    for i in range(n):
        r, q = divmod(i, ncols)
        out[pad + r * (h + pad):pad + r * (h + pad) + h,
            pad + q * (w + pad):pad + q * (w + pad) + w] = imgs[i]
    return out


def plot_face_grid(images: np.ndarray, *, ax: Axes | None = None, ncols: int = 8,
                   labels: Sequence[str] | None = None, pad: int = 2) -> Axes:
    """Show images as a grid in one axes.

    Parameters
    ----------
    images : array, shape (N, H, W, 3) or (N, H, W)
        ``uint8``, or floats in [0, 1] (decoder output).
    ax : Axes, optional
        Default: the current axes.
    ncols : int
        Images per row.
    labels : sequence of str, optional
        One short label per image, written under it.
    pad : int
        White pixels between images.

    Returns
    -------
    Axes
    """
    ax = ax or plt.gca()
    imgs = np.asarray(images)
    if len(imgs) == 0:
        raise ValueError("no images to show")
    if labels is not None and len(labels) != len(imgs):
        raise ValueError(f"{len(labels)} labels for {len(imgs)} images")
    h, w = imgs.shape[1:3]
    ncols = max(1, min(ncols, len(imgs)))
    grid = _montage(imgs, ncols, pad)
    ax.imshow(grid, interpolation="nearest")
    if labels is not None:
        for i, text in enumerate(labels):
            r, q = divmod(i, ncols)
            ax.text(pad + q * (w + pad) + w / 2, pad + r * (h + pad) + h - 1, str(text),
                    ha="center", va="bottom", fontsize="x-small", color="white",
                    bbox={"facecolor": "black", "alpha": 0.55, "pad": 1, "linewidth": 0})
    ax.set_axis_off()
    return ax


def plot_crop_box(original_image_array: np.ndarray, box: Sequence[float], *,
                  ax: Axes | None = None, color: str = "#ffcc00") -> Axes:
    """An original image with the crop square drawn on it.

    Parameters
    ----------
    original_image_array : array (H, W, 3)
        E.g. from :func:`lsreport.data.load_original`.
    box : (left, top, right, bottom)
        Pixel box, as from :func:`lsreport.data.crop_box`.

    Returns
    -------
    Axes
    """
    ax = ax or plt.gca()
    img = np.asarray(original_image_array)
    left, top, right, bottom = box
    ax.imshow(img, interpolation="nearest")
    # pixel i covers [i - 0.5, i + 0.5] in imshow coordinates
    ax.add_patch(Rectangle((left - 0.5, top - 0.5), right - left, bottom - top, fill=False,
                           edgecolor=color, linewidth=2))
    ax.set_title(f"{img.shape[1]}×{img.shape[0]} px, crop {right - left}×{bottom - top} px",
                 fontsize="small")
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def plot_split_sizes(face_data, *, ax: Axes | None = None) -> Axes:
    """Bar chart of the number of images per split.

    Parameters
    ----------
    face_data : FaceData or mapping
        A face set, or ``{"train": n, "validation": n, "test": n}``.

    Returns
    -------
    Axes
    """
    ax = ax or plt.gca()
    sizes = dict(face_data) if isinstance(face_data, Mapping) else face_data.split_sizes()
    names, counts = list(sizes), np.array(list(sizes.values()))
    total = counts.sum()
    bars = ax.bar(names, counts, color=["#4c72b0", "#dd8452", "#55a868"][:len(names)])
    for b, c in zip(bars, counts):
        share = c / total if total else 0.0
        ax.annotate(f"{c:,}\n({share:.1%})", (b.get_x() + b.get_width() / 2, c),
                    ha="center", va="bottom", fontsize="small", xytext=(0, 2),
                    textcoords="offset points")
    ax.set_ylabel("images")
    ax.set_ylim(0, counts.max() * 1.2 if total else 1)
    ax.spines[["top", "right"]].set_visible(False)
    ident = getattr(face_data, "identities", None)
    if ident is not None:
        ax.set_title(f"split by identity ({len(np.unique(ident[ident >= 0])):,} people)",
                     fontsize="small")
    return ax


def plot_factor_distributions(factors_df: pd.DataFrame, *, axes=None,
                              laws: Mapping[str, str] | None = None, bins: int = 40,
                              ncols: int = 4):
    """Histograms of the synthetic factors, with the law they were drawn from.

    Parameters
    ----------
    factors_df : DataFrame
        One column per factor (``FaceData.factors``).
    axes : array of Axes, optional
        At least one per column. When omitted a new figure with a grid of
        ``ncols`` columns is made (the only plot here that makes a figure).
    laws : mapping, optional
        Factor -> ``"normal"``/``"uniform"``/``"bimodal"``
        (``FaceData.meta["distributions"]``): its density is drawn over the
        histogram.
    bins : int
    ncols : int

    Returns
    -------
    ndarray of Axes
        The axes used, flat, one per factor.
    """
    from ..data.synthetic import factor_pdf

    cols = list(factors_df.columns)
    if axes is None:
        nrows = -(-len(cols) // ncols)
        fig, grid = plt.subplots(nrows, ncols, figsize=(2.2 * ncols, 1.7 * nrows),
                                 sharex=True, layout="constrained")
        flat = np.atleast_1d(grid).ravel()
        for extra in flat[len(cols):]:
            extra.set_visible(False)
    else:
        flat = np.atleast_1d(np.asarray(axes, dtype=object)).ravel()
        if len(flat) < len(cols):
            raise ValueError(f"{len(flat)} axes for {len(cols)} factors")
    x = np.linspace(-3.5, 3.5, 281)
    for ax, name in zip(flat, cols):
        v = factors_df[name].to_numpy()
        ax.hist(v, bins=bins, range=(-3.5, 3.5), density=True, color="#8fa8c8",
                edgecolor="none")
        if laws and name in laws:
            ax.plot(x, factor_pdf(laws[name], x), color="#c44e52", lw=1.2)
        ax.set_title(name, fontsize="small")
        ax.set_yticks([])
        ax.spines[["top", "right", "left"]].set_visible(False)
    return flat[:len(cols)]


def plot_face_sets(sets: dict, *, axes=None, pad: int = 2, width: float = 7.0):
    """One row of images per named set, the name on the left.

    Parameters
    ----------
    sets : dict
        ``{name: images}``; images as for :func:`plot_face_grid`.
    axes : sequence of Axes, optional
        One per set; default: the current figure split into rows and sized
        to them (``width`` inches wide, the book's text column).
    width : float, default 7

    Returns
    -------
    list of Axes
    """
    if not sets:
        raise ValueError("no image sets to show")
    if axes is None:
        fig = plt.gcf()
        n = max(len(np.asarray(v)) for v in sets.values())
        fig.set_size_inches(width, 0.2 + len(sets) * (width - 1.6) / n)
        axes = fig.subplots(len(sets), 1, squeeze=False)[:, 0]
    for ax, (name, imgs) in zip(axes, sets.items()):
        imgs = np.asarray(imgs)
        ax.imshow(_montage(imgs, len(imgs), pad), interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        for side in ax.spines.values():
            side.set_visible(False)
        ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize="small")
    return list(axes)
