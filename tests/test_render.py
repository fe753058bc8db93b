"""The book renderer: _quarto.yml order, qmd -> notebook, inline code, HTML.

The fallback is exercised on a small book written here (two chapters, a
figure, inline code, cross-references, a citation), so these tests need a
Jupyter kernel but neither the pipeline nor TensorFlow.
"""

from __future__ import annotations

import base64
import os
import re
import struct
from pathlib import Path

import nbformat
import pytest
import yaml
from bs4 import BeautifulSoup

from lsreport import render
from lsreport.render import ChapterExecutionError, cell_options, qmd_to_notebook, read_book

ROOT = Path(__file__).resolve().parents[1]

SETUP = "```{python}\n#| include: false\nimport matplotlib\nhidden_value = 7\n```\n"

CH1 = """# First steps {#sec-first}

""" + SETUP + """
The answer is `{python} 6 * 7` and the word is `{python} "plain"`; compare
`{python} hidden_value + 1` with @fig-line, see @sec-detail and [@mardia1970].

## Some detail {#sec-detail}

```{python}
#| label: fig-line
#| fig-cap: "A straight line."
#| fig-alt: "A line rising from left to right."
import matplotlib.pyplot as plt
fig, ax = plt.subplots(figsize=(3, 2))
ax.plot([0, 1], [0, 1]);
```

```{python}
#| echo: false
print("printed but code hidden")
```

```{python}
#| output: false
print("code shown but output hidden")
```

```{python}
#| label: fig-bars
#| fig-cap: "Some bars."
fig, ax = plt.subplots(figsize=(3, 2))
ax.bar([0, 1], [2, 3]);
```

```{python}
#| label: fig-pair
#| fig-cap: "Two panels."
#| fig-subcap: ["left", "right"]
#| layout-ncol: 2
for k in (1, 2):
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, k]);
    plt.show()
```

::: {.callout-note}
A note with `{python} 2 + 3` inside.
:::
"""

CH2 = """---
title: "Second"
---

```{python}
#| output: asis
print("::: {.callout-tip}\\nasis says **hello**\\n:::")
```

Back to @fig-bars in @sec-first and [-@fig-line]; also @fig-missing.

```{python}
counter = 1
```

Counter before: `{python} counter`.

```{python}
counter = 2
```

Counter after: `{python} counter`.
"""

REFS = """# References {.unnumbered}

::: {#refs}
:::
"""

BIB = """@article{mardia1970,
  author  = {Mardia, Kanti V.},
  title   = {Measures of Multivariate Skewness and Kurtosis with Applications},
  journal = {Biometrika},
  year    = {1970},
  volume  = {57},
  number  = {3},
  pages   = {519--530},
}
"""

QUARTO_YML = """project:
  type: book
  output-dir: _book
book:
  title: "A tiny book"
  chapters:
    - index.qmd
    - part: "The part"
      chapters:
        - chapters/one.qmd
        - chapters/two.qmd
    - chapters/references.qmd
bibliography: refs.bib
format:
  html:
    css: style.css
"""

INDEX = "# Welcome {.unnumbered}\n\nStart with @sec-first.\n"


def write_book(root: Path, **overrides: str) -> Path:
    files = {"_quarto.yml": QUARTO_YML, "index.qmd": INDEX, "chapters/one.qmd": CH1,
             "chapters/two.qmd": CH2, "chapters/references.qmd": REFS, "refs.bib": BIB,
             "style.css": "body { color: black; }\n", **overrides}
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def tiny_book(tmp_path_factory):
    """The small book above, rendered once with the fallback."""
    root = write_book(tmp_path_factory.mktemp("book"))
    lines: list[str] = []
    result = render.render_book("smoke", engine="fallback", root=root, timeout=120,
                                log=lines.append)
    return root, result, lines


def page(root: Path, name: str) -> str:
    return (root / "_book" / name).read_text(encoding="utf-8")


def notebook(root: Path, name: str):
    return nbformat.read(root / "_book" / "notebooks" / name, as_version=4)


# ------------------------------------------------------------ pure parsing


