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
from pathlib import Path
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import pipeline
from .artifacts import ArtifactMissingError, ArtifactStore
from .config import Config, load_config
from .provenance import RecordingStore

__all__ = ["setup", "load", "context", "BookContext", "PipelineNotRunError", "hardware",
           "reproduce", "figure_index", "WITHHELD_NOTE"]


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
    store = pipeline.store_for(cfg, read_only=True)
    _CTX = BookContext(cfg, RecordingStore(store.root, read_only=True))
    if cfg.book.publish:
        _withhold_source_images()
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


# ------------------------------------------------ publishing and provenance

#: What a publish build shows in place of a figure that shows source images.
WITHHELD_NOTE = ("*Not shown in the published build: this figure shows source images "
                 "(faces of the data set), which may not be redistributed. "
                 "Build the book with the `default` profile to see it.*")
_WITHHELD: set[str] = set()


def _code_key(source: str) -> str:
    """A cell's code without its ``#|`` option lines (Quarto strips them before running)."""
    lines = [line.rstrip() for line in source.splitlines() if not line.lstrip().startswith("#|")]
    return "\n".join(lines).strip()


def _marked_code() -> set[str]:
    """The code of every cell of the book marked ``#| classes: source-image``."""
    from .figure import SOURCE_IMAGE_CLASS, _root, book_chapters, chapter_cells

    # the book's chapters, and those beside the running one (its folder is
    # the kernel's working directory under Quarto and nbclient alike)
    paths = {(_root() / c).resolve() for c in book_chapters()} | set(Path.cwd().glob("*.qmd"))
    keys = set()
    for path in paths:
        if path.exists():
            keys.update(_code_key(c.source) for c in chapter_cells(path)
                        if SOURCE_IMAGE_CLASS in c.classes)
    keys.discard("")
    return keys


def _withhold(lines: list[str]) -> list[str]:
    """IPython input transformer: a marked cell's code becomes the note.

    The kernel cannot see cell options (Quarto removes the ``#|`` lines before
    it sends a cell), so a cell is recognised by its code: the code of every
    marked cell of the book, read from the ``.qmd`` files at setup.
    """
    if _code_key("".join(lines)) not in _WITHHELD:
        return lines
    return ["__import__('lsreport.book', fromlist=['_show_withheld'])._show_withheld()\n"]


def _show_withheld() -> None:
    from IPython.display import Markdown, display

    display(Markdown(WITHHELD_NOTE))


def _withhold_source_images() -> None:
    """In a publish build, replace every cell marked ``#| classes: source-image``.

    The replacement happens in the kernel, before the cell runs (an IPython
    input transformer, matching the cell's code against the marked cells of
    the book's ``.qmd`` files), so the cell's code never draws a source image
    and no renderer, cache or freeze file ever holds one. Figure number and caption
    stay, with :data:`WITHHELD_NOTE` as the figure's content.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return
    ip = get_ipython()
    if ip is None:
        return
    _WITHHELD.clear()
    _WITHHELD.update(_marked_code())
    if _withhold not in ip.input_transformers_cleanup:
        ip.input_transformers_cleanup.insert(0, _withhold)


def _chapter_for(section: str) -> str | None:
    """The chapter file whose first heading carries ``{#section}``."""
    from .figure import _root, book_chapters

    for chapter in book_chapters():
        path = _root() / chapter
        if path.exists() and "{#" + section + "}" in path.read_text(encoding="utf-8"):
            return chapter
    return None


def reproduce(section: str) -> None:
    """Print the chapter's collapsed "Reproduce this chapter" and "Cite this page" blocks.

    Call it last in the chapter, in a cell with ``#| output: asis``: it
    names the lsreport version, commit, profile, data and the artifact keys
    of every result the chapter loaded, and the commands that rebuild it.

    Parameters
    ----------
    section : str
        The chapter's ``sec-`` id (finds its file for the render command).
    """
    from .figure import book_figures
    from .provenance import book_meta, build_provenance, cite_markdown, reproduce_markdown

    ctx = context()
    faces = None
    if "faces" in ctx.store.opened:
        faces = load("faces")
    chapter = _chapter_for(section)
    figures = [f.label for f in book_figures() if f.chapter == chapter]
    prov = build_provenance(ctx.cfg, faces)
    print(reproduce_markdown(prov, ctx.store.opened, chapter=chapter, figures=figures))
    print(cite_markdown(book_meta(), prov, chapter=chapter, chapter_title=_title_of(chapter)))


def _title_of(chapter: str | None) -> str | None:
    """The text of a chapter's first level-one heading, without its attributes."""
    import re

    from .figure import _root

    if not chapter:
        return None
    for line in (_root() / chapter).read_text(encoding="utf-8").splitlines():
        m = re.match(r"^#\s+(.*?)\s*(\{[^}]*\})?\s*$", line)
        if m:
            return m.group(1)
    return None


def figure_index(figures_url: str = "../figures") -> None:
    """Print the appendix "Figures": every figure with links and provenance.

    One row per figure of the book: its number and caption (a cross-reference,
    so the number links to the figure), download links for the PNG and PDF
    that ``lsreport figure --all`` writes next to the book, and the artifact
    keys of the results its chapter loads. Call it in a cell with
    ``#| output: asis``.
    """
    from . import pipeline
    from .figure import _root, book_figures
    from .provenance import build_provenance

    ctx = context()
    figs = book_figures()
    keys: dict[str, list[str]] = {}
    for chapter in dict.fromkeys(f.chapter for f in figs):
        store = RecordingStore(ctx.store.root, read_only=True)  # one record per chapter
        for step in _loaded_steps(_root() / chapter):
            getattr(pipeline, step)(ctx.cfg, store, progress=False)
        keys[chapter] = [f"{s} `{k}`" for s in pipeline.STEPS for k in store.opened.get(s, [])]
    prov = build_provenance(ctx.cfg, load("faces"))
    print(f"Built with lsreport {prov.version}, commit `{prov.commit}`, profile "
          f"`{prov.profile}`, on {prov.date} ({prov.platform}). Data: {prov.data} "
          f"(fingerprint `{prov.data_fingerprint}`).\n")
    print("| Figure | Caption | Download | Results drawn from |")
    print("|---|---|---|---|")
    for f in figs:
        if f.source_image and ctx.cfg.book.publish:
            files = "not in the published build"
        else:
            files = (f"[PNG]({figures_url}/{f.label}.png) · [PDF]({figures_url}/{f.label}.pdf)")
        caption = f.caption.replace("|", "\\|")
        print(f"| @{f.label} | {caption} | {files} | {', '.join(keys[f.chapter])} |")
    print()


def _loaded_steps(path) -> list[str]:
    """The pipeline steps a chapter opens with ``book.load("...")`` (read with ``ast``)."""
    import ast

    from . import pipeline
    from .figure import chapter_cells

    steps = []
    for cell in chapter_cells(path):
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "load" and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and node.args[0].value in pipeline.STEPS):
                steps.append(node.args[0].value)
    return list(dict.fromkeys(steps))
