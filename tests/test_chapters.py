"""Every chapter of the book executes on the smoke profile, without Quarto.

Where Quarto is on PATH these tests skip: tests/test_quarto.py executes
every chapter through ``quarto render`` and checks the pages (set
``LSREPORT_EXECUTE_CHAPTERS=1`` to run both).

The smoke pipeline runs once into a temporary cache (``smoke_env`` in
conftest.py), then each chapter runs in a Jupyter kernel of this Python
(:func:`lsreport.render.execute_chapter`: jupytext + nbclient), which fails
on the first cell error and names the chapter and cell. The tests read the
executed notebooks: every labelled figure cell drew an image, every inline
expression gave something a reader can use, and every cross-reference and
citation names a label or a bibliography entry that exists. How Quarto
turns these into pages is checked in tests/test_quarto.py.
"""

from __future__ import annotations

import os
import re
import shutil

import pytest

from lsreport import pipeline
from lsreport.render import execute_chapter, book_chapters

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    shutil.which("quarto") is not None and not os.environ.get("LSREPORT_EXECUTE_CHAPTERS"),
    reason="Quarto is on PATH: tests/test_quarto.py executes every chapter with quarto render "
           "(LSREPORT_EXECUTE_CHAPTERS=1 runs these too)")]

ROOT = pipeline.project_root()
CHAPTERS = [c for c in book_chapters() if (ROOT / c).exists()]
# what an inline result must not look like: a repr instead of a formatted number
REPR_RE = re.compile(r"^(np\.\w+\(|array\(|<.* at 0x[0-9a-f]+>$|tf\.Tensor\()")
XREF_RE = re.compile(r"(?<![\w@])-?@((?:sec|fig|tbl|eq)-[\w-]*\w)")
CITE_RE = re.compile(r"(?<![\w@.])-?@(\w[\w:.#$%&+?<>~/-]*\w|\w)")
LABEL_RE = re.compile(r"\{[^{}]*#((?:sec|fig|tbl|eq)-[\w-]*\w)[^{}]*\}|^#\|\s*label:\s*(\S+)", re.M)


@pytest.fixture(scope="session")
def notebooks(smoke_env):
    """Every chapter executed once per session on the smoke cache."""
    return {ch: execute_chapter(ROOT / ch, env=smoke_env, timeout=600, name=ch) for ch in CHAPTERS}


def prose(nb) -> str:
    """What becomes text of the page: markdown cells and ``output: asis`` prints,
    without inline code spans (where ``@`` is Python, not a reference)."""
    parts = [c.source for c in nb.cells if c.cell_type == "markdown"]
    for c in nb.cells:
        if c.cell_type == "code" and c.metadata["lsreport"]["options"].get("output") == "asis":
            parts += [o.get("text", "") for o in c.get("outputs", []) if o.get("name") == "stdout"]
    return re.sub(r"`[^`\n]*`", "", "\n".join(parts))


def test_book_lists_the_chapters_in_order():
    assert CHAPTERS[0] == "index.qmd" and "chapters/references.qmd" in CHAPTERS
    assert [c for c in CHAPTERS if c.startswith("chapters/0")] == sorted(
        str(p.relative_to(ROOT)) for p in (ROOT / "chapters").glob("0*.qmd"))


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_figures_drew_images(notebooks, chapter):
    for cell in notebooks[chapter].cells:
        opts = cell.metadata.get("lsreport", {}).get("options", {}) if cell.cell_type == "code" else {}
        if str(opts.get("label", "")).startswith("fig-") and opts.get("eval", True):
            pngs = [o for o in cell.outputs if "image/png" in o.get("data", {})]
            assert pngs, f"{chapter}: figure cell {opts['label']} drew no image"
            assert str(opts.get("fig-alt", "")).strip(), f"{chapter}: {opts['label']} has no fig-alt"
            if isinstance(opts.get("fig-subcap"), list):
                assert len(pngs) >= len(opts["fig-subcap"]), \
                    f"{chapter}: {opts['label']} has fewer panels than sub-captions"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_inline_code_evaluated(notebooks, chapter):
    nb = notebooks[chapter]
    text = (ROOT / chapter).read_text(encoding="utf-8")
    expected = len(re.findall(r"(?<!`)`\{python\}[ \t]", text))
    results = [r for c in nb.cells for r in c.metadata.get("user_expressions", [])]
    assert len(results) == expected, f"{chapter}: {len(results)} of {expected} inline expressions ran"
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            assert "`{python}" not in cell.source, f"{chapter}: unevaluated inline code left"
    for r in results:
        assert r["result"].strip(), f"{chapter}: `{{python}} {r['expression']}` is empty"
        assert not REPR_RE.search(r["result"]), (
            f"{chapter}: `{{python}} {r['expression']}` shows {r['result']!r}; format it "
            f"(e.g. f\"{{x:.2f}}\") so the page shows a number, as Quarto would show this repr too")


def test_references_and_citations_name_what_exists(notebooks):
    labels, used, cited = set(), {}, {}
    for ch, nb in notebooks.items():
        source = (ROOT / ch).read_text(encoding="utf-8")
        labels |= {a or b for a, b in LABEL_RE.findall(source)}
        text = prose(nb)
        for key in XREF_RE.findall(text):
            used.setdefault(key, ch)
        for key in CITE_RE.findall(XREF_RE.sub("", text)):
            cited.setdefault(key, ch)
    bib = set(re.findall(r"^@\w+\{([^,\s]+),", (ROOT / "assets/references.bib").read_text(
        encoding="utf-8"), re.M))
    assert {k: ch for k, ch in used.items() if k not in labels} == {}, "unknown cross-references"
    assert {k: ch for k, ch in cited.items() if k not in bib} == {}, "citations not in references.bib"
    assert used and cited


def test_first_page_says_which_data_and_profile(notebooks):
    text = prose(notebooks["index.qmd"])
    assert "synthetic face set generated by the package" in text  # smoke uses synthetic faces
    assert "**`smoke`**" in text or "**smoke**" in text
