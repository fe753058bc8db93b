"""One figure of the book, redrawn on its own: ``lsreport figure LABEL``.

The figure's code is the chapter's own cell, read from the ``.qmd`` at run
time, never a copy: :func:`draw` executes the chapter's code cells up to the
labelled one in a fresh namespace, the way the book's kernel does (working
directory the chapter's folder, ``book.setup()`` from the setup cell), skipping
the other figure cells, and returns the figures the labelled cell drew.
:func:`save` writes them with fixed metadata, so two runs give byte-identical
SVG and PDF files, and a PNG with the pixels of the image in the HTML book
(the arguments IPython's inline backend passes to ``savefig``: the figure's
dpi, doubled for Quarto's default ``retina`` format, ``bbox_inches="tight"``,
the figure's face and edge colours).

Examples
--------
>>> export("fig-data-split", fmt="svg", out="split.svg", profile="smoke")  # doctest: +SKIP
[PosixPath('split.svg')]
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import logging

import yaml

__all__ = ["FORMATS", "Cell", "FigureSpec", "UnknownFigureError", "SourceImageWithheld",
           "book_chapters", "chapter_cells", "book_figures", "find_figure", "draw", "save",
           "export", "export_all", "png_scale", "SOURCE_IMAGE_CLASS"]

#: Formats ``lsreport figure`` writes.
FORMATS = ("png", "pdf", "svg")
#: The cell class that marks a figure showing source images (see ``book.setup``).
SOURCE_IMAGE_CLASS = "source-image"
#: Salt of matplotlib's SVG ids: fixed, so the same figure gives the same file.
SVG_HASHSALT = "lsreport"
_METADATA = {
    "png": {"Software": None},
    "svg": {"Date": None},
    "pdf": {"CreationDate": None, "ModDate": None},
}
log = logging.getLogger(__name__)
_FENCE_RE = re.compile(r"^```\{python[^}]*\}\s*$")
_OPTION_RE = re.compile(r"^#\|\s?(.*)$")


class UnknownFigureError(KeyError):
    """No figure of the book has this label; the message lists the valid ones."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


class SourceImageWithheld(RuntimeError):
    """A publish profile was asked for a figure that shows source images."""


@dataclass(frozen=True)
class Cell:
    """One ``{python}`` code cell of a chapter: its code and parsed ``#|`` options."""

    source: str
    options: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return str(self.options.get("label", ""))

    @property
    def classes(self) -> list[str]:
        c = self.options.get("classes", "")
        return c.split() if isinstance(c, str) else [str(x) for x in c]

    @property
    def is_figure(self) -> bool:
        return self.label.startswith("fig-")

    @property
    def is_setup(self) -> bool:
        return self.options.get("include") is False and not self.label


@dataclass(frozen=True)
class FigureSpec:
    """A labelled figure of the book, as its ``.qmd`` declares it."""

    label: str
    chapter: str  # project-relative POSIX path
    caption: str
    alt: str
    source_image: bool


def _root(root=None) -> Path:
    from .config import profiles_dir

    return Path(root) if root else profiles_dir().parent


def book_chapters(root=None) -> list[str]:
    """The chapter files of ``_quarto.yml`` in book order (appendices included)."""
    spec = yaml.safe_load((_root(root) / "_quarto.yml").read_text(encoding="utf-8"))
    out: list[str] = []

    def walk(items):
        for item in items or []:
            if isinstance(item, str):
                out.append(item)
            elif isinstance(item, dict):
                if "href" in item:
                    out.append(item["href"])
                walk(item.get("chapters"))

    book = spec.get("book", {})
    walk(book.get("chapters"))
    walk(book.get("appendices"))
    return out


def chapter_cells(path: str | os.PathLike) -> list[Cell]:
    """The ``{python}`` code cells of a ``.qmd``, options parsed as YAML."""
    cells, lines, inside = [], [], False
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not inside and _FENCE_RE.match(line):
            inside, lines = True, []
        elif inside and line.strip() == "```":
            inside = False
            opts = [m.group(1) for m in map(_OPTION_RE.match, lines) if m]
            options = yaml.safe_load("\n".join(opts)) if opts else {}
            cells.append(Cell("\n".join(lines) + "\n", options or {}))
        elif inside:
            lines.append(line)
    return cells


