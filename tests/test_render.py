"""What lsreport adds to Quarto: profile, pre-render, frozen outputs, Quarto and
TeX lookup, and executing a chapter without Quarto.

A stand-in ``quarto`` script records how it was called, so these tests need
neither Quarto nor the pipeline; tests/test_quarto.py renders with the real one.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from lsreport import render
from lsreport.config import load_config
from lsreport.render import ChapterExecutionError, book_chapters, cell_options, execute_chapter

ROOT = Path(__file__).resolve().parents[1]

CHAPTER = """---
title: "Tiny"
---

```{python}
#| include: false
hidden_value = 7
```

The answer is `{python} 6 * 7`, the word is `{python} "plain"` and then
`{python} hidden_value + 1`.

```{python}
#| label: fig-line
#| fig-cap: "A straight line."
#| fig-alt: "A line rising from left to right."
import matplotlib.pyplot as plt
fig, ax = plt.subplots(figsize=(2, 2))
ax.plot([0, 1], [0, 1]);
```

```{python}
#| eval: false
raise RuntimeError("never runs")
```

```{python}
#| error: true
raise ValueError("allowed to fail")
```

```{python}
counter = 2
```

Counter now: `{python} counter`.
"""

QUARTO_YML = """project:
  type: book
book:
  title: "A tiny book"
  chapters:
    - index.qmd
    - part: "The part"
      chapters:
        - chapters/one.qmd
  appendices:
    - chapters/extra.qmd
"""


def fake_quarto(tmp_path, monkeypatch) -> Path:
    """A ``quarto`` on PATH that appends ``cwd|profile|QUARTO_PYTHON|args`` to a file."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls.txt"
    (bin_dir / "quarto").write_text(
        '#!/bin/sh\necho "$PWD|$LSREPORT_PROFILE|$QUARTO_PYTHON|$*" >> "%s"\n' % calls)
    (bin_dir / "quarto").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return calls


def test_book_chapters_follow_quarto_yml_with_parts_and_appendices(tmp_path):
    (tmp_path / "_quarto.yml").write_text(QUARTO_YML)
    assert book_chapters(tmp_path) == ["index.qmd", "chapters/one.qmd", "chapters/extra.qmd"]


def test_every_chapter_starts_with_the_hidden_setup_cell_and_has_a_sec_id():
    for ch in book_chapters(ROOT):
        if not (ROOT / ch).exists():
            continue                                 # being written (Quarto would say so)
        text = (ROOT / ch).read_text(encoding="utf-8")
        first = re.search(r"```\{python\}\n(.*?)```", text, re.S).group(1)
        assert cell_options(first).get("include") is False, ch
        assert "book.setup()" in first, ch
        if ch not in ("index.qmd", "chapters/references.qmd"):
            assert re.search(r"^# .+\{#sec-[\w-]+\}", text, re.M), ch


def test_cell_options_parse_yaml_and_reject_garbage():
    assert cell_options("#| label: fig-a\n#| fig-subcap: [a, b]\nx = 1") == \
        {"label": "fig-a", "fig-subcap": ["a", "b"]}
    assert cell_options("x = 1\n#| label: late") == {}
    with pytest.raises(ValueError, match="invalid"):
        cell_options("#| just words\nx = 1")


def test_execute_chapter_runs_cells_and_inline_code_in_one_kernel(tmp_path):
    (tmp_path / "tiny.qmd").write_text(CHAPTER)
    nb = execute_chapter(tmp_path / "tiny.qmd", timeout=120)
    assert nb.metadata["lsreport"]["front_matter"] == {"title": "Tiny"}
    results = [r["result"] for c in nb.cells for r in c.metadata.get("user_expressions", [])]
    assert results == ["42", "plain", "8", "2"]      # kernel state where each expression stands
    assert "The answer is 42, the word is plain" in nb.cells[1].source
    code = [c for c in nb.cells if c.cell_type == "code"]
    fig = next(c for c in code if c.metadata["lsreport"]["options"].get("label") == "fig-line")
    assert any("image/png" in o.get("data", {}) for o in fig.outputs)
    assert code[2].outputs == []                     # eval: false
    assert code[3].outputs[0]["ename"] == "ValueError"


def test_failing_cell_and_inline_expression_are_named(tmp_path):
    (tmp_path / "bad.qmd").write_text("```{python}\nx = 1\n```\n\n```{python}\n#| label: fig-boom\n"
                                      "raise ValueError('boom in a chapter')\n```\n")
    with pytest.raises(ChapterExecutionError, match=r"(?s)^ch/bad: code cell 2 \[fig-boom\].*boom"):
        execute_chapter(tmp_path / "bad.qmd", name="ch/bad", timeout=60)
    (tmp_path / "inline.qmd").write_text("See `{python} undefined_name`.\n")
    with pytest.raises(ChapterExecutionError, match=r"(?s)inline `\{python\} undefined_name`.*NameError"):
        execute_chapter(tmp_path / "inline.qmd", timeout=60)


