"""``lsreport figure``: one figure redrawn from its chapter's own cell (issue 10, item 4).

Fast tests run on a toy book (a ``_quarto.yml`` and one chapter in a
temporary folder, drawing from a seeded rng, no pipeline); the slow one
redraws a real chapter figure of the smoke book.
"""

from __future__ import annotations

import base64
import io
import os
import textwrap

import nbformat
import numpy as np
import pytest
from PIL import Image

from lsreport import cli
from lsreport.figure import (UnknownFigureError, book_figures, chapter_cells, draw, export,
                             export_all, find_figure)

TOY = textwrap.dedent('''\
    # Toy {#sec-toy}

    ```{python}
    #| include: false
    import matplotlib.pyplot as plt
    import lsreport.book as book
    ctx = book.setup()
    x = ctx.rng(1).normal(size=(300, 2))
    ```

    Some prose with `{python} len(x)` points.

    ```{python}
    #| label: fig-toy-scatter
    #| fig-cap: "A scatter of normal points."
    #| fig-alt: "Dots."
    fig, axes = plt.subplots(2, 3, figsize=(7, 4.2), layout="constrained")
    ax = axes[0, 0]
    ax.scatter(x[:, 0], x[:, 1], s=4)
    ax.set_title("scatter: α, μ");
    ```

    ```{python}
    #| label: tbl-toy
    m = x.mean(axis=0)
    ```

    ```{python}
    #| label: fig-toy-image
    #| classes: source-image
    #| fig-cap: "Pixels that stand for a source image."
    plt.imshow(ctx.rng(2).random((8, 8, 3)) * m.std() / m.std());
    ```
    ''')


@pytest.fixture
def toy(tmp_path, monkeypatch):
    (tmp_path / "chapters").mkdir()
    (tmp_path / "_quarto.yml").write_text(
        "project:\n  type: book\nbook:\n  title: Toy\n  chapters:\n    - index.qmd\n"
        "    - chapters/toy.qmd\n")
    (tmp_path / "index.qmd").write_text("# Preface {.unnumbered}\n\nA toy book.\n")
    (tmp_path / "chapters" / "toy.qmd").write_text(TOY, encoding="utf-8")
    monkeypatch.setenv("LSREPORT_PROFILE", "smoke")
    monkeypatch.setenv("LSREPORT_CACHE", str(tmp_path / "cache"))
    return tmp_path


def execute_like_the_book(path, fig_format="retina"):
    """Run a chapter's cells in a Jupyter kernel (nbclient), as Quarto's engine does.

    Quarto's setup cell selects the inline figure format first (``retina``
    is its HTML default: PNGs at twice the figure's dpi), and Quarto sends
    each cell without its ``#|`` option lines; so does this.
    """
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    setup = ("from matplotlib_inline.backend_inline import set_matplotlib_formats\n"
             f"set_matplotlib_formats({fig_format!r})\n")
    nb.cells = [nbformat.v4.new_code_cell(setup)] + [
        nbformat.v4.new_code_cell("\n".join(l for l in c.source.splitlines()
                                            if not l.startswith("#|")))
        for c in chapter_cells(path)]
    NotebookClient(nb, kernel_name="python3", timeout=300,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    nb.cells = nb.cells[1:]
    return nb


def png_pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))


def test_cells_and_options_are_read_from_the_qmd(toy):
    cells = chapter_cells(toy / "chapters" / "toy.qmd")
    assert [c.label for c in cells] == ["", "fig-toy-scatter", "tbl-toy", "fig-toy-image"]
    assert cells[0].is_setup and not cells[1].is_setup
    assert cells[3].classes == ["source-image"]
    figs = book_figures(toy)
    assert [(f.label, f.source_image) for f in figs] == [("fig-toy-scatter", False),
                                                         ("fig-toy-image", True)]
    assert figs[0].caption == "A scatter of normal points."


def test_unknown_label_lists_the_valid_ones(toy, capsys):
    with pytest.raises(UnknownFigureError, match="fig-toy-scatter, fig-toy-image"):
        find_figure("fig-nope", toy)
    # the real book, through the command line
    assert cli.main(["figure", "fig-nope", "--profile", "smoke"]) == 2
    err = capsys.readouterr().err
    assert "fig-nope" in err and "fig-data-split" in err


def test_the_figure_is_the_cells_own_drawing(toy):
    (fig,) = draw("fig-toy-scatter", root=toy)
    ax = fig.axes[0]
    assert ax.get_title() == "scatter: α, μ"
    x = np.random.default_rng([1, 1]).normal(size=(300, 2))  # ctx.rng(1) of the smoke profile
    np.testing.assert_allclose(ax.collections[0].get_offsets(), x)


@pytest.mark.parametrize("fmt", ["svg", "pdf"])
def test_two_runs_give_byte_identical_vector_files(toy, tmp_path, fmt):
    a = export("fig-toy-scatter", fmt=fmt, out=tmp_path / f"a.{fmt}", root=toy)[0].read_bytes()
    b = export("fig-toy-scatter", fmt=fmt, out=tmp_path / f"b.{fmt}", root=toy)[0].read_bytes()
    assert len(a) > 1000 and a == b
    head = a[:4096].decode("latin-1")
    assert "CreationDate" not in head and "<dc:date>" not in head


