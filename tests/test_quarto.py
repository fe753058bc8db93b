"""The smoke book as real Quarto renders it: what a reader of HTML and PDF gets.

The book is copied into a temporary folder and rendered once per session
with ``quarto render`` (HTML, and the PDF when a TeX engine is found) on the
smoke pipeline's cache (``smoke_env`` in conftest.py). Without Quarto these
tests skip; tests/test_chapters.py still executes every chapter.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest

from lsreport import pipeline
from lsreport.render import book_chapters, find_tex, render_book

ROOT = pipeline.project_root()
QUARTO = shutil.which("quarto")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    QUARTO is None, reason="quarto is not on PATH (install it: ../shared/tools/quarto/install.sh, "
                           "https://quarto.org or `pip install quarto-cli`); "
                           "tests/test_chapters.py still executes every chapter")]
needs_pdf = pytest.mark.skipif(find_tex() is None, reason="no TeX engine (xelatex/lualatex) for the "
                               "PDF: `quarto install tinytex` or TeX Live")
#: what the book consists of besides its chapters (Quarto renders only these)
PROJECT = ["_quarto.yml", "assets", "scripts"]
FIG_LABEL_RE = re.compile(r"^#\|\s*label:\s*(fig-[\w-]+)", re.M)
# TeX a reader would see as source: outside math spans, in text or tables
RAW_TEX_RE = re.compile(r"\\(begin|end)\{|\\(multirow|multicolumn|textbf|textit|frac|sqrt|hline|"
                        r"toprule|midrule|bottomrule|cite|ref|label|emph)\b|\$\$")
# ... and a str whose repr escaped a character (a no-break space shows as \xa0)
REPR_RE = re.compile(r"np\.(float|int|bool)\w*\(|array\(\[|<[\w.]+ object at 0x|tf\.Tensor\("
                     r"|\\x[0-9a-f]{2}|\\u[0-9a-f]{4}")
#: how a pandoc list item starts in the source (example lists "(@)" or "@key)" excluded)
LIST_ITEM_RE = re.compile(r"^\s*(?:[-*+]|\d+[.)]|[ivx]+\.|[a-z][.)])\s+(.*)$", re.M)


@pytest.fixture(scope="session")
def quarto_book(smoke_env, tmp_path_factory):
    """The smoke book rendered by Quarto in a copy of the project (no debris here)."""
    copy = tmp_path_factory.mktemp("quarto-book")
    chapters = [c for c in book_chapters() if (ROOT / c).exists()]
    for name in PROJECT + chapters:
        src, dest = ROOT / name, copy / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if src.is_dir() else shutil.copyfile)(src, dest)
    result = render_book("smoke", to="all" if find_tex() else "html", root=copy,
                         env=smoke_env, capture=True, log=lambda s: None)
    return copy, chapters, result


def soup(path: Path):
    from bs4 import BeautifulSoup

    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def page(copy: Path, chapter: str) -> Path:
    return copy / "_book" / (chapter[: -len(".qmd")] + ".html")


def main_text(doc) -> str:
    main = doc.find("main") or doc
    for tag in main.select("script, style, .math, code, pre, .sourceCode"):
        tag.decompose()
    return main.get_text(" ")


def test_every_chapter_became_a_page_and_the_render_was_quiet(quarto_book):
    copy, chapters, result = quarto_book
    for ch in chapters:
        assert page(copy, ch).exists(), ch
    output = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", result.output)
    warnings = [ln for ln in output.splitlines() if not re.search(r"IPKernelApp|absl", ln) and re.search(
        r"^\s*(WARN|WARNING|\[WARNING\])\b|Could not convert TeX math|citation .* not found|"
        r"Unable to resolve|LaTeX Warning: (Reference|Citation)", ln)]
    assert warnings == [], "Quarto warned:\n" + "\n".join(warnings)


@pytest.mark.parametrize("chapter", [c for c in book_chapters() if (ROOT / c).exists()])
def test_every_figure_cell_became_an_image_with_alt_text(quarto_book, chapter):
    copy, _, _ = quarto_book
    labels = FIG_LABEL_RE.findall((ROOT / chapter).read_text(encoding="utf-8"))
    doc = soup(page(copy, chapter))
    for label in labels:
        fig = doc.find(id=label)
        assert fig is not None, f"{chapter}: no figure with id {label}"
        imgs = fig.find_all("img")
        assert imgs, f"{chapter}: figure {label} has no <img>"
        for img in imgs:
            assert img.get("alt", "").strip(), f"{chapter}: an image of {label} has no alt text"
            assert (page(copy, chapter).parent / img["src"]).exists() or img["src"].startswith(
                "data:"), f"{chapter}: {label} image {img['src']} is missing"


def test_no_unresolved_reference_citation_or_raw_tex(quarto_book):
    copy, chapters, _ = quarto_book
    for ch in chapters:
        doc = soup(page(copy, ch))
        for cite in doc.select("span.citation"):
            assert "?" not in cite.get_text(), f"{ch}: unresolved citation {cite}"
        text = main_text(doc)
        assert "?@" not in text, f"{ch}: unresolved reference near " + text[text.find("?@") - 60:][:120]
        hit = RAW_TEX_RE.search(text)
        assert hit is None, f"{ch}: raw TeX in the page: ...{text[max(0, hit.start() - 60):hit.end() + 40]}..."


def test_inline_results_read_as_numbers_not_reprs(quarto_book):
    """`{python} x` shows Python's repr for a NumPy scalar, array or object: format it."""
    copy, chapters, _ = quarto_book
    for ch in chapters:
        doc = soup(page(copy, ch))
        for tag in doc.select(".cell-output, .cell-code, pre, code"):
            tag.decompose()
        hit = REPR_RE.search(main_text(doc))
        assert hit is None, f"{ch}: a repr in the prose: {hit.group(0)!r}"