def test_guard_freeze_clears_outputs_of_another_profile_or_data(tmp_path, monkeypatch):
    stale = tmp_path / "_freeze" / "chapters" / "one" / "execute-results"
    stale.mkdir(parents=True)
    smoke = load_config("smoke")
    assert render.guard_freeze(smoke, tmp_path, log=lambda s: None)   # no stamp: maybe stale
    stale.mkdir(parents=True)
    assert not render.guard_freeze(smoke, tmp_path, log=lambda s: None) and stale.exists()
    monkeypatch.setenv("LSREPORT_CELEBA", str(tmp_path / "celeba"))
    assert render.guard_freeze(load_config("default"), tmp_path, log=lambda s: None)
    assert not stale.exists()
    stale.mkdir(parents=True)
    monkeypatch.setenv("LSREPORT_CELEBA", str(tmp_path / "other-celeba"))  # other data, same profile
    assert render.guard_freeze(load_config("default"), tmp_path, log=lambda s: None)
    assert not stale.exists()
    stale.mkdir(parents=True)
    assert render.guard_freeze(smoke, tmp_path, log=lambda s: None) and not stale.exists()


def test_prerender_runs_the_pipeline_for_the_env_profile(tmp_path, monkeypatch):
    ran = []
    monkeypatch.setattr("lsreport.pipeline.run",
                        lambda cfg, upto, progress: ran.append((cfg.profile, upto)))
    monkeypatch.setenv("LSREPORT_PROFILE", "smoke")
    render.prerender(root=tmp_path, log=lambda s: None)
    assert ran == [("smoke", "sweep")]
    assert (tmp_path / "_freeze" / "lsreport-fingerprint.json").exists()


def test_render_book_runs_quarto_with_the_profile_and_this_python(tmp_path, monkeypatch):
    calls = fake_quarto(tmp_path, monkeypatch)
    monkeypatch.setattr(render, "find_tex", lambda: "/usr/bin/lualatex")
    result = render.render_book("smoke", root=tmp_path, log=lambda s: None)
    cwd, profile, python, args = calls.read_text().strip().split("|")
    assert (cwd, profile, python, args) == (str(tmp_path), "smoke", os.sys.executable, "render")
    assert result.formats == ["html", "pdf"] and result.notes == []
    render.render_book("smoke", to="html", root=tmp_path, output_dir=tmp_path / "out",
                       log=lambda s: None)
    assert calls.read_text().splitlines()[1].endswith(f"render --to html --output-dir {tmp_path / 'out'}")


def test_without_tex_the_html_renders_and_the_pdf_is_refused(tmp_path, monkeypatch):
    calls = fake_quarto(tmp_path, monkeypatch)
    monkeypatch.setattr(render, "find_tex", lambda: None)
    lines = []
    result = render.render_book("smoke", root=tmp_path, log=lines.append)
    assert result.formats == ["html"] and calls.read_text().strip().endswith("render --to html")
    assert any("the PDF needs TeX" in s and "tinytex" in s for s in lines)
    for to in ("pdf", "all"):
        with pytest.raises(RuntimeError, match="no PDF: the PDF needs TeX"):
            render.render_book("smoke", to=to, root=tmp_path, log=lambda s: None)
    assert len(calls.read_text().splitlines()) == 1


def test_missing_quarto_is_installed_from_pypi_or_explained(tmp_path, monkeypatch):
    monkeypatch.setattr(render.shutil, "which", lambda name: None)
    monkeypatch.setattr(render.sys, "executable", str(tmp_path / "python"))
    with pytest.raises(render.QuartoNotFoundError, match=r"quarto\.org.*conda-forge quarto"):
        render.find_quarto()
    pips = []

    def pip(cmd, **kw):                              # a pip that "installs" quarto-cli
        pips.append(cmd[1:])
        (tmp_path / "quarto").write_text("")
        return render.subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(render.subprocess, "run", pip)
    assert render.find_quarto(install=True, log=lambda s: None) == str(tmp_path / "quarto")
    assert pips == [["-m", "pip", "install", "quarto-cli"]]
    (tmp_path / "quarto").unlink()
    monkeypatch.setattr(render.subprocess, "run",
                        lambda cmd, **kw: render.subprocess.CompletedProcess(cmd, 1))
    with pytest.raises(render.QuartoNotFoundError, match="conda-forge"):
        render.find_quarto(install=True, log=lambda s: None)


def test_no_chapter_line_starts_an_example_list():
    """Pandoc reads ``@key)``, ``@key.`` or ``(@key)`` as an example-list item ("1.
    decode to many" mid-sentence) where a list may start: at a paragraph's first line,
    and on any line of a list item (indented). Quarto is not needed to see it."""
    marker = re.compile(r"^([ \t]*)(?:\(@[\w-]*\)|@[\w-]*[.)])[ \t]")
    for ch in book_chapters(ROOT):
        if not (ROOT / ch).exists():
            continue
        text = re.sub(r"```.*?```", "", (ROOT / ch).read_text(encoding="utf-8"), flags=re.S)
        lines = text.splitlines()
        bad = [ln for i, ln in enumerate(lines) if (m := marker.match(ln))
               and (m.group(1) or i == 0 or not lines[i - 1].strip())]
        assert bad == [], f"{ch}: reflow so these lines do not start with '@key)': {bad}"