def test_read_book_follows_quarto_yml_order_and_parts():
    spec = read_book(ROOT)
    raw = yaml.safe_load((ROOT / "_quarto.yml").read_text())
    expected = []
    for item in raw["book"]["chapters"]:
        if isinstance(item, str):
            expected.append((item, None))
        else:
            expected += [(c, item["part"]) for c in item["chapters"]]
    assert [(c.path, c.part) for c in spec.chapters] == expected
    assert spec.chapters[0].path == "index.qmd"
    assert spec.chapters[-1].path == "chapters/references.qmd"
    assert [p for p, _ in spec.parts if p] == [
        "Data and model", "The latent distribution", "Generating faces", "Beyond the series"]
    assert spec.bibliography == ("assets/references.bib",)
    assert spec.output_dir == "_book"


def test_read_book_names_a_missing_chapter(tmp_path):
    write_book(tmp_path, **{"_quarto.yml": QUARTO_YML.replace("chapters/two.qmd", "chapters/nine.qmd")})
    with pytest.raises(FileNotFoundError, match="chapters/nine.qmd"):
        read_book(tmp_path)


def test_every_chapter_starts_with_the_hidden_setup_cell_and_has_a_sec_id():
    for ch in read_book(ROOT).chapters:
        text = (ROOT / ch.path).read_text(encoding="utf-8")
        first = next(c for c in qmd_to_notebook(text).cells if c.cell_type == "code")
        assert first.metadata["lsreport"]["options"].get("include") is False, ch.path
        assert "import lsreport.book as book\n" in first.source, ch.path
        assert "ctx = book.setup()" in first.source, ch.path
        if ch.path not in ("index.qmd", "chapters/references.qmd"):
            assert re.search(r"^# .+\{#sec-[\w-]+\}", text, re.M), ch.path


def test_qmd_to_notebook_keeps_cell_options_and_front_matter():
    nb = qmd_to_notebook(CH2 + "\n" + CH1)
    assert nb.metadata["lsreport"]["front_matter"] == {"title": "Second"}
    code = [c for c in nb.cells if c.cell_type == "code"]
    fig = next(c for c in code if "fig-line" in c.source)
    assert fig.source.startswith("#| label: fig-line\n#| fig-cap:")
    assert fig.metadata["lsreport"]["options"] == {
        "label": "fig-line", "fig-cap": "A straight line.",
        "fig-alt": "A line rising from left to right."}
    assert code[0].metadata["lsreport"]["options"] == {"output": "asis"}
    assert all(c.cell_type != "raw" for c in nb.cells)
    nbformat.validate(nb)


def test_cell_options_parse_yaml_and_reject_garbage():
    assert cell_options("#| echo: false\n#| fig-subcap:\n#|   - a\n#|   - b\nx = 1\n#| not: this") == {
        "echo": False, "fig-subcap": ["a", "b"]}
    assert cell_options("x = 1") == {}
    with pytest.raises(ValueError, match="#| options"):
        cell_options("#| just words\nx = 1")


def test_inline_text_follows_quarto():
    assert render._inline_text({"text/plain": "42"}) == "42"
    assert render._inline_text({"text/plain": "'plain'"}) == "plain"
    assert render._inline_text({"text/plain": "('long '\n 'string')"}) == "long string"
    assert render._inline_text({"text/plain": "(1, 2)"}) == "(1, 2)"
    assert render._inline_text({"text/plain": "x", "text/markdown": "*md*"}) == "*md*"


def test_parse_bibtex_reads_the_books_bibliography():
    bib = render.parse_bibtex((ROOT / "assets" / "references.bib").read_text(encoding="utf-8"))
    assert bib["mardia1970"]["journal"] == "Biometrika"
    assert bib["mardia1970"]["pages"] == "519\u2013530"
    assert bib["henze1990"]["number"] == "10"
    assert render._cite_names(bib["henze1990"]) == "Henze and Zirkler"
    assert render._cite_names(bib["ghosh2020"]) == "Ghosh et al."
    assert render._cite_names(bib["moenchmeyer2022series"]) == "Mönchmeyer"
    for part in ("i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x"):
        assert f"moenchmeyer2022part{part}" in bib