def book_figures(root=None) -> list[FigureSpec]:
    """Every labelled figure of the book, in book order."""
    figs = []
    for chapter in book_chapters(root):
        path = _root(root) / chapter
        if not path.exists():
            continue
        for c in chapter_cells(path):
            if c.is_figure:
                figs.append(FigureSpec(c.label, chapter, str(c.options.get("fig-cap", "")),
                                       str(c.options.get("fig-alt", "")),
                                       SOURCE_IMAGE_CLASS in c.classes))
    return figs


def find_figure(label: str, root=None) -> FigureSpec:
    """The figure labelled ``label``; :class:`UnknownFigureError` lists the valid labels."""
    figs = book_figures(root)
    for f in figs:
        if f.label == label:
            return f
    raise UnknownFigureError(
        f"no figure labelled {label!r} in the book; valid labels: "
        + ", ".join(f.label for f in figs))


@contextlib.contextmanager
def _in_dir(path: Path):
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


@contextlib.contextmanager
def _profile_env(profile: str | None):
    from .config import PROFILE_ENV

    old = os.environ.get(PROFILE_ENV)
    if profile:
        os.environ[PROFILE_ENV] = str(profile)
    try:
        yield
    finally:
        if profile:
            if old is None:
                os.environ.pop(PROFILE_ENV, None)
            else:
                os.environ[PROFILE_ENV] = old


