"""Helpers for the chapters: one ``setup()`` call, then ``load`` results.

Chapters never train: :func:`load` only opens cached pipeline results and
fails with a clear message when the pipeline has not run yet (``make book``
runs it first).

Examples
--------
In a chapter's hidden setup cell::

    import lsreport.book as book
    ctx = book.setup()
    faces = book.load("faces")
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import pipeline
from .artifacts import ArtifactMissingError, ArtifactStore
from .config import Config, load_config

__all__ = ["setup", "load", "context", "BookContext", "PipelineNotRunError", "hardware"]


class PipelineNotRunError(RuntimeError):
    """A chapter asked for a result the pipeline has not produced yet."""


@dataclass(frozen=True)
class BookContext:
    """What every chapter shares: the profile, its store and a seeded rng."""

    cfg: Config
    store: ArtifactStore

    def rng(self, stream: int = 0) -> np.random.Generator:
        """A fresh generator for one figure or table, seeded from the profile."""
        return np.random.default_rng([self.cfg.run.seed, stream])


_CTX: BookContext | None = None


def setup(profile: str | None = None) -> BookContext:
    """Prepare a chapter: profile, matplotlib style, display options.

    Parameters
    ----------
    profile : str, optional
        Profile name; default ``$LSREPORT_PROFILE`` or ``"default"``.

    Returns
    -------
    BookContext
    """
    global _CTX
    import matplotlib as mpl
    import pandas as pd

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    cfg = load_config(profile)
    mpl.rcParams.update({
        "figure.figsize": (7.0, 4.2),
        "figure.dpi": 110,
        "savefig.dpi": 110,
        "savefig.bbox": "tight",
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "font.size": 10,
        "image.cmap": "viridis",
    })
    pd.set_option("display.precision", 3)
    pd.set_option("display.max_columns", 20)
    np.set_printoptions(precision=3, suppress=True)
    _CTX = BookContext(cfg, pipeline.store_for(cfg, read_only=True))
    return _CTX


def context() -> BookContext:
    """The context of the last :func:`setup` call (set up with defaults if none)."""
    return _CTX or setup()


def load(step: str) -> Any:
    """Open a cached pipeline result; never computes an expensive one.

    Parameters
    ----------
    step : {"faces", "model", "latents", "generation", "sweep"}

    Raises
    ------
    PipelineNotRunError
        When the result is not cached: run ``make book`` or
        ``lsreport run --profile <name>`` first.
    """
    ctx = context()
    if step not in pipeline.STEPS:
        raise ValueError(f"unknown step {step!r}; choose one of {', '.join(pipeline.STEPS)}")
    try:
        return getattr(pipeline, step)(ctx.cfg, ctx.store, progress=False)
    except ArtifactMissingError as exc:
        raise PipelineNotRunError(
            f"{step!r} is not cached for profile {ctx.cfg.profile!r} ({exc}); run "
            f"`lsreport run --profile {ctx.cfg.profile} --upto {step}` or `make book` first"
        ) from exc


def hardware() -> dict:
    """A short description of the machine the book was built on."""
    import multiprocessing

    info = {"python": platform.python_version(), "machine": platform.machine(),
            "cpus": multiprocessing.cpu_count(), "gpu": "none"}
    try:
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        info["tensorflow"] = tf.__version__
        if gpus:
            info["gpu"] = ", ".join(g.name for g in gpus)
    except ImportError:  # pragma: no cover
        pass
    return info
