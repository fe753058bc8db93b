"""The publish build: no figure that shows source images (issue 10, item 5).

A cell marked ``#| classes: source-image`` is swapped for a one-line note in
the kernel before it runs when the profile has ``book.publish = true``
(``profiles/publish.toml``). The tests execute chapters the way the book's
engine does (a Jupyter kernel via nbclient) and read the outputs.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lsreport.book import WITHHELD_NOTE
from lsreport.config import load_config
from lsreport.figure import (SourceImageWithheld, book_chapters, chapter_cells, draw,
                             export_all)
from test_figure import execute_like_the_book, toy  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[1]
#: Calls that put source pixels into a figure; a cell using one must be marked.
SOURCE_PIXELS = re.compile(r"load_original|plot_reconstructions|plot_crop_box|faces\.images"
                           r"|split_images|nearest_training|sweep_samples|\boriginals?\b")


def images(cell) -> list:
    return [o for o in cell.outputs if any(k.startswith("image/") for k in o.get("data", {}))]


def notes(cell) -> list:
    return [o for o in cell.outputs if WITHHELD_NOTE in o.get("data", {}).get("text/markdown", "")]


@pytest.fixture
def publish_profile(tmp_path):
    path = tmp_path / "smoke-publish.toml"
    path.write_text('extends = "smoke"\n[book]\npublish = true\n')
    return path


def test_publish_profile_extends_default_and_changes_no_result():
    from lsreport.data import faces_key
    from lsreport.train import model_key

    pub, default = load_config("publish"), load_config("default")
    assert pub.book.publish and not default.book.publish
    assert faces_key(pub) == faces_key(default) and model_key(pub) == model_key(default)


def test_publish_build_swaps_marked_cells_for_the_note(toy, publish_profile, monkeypatch):  # noqa: F811
    path = toy / "chapters" / "toy.qmd"
    normal = execute_like_the_book(path)
    assert images(normal.cells[3]) and not notes(normal.cells[3])
    monkeypatch.setenv("LSREPORT_PROFILE", str(publish_profile))
    pub = execute_like_the_book(path)
    assert not images(pub.cells[3]) and len(notes(pub.cells[3])) == 1
    assert images(pub.cells[1]), "an unmarked figure must still draw"
    with pytest.raises(SourceImageWithheld):
        draw("fig-toy-image", root=toy)
    assert sorted(export_all(toy / "figs", root=toy)) == ["fig-toy-scatter"]


def test_cells_that_draw_source_pixels_are_marked():
    unmarked = []
    for chapter in book_chapters():
        if not (ROOT / chapter).exists():
            continue
        for c in chapter_cells(ROOT / chapter):
            code = "\n".join(l for l in c.source.splitlines() if not l.startswith("#"))
            if c.is_figure and SOURCE_PIXELS.search(code) and "source-image" not in c.classes:
                unmarked.append(f"{chapter}: {c.label}")
    assert not unmarked, "figures that show source images need '#| classes: source-image': " + \
        ", ".join(unmarked)


@pytest.mark.slow
def test_publish_build_of_the_smoke_book_emits_no_marked_output(smoke_env, publish_profile,
                                                                monkeypatch):
    for k, v in smoke_env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("LSREPORT_PROFILE", str(publish_profile))
    marked = 0
    for chapter in book_chapters():
        cells = chapter_cells(ROOT / chapter) if (ROOT / chapter).exists() else []
        if not any("source-image" in c.classes for c in cells):
            continue
        nb = execute_like_the_book(ROOT / chapter)
        for cell, spec in zip(nb.cells, cells):
            if "source-image" in spec.classes:
                marked += 1
                assert not images(cell), f"{chapter}: {spec.label} drew in a publish build"
                assert notes(cell), f"{chapter}: {spec.label} has no note"
            elif spec.is_figure:
                assert images(cell), f"{chapter}: {spec.label} lost its figure"
    assert marked >= 3
