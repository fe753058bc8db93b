"""Drawing the autoencoder's training and reconstructions.

Every function draws into the given axes (or the current ones) and returns
them; none creates a figure, shows or saves it.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

__all__ = ["plot_history", "plot_reconstructions", "plot_quality_distribution"]


def plot_history(history: pd.DataFrame, *, ax=None, log: bool = True, ylabel: str = "loss"):
    """Training and validation loss per epoch.

    Parameters
    ----------
    history : pandas.DataFrame
        :attr:`lsreport.train.TrainedModel.history` (columns ``epoch``,
        ``loss``, ``val_loss``).
    ax : matplotlib Axes, optional
        Drawn into; default the current axes.
    log : bool, default True
        Logarithmic loss axis (the loss falls by orders of magnitude early on).
    ylabel : str, default "loss"
        E.g. ``"MSE"`` or ``"binary cross-entropy"`` for the configured loss.

    Returns
    -------
    matplotlib Axes
    """
    ax = ax if ax is not None else plt.gca()
    ep = history["epoch"].to_numpy()
    ax.plot(ep, history["loss"].to_numpy(), marker="o", label="training")
    val = history["val_loss"].to_numpy(dtype=float)
    if np.isfinite(val).any():
        ax.plot(ep, val, marker="s", label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    if log and (history["loss"].to_numpy() > 0).all():
        ax.set_yscale("log")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend()
    return ax


def _as_float(images) -> np.ndarray:
    x = np.asarray(images)
    return x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)


def plot_reconstructions(originals, reconstructions, *, ax=None, n: int = 8, gap: int = 2,
                         row_labels=("original", "reconstruction")):
    """Originals in the top row, their reconstructions below, as one image.

    Parameters
    ----------
    originals, reconstructions : ndarray, shape (N, S, S, 3)
        ``uint8`` or floats in [0, 1]; the first ``n`` of each are drawn.
    ax : matplotlib Axes, optional
    n : int, default 8
        Number of columns.
    gap : int, default 2
        White pixels between tiles.
    row_labels : (str, str)
        Labels of the two rows (e.g. ``("generated", "nearest training image")``).

    Returns
    -------
    matplotlib Axes
    """
    ax = ax if ax is not None else plt.gca()
    a, b = _as_float(originals)[:n], _as_float(reconstructions)[:n]
    if a.shape != b.shape:
        raise ValueError(f"originals {a.shape} and reconstructions {b.shape} differ in shape")
    k, s = len(a), a.shape[1]
    grid = np.ones((2 * s + gap, k * s + (k - 1) * gap, 3), np.float32)
    for i in range(k):
        x0 = i * (s + gap)
        grid[:s, x0:x0 + s] = a[i]
        grid[s + gap:, x0:x0 + s] = b[i]
    ax.imshow(np.clip(grid, 0, 1), interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([s / 2, s + gap + s / 2], list(row_labels))
    ax.tick_params(axis="y", length=0)
    ax.grid(False)
    for side in ax.spines.values():
        side.set_visible(False)
    return ax


def plot_quality_distribution(metrics: pd.DataFrame, *, axes=None, bins: int = 40):
    """Histograms of per-image PSNR and SSIM, with the mean and median marked.

    Parameters
    ----------
    metrics : pandas.DataFrame
        :attr:`lsreport.latent.Latents.metrics` (columns ``psnr``, ``ssim``).
    axes : sequence of two matplotlib Axes, optional
        Default: two new axes side by side in the current figure.
    bins : int

    Returns
    -------
    ndarray of two matplotlib Axes
    """
    if axes is None:
        axes = plt.gcf().subplots(1, 2)
    axes = np.asarray(axes).ravel()
    for ax, col, label in ((axes[0], "psnr", "PSNR (dB)"), (axes[1], "ssim", "SSIM")):
        v = metrics[col].to_numpy(dtype=float)
        v = v[np.isfinite(v)]
        ax.hist(v, bins=bins, color="C0", alpha=0.8)
        if len(v):
            ax.axvline(np.mean(v), color="C3", lw=1.5, label=f"mean {np.mean(v):.3g}")
            ax.axvline(np.median(v), color="C1", lw=1.5, ls="--",
                       label=f"median {np.median(v):.3g}")
            ax.legend()
        ax.set_xlabel(label)
        ax.set_ylabel("test images")
    return axes
