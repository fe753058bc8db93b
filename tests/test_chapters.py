"""Every chapter of the book executes on the smoke profile.

The pipeline runs once into a temporary cache, then the whole book is
rendered with the fallback renderer (the path CI has: no Quarto there), which
fails on the first cell error and names the chapter and cell. The tests then
read the executed notebooks: every labelled figure cell drew an image, every
inline expression was evaluated to something a reader can use, and every
cross-reference and citation resolved.
"""

from __future__ import annotations

import importlib.util
import re
import warnings

import nbformat
import pytest

from lsreport import pipeline
from lsreport.config import load_config
from lsreport.render import read_book, render_book

pytestmark = pytest.mark.slow

CHAPTERS = [c.path for c in read_book().chapters]
# what an inline result must not look like: a repr instead of a formatted number
REPR_RE = re.compile(r"^(np\.\w+\(|array\(|<.* at 0x[0-9a-f]+>$|tf\.Tensor\()")


def run_pipeline(profile: str) -> list[str]:
    """Run every pipeline step whose module exists; return the steps run.

    A step whose own ``lsreport`` module is not written yet is skipped with a
    warning; any other error, a missing third-party package included, fails.
    """
    cfg = load_config(profile)
    store = pipeline.store_for(cfg)
    ran = []
    for step in pipeline.STEPS:
        try:
            getattr(pipeline, step)(cfg, store, progress=False)
        except ModuleNotFoundError as exc:
            name = exc.name or ""
            if not name.startswith("lsreport.") or importlib.util.find_spec(name) is not None:
                raise
            warnings.warn(f"pipeline step {step!r} skipped: {name} does not exist yet")
            continue
        ran.append(step)
    return ran


@pytest.fixture(scope="session")
def book(tmp_path_factory):
    """The smoke pipeline plus the whole book, rendered once per session."""
    cache = tmp_path_factory.mktemp("cache")
    out = tmp_path_factory.mktemp("book") / "_book"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LSREPORT_CACHE", str(cache))
        mp.setenv("LSREPORT_PROFILE", "smoke")
        ran = run_pipeline("smoke")
        result = render_book("smoke", engine="fallback", output_dir=out, timeout=600)
    return ran, result


def executed(result, chapter: str):
    name = chapter[: -len(".qmd")].replace("/", "__") + ".ipynb"
    return nbformat.read(result.output_dir / "notebooks" / name, as_version=4)


def test_pipeline_ran_what_the_chapters_need(book):
    ran, _ = book
    assert ran[:3] == ["faces", "model", "latents"]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_figures_drew_images(book, chapter):
    _, result = book
    nb = executed(result, chapter)
    for cell in nb.cells:
        opts = cell.metadata.get("lsreport", {}).get("options", {}) if cell.cell_type == "code" else {}
        if str(opts.get("label", "")).startswith("fig-") and opts.get("eval", True):
            pngs = [o for o in cell.outputs if "image/png" in o.get("data", {})]
            assert pngs, f"{chapter}: figure cell {opts['label']} drew no image"
            if isinstance(opts.get("fig-subcap"), list):
                assert len(pngs) >= len(opts["fig-subcap"]), \
                    f"{chapter}: {opts['label']} has fewer panels than sub-captions"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_inline_code_evaluated(book, chapter):
    _, result = book
    nb = executed(result, chapter)
    text = (pipeline.project_root() / chapter).read_text(encoding="utf-8")
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


def test_book_references_resolve_and_pages_exist(book):
    _, result = book
    assert result.unresolved == [], "unresolved cross-references or citations: " + \
        "; ".join(result.unresolved)
    for chapter in CHAPTERS:
        page = result.output_dir / (chapter[: -len(".qmd")] + ".html")
        assert page.exists(), page
        figures = [c for c in executed(result, chapter).cells if c.cell_type == "code" and str(
            c.metadata["lsreport"]["options"].get("label", "")).startswith("fig-")]
        if figures:
            assert "data:image/png;base64," in page.read_text(encoding="utf-8"), page


def test_first_page_says_which_data_and_profile(book):
    _, result = book
    text = (result.output_dir / "index.html").read_text(encoding="utf-8")
    assert "synthetic face set generated by the package" in text   # smoke uses synthetic faces
    assert "<strong>smoke</strong>" in text