def test_no_list_was_made_from_prose(quarto_book):
    """Pandoc reads ``@key)`` at a line start as an example list, ``1990.`` as an
    ordered list: every list item on a page must be a list item of the source."""
    copy, chapters, _ = quarto_book
    for ch in chapters:
        doc = soup(page(copy, ch))
        main = doc.find("main")
        assert not main.select("ol.example"), f"{ch}: an example list ('@key)' at a line start?)"
        source = re.sub(r"`\{python\}[^`]*`", " ", (ROOT / ch).read_text(encoding="utf-8"))
        items = " ".join(re.sub(r"[*_`\[\]]", "", m) for m in LIST_ITEM_RE.findall(source))
        items = re.sub(r"\s+", " ", items)
        for li in main.select("li"):
            if li.find_parent(class_=re.compile(r"callout|references|footnotes|quarto-appendix|"
                                                r"cell-output|sidebar|toc")):
                continue
            words = re.findall(r"[A-Za-z][\w’'-]*", li.get_text(" "))[:3]
            if words:
                assert " ".join(words) in items, f"{ch}: list item not in the source: {li.get_text()[:80]!r}"


def test_book_title_and_chapters_in_the_navigation(quarto_book):
    copy, chapters, _ = quarto_book
    doc = soup(copy / "_book" / "index.html")
    nav = doc.select_one("#quarto-sidebar")
    assert nav is not None
    hrefs = {a.get("href", "").lstrip("./") for a in nav.select("a")}
    for ch in chapters:
        assert ch[: -len(".qmd")] + ".html" in hrefs, ch
    text = re.sub(r"\s+", " ", doc.find("main").get_text(" "))
    assert "uses the synthetic face set" in text and "profile smoke" in text  # the smoke build says so


def chapter_titles(copy: Path, chapters: list[str]) -> list[str]:
    titles = []
    for ch in chapters:
        doc = soup(page(copy, ch))
        h1 = doc.select_one("h1.title .chapter-title") or doc.select_one("h1.title")
        titles.append(re.sub(r"^Appendix [A-Z] — ", "", h1.get_text(" ").strip()))  # PDF: "A Figures"
    return titles


def squash(text: str) -> str:
    """Letters and digits only: hyphenation, ligatures and line breaks do not matter."""
    return re.sub(r"\W", "", unicodedata.normalize("NFKC", text).lower())


@needs_pdf
@pytest.mark.skipif(shutil.which("pdfimages") is None or shutil.which("pdftotext") is None,
                    reason="poppler-utils (pdftotext, pdfimages) not installed")
def test_pdf_has_the_chapter_titles_and_every_figure(quarto_book):
    copy, chapters, result = quarto_book
    assert result.pdf is not None and result.pdf.stat().st_size > 10_000, "no PDF in _book/"
    text = squash(subprocess.run(["pdftotext", str(result.pdf), "-"], capture_output=True,
                                 text=True, check=True).stdout)
    for title in chapter_titles(copy, chapters):
        assert squash(title) in text, f"chapter title {title!r} not in the PDF"
    html_images = sum(len(soup(page(copy, ch)).select(".quarto-float img")) for ch in chapters)
    listing = subprocess.run(["pdfimages", "-list", str(result.pdf)], capture_output=True,
                             text=True, check=True).stdout.splitlines()[2:]
    pdf_images = [ln for ln in listing if ln.split()[2] == "image"]   # not the alpha masks
    assert html_images > 0
    assert len(pdf_images) == html_images, f"{len(pdf_images)} images in the PDF, {html_images} figures"


@pytest.mark.parametrize("chapter", ["index.qmd", "chapters/01-face-data.qmd",
                                     "chapters/02-autoencoder.qmd",
                                     "chapters/08-what-makes-it-normal.qmd"])
def test_no_identifiers_in_rendered_prose(quarto_book, chapter):
    """No snake_case names, constants, dotted config keys or literal backticks in the prose (H5)."""
    from prose_check import identifiers_in_prose

    copy, chapters, _ = quarto_book
    if chapter not in chapters:
        pytest.skip(f"{chapter} is not in the book")
    found = identifiers_in_prose(page(copy, chapter).read_text(encoding="utf-8"))
    assert not found, f"{chapter}: code names in prose: {sorted(set(found))}"