def test_every_citation_in_the_book_is_in_the_bibliography():
    bib = render.parse_bibtex((ROOT / "assets" / "references.bib").read_text(encoding="utf-8"))
    for ch in read_book(ROOT).chapters:
        text = (ROOT / ch.path).read_text(encoding="utf-8")
        for key in re.findall(r"(?<![\w@])-?@([A-Za-z][\w:-]*\w)", text):
            if key.split("-", 1)[0] not in ("sec", "fig", "tbl", "eq") and key != "*":
                assert key in bib, f"{ch.path} cites @{key}, which is not in references.bib"


# --------------------------------------------------- the fallback, executed


def test_fallback_reports_its_engine(tiny_book):
    _, result, lines = tiny_book
    assert result.engine == "fallback"
    assert "engine=fallback" in lines[0]


def test_inline_code_is_evaluated_in_the_chapter_kernel(tiny_book):
    root, _, _ = tiny_book
    nb = notebook(root, "chapters__one.ipynb")
    md = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "{python}" not in md
    assert "The answer is 42 and the word is plain;" in md   # str results lose their quotes
    assert "compare\n8 with" in md                            # sees variables of hidden cells
    assert "A note with 5 inside." in md
    results = [r for c in nb.cells for r in c.metadata.get("user_expressions", [])]
    assert [(r["expression"], r["result"]) for r in results] == [
        ("6 * 7", "42"), ('"plain"', "plain"), ("hidden_value + 1", "8"), ("2 + 3", "5")]


def test_inline_code_sees_the_kernel_state_where_it_stands(tiny_book):
    # as in Quarto: a markdown cell's expressions run when the cell is reached
    root, _, _ = tiny_book
    md = "\n".join(c.source for c in notebook(root, "chapters__two.ipynb").cells
                   if c.cell_type == "markdown")
    assert "Counter before: 1." in md and "Counter after: 2." in md


def test_figure_cell_renders_an_embedded_png_with_caption_and_alt(tiny_book):
    root, _, _ = tiny_book
    html = page(root, "chapters/one.html")
    imgs = BeautifulSoup(html, features="html.parser").select('img[src^="data:image/png;base64,"]')
    assert len(imgs) == 4
    alt, data = imgs[0]["alt"], imgs[0]["src"].split(",", 1)[1]
    raw = base64.b64decode(data)
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", raw[16:24])
    assert width > 100 and height > 50                  # a 3x2 inch figure, not an icon
    assert alt == "A line rising from left to right."
    assert "Figure 1.1: A straight line." in html
    assert "Figure 1.2: Some bars." in html
    assert 'id="fig-line"' in html
    assert "Figure 1.3: Two panels. (a) left (b) right" in html
    pair = BeautifulSoup(html, features="html.parser").select_one(".celltag_lsr-ncol-2")
    assert pair is not None and len(pair.select("img")) == 2


def test_cell_options_shape_the_page(tiny_book):
    root, _, _ = tiny_book
    html = page(root, "chapters/one.html")
    assert "hidden_value = 7" not in html                # include: false
    assert "printed but code hidden" in html             # echo: false keeps output ...
    assert 'print("printed but code hidden")' not in html.replace("&quot;", '"')  # ... not code
    assert "code shown but output hidden" in html        # output: false keeps the code ...
    assert html.count("code shown but output hidden") == 1  # ... but not its output
    assert "#| label" not in html                        # option lines are not shown
    assert 'class="callout callout-note"' in html


def links(html: str, cls: str) -> list[tuple[str, str]]:
    soup = BeautifulSoup(html, features="html.parser")
    return [(a["href"], a.get_text()) for a in soup.select(f"main a.{cls}")]


def test_cross_references_and_citations_resolve(tiny_book):
    root, result, _ = tiny_book
    one, two, index = (page(root, p) for p in ("chapters/one.html", "chapters/two.html", "index.html"))
    assert links(one, "quarto-xref") == [("#fig-line", "Figure 1.1"), ("#sec-detail", "Section 1.1")]
    assert links(one, "citation") == [("references.html#ref-mardia1970", "Mardia 1970")]
    assert "(<a" in one and "Mardia 1970</a>)" in one          # parenthetical
    assert links(two, "quarto-xref") == [("one.html#fig-bars", "Figure 1.2"),
                                         ("one.html#sec-first", "Chapter 1"),
                                         ("one.html#fig-line", "1.1")]   # [-@fig-line]
    assert links(index, "quarto-xref") == [("chapters/one.html#sec-first", "Chapter 1")]
    assert result.unresolved == ["chapters/two.qmd: @fig-missing"]
    assert "?@fig-missing" in two