def test_png_has_the_pixels_of_the_figure_in_the_book(toy, tmp_path):
    nb = execute_like_the_book(toy / "chapters" / "toy.qmd")
    book_png = [base64.b64decode(o["data"]["image/png"]) for o in nb.cells[1].outputs
                if "image/png" in o.get("data", {})]
    assert len(book_png) == 1
    (out,) = export("fig-toy-scatter", fmt="png", out=tmp_path / "s.png", root=toy)
    mine, theirs = png_pixels(out.read_bytes()), png_pixels(book_png[0])
    assert mine.shape == theirs.shape
    assert np.array_equal(mine, theirs)


def test_png_follows_the_books_html_fig_format(toy, tmp_path):
    (two,) = export("fig-toy-scatter", fmt="png", out=tmp_path / "r.png", root=toy)
    q = toy / "_quarto.yml"
    q.write_text(q.read_text() + "format:\n  html:\n    fig-format: png\n")
    (one,) = export("fig-toy-scatter", fmt="png", out=tmp_path / "p.png", root=toy)
    h2, w2 = png_pixels(two.read_bytes()).shape[:2]
    h1, w1 = png_pixels(one.read_bytes()).shape[:2]
    assert abs(h2 - 2 * h1) <= 2 and abs(w2 - 2 * w1) <= 2
    nb = execute_like_the_book(toy / "chapters" / "toy.qmd", fig_format="png")
    (book_png,) = [base64.b64decode(o["data"]["image/png"]) for o in nb.cells[1].outputs
                   if "image/png" in o.get("data", {})]
    assert np.array_equal(png_pixels(book_png), png_pixels(one.read_bytes()))


@pytest.mark.slow
def test_png_matches_a_real_quarto_render(toy, tmp_path):
    """The independent check: the PNG Quarto itself writes for the page."""
    import shutil
    import subprocess
    import sys

    quarto = shutil.which("quarto")
    if not quarto:
        pytest.skip("Quarto is not installed")
    env = dict(os.environ, QUARTO_PYTHON=sys.executable)
    subprocess.run([quarto, "render", "--to", "html"], cwd=toy, env=env, check=True,
                   capture_output=True)
    (page_png,) = (toy / "_book").rglob("fig-toy-scatter-output-1.png")
    (out,) = export("fig-toy-scatter", fmt="png", out=tmp_path / "s.png", root=toy)
    assert np.array_equal(png_pixels(page_png.read_bytes()), png_pixels(out.read_bytes()))


def test_export_all_writes_png_and_pdf_per_figure(toy, tmp_path):
    written = export_all(tmp_path / "figs", root=toy)
    assert sorted(written) == ["fig-toy-image", "fig-toy-scatter"]
    assert sorted(p.name for p in written["fig-toy-scatter"]) == ["fig-toy-scatter.pdf",
                                                                   "fig-toy-scatter.png"]


@pytest.mark.slow
def test_real_figure_of_the_smoke_book(smoke_env, tmp_path, monkeypatch):
    for k, v in smoke_env.items():
        monkeypatch.setenv(k, v)
    out = tmp_path / "split.svg"
    assert cli.main(["figure", "fig-data-split", "--profile", "smoke", "--format", "svg",
                     "-o", str(out)]) == 0
    first = out.read_bytes()
    assert cli.main(["figure", "fig-data-split", "--profile", "smoke", "--format", "svg",
                     "-o", str(out)]) == 0
    assert out.read_bytes() == first and b"<svg" in first


def test_other_figure_cells_do_not_run(toy):
    chapter = toy / "chapters" / "toy.qmd"
    text = chapter.read_text(encoding="utf-8").replace(
        "```{python}\n#| label: tbl-toy",
        "```{python}\n#| label: fig-toy-broken\nraise RuntimeError('must not run')\n```\n\n"
        "```{python}\n#| label: tbl-toy")
    chapter.write_text(text, encoding="utf-8")
    (fig,) = draw("fig-toy-image", root=toy)
    assert fig.axes[0].images


def test_export_all_draws_each_figure_as_alone(toy, tmp_path):
    """A cell drawing into the current axes (plt.imshow) gets a fresh figure, as in the book."""
    written = export_all(tmp_path / "figs", formats=("png",), root=toy)
    (alone,) = export("fig-toy-image", fmt="png", out=tmp_path / "alone.png", root=toy)
    assert np.array_equal(png_pixels(written["fig-toy-image"][0].read_bytes()),
                          png_pixels(alone.read_bytes()))


@pytest.mark.slow
def test_pngs_of_a_real_chapter_have_the_books_pixels(smoke_env, tmp_path, monkeypatch):
    """Chapter 3's figures use constrained layouts: the kernel's extra draw at 1x matters."""
    from lsreport.pipeline import project_root

    for k, v in smoke_env.items():
        monkeypatch.setenv(k, v)
    chapter = "chapters/03-component-distributions.qmd"
    nb = execute_like_the_book(project_root() / chapter)
    written = export_all(tmp_path / "figs", formats=("png",), chapters=[chapter])
    cells = chapter_cells(project_root() / chapter)
    compared = 0
    for cell, out in zip(cells, nb.cells):
        pngs = [base64.b64decode(o["data"]["image/png"]) for o in out.outputs
                if "image/png" in o.get("data", {})]
        if cell.is_figure and pngs:
            for book_png, path in zip(pngs, written[cell.label]):
                assert np.array_equal(png_pixels(book_png), png_pixels(path.read_bytes())), \
                    cell.label
                compared += 1
    assert compared >= 3