def _run_chapter(spec: FigureSpec, root, labels: set[str]) -> dict:
    """Execute a chapter's cells, drawing only the figures in ``labels``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = _root(root) / spec.chapter
    cells = chapter_cells(path)
    ns: dict = {"__name__": "__lsreport_figure__"}
    drawn: dict[str, list] = {}
    last = max(i for i, c in enumerate(cells) if c.label in labels)
    with _in_dir(path.parent):
        for c in cells[: last + 1]:
            if c.is_figure and c.label not in labels:
                continue
            before = set(plt.get_fignums())
            exec(compile(c.source, f"{spec.chapter}:{c.label or 'cell'}", "exec"), ns)
            new = [plt.figure(n) for n in plt.get_fignums() if n not in before]
            if c.label in labels:
                drawn[c.label] = new
            # as the inline backend does after every cell: the next cell's
            # plt.gca() must start a new figure (a closed one still saves)
            for fig in new:
                plt.close(fig)
    return drawn


def draw(label: str, *, profile: str | None = None, root=None) -> list:
    """Draw one figure of the book with its chapter's own code.

    Parameters
    ----------
    label : str
        ``fig-…`` label of the cell.
    profile : str, optional
        lsreport profile (default ``$LSREPORT_PROFILE``, else ``default``).

    Returns
    -------
    list of matplotlib.figure.Figure
        The figures the cell drew (several for a cell with sub-figures).

    Raises
    ------
    UnknownFigureError
    SourceImageWithheld
        When the profile is a publish build and the cell shows source images.
    """
    from .config import load_config

    spec = find_figure(label, root)
    with _profile_env(profile):
        cfg = load_config(profile)
        if spec.source_image and cfg.book.publish:
            raise SourceImageWithheld(
                f"{label} shows source images and profile {cfg.profile!r} is a publish build; "
                f"use a non-publish profile (e.g. --profile default) to draw it")
        return _run_chapter(spec, root, {label})[label]


def png_scale(root=None) -> int:
    """Pixels per figure-dpi pixel of the HTML book's PNGs: 2 for ``retina``, else 1.

    Quarto's HTML default ``fig-format`` is ``retina``: IPython draws every
    inline PNG at twice ``fig.dpi`` and the page shows it at half size.
    """
    try:
        spec = yaml.safe_load((_root(root) / "_quarto.yml").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return 1
    html = ((spec or {}).get("format") or {}).get("html") or {}
    fmt = html.get("fig-format", "retina") if isinstance(html, dict) else "retina"
    return 2 if fmt == "retina" else 1


def save(fig, path: str | os.PathLike, fmt: str | None = None, *, scale: int = 1) -> Path:
    """Save a figure reproducibly (fixed SVG hash salt, no dates in PDF/SVG).

    ``scale`` multiplies the dpi of a PNG (:func:`png_scale` gives the book's).
    """
    import matplotlib as mpl

    path = Path(path)
    fmt = fmt or path.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not supported; choose one of {', '.join(FORMATS)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    dpi = fig.dpi * (scale if fmt == "png" else 1)
    if dpi != fig.dpi:
        # the kernel draws a figure at its own dpi before the retina PNG; a
        # constrained layout keeps what that draw solved, so do the same
        import io

        fig.savefig(io.BytesIO(), format="png", dpi=fig.dpi, bbox_inches="tight")
    with mpl.rc_context({"svg.hashsalt": SVG_HASHSALT}):
        fig.savefig(path, format=fmt, dpi=dpi, bbox_inches="tight",
                    facecolor=fig.get_facecolor(), edgecolor=fig.get_edgecolor(),
                    metadata=_METADATA[fmt])
    return path


def _names(label: str, n: int, fmt: str, out: Path | None, outdir: Path) -> list[Path]:
    if out is not None and n == 1:
        return [out]
    stem, parent = (out.stem, out.parent) if out is not None else (label, outdir)
    if n == 1:
        return [parent / f"{stem}.{fmt}"]
    return [parent / f"{stem}-{i}.{fmt}" for i in range(1, n + 1)]


def export(label: str, *, fmt: str = "png", out: str | os.PathLike | None = None,
           profile: str | None = None, root=None) -> list[Path]:
    """Draw one figure and save it; returns the files written.

    A cell that draws several figures (sub-figures) gives ``NAME-1.ext``,
    ``NAME-2.ext``, ...
    """
    import matplotlib.pyplot as plt

    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not supported; choose one of {', '.join(FORMATS)}")
    figs = draw(label, profile=profile, root=root)
    paths = _names(label, len(figs), fmt, Path(out) if out else None, Path.cwd())
    try:
        return [save(f, p, fmt, scale=png_scale(root)) for f, p in zip(figs, paths)]
    finally:
        for f in figs:
            plt.close(f)


def export_all(outdir: str | os.PathLike, *, formats=("png", "pdf"), profile: str | None = None,
               root=None, chapters: list[str] | None = None) -> dict[str, list[Path]]:
    """Every figure of the book into ``outdir`` as ``<label>.<fmt>``.

    Each chapter's cells run once. In a publish build the figures that show
    source images are skipped (they are not in the book either).
    ``chapters`` (project-relative paths) limits the export to those chapters.
    """
    import matplotlib.pyplot as plt

    from .config import load_config

    outdir = Path(outdir)
    written: dict[str, list[Path]] = {}
    with _profile_env(profile):
        publish, scale = load_config(profile).book.publish, png_scale(root)
        by_chapter: dict[str, list[FigureSpec]] = {}
        for spec in book_figures(root):
            if chapters is not None and spec.chapter not in chapters:
                continue
            if not (publish and spec.source_image):
                by_chapter.setdefault(spec.chapter, []).append(spec)
        for chapter, specs in by_chapter.items():
            drawn = _run_chapter(specs[0], root, {s.label for s in specs})
            for label, figs in drawn.items():
                written[label] = []
                for fmt in formats:
                    for f, p in zip(figs, _names(label, len(figs), fmt, None, outdir)):
                        try:
                            written[label].append(save(f, p, fmt, scale=scale))
                        except (ValueError, RuntimeError, OverflowError) as exc:
                            # one figure that cannot be saved in one format must
                            # not cost the others their downloads; say which
                            log.warning("%s: could not save as %s: %s", label, fmt, exc)
                for f in figs:
                    plt.close(f)
    return written