def test_numbering_headings_parts_and_references(tiny_book):
    root, _, _ = tiny_book
    one, two = page(root, "chapters/one.html"), page(root, "chapters/two.html")
    assert '<span class="header-section-number">1</span> First steps' in one
    assert '<span class="header-section-number">1.1</span> Some detail' in one
    assert '<span class="header-section-number">2</span> Second' in two   # title from front matter
    assert "asis says <strong>hello</strong>" in two and "callout-tip" in two
    sidebar = page(root, "index.html").split("</nav>")[0]
    assert sidebar.index("Welcome") < sidebar.index("The part") < sidebar.index("First steps") \
        < sidebar.index("Second") < sidebar.index("References")
    refs = page(root, "chapters/references.html")
    assert 'id="ref-mardia1970"' in refs and "<em>Biometrika</em> 57(3): 519–530" in refs
    assert (root / "_book" / "style.css").exists()
    assert 'href="../style.css"' in one


def test_failing_cell_names_chapter_and_cell(tmp_path):
    bad = "# Broken {#sec-broken}\n\n```{python}\nx = 1\n```\n\n```{python}\n#| label: fig-boom\n" \
          "raise ValueError('boom in a chapter')\n```\n"
    root = write_book(tmp_path, **{"chapters/two.qmd": bad})
    with pytest.raises(ChapterExecutionError) as info:
        render.render_book("smoke", engine="fallback", root=root, chapters=["two"], timeout=60,
                           log=lambda s: None)
    msg = str(info.value)
    assert msg.startswith("chapters/two.qmd: code cell 2 (line 7) [fig-boom]")
    assert "ValueError: boom in a chapter" in msg


def test_failing_inline_expression_names_it(tmp_path):
    root = write_book(tmp_path, **{"chapters/two.qmd": "# Two\n\nSee `{python} undefined_name`.\n"})
    with pytest.raises(ChapterExecutionError, match=r"(?s)chapters/two.qmd: inline expression "
                                                    r"`\{python\} undefined_name`.*NameError"):
        render.render_book("smoke", engine="fallback", root=root, chapters=["two.qmd"], timeout=60,
                           log=lambda s: None)


def test_engine_choice(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="engine"):
        render.render_book("smoke", engine="pandoc", root=write_book(tmp_path))
    monkeypatch.setattr(render, "find_quarto", lambda: None)
    with pytest.raises(RuntimeError, match="no quarto executable"):
        render.render_book("smoke", engine="quarto", root=tmp_path)
    with pytest.raises(ValueError, match="not in _quarto.yml"):
        render.render_book("smoke", engine="fallback", root=tmp_path, chapters=["nine"])


def test_quarto_engine_runs_quarto_with_the_profile_and_drops_stale_freeze(tmp_path, monkeypatch):
    """Quarto is not installed here: a stand-in records how it was called."""
    root = write_book(tmp_path / "book")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls.txt"
    fake = bin_dir / "quarto"
    fake.write_text('#!/bin/sh\necho "$PWD|$LSREPORT_PROFILE|$QUARTO_PYTHON|$*" >> "%s"\n' % calls)
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    stale = root / "_freeze" / "chapters" / "one" / "execute-results"
    stale.mkdir(parents=True)

    result = render.render_book("smoke", root=root, log=lambda s: None)
    assert result.engine == "quarto"
    cwd, profile, python, args = calls.read_text().strip().split("|")
    assert (cwd, profile) == (str(root), "smoke")
    assert Path(python).name.startswith("python")
    assert args == f"render --to html --output-dir {root / '_book'}"
    assert not stale.exists()                      # no fingerprint yet: outputs could be stale

    stale.mkdir(parents=True)
    render.render_book("smoke", root=root, log=lambda s: None)
    assert stale.exists()                          # same profile and data: freeze kept
    render.render_book("default", root=root, log=lambda s: None)
    assert not stale.exists()                      # another profile: frozen outputs dropped
    assert len(calls.read_text().splitlines()) == 3
